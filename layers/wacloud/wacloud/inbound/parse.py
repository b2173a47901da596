"""Typed inbound events: what the processor builds from each queue document the webhook's split
made, and `parse_webhook`, the same for a whole body (the split, then each part typed).

Meta's models are tolerant (unknown fields and message types kept), so a part fails only when it is
not what Meta documents, or an identifier could not be a DynamoDB key: then it becomes an
`UnparsedEvent` that keeps the raw data and the reason, to be recorded, never dropped.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from wacloud.inbound.split import split_webhook, unparsed
from wacloud.models.events import InboundEvent, MessageEvent, StatusEvent, UnparsedEvent, load_event
from wacloud.models.webhook import Contact, InboundMessage, Status


def parse_webhook(body: bytes | str | dict[str, Any]) -> list[InboundEvent]:
    """The typed events of a webhook body, in the order Meta listed them; never raises."""
    return [event_from(event.document) for event in split_webhook(body)]


def event_from(document: str | bytes | dict[str, Any]) -> InboundEvent:
    """The typed event of a queue document. A message or status that does not validate becomes an
    `UnparsedEvent` with the reason; a document that is no event at all (our own contract: strict)
    raises pydantic's `ValidationError` (or `ValueError` when it is not JSON)."""
    try:
        # Nearly every document is a well-formed event: validated whole, in one pass (pydantic-core
        # reads the JSON itself, about twice as fast as json.loads and the parts one by one).
        return load_event(document)
    except (ValueError, RecursionError):
        # Anything else takes the path below from the start, as if this had not been tried: its
        # message or status made unparsed, a malformed contact dropped, or the same error raised
        # (json.loads' for what is not JSON). JSON that pydantic-core refuses and Python's parser
        # takes (unpaired surrogates, very deep nesting) is typed there too.
        pass
    return _event_in_parts(document)


def _event_in_parts(document: str | bytes | dict[str, Any]) -> InboundEvent:
    """`event_from` one part at a time, for a document that does not validate whole."""
    loaded: Any = document if isinstance(document, dict) else json.loads(document)
    kind = loaded.get("kind") if isinstance(loaded, dict) else None
    if kind not in ("message", "status") or kind not in loaded:
        return load_event(loaded)  # raises for anything but a well-formed event
    raw = loaded[kind]
    try:
        part = (Status if kind == "status" else InboundMessage).model_validate(raw)
    except ValidationError as exc:
        stand_in = unparsed(raw, f"{kind} is malformed: {_first_error(exc)}", _text(loaded.get("waba_id")))
        return UnparsedEvent.model_validate(stand_in.document)
    if kind == "status":
        return StatusEvent.model_validate({**loaded, "status": part})
    return MessageEvent.model_validate({**loaded, "message": part, "contact": _contact(loaded.get("contact"))})


def _contact(raw: Any) -> Contact | None:
    """The sender's profile, when it is one (only a hint: the message itself carries the sender)."""
    try:
        return Contact.model_validate(raw) if raw is not None else None
    except ValidationError:
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(root)"
    return f"{where}: {error['msg']}"
