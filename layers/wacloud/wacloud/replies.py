"""What the processor answers to an inbound message: a read receipt and a configurable auto-reply.

Replies are ordinary outbound documents. Their idempotency keys derive from the inbound wamid, so
handling the same message twice queues the same documents, which the queue and the sender
deduplicate: one read receipt and one reply per inbound message, however often it is delivered.
"""

from __future__ import annotations

from wacloud.config import Settings
from wacloud.models.events import MessageEvent
from wacloud.models.outbound import OutboundMessage, ReadReceipt, ReplyContext, TextBody, TextMessage

# Messages that are not a customer talking to us: no auto-reply.
NO_REPLY_TYPES = frozenset({"reaction", "system", "unsupported", "request_welcome", "revoke", "edit"})


def replies_for(event: MessageEvent, settings: Settings, *, auto_reply: bool = True) -> list[OutboundMessage]:
    """The outbound documents to queue for one inbound message, in the order to send them.

    `auto_reply=False` queues only the read receipt (e.g. for an opt-out keyword).
    """
    message = event.message
    phone_number_id = event.phone_number_id or None
    documents: list[OutboundMessage] = []
    if settings.mark_read:
        documents.append(
            OutboundMessage(
                idempotency_key=f"read:{message.id}"[:128],
                phone_number_id=phone_number_id,
                message=ReadReceipt(status="read", message_id=message.id),
            )
        )
    if auto_reply and settings.auto_reply_text and message.type not in NO_REPLY_TYPES and message.sender:
        documents.append(
            OutboundMessage(
                idempotency_key=f"reply:{message.id}"[:128],
                phone_number_id=phone_number_id,
                message=TextMessage(
                    type="text",
                    to=_address(message.from_, message.from_user_id),
                    text=TextBody(body=settings.auto_reply_text),
                    context=ReplyContext(message_id=message.id),
                ),
            )
        )
    return documents


def _address(phone: str, user_id: str | None) -> str:
    # Graph wants "+<digits>" or a business-scoped user id; webhooks give bare digits.
    if phone:
        return phone if phone.startswith("+") else f"+{phone}"
    return user_id or ""
