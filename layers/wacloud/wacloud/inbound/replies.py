"""The outbound documents for one inbound message: a read receipt, then the conversation's answers.

Replies are ordinary outbound documents. Their idempotency keys derive from the inbound wamid, so
handling the same message twice queues the same documents, which the queue and the sender
deduplicate: one read receipt and one set of answers per inbound message, however often it is
delivered. While answers are on their way the read receipt shows the customer "typing...".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from wacloud.config import Settings
from wacloud.models.events import MessageEvent
from wacloud.models.identity import CustomerIdentity
from wacloud.models.outbound import OutboundMessage, ReadReceipt, TypingIndicator
from wacloud.models.validation_errors import describe

# Messages that are not a customer talking to us: never answered.
NO_REPLY_TYPES = frozenset({"reaction", "system", "unsupported", "request_welcome", "revoke", "edit"})


@dataclass(frozen=True)
class RefusedReply:
    """An answer that could not be queued: its key, why, and the answer itself (to record)."""

    key: str
    reason: str
    raw: str


@dataclass
class Replies:
    documents: list[OutboundMessage] = field(default_factory=list)
    refused: list[RefusedReply] = field(default_factory=list)


def replies_for(event: MessageEvent, settings: Settings, answers: list[dict[str, Any]]) -> Replies:
    """The documents to queue, in the order to send them: the read receipt (when `MarkInboundRead`),
    then each answer (an outbound message body without an address) addressed to the customer: by
    phone number (`to`) when the webhook gave one, else by business-scoped user id (`recipient`); an
    answer to a message written in a group goes to the group.

    An answer that cannot be addressed (no address, a sender Graph would not take, a wamid no key
    can hold) is refused with the reason: retrying the event would not change it.
    """
    message = event.message
    phone_number_id = event.phone_number_id or None
    replies = Replies()
    if settings.mark_read:
        typing = TypingIndicator(type="text") if answers and settings.typing_indicator else None
        receipt = ReadReceipt(status="read", message_id=message.id, typing_indicator=typing)
        _add(replies, f"read:{message.id}", phone_number_id, receipt)
    address = (
        {"recipient_type": "group", "to": message.group_id}
        if message.group_id
        else _address(CustomerIdentity.from_message(message, event.contact))
    )
    for index, body in enumerate(answers):
        key = f"reply:{message.id}" if index == 0 else f"reply:{message.id}:{index}"
        if not address:
            replies.refused.append(RefusedReply(key[:128], "the customer has no phone number or user id", _raw(body)))
            continue
        _add(replies, key, phone_number_id, {**body, **address})
    return replies


def _add(replies: Replies, key: str, phone_number_id: str | None, message: Any) -> None:
    try:
        replies.documents.append(
            OutboundMessage.model_validate(
                {"idempotency_key": key[:128], "phone_number_id": phone_number_id, "message": message}
            )
        )
    except ValidationError as exc:
        reason = f"it would break the outbound contract: {describe(exc)}"
        replies.refused.append(RefusedReply(key[:128], reason, _raw(message)))


def _address(identity: CustomerIdentity) -> dict[str, str]:
    # Graph takes "+<digits>" in `to`, and a business-scoped user id in `recipient`.
    if identity.phone_key:
        return {"to": f"+{identity.phone_key}"}
    return {"recipient": identity.user_id} if identity.user_id else {}


def _raw(message: Any) -> str:
    dumped = message.model_dump(mode="json") if isinstance(message, ReadReceipt) else message
    return json.dumps(dumped, default=str, ensure_ascii=False)
