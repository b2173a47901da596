"""The outbound documents for one inbound message: a read receipt, then the conversation's answers.

Replies are ordinary outbound documents. Their idempotency keys derive from the inbound wamid, so
handling the same message twice queues the same documents, which the queue and the sender
deduplicate: one read receipt and one set of answers per inbound message, however often it is
delivered. While answers are on their way the read receipt shows the customer "typing...".
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.config import Settings
from wacloud.models.events import MessageEvent
from wacloud.models.outbound import OutboundMessage, ReadReceipt, TypingIndicator
from wacloud.models.validation_errors import describe
from wacloud.runtime.masking import mask_wamid

logger = Logger(child=True)

# Messages that are not a customer talking to us: never answered.
NO_REPLY_TYPES = frozenset({"reaction", "system", "unsupported", "request_welcome", "revoke", "edit"})


def replies_for(event: MessageEvent, settings: Settings, answers: list[dict[str, Any]]) -> list[OutboundMessage]:
    """The documents to queue, in the order to send them: the read receipt (when `MarkInboundRead`),
    then each answer (an outbound message body without `to`) addressed to the customer.

    An answer that cannot be addressed (a sender Graph would not take, a wamid no key can hold) is
    left out and logged: retrying the event would not change it.
    """
    message = event.message
    phone_number_id = event.phone_number_id or None
    documents = []
    if settings.mark_read:
        typing = TypingIndicator(type="text") if answers and settings.typing_indicator else None
        receipt = ReadReceipt(status="read", message_id=message.id, typing_indicator=typing)
        documents.append(_document(f"read:{message.id}", phone_number_id, receipt, message.id))
    for index, body in enumerate(answers):
        key = f"reply:{message.id}" if index == 0 else f"reply:{message.id}:{index}"
        documents.append(
            _document(key, phone_number_id, {**body, "to": _address(message.from_, message.from_user_id)}, message.id)
        )
    return [document for document in documents if document is not None]


def _document(key: str, phone_number_id: str | None, message: Any, wamid: str) -> OutboundMessage | None:
    try:
        return OutboundMessage.model_validate(
            {"idempotency_key": key[:128], "phone_number_id": phone_number_id, "message": message}
        )
    except ValidationError as exc:
        logger.warning(
            "Reply not queued: it would break the outbound contract",
            extra={"wamid": mask_wamid(wamid), "reason": describe(exc)},
        )
        return None


def _address(phone: str, user_id: str | None) -> str:
    # Graph wants "+<digits>" or a business-scoped user id; webhooks give bare digits.
    if phone:
        return phone if phone.startswith("+") else f"+{phone}"
    return user_id or ""
