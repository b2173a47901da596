"""A signed webhook body split into its events, on plain JSON: one per message, one per status, one
per other change, each with the key that deduplicates it and the FIFO group that orders it.

Meta batches: one POST can carry many entries, each with many changes, each with many messages or
statuses. Every one of them becomes an event, in Meta's order. Nothing here raises on input or
validates more than the keys need: a part that is not even shaped like Meta's (not JSON, no
`entry` list, a change without a `field`) becomes an `unparsed` event that keeps the raw data, so
it is recorded, not dropped; the processor builds the typed event from each document
(`wacloud.inbound.parse`) and records what does not validate. No pydantic here: this is the
webhook's whole work between the signature and the queue.

Queue documents (strict on our side, `wacloud.models.events`):

  kind       from                                  key (dedup, idempotency)   FIFO group
  message    each `value.messages[]` (+ contact)   message:<id>               its group, else the sender's BSUID,
                                                                              else their phone number
  status     each `value.statuses[]`               status:<id>:<status>       the recipient's BSUID, else
                                                   (+ `:<participant>` for    their phone number (or group)
                                                   a group member's)

A customer's events are ordered by their BSUID: since April 2026 every webhook carries it, while the
phone number may be missing (usernames). The webhook cannot look up who else a customer is, so the
group comes from the body alone. A group's messages are ordered as one conversation.
  change     any other field; value-level errors   change:<field>:<WABA id>:  change-<WABA id>
                                                   <sha256 of value>
  unparsed   not shaped like Meta's                unparsed:<sha256 of raw>   unparsed
"""

from __future__ import annotations

import json
import re
import reprlib
from dataclasses import dataclass
from typing import Any

from wacloud.adapters.queues import QueueEntry
from wacloud.models.keys import digest, group_id

# Raw data kept in an unparsed event is capped so the event still fits in one SQS message.
MAX_RAW_CHARS = 64 * 1024
# An event's queue document must fit in one SQS message (256 KiB, with room for the envelope).
MAX_EVENT_BYTES = 240 * 1024
# Meta's bodies nest about ten levels deep; far deeper JSON is hostile (Python's parser and every
# recursive step after it would hit the interpreter's recursion limit).
MAX_DEPTH = 64
DEEP = f"body nests more than {MAX_DEPTH} levels deep"
# JSON can carry UTF-16 surrogates that pair with nothing; no UTF-8 store or queue accepts them.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


@dataclass(frozen=True)
class SplitEvent:
    """One event of a body: its queue document (plain JSON) and what SQS needs to queue it."""

    kind: str
    key: str
    group: str
    document: dict[str, Any]

    def body(self) -> str:
        """The queue document: ASCII only (SQS refuses some characters a customer may type, such as
        U+FFFE and most controls; escaped, every character travels)."""
        return json.dumps(self.document, ensure_ascii=True, separators=(",", ":"))


def split_webhook(body: bytes | str | dict[str, Any]) -> list[SplitEvent]:
    """The events of a webhook body, in the order Meta listed them."""
    document = _load(body)
    if isinstance(document, SplitEvent):
        return [document]
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        return [unparsed(document, "body has no 'entry' list")]
    events: list[SplitEvent] = []
    for entry in document["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            events.append(unparsed(entry, "entry has no 'changes' list"))
            continue
        waba_id = str(entry.get("id") or "")
        for change in entry["changes"]:
            events.extend(_split_change(change, waba_id))
    return events


def queue_document(event: SplitEvent) -> tuple[SplitEvent, str]:
    """The event to queue and its document: the event itself, or, when its document would not fit
    in one SQS message, an unparsed event that keeps its start and the digest of all of it."""
    document = event.body()
    if len(document) <= MAX_EVENT_BYTES:
        return event, document
    waba_id = str(event.document.get("waba_id") or "")
    stand_in = unparsed(document, f"{event.kind} event of {len(document)} bytes is too large to queue", waba_id)
    return stand_in, stand_in.body()


def queue_entries(events: list[SplitEvent]) -> tuple[list[SplitEvent], list[QueueEntry]]:
    """The events as queued (`queue_document`) and their inbound queue entries: grouped by customer,
    deduplicated by the event key's digest, the same whichever way the body came in (a number
    subscribed both ways while it moves to End User Messaging Social is queued once)."""
    queued, entries = [], []
    for split in events:
        event, document = queue_document(split)
        queued.append(event)
        entries.append(QueueEntry(body=document, group_id=event.group, deduplication_id=digest(event.key)))
    return queued, entries


def unparsed(raw: Any, reason: str, waba_id: str = "") -> SplitEvent:
    """Data that is not what Meta documents, kept with the reason (truncated, with the digest of all
    of it as received: bytes as they came, before any decoding)."""
    sha = digest(raw)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str) and len(raw) > MAX_RAW_CHARS:
        raw, reason = raw[:MAX_RAW_CHARS], f"{reason} (raw data truncated to {MAX_RAW_CHARS} characters)"
    elif not isinstance(raw, str) and len(json.dumps(raw, default=str)) > MAX_RAW_CHARS:
        raw = json.dumps(raw, default=str)[:MAX_RAW_CHARS]
        reason = f"{reason} (raw data truncated to {MAX_RAW_CHARS} characters)"
    document = {"kind": "unparsed", "waba_id": waba_id, "reason": reason, "raw": raw, "raw_sha256": sha}
    return SplitEvent("unparsed", f"unparsed:{sha}", "unparsed", document)


def _load(body: bytes | str | dict[str, Any]) -> Any:
    """The body as JSON (unpaired surrogates replaced), or the unparsed event it makes."""
    if isinstance(body, dict):
        if _too_deep(body):
            # Kept as a bounded repr: dumping it whole would hit the recursion limit itself.
            return unparsed(reprlib.repr(body), DEEP)
        return _without_lone_surrogates(body)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return unparsed(body, f"body is not JSON: {exc}")
    except RecursionError:
        return unparsed(body, DEEP)
    if _too_deep(document):
        return unparsed(body, DEEP)
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return _without_lone_surrogates(document) if _SURROGATE_ESCAPE.search(raw) else document


def _split_change(change: Any, waba_id: str) -> list[SplitEvent]:
    if not isinstance(change, dict) or not isinstance(change.get("field"), str):
        return [unparsed(change, "change has no 'field'")]
    field, value = change["field"], change.get("value")
    if field != "messages" or not isinstance(value, dict):
        return [_change(waba_id, "", field, value)]
    metadata = value.get("metadata")
    number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    phone_number_id = number if isinstance(number, str) else ""
    envelope = {"waba_id": waba_id, "phone_number_id": phone_number_id}
    contacts = [contact for contact in _as_list(value.get("contacts")) if isinstance(contact, dict)]
    events = [_message(envelope, message, contacts) for message in _as_list(value.get("messages"))]
    events += [_status(envelope, status) for status in _as_list(value.get("statuses"))]
    if not events or value.get("errors"):
        # A `messages` change with neither messages nor statuses: value-level errors, or new shapes.
        events.append(_change(waba_id, phone_number_id, field, value))
    return events


def _message(envelope: dict[str, str], message: Any, contacts: list[dict[str, Any]]) -> SplitEvent:
    document: dict[str, Any] = {"kind": "message", **envelope, "message": message}
    if not isinstance(message, dict):
        return SplitEvent("message", f"message:{digest(message)}", "unknown-sender", document)
    contact = _contact_for(message, contacts)
    if contact is not None:
        document["contact"] = contact
    sender = (
        _text(message.get("group_id"))
        or _text(message.get("from_user_id"))
        or _text((contact or {}).get("user_id"))
        or _text(message.get("from"))
    )
    return SplitEvent("message", f"message:{_id(message)}", group_id(sender, fallback="unknown-sender"), document)


def _status(envelope: dict[str, str], status: Any) -> SplitEvent:
    document: dict[str, Any] = {"kind": "status", **envelope, "status": status}
    if not isinstance(status, dict):
        return SplitEvent("status", f"status:{digest(status)}", "unknown-recipient", document)
    recipient = _text(status.get("recipient_user_id")) or _text(status.get("recipient_id"))
    key = f"status:{_id(status)}:{_text(status.get('status'))}"
    # One group message's status comes once per participant, all with the message's wamid.
    participant = (
        _text(status.get("recipient_participant_user_id"))
        or _text(status.get("recipient_participant_id"))
        or _text(status.get("participant_recipient_id"))
    )
    if participant and status.get("recipient_type") == "group":
        key += f":{participant}"
    return SplitEvent("status", key, group_id(recipient, fallback="unknown-recipient"), document)


def _change(waba_id: str, phone_number_id: str, field: str, value: Any) -> SplitEvent:
    document = {"kind": "change", "waba_id": waba_id, "phone_number_id": phone_number_id, "field": field}
    if value is not None:
        document["value"] = value
    # With the WABA (`models.events.ChangeEvent.key`, the same string): a template or account update
    # names no account in its value, and two accounts' identical ones are two events.
    key = f"change:{field}:{waba_id}:{digest(value)}"
    return SplitEvent("change", key, group_id(f"change-{waba_id or 'account'}", fallback="change"), document)


def _contact_for(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """`value.contacts[]` names who sent the messages: the one matching this sender, or the only one."""
    sender, user_id = _text(message.get("from")), _text(message.get("from_user_id"))
    for contact in contacts:
        if (sender and contact.get("wa_id") == sender) or (user_id and contact.get("user_id") == user_id):
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _id(item: dict[str, Any]) -> str:
    """An item's `id` for its key: as given; without one (missing, empty, not a string), the digest
    of the whole item, so two such items are never one to the queue's deduplication."""
    value = item.get("id")
    return value if isinstance(value, str) and value else digest(item)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _without_lone_surrogates(value: Any) -> Any:
    """The same JSON value with unpaired surrogates replaced by U+FFFD (the rest untouched)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


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
