"""The outbound queue contract and how to put a document on the queue.

Other systems send WhatsApp messages by putting one `OutboundMessage` JSON document per SQS
message on the outbound FIFO queue, with `MessageGroupId` = the recipient (so one person's messages
keep their order) and `MessageDeduplicationId` = the SHA-256 of the body (`deduplication_id`).

An idempotency key names one document: the same document again is answered from its record and
never sent twice; another document under a key in use is refused with that reason; a document
refused as invalid saves no result, so its corrected version may reuse the key. SQS's own
five-minute deduplication must not undo that, so it is by body, not by key: it drops only exact
repeats, and a corrected document reaches the sender.
"""

from __future__ import annotations

import hashlib
from typing import Any

from wacloud.models.keys import customer_key, digest, group_id
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
    "document_digest",
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


def deduplication_id(body: str | bytes) -> str:
    """SQS's `MessageDeduplicationId` for a queue message body: its SHA-256 in hex (what SQS's own
    content-based deduplication computes). Exact repeats are dropped for five minutes; a corrected
    document under the same key is not."""
    return hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()


def document_digest(document: OutboundMessage) -> str:
    """What a document says, however it was written (spacing, key order, defaults written out or
    left out, and so fields a later version adds with a default): tells the same document sent
    again from another document under the same idempotency key."""
    return digest(_without_off_flags(document.model_dump(mode="json", exclude_none=True, exclude_defaults=True)))


# Optional flags whose absence means off: `false` says the same thing.
_OFF_BY_DEFAULT = frozenset({"marketing_messages", "voice"})


def _without_off_flags(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_off_flags(v) for k, v in value.items() if not (k in _OFF_BY_DEFAULT and v is False)}
    if isinstance(value, list):
        return [_without_off_flags(item) for item in value]
    return value


def schema() -> dict[str, Any]:
    """The JSON Schema of the contract, as committed in schemas/outbound-message.schema.json."""
    document = OutboundMessage.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["$id"] = "https://github.com/wacloud/wacloud/schemas/outbound-message.schema.json"
    return document
