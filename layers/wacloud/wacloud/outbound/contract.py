"""The outbound queue contract and how to put a document on the queue.

Other systems send WhatsApp messages by putting one `OutboundMessage` JSON document per SQS
message on the outbound FIFO queue, with `MessageGroupId` = the recipient (so one person's messages
keep their order) and `MessageDeduplicationId` derived from the idempotency key.
"""

from __future__ import annotations

from typing import Any

from wacloud.models.keys import customer_key, group_id
from wacloud.models.outbound import (
    SCHEMA_VERSION,
    GraphMessage,
    OutboundMessage,
    ReadReceipt,
    ReplyContext,
    TextBody,
    TextMessage,
)

__all__ = [
    "SCHEMA_VERSION",
    "GraphMessage",
    "OutboundMessage",
    "ReadReceipt",
    "ReplyContext",
    "TextBody",
    "TextMessage",
    "deduplication_id",
    "message_group_id",
    "parse_document",
    "schema",
]


def parse_document(body: str | bytes) -> OutboundMessage:
    """A queue or API document, checked as the published JSON Schema says: strict JSON types, so
    `false` is not an index and `"5"` is not a number (lax pydantic would coerce both)."""
    return OutboundMessage.model_validate_json(body, strict=True)


def message_group_id(recipient: str) -> str:
    """The FIFO group of a recipient: digits of a phone number, or the user id as is."""
    return group_id(customer_key(recipient), fallback="none")


def deduplication_id(idempotency_key: str) -> str:
    """SQS's `MessageDeduplicationId` for a document: the idempotency key itself (its allowed
    characters and length are exactly SQS's)."""
    return idempotency_key


def schema() -> dict[str, Any]:
    """The JSON Schema of the contract, as committed in schemas/outbound-message.schema.json."""
    document = OutboundMessage.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["$id"] = "https://github.com/wacloud/wacloud/schemas/outbound-message.schema.json"
    return document
