"""Split a webhook body into typed events: one per message, one per status, one per other change.

Meta batches: one POST can carry many entries, each with many changes, each with many messages or
statuses. Every one of them becomes an event. Nothing here raises on input: a part that is not what
Meta documents becomes an `UnparsedEvent` that keeps the raw data, so it is recorded, not dropped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from wacloud.models.events import (
    ChangeEvent,
    InboundEvent,
    MessageEvent,
    StatusEvent,
    UnparsedEvent,
    digest,
    dump_event,
    load_event,
)
from wacloud.models.webhook import Contact, InboundMessage, Metadata, Status

__all__ = [
    "ChangeEvent",
    "InboundEvent",
    "MessageEvent",
    "StatusEvent",
    "UnparsedEvent",
    "dump_event",
    "load_event",
    "parse_webhook",
    "queue_document",
]

# Raw data kept in an UnparsedEvent is capped so the event still fits in one SQS message.
MAX_RAW_CHARS = 64 * 1024
# An event's queue document must fit in one SQS message (256 KiB, with room for the envelope).
MAX_EVENT_BYTES = 240 * 1024
# Meta's bodies nest about ten levels deep; far deeper JSON is hostile (Python's parser and every
# recursive step after it would hit the interpreter's recursion limit).
MAX_DEPTH = 64
# JSON can carry UTF-16 surrogates that pair with nothing; no UTF-8 store or queue accepts them.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def parse_webhook(body: bytes | str | dict[str, Any]) -> list[InboundEvent]:
    """Return the events of a webhook body, in the order Meta listed them."""
    if isinstance(body, dict):
        if _too_deep(body):
            return [_unparsed(json.dumps(body, default=str)[:MAX_RAW_CHARS], _DEEP)]
        document: Any = _without_lone_surrogates(body)
    else:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return [_unparsed(body, f"body is not JSON: {exc}")]
        except RecursionError:
            return [_unparsed(body, _DEEP)]
        if _too_deep(document):
            return [_unparsed(body, _DEEP)]
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        if _SURROGATE_ESCAPE.search(raw):
            document = _without_lone_surrogates(document)
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        return [_unparsed(document, "body has no 'entry' list")]

    events: list[InboundEvent] = []
    for entry in document["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            events.append(_unparsed(entry, "entry has no 'changes' list"))
            continue
        waba_id = str(entry.get("id") or "")
        for change in entry["changes"]:
            events.extend(_parse_change(change, waba_id))
    return events


def _parse_change(change: Any, waba_id: str) -> list[InboundEvent]:
    if not isinstance(change, dict) or not isinstance(change.get("field"), str):
        return [_unparsed(change, "change has no 'field'")]
    field, value = change["field"], change.get("value")
    if field != "messages" or not isinstance(value, dict):
        return [ChangeEvent(waba_id=waba_id, field=field, value=value)]

    phone_number_id = _phone_number_id(value)
    contacts = _contacts(value.get("contacts"))
    events: list[InboundEvent] = []
    for raw in _as_list(value.get("messages")):
        try:
            message = InboundMessage.model_validate(raw)
        except ValidationError as exc:
            events.append(_unparsed(raw, f"message is malformed: {_first_error(exc)}", waba_id))
            continue
        events.append(
            MessageEvent(
                waba_id=waba_id,
                phone_number_id=phone_number_id,
                message=message,
                contact=_contact_for(message, contacts),
            )
        )
    for raw in _as_list(value.get("statuses")):
        try:
            status = Status.model_validate(raw)
        except ValidationError as exc:
            events.append(_unparsed(raw, f"status is malformed: {_first_error(exc)}", waba_id))
            continue
        events.append(StatusEvent(waba_id=waba_id, phone_number_id=phone_number_id, status=status))
    if not events or value.get("errors"):
        # A `messages` change with neither messages nor statuses: value-level errors, or new shapes.
        events.append(ChangeEvent(waba_id=waba_id, phone_number_id=phone_number_id, field=field, value=value))
    return events


def queue_document(event: InboundEvent) -> tuple[InboundEvent, str]:
    """The event to queue and its document: the event itself, or, when its document would not fit
    in one SQS message, an `UnparsedEvent` that keeps its start and the digest of all of it."""
    document = dump_event(event)
    if len(document) <= MAX_EVENT_BYTES:
        return event, document
    stand_in = _unparsed(document, f"{event.kind} event of {len(document)} bytes is too large to queue", event.waba_id)
    return stand_in, dump_event(stand_in)


def _without_lone_surrogates(value: Any) -> Any:
    """The same JSON value with unpaired surrogates replaced by U+FFFD (the rest untouched)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


_DEEP = f"body nests more than {MAX_DEPTH} levels deep"


def _too_deep(document: Any) -> bool:
    """Whether arrays and objects nest deeper than MAX_DEPTH (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth >= MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def _phone_number_id(value: dict[str, Any]) -> str:
    try:
        return Metadata.model_validate(value.get("metadata") or {}).phone_number_id
    except ValidationError:
        return ""


def _contacts(raw: Any) -> list[Contact]:
    contacts = []
    for item in _as_list(raw):
        try:
            contacts.append(Contact.model_validate(item))
        except ValidationError:
            continue  # the contact is only a profile hint; the message itself carries the sender
    return contacts


def _contact_for(message: InboundMessage, contacts: list[Contact]) -> Contact | None:
    for contact in contacts:
        if (message.from_ and contact.wa_id == message.from_) or (
            message.from_user_id and contact.user_id == message.from_user_id
        ):
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(root)"
    return f"{where}: {error['msg']}"


def _unparsed(raw: Any, reason: str, waba_id: str = "") -> UnparsedEvent:
    sha = digest(raw)  # of what was received: bytes as they came, before any decoding
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str) and len(raw) > MAX_RAW_CHARS:
        raw, reason = raw[:MAX_RAW_CHARS], f"{reason} (raw data truncated to {MAX_RAW_CHARS} characters)"
    elif not isinstance(raw, str) and len(json.dumps(raw, default=str)) > MAX_RAW_CHARS:
        raw = json.dumps(raw, default=str)[:MAX_RAW_CHARS]
        reason = f"{reason} (raw data truncated to {MAX_RAW_CHARS} characters)"
    return UnparsedEvent(waba_id=waba_id, reason=reason, raw=raw, raw_sha256=sha)
