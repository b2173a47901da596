"""What the processor answers to an inbound message: a read receipt and a configurable auto-reply.

Replies are ordinary outbound documents. Their idempotency keys derive from the inbound wamid, so
handling the same message twice queues the same documents, which the queue and the sender
deduplicate: one read receipt and one reply per inbound message, however often it is delivered.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.config import Settings
from wacloud.masking import mask_wamid
from wacloud.models.events import MessageEvent
from wacloud.models.outbound import OutboundMessage, ReadReceipt, ReplyContext, TextBody, TextMessage
from wacloud.validation import describe

logger = Logger(child=True)

# Messages that are not a customer talking to us: no auto-reply.
NO_REPLY_TYPES = frozenset({"reaction", "system", "unsupported", "request_welcome", "revoke", "edit"})


def replies_for(event: MessageEvent, settings: Settings, *, auto_reply: bool = True) -> list[OutboundMessage]:
    """The outbound documents to queue for one inbound message, in the order to send them.

    `auto_reply=False` queues only the read receipt (e.g. for an opt-out keyword). A reply that could
    not be addressed (a sender Graph would not take, a wamid no key can hold) is left out and logged:
    retrying the event would not change it.
    """
    message = event.message
    phone_number_id = event.phone_number_id or None
    builders: list[Callable[[], OutboundMessage]] = []
    if settings.mark_read:
        builders.append(
            lambda: OutboundMessage(
                idempotency_key=f"read:{message.id}"[:128],
                phone_number_id=phone_number_id,
                message=ReadReceipt(status="read", message_id=message.id),
            )
        )
    if auto_reply and settings.auto_reply_text and message.type not in NO_REPLY_TYPES and message.sender:
        builders.append(
            lambda: OutboundMessage(
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
    documents = []
    for build in builders:
        try:
            documents.append(build())
        except ValidationError as exc:
            logger.warning(
                "Reply not queued: it would break the outbound contract",
                extra={"wamid": mask_wamid(message.id), "reason": describe(exc)},
            )
    return documents


def _address(phone: str, user_id: str | None) -> str:
    # Graph wants "+<digits>" or a business-scoped user id; webhooks give bare digits.
    if phone:
        return phone if phone.startswith("+") else f"+{phone}"
    return user_id or ""
