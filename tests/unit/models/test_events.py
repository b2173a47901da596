"""wacloud.models.events: the inbound queue's events, their keys and groups, a change's typed value, and
the strict queue document (`load_event`, `dump_event`). Events as the parse makes them: test_parse.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import message_event, status_event
from wacloud.models.changes import AccountUpdate, TemplateStatusUpdate
from wacloud.models.events import ChangeEvent, MediaEvent, MessageEvent, UnparsedEvent, dump_event, load_event
from wacloud.models.keys import digest
from wacloud.models.webhook import InboundMessage

SQS_GROUP_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
IMAGE = {"from": "16505551234", "id": "wamid.IMG", "type": "image", "image": {"id": "MEDIA1", "mime_type": "image/png"}}


def media_event(wamid: str = "wamid.IMG") -> MediaEvent:
    return MediaEvent(waba_id="W", phone_number_id="1", message=InboundMessage.model_validate({**IMAGE, "id": wamid}))


# --- keys and groups ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "key", "group"),
    [
        pytest.param(
            ChangeEvent(waba_id="W1", field="account_update", value={"event": "X"}),
            f"change:account_update:W1:{digest({'event': 'X'})}",
            "change-W1",
            id="change",
        ),
        pytest.param(ChangeEvent(field="x"), f"change:x::{digest(None)}", "change-account", id="change-no-account"),
        pytest.param(
            ChangeEvent(waba_id="W" * 130, field="x", value=[1]),
            f"change:x:{'W' * 130}:{digest([1])}",
            "h-" + digest("change-" + "W" * 130)[:40],
            id="change-account-too-long-for-a-group",
        ),
        pytest.param(media_event(), "media:wamid.IMG", "media-" + digest("wamid.IMG")[:40], id="media"),
        pytest.param(UnparsedEvent(reason="r", raw="x", raw_sha256="abc"), "unparsed:abc", "unparsed", id="unparsed"),
        pytest.param(
            UnparsedEvent(reason="r", raw={"a": 1}), f"unparsed:{digest({'a': 1})}", "unparsed", id="unparsed-no-digest"
        ),
    ],
)
def test_key_and_group(event: Any, key: str, group: str) -> None:
    assert (event.key, event.group) == (key, group)
    assert SQS_GROUP_ID.match(event.group)


def test_a_change_key_does_not_depend_on_the_order_of_its_values_keys() -> None:
    one = ChangeEvent(field="x", value={"a": 1, "b": [2, {"c": 3, "d": 4}]})
    other = ChangeEvent(field="x", value={"b": [2, {"d": 4, "c": 3}], "a": 1})

    assert one.key == other.key
    assert ChangeEvent(field="x", value={"a": 2}).key != one.key
    assert ChangeEvent(field="y", value=one.value).key != one.key


def test_a_media_event_is_a_group_of_its_own_per_message_not_the_customers() -> None:
    # A Meta media outage retries the media event alone: the conversation goes on.
    event, again, other = media_event(), media_event(), media_event("wamid.OTHER")
    message = MessageEvent(message=event.message)

    assert event.group == again.group != other.group
    assert event.group != message.group == "16505551234"
    assert event.key != message.key


# --- a change's typed value ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "typed"),
    [
        pytest.param("account_update", {"event": "BANNED"}, AccountUpdate, id="known"),
        pytest.param("message_template_status_update", {"event": "APPROVED"}, TemplateStatusUpdate, id="template"),
        pytest.param("account_update", ["not", "an", "object"], None, id="value-a-list"),
        pytest.param("account_update", None, None, id="no-value"),
        pytest.param("message_template_status_update", {"message_template_id": "abc"}, None, id="not-as-documented"),
        pytest.param("brand_new", {"event": "X"}, None, id="unknown-field"),
    ],
)
def test_typed_gives_the_model_of_a_known_field_or_none_never_an_error(field: str, value: Any, typed: Any) -> None:
    event = ChangeEvent(field=field, value=value)

    result = event.typed()

    assert (type(result) if result is not None else None) is typed
    assert event.value == value  # the raw value is always kept


# --- the queue document: strict on load ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"kind": "change", "field": "x", "feild": "typo"}, id="extra-field-change"),
        pytest.param({"kind": "media", "message": IMAGE, "priority": 1}, id="extra-field-media"),
        pytest.param({"kind": "unparsed", "reason": "r", "rwa": "x"}, id="extra-field-unparsed"),
        pytest.param({"kind": "telepathy"}, id="unknown-kind"),
        pytest.param({"field": "x"}, id="no-kind"),
        pytest.param({"kind": "unparsed"}, id="no-reason"),
        pytest.param({"kind": "media", "message": {"type": "image"}}, id="message-without-id"),
        pytest.param({"kind": "change", "field": "x", "waba_id": 102290129340398}, id="waba-id-a-number"),
    ],
)
@pytest.mark.parametrize("form", ["dict", "str", "bytes"])
def test_load_event_refuses_what_is_not_exactly_an_event(document: dict[str, Any], form: str) -> None:
    text = json.dumps(document)
    given = {"dict": document, "str": text, "bytes": text.encode()}[form]

    with pytest.raises(ValidationError):
        load_event(given)


def test_load_event_keeps_the_unknown_fields_of_metas_own_parts() -> None:
    # Strict on our envelope, tolerant inside Meta's objects.
    event = load_event({"kind": "media", "message": {**IMAGE, "brand_new": {"a": 1}}})

    assert isinstance(event, MediaEvent)
    assert event.message.model_extra == {"brand_new": {"a": 1}}


# --- the queue document: ASCII, no None ----------------------------------------------------------------------


def test_dump_event_is_ascii_and_every_character_comes_back() -> None:
    text = "olá \uffff\ufffe\x00\x07 👋 مرحبا"
    event = message_event(text)

    document = dump_event(event)

    assert document.isascii()
    restored = load_event(document)
    assert isinstance(restored, MessageEvent) and restored.message.text is not None
    assert restored.message.text.body == text


def test_dump_event_leaves_out_none_but_keeps_nulls_inside_a_changes_value() -> None:
    message = dump_event(MessageEvent(message=InboundMessage.model_validate({"id": "wamid.X", "from": "1"})))
    change = ChangeEvent(field="account_update", value={"event": "X", "ban_info": None, "list": [None]})

    assert json.loads(message) == {
        "waba_id": "",
        "phone_number_id": "",
        "kind": "message",
        "message": {"from": "1", "id": "wamid.X", "timestamp": 0, "type": "unknown"},
    }
    restored = load_event(dump_event(change))
    assert restored == change and restored.key == change.key  # Meta's nulls are part of the value


def test_dump_event_is_compact() -> None:
    document = dump_event(ChangeEvent(waba_id="W", field="x", value={"a": [1, 2]}))

    assert document == '{"waba_id":"W","phone_number_id":"","kind":"change","field":"x","value":{"a":[1,2]}}'


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(media_event(), id="media"),
        pytest.param(ChangeEvent(waba_id="W", field="x"), id="change-without-value"),
        pytest.param(status_event("failed", 5, error={"code": 131026, "title": "Undeliverable"}), id="failed-status"),
    ],
)
def test_an_event_comes_back_from_its_document_with_the_same_key_and_group(event: Any) -> None:
    restored = load_event(dump_event(event))

    assert restored == event
    assert (restored.key, restored.group) == (event.key, event.group)
