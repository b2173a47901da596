"""Inbound events: one per message, status or other change of a webhook body.

An event is what the webhook puts on the inbound queue (one SQS message each) and what the
processor receives. `key` names the event (Meta retries produce the same key) and drives both the
queue's deduplication and the processor's idempotency; `group` is the FIFO message group, so one
customer's events are handled in order.
"""

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from wacloud.models.keys import digest, group_id
from wacloud.models.webhook import Contact, InboundMessage, MetaModel, Status


class _Event(BaseModel):
    # Our own queue document: strict, so a producer's typo is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    waba_id: str = ""
    phone_number_id: str = ""


class MessageEvent(_Event):
    """A message a customer sent to the business number."""

    kind: Literal["message"] = "message"
    message: InboundMessage
    contact: Contact | None = None

    @property
    def key(self) -> str:
        return f"message:{self.message.id}"

    @property
    def group(self) -> str:
        """As the webhook's split orders it (`wacloud.inbound.split`): the group, else the BSUID, else the phone."""
        contact_user_id = self.contact.user_id if self.contact else None
        message = self.message
        ordered_by = getattr(message, "group_id", None) or message.from_user_id or contact_user_id or message.from_
        return group_id(ordered_by or "", fallback="unknown-sender")


class StatusEvent(_Event):
    """A status (sent, delivered, read, played, failed) of a message the business sent."""

    kind: Literal["status"] = "status"
    status: Status

    @property
    def key(self) -> str:
        participant = self.status.participant
        key = f"status:{self.status.id}:{self.status.status}"
        return f"{key}:{participant}" if participant else key

    @property
    def group(self) -> str:
        status = self.status
        return group_id(status.recipient_user_id or status.recipient_id, fallback="unknown-recipient")


class ChangeEvent(_Event):
    """Any other change: template, quality and account updates, value-level errors, new fields."""

    kind: Literal["change"] = "change"
    field: str
    value: Any = None

    @property
    def key(self) -> str:
        # With the WABA: two accounts' identical changes (a value names none) are two events.
        return f"change:{self.field}:{self.waba_id}:{digest(self.value)}"

    def typed(self) -> MetaModel | None:
        """The value as its typed model, for the fields this package knows; None for others or
        values not shaped as documented (the raw `value` is always there)."""
        # The change models (groups, calls, preferences...) are built by the first change that
        # asks: a cold start on a customer's message never needs them.
        from wacloud.models.changes import CHANGE_MODELS

        model = CHANGE_MODELS.get(self.field)
        if model is None or not isinstance(self.value, dict):
            return None
        try:
            return model.model_validate(self.value)
        except ValidationError:
            return None

    @property
    def group(self) -> str:
        return group_id(f"change-{self.waba_id or 'account'}", fallback="change")


class MediaEvent(_Event):
    """Archive an inbound message's media: queued by the processor after the message itself is handled,
    in a group of its own, so a Meta media outage holds back no conversation."""

    kind: Literal["media"] = "media"
    message: InboundMessage

    @property
    def key(self) -> str:
        return f"media:{self.message.id}"

    @property
    def group(self) -> str:
        return "media-" + digest(self.message.id)[:40]


class UnparsedEvent(_Event):
    """A signed body (or part of one) that is not what Meta documents: kept, never dropped."""

    kind: Literal["unparsed"] = "unparsed"
    reason: str
    raw: Any = None
    raw_sha256: str = ""

    @property
    def key(self) -> str:
        return f"unparsed:{self.raw_sha256 or digest(self.raw)}"

    @property
    def group(self) -> str:
        return "unparsed"


InboundEvent = Annotated[
    MessageEvent | StatusEvent | ChangeEvent | MediaEvent | UnparsedEvent, Field(discriminator="kind")
]
_EVENT_ADAPTER: TypeAdapter[InboundEvent] = TypeAdapter(InboundEvent)


def load_event(document: str | bytes | dict[str, Any]) -> InboundEvent:
    """Validate an inbound queue document (raises pydantic's `ValidationError`)."""
    if isinstance(document, dict):
        return _EVENT_ADAPTER.validate_python(document)
    return _EVENT_ADAPTER.validate_json(document)


def dump_event(event: InboundEvent) -> str:
    """The queue document of an event: Meta's own keys (`from`), nothing Meta didn't send.

    ASCII only: SQS refuses some characters (U+FFFE, U+FFFF, most controls) that a customer's text
    may hold; escaped, every character travels.
    """
    document = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))
