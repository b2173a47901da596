"""wacloud.inbound.parse: a webhook body's typed events (the split, then each part typed), and their
queue documents (wacloud.models.events)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest

from tests.conftest import load_event as load_sample
from wacloud.inbound.parse import event_from, parse_webhook
from wacloud.inbound.split import MAX_RAW_CHARS, split_webhook
from wacloud.models.events import ChangeEvent, MessageEvent, StatusEvent, UnparsedEvent, dump_event, load_event

# What SQS accepts as a MessageGroupId: 1-128 ASCII letters, digits and punctuation.
SQS_GROUP_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
BSUID = "US.13491208655302741918"


def text_message(wamid: str, sender: str, body: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": "1764000000", "type": "text", "text": {"body": body}, **extra}


def status(wamid: str, state: str, recipient: str) -> dict[str, Any]:
    return {"id": wamid, "status": state, "timestamp": "1764000005", "recipient_id": recipient}


def messages_change(phone_number_id: str, **value: Any) -> dict[str, Any]:
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            **value,
        },
    }


def webhook(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def one_message_body(message: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"messages": [message]}
    if contacts is not None:
        value["contacts"] = contacts
    return webhook({"id": "WABA1", "changes": [messages_change("PN1", **value)]})


TEMPLATE_UPDATE = {
    "field": "message_template_status_update",
    "value": {"event": "APPROVED", "message_template_id": 594425479261596, "message_template_name": "order_shipped"},
}
ACCOUNT_UPDATE = {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT", "phone_number": "15550783881"}}

# Two entries, six changes: messages and statuses in one change, template/account updates between
# them, and a sender known only by a business-scoped user id.
BATCH = webhook(
    {
        "id": "WABA1",
        "changes": [
            messages_change(
                "PN1",
                contacts=[
                    {"profile": {"name": "Bo"}, "wa_id": "16505550002"},
                    {"profile": {"name": "Ana"}, "wa_id": "16505550001"},
                ],
                messages=[
                    text_message("wamid.M1", "16505550001", "first"),
                    {
                        "from": "16505550002",
                        "id": "wamid.M2",
                        "timestamp": "1764000001",
                        "type": "image",
                        "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "caption": "look"},
                    },
                ],
                statuses=[status("wamid.S1", "sent", "16505550003"), status("wamid.S1", "delivered", "16505550003")],
            ),
            TEMPLATE_UPDATE,
            messages_change(
                "PN1",
                messages=[
                    {
                        "from": "16505550001",
                        "id": "wamid.M3",
                        "type": "interactive",
                        "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
                    }
                ],
            ),
        ],
    },
    {
        "id": "WABA2",
        "changes": [
            messages_change("PN2", statuses=[status("wamid.S2", "read", "16505550004")]),
            ACCOUNT_UPDATE,
            messages_change(
                "PN2",
                contacts=[{"profile": {"name": "Cy"}, "wa_id": "", "user_id": BSUID}],
                messages=[{"from": "", "from_user_id": BSUID, "id": "wamid.M4", "type": "text", "text": {"body": "x"}}],
            ),
        ],
    },
)
BATCH_KEYS = [
    "message:wamid.M1",
    "message:wamid.M2",
    "status:wamid.S1:sent",
    "status:wamid.S1:delivered",
    "change:message_template_status_update",
    "message:wamid.M3",
    "status:wamid.S2:read",
    "change:account_update",
    "message:wamid.M4",
]


def short_key(event: Any) -> str:
    """The event's key, without the value digest of change events (for readable comparisons)."""
    return f"change:{event.field}" if isinstance(event, ChangeEvent) else event.key


# --- batching and order ----------------------------------------------------------------------------


def test_one_event_per_message_status_and_change_in_order() -> None:
    events = parse_webhook(BATCH)

    assert [short_key(e) for e in events] == BATCH_KEYS
    assert [e.kind for e in events] == [
        "message",
        "message",
        "status",
        "status",
        "change",
        "message",
        "status",
        "change",
        "message",
    ]


def test_events_carry_their_entry_and_phone_number() -> None:
    events = parse_webhook(BATCH)

    assert [e.waba_id for e in events] == ["WABA1"] * 6 + ["WABA2"] * 3
    by_key = {short_key(e): e for e in events}
    assert by_key["message:wamid.M1"].phone_number_id == "PN1"
    assert by_key["status:wamid.S2:read"].phone_number_id == "PN2"
    assert by_key["message:wamid.M4"].phone_number_id == "PN2"


def test_non_messages_field_becomes_a_change_event_with_its_value() -> None:
    events = parse_webhook(BATCH)

    changes = [e for e in events if isinstance(e, ChangeEvent)]
    assert [(c.field, c.value) for c in changes] == [
        ("message_template_status_update", TEMPLATE_UPDATE["value"]),
        ("account_update", ACCOUNT_UPDATE["value"]),
    ]
    assert changes[0].group == "change-WABA1"


def test_typed_content_is_parsed() -> None:
    events = parse_webhook(BATCH)

    m1, m2 = events[0], events[1]
    assert isinstance(m1, MessageEvent)
    assert isinstance(m2, MessageEvent)
    assert m1.message.text is not None
    assert m1.message.text.body == "first"
    assert m1.message.timestamp == 1764000000
    assert m2.message.image is not None
    assert (m2.message.image.id, m2.message.image.caption) == ("MEDIA1", "look")
    s1 = events[2]
    assert isinstance(s1, StatusEvent)
    assert (s1.status.id, s1.status.status, s1.status.recipient_id) == ("wamid.S1", "sent", "16505550003")


@pytest.mark.parametrize(
    "to_input",
    [
        pytest.param(lambda doc: doc, id="dict"),
        pytest.param(json.dumps, id="str"),
        pytest.param(lambda doc: json.dumps(doc).encode("utf-8"), id="bytes"),
        pytest.param(lambda doc: json.dumps(doc, ensure_ascii=False).encode("utf-8"), id="bytes-utf8"),
    ],
)
def test_bytes_str_and_dict_input_give_the_same_events(to_input: Any) -> None:
    expected = [dump_event(e) for e in parse_webhook(BATCH)]

    events = parse_webhook(to_input(copy.deepcopy(BATCH)))

    assert [dump_event(e) for e in events] == expected
    assert len(events) == len(BATCH_KEYS)


def test_sample_event_body_parses() -> None:
    body = load_sample("webhook-post-text.json")["body"]

    (event,) = parse_webhook(body)

    assert isinstance(event, MessageEvent)
    assert event.key == "message:wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
    assert event.group == "16505551234"
    assert event.contact is not None
    assert event.contact.profile is not None
    assert event.contact.profile.name == "Ana"


def test_empty_entry_list_gives_no_events() -> None:
    assert parse_webhook({"entry": []}) == []
    assert parse_webhook(b'{"object":"whatsapp_business_account","entry":[]}') == []


# --- what is not what Meta documents ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="broken-json-bytes"),
        pytest.param("<html>hello</html>", id="html-str"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param(b'{"entry": [', id="truncated"),
    ],
)
def test_malformed_json_becomes_one_unparsed_event(body: bytes | str) -> None:
    events = parse_webhook(body)

    assert len(events) == 1
    (event,) = events
    assert isinstance(event, UnparsedEvent)
    assert event.reason.startswith("body is not JSON")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    assert event.raw == text
    assert event.raw_sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert event.key == f"unparsed:{event.raw_sha256}"
    assert event.group == "unparsed"


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"object": "whatsapp_business_account"}, id="no-entry"),
        pytest.param({"entry": {"id": "1"}}, id="entry-not-a-list"),
        pytest.param({"entry": None}, id="entry-null"),
        pytest.param([1, 2], id="top-level-list"),
        pytest.param("just a string", id="top-level-string"),
    ],
)
def test_body_without_entry_list_becomes_unparsed(document: Any) -> None:
    (event,) = parse_webhook(json.dumps(document))

    assert isinstance(event, UnparsedEvent)
    assert "'entry' list" in event.reason
    assert event.raw == document


def test_entry_without_changes_and_change_without_field_are_unparsed_but_others_kept() -> None:
    body = webhook(
        {"id": "WABA1"},
        {"id": "WABA2", "changes": [{"value": {}}, messages_change("PN1", messages=[text_message("wamid.OK", "1")])]},
    )

    events = parse_webhook(body)

    assert [e.kind for e in events] == ["unparsed", "unparsed", "message"]
    assert "changes" in events[0].reason
    assert "field" in events[1].reason
    assert events[2].key == "message:wamid.OK"


def test_malformed_message_beside_good_one_keeps_the_good_one() -> None:
    bad = {"from": "16505550001", "type": "text", "text": {"body": "no id"}}
    body = webhook({"id": "WABA1", "changes": [messages_change("PN1", messages=[bad, text_message("wamid.G", "1")])]})

    events = parse_webhook(body)

    assert [type(e) for e in events] == [UnparsedEvent, MessageEvent]
    unparsed, good = events
    assert unparsed.raw == bad
    assert unparsed.reason.startswith("message is malformed: id")
    assert unparsed.waba_id == "WABA1"
    assert good.key == "message:wamid.G"


def test_malformed_status_beside_good_one_keeps_the_good_one() -> None:
    bad = {"id": "wamid.X", "timestamp": "1"}  # no status
    body = webhook({"id": "WABA1", "changes": [messages_change("PN1", statuses=[bad, status("wamid.Y", "read", "1")])]})

    events = parse_webhook(body)

    assert [type(e) for e in events] == [UnparsedEvent, StatusEvent]
    assert events[0].reason.startswith("status is malformed: status")
    assert events[1].key == "status:wamid.Y:read"


def test_unknown_message_type_is_kept_through_dump_and_load() -> None:
    poll = {"question": "Lunch?", "options": [{"id": 1, "text": "Pizza"}, {"id": 2, "text": "Sushi"}]}
    message = {"from": "16505550001", "id": "wamid.POLL", "type": "poll", "poll": poll, "new_top_level": {"a": [1]}}

    (event,) = parse_webhook(one_message_body(message))

    assert isinstance(event, MessageEvent)
    assert event.message.type == "poll"
    document = json.loads(dump_event(event))
    assert document["message"]["poll"] == poll
    assert document["message"]["new_top_level"] == {"a": [1]}
    assert document["message"]["from"] == "16505550001"  # Meta's key, not the Python name
    assert "from_" not in document["message"]
    restored = load_event(dump_event(event))
    assert restored == event
    assert isinstance(restored, MessageEvent)
    assert restored.message.model_extra == {"poll": poll, "new_top_level": {"a": [1]}}


@pytest.mark.parametrize("index", range(len(BATCH_KEYS)), ids=BATCH_KEYS)
def test_every_event_round_trips_through_the_queue_document(index: int) -> None:
    event = parse_webhook(BATCH)[index]

    restored = load_event(dump_event(event))

    assert restored == event
    assert restored.key == event.key
    assert restored.group == event.group
    assert load_event(json.loads(dump_event(event))) == event  # dict form too


def test_unparsed_event_round_trips() -> None:
    (event,) = parse_webhook(b"nope")

    assert load_event(dump_event(event)) == event


def test_value_level_errors_without_messages_become_a_change_event() -> None:
    errors = [{"code": 131000, "title": "Something went wrong", "error_data": {"details": "x"}}]
    body = webhook({"id": "WABA1", "changes": [messages_change("PN1", errors=errors)]})

    (event,) = parse_webhook(body)

    assert isinstance(event, ChangeEvent)
    assert event.field == "messages"
    assert event.phone_number_id == "PN1"
    assert event.waba_id == "WABA1"
    assert event.value["errors"] == errors


def test_messages_change_with_nothing_in_it_is_still_recorded() -> None:
    body = webhook({"id": "WABA1", "changes": [messages_change("PN1")]})

    (event,) = parse_webhook(body)

    assert isinstance(event, ChangeEvent)
    assert event.field == "messages"


def test_change_event_key_is_stable_and_depends_on_value() -> None:
    first = parse_webhook(webhook({"id": "W", "changes": [TEMPLATE_UPDATE]}))[0]
    again = parse_webhook(json.dumps(webhook({"id": "W", "changes": [TEMPLATE_UPDATE]})))[0]
    other_value = {**TEMPLATE_UPDATE, "value": {**TEMPLATE_UPDATE["value"], "event": "REJECTED"}}
    other = parse_webhook(webhook({"id": "W", "changes": [other_value]}))[0]

    assert first.key == again.key
    assert first.key.startswith("change:message_template_status_update:")
    assert other.key != first.key


# --- keys and groups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "key", "group"),
    [
        pytest.param(text_message("wamid.A", "16505551234"), "message:wamid.A", "16505551234", id="phone"),
        pytest.param(
            {"from": "", "from_user_id": BSUID, "id": "wamid.B", "type": "text", "text": {"body": "x"}},
            "message:wamid.B",
            BSUID,
            id="bsuid-empty-from",
        ),
        pytest.param(
            {"from_user_id": BSUID, "id": "wamid.C", "type": "text", "text": {"body": "x"}},
            "message:wamid.C",
            BSUID,
            id="bsuid-no-from",
        ),
        pytest.param(
            {"from": "16505551234", "from_user_id": BSUID, "id": "wamid.D", "type": "text"},
            "message:wamid.D",
            BSUID,
            id="bsuid-orders-even-with-a-phone",
        ),
        pytest.param({"id": "wamid.E", "type": "text"}, "message:wamid.E", "unknown-sender", id="no-sender"),
    ],
)
def test_message_key_and_group(message: dict[str, Any], key: str, group: str) -> None:
    (event,) = parse_webhook(one_message_body(message))

    assert isinstance(event, MessageEvent)
    assert event.key == key
    assert event.group == group


@pytest.mark.parametrize(
    ("raw_status", "key", "group"),
    [
        pytest.param(
            status("wamid.S", "delivered", "16505551234"), "status:wamid.S:delivered", "16505551234", id="phone"
        ),
        pytest.param(
            {"id": "wamid.S", "status": "failed", "recipient_id": "", "recipient_user_id": BSUID},
            "status:wamid.S:failed",
            BSUID,
            id="bsuid",
        ),
    ],
)
def test_status_key_and_group(raw_status: dict[str, Any], key: str, group: str) -> None:
    (event,) = parse_webhook(webhook({"id": "W", "changes": [messages_change("PN1", statuses=[raw_status])]}))

    assert isinstance(event, StatusEvent)
    assert event.key == key
    assert event.group == group


def test_each_status_of_a_message_has_its_own_key() -> None:
    states = ["sent", "delivered", "read"]
    body = webhook({"id": "W", "changes": [messages_change("P", statuses=[status("wamid.S", s, "1") for s in states])]})

    keys = [e.key for e in parse_webhook(body)]

    assert keys == [f"status:wamid.S:{s}" for s in states]


@pytest.mark.parametrize(
    "sender",
    [
        pytest.param("ñandú-16505551234", id="non-ascii"),
        pytest.param("US." + "a" * 200, id="over-128-chars"),
        pytest.param("1650 555 1234", id="space"),
        pytest.param("مرحبا", id="arabic"),
    ],
)
def test_sender_invalid_as_sqs_group_is_hashed_to_a_valid_one(sender: str) -> None:
    message = {"from": sender, "id": "wamid.H", "type": "text"}

    (event,) = parse_webhook(one_message_body(message))
    (again,) = parse_webhook(one_message_body(message))
    (other,) = parse_webhook(one_message_body({**message, "from": sender + "x"}))

    assert SQS_GROUP_ID.match(event.group), event.group
    assert event.group != sender
    assert event.group == again.group  # deterministic: one sender, one group
    assert other.group != event.group


@pytest.mark.parametrize(
    "recipient",
    [pytest.param("é" * 3, id="non-ascii"), pytest.param("9" * 129, id="129-chars")],
)
def test_status_recipient_invalid_as_sqs_group_is_hashed(recipient: str) -> None:
    body = webhook({"id": "W", "changes": [messages_change("P", statuses=[status("wamid.S", "sent", recipient)])]})

    (event,) = parse_webhook(body)

    assert SQS_GROUP_ID.match(event.group)
    assert event.group != recipient


def test_128_char_printable_group_is_kept_as_is() -> None:
    sender = "US." + "a" * 125

    (event,) = parse_webhook(one_message_body({"from": sender, "id": "wamid.H", "type": "text"}))

    assert event.group == sender


# --- truncation of large unparseable data ----------------------------------------------------------


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_huge_unparseable_body_is_truncated_but_hashed_whole(as_bytes: bool) -> None:
    text = "<html>" + "x" * (MAX_RAW_CHARS * 2) + "</html>"
    body: bytes | str = text.encode("utf-8") if as_bytes else text

    (event,) = parse_webhook(body)

    assert isinstance(event, UnparsedEvent)
    assert len(event.raw) == MAX_RAW_CHARS
    assert event.raw == text[:MAX_RAW_CHARS]
    assert "truncated" in event.reason
    assert event.raw_sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    # Two huge bodies sharing their first MAX_RAW_CHARS characters are still two events.
    (other,) = parse_webhook(text + "!")
    assert other.key != event.key


def test_huge_json_without_entry_is_truncated_but_hashed_whole() -> None:
    document = {"object": "x", "data": "y" * (MAX_RAW_CHARS * 2)}

    (event,) = parse_webhook(document)

    assert isinstance(event, UnparsedEvent)
    assert isinstance(event.raw, str)
    assert len(event.raw) == MAX_RAW_CHARS
    assert "truncated" in event.reason
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert event.raw_sha256 == hashlib.sha256(canonical).hexdigest()


def test_small_unparseable_body_is_not_truncated() -> None:
    (event,) = parse_webhook("x" * MAX_RAW_CHARS)

    assert event.raw == "x" * MAX_RAW_CHARS
    assert "truncated" not in event.reason


def test_invalid_utf8_body_hash_is_of_the_bytes_received() -> None:
    first, second = b'{"entry": \xff}', b'{"entry": \xfe}'

    (event,) = parse_webhook(first)
    (other,) = parse_webhook(second)

    assert event.raw_sha256 == hashlib.sha256(first).hexdigest()
    assert event.key != other.key


# --- contacts ---------------------------------------------------------------------------------------


def test_contact_is_matched_to_the_message_by_wa_id() -> None:
    events = parse_webhook(BATCH)

    m1, m2 = events[0], events[1]
    # The change lists Bo (…0002) before Ana (…0001); M1 is from Ana, M2 from Bo.
    assert m1.contact is not None
    assert m1.contact.wa_id == "16505550001"
    assert m1.contact.profile.name == "Ana"
    assert m2.contact is not None
    assert m2.contact.profile.name == "Bo"


def test_contact_is_matched_by_user_id_for_bsuid_senders() -> None:
    contacts = [
        {"profile": {"name": "Other"}, "wa_id": "", "user_id": "US.999"},
        {"profile": {"name": "Cy"}, "wa_id": "", "user_id": BSUID},
    ]
    message = {"from": "", "from_user_id": BSUID, "id": "wamid.U", "type": "text"}

    (event,) = parse_webhook(one_message_body(message, contacts))

    assert event.contact is not None
    assert event.contact.profile.name == "Cy"


def test_no_contact_when_several_contacts_and_none_matches() -> None:
    contacts = [{"wa_id": "111"}, {"wa_id": "222"}]

    (event,) = parse_webhook(one_message_body(text_message("wamid.N", "333"), contacts))

    assert event.contact is None


def test_malformed_contact_does_not_lose_the_message() -> None:
    contacts = [{"wa_id": ["not", "a", "string"]}, {"wa_id": "16505550001", "profile": {"name": "Ana"}}]

    (event,) = parse_webhook(one_message_body(text_message("wamid.C", "16505550001"), contacts))

    assert isinstance(event, MessageEvent)
    assert event.contact is not None
    assert event.contact.profile.name == "Ana"


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        pytest.param("from", "1" * 3000, "message", id="sender-too-long-for-a-key"),
        pytest.param("id", "wamid." + "A" * 3000, "message", id="wamid-too-long-for-a-key"),
        pytest.param("id", "wamid.ñandú", "message", id="wamid-not-ascii"),
        pytest.param("id", "wamid." + "A" * 3000, "status", id="status-wamid-too-long"),
        pytest.param("recipient_id", "1" * 3000, "status", id="recipient-too-long"),
        pytest.param("status", "x" * 500, "status", id="status-name-too-long"),
    ],
)
def test_identifiers_that_cannot_be_keys_make_their_item_unparsed_not_a_poison_event(field, value, kind) -> None:
    # DynamoDB refuses keys over 2,048 bytes: stored as they are, these would fail every retry and
    # end in the DLQ. Unparsed, they are recorded with the reason, and the other items still go.
    good = status("wamid.Y", "read", "1")
    if kind == "message":
        bad = {"from": "16505551234", "id": "wamid.H", "type": "text", field: value}
        body = webhook({"id": "WABA1", "changes": [messages_change("PN1", messages=[bad], statuses=[good])]})
    else:
        bad = {**status("wamid.S", "delivered", "1"), field: value}
        body = webhook({"id": "WABA1", "changes": [messages_change("PN1", statuses=[bad, good])]})

    events = parse_webhook(body)

    assert [type(e) for e in events] == [UnparsedEvent, StatusEvent]
    assert events[0].reason.startswith(f"{kind} is malformed: {field}")


def test_the_processor_types_the_documents_the_webhook_queued_exactly_as_parse_webhook_does() -> None:
    # The webhook splits on plain JSON; the processor types each queue document. Together: parse_webhook.
    body = copy.deepcopy(BATCH)
    assert [event_from(event.body()) for event in split_webhook(body)] == parse_webhook(body)


def test_a_queue_document_that_is_no_event_raises_for_the_processor_to_record() -> None:
    from pydantic import ValidationError

    for document in ('{"kind": "telepathy"}', "[1, 2]", '{"kind": "change"}'):
        with pytest.raises(ValidationError):
            event_from(document)
    with pytest.raises(ValueError, match="Expecting value"):
        event_from("not json")


# --- the processor's path: a queue document typed whole, else part by part --------------------------
# `event_from` validates a well-formed document in one pass (pydantic-core reads the JSON) and takes
# the part-by-part path for anything else; these fail if the one-pass path loses Meta's tolerance.

QUEUE_INPUTS = [
    pytest.param(lambda doc: doc, id="dict"),
    pytest.param(lambda doc: json.dumps(doc, ensure_ascii=True, separators=(",", ":")), id="str"),
    pytest.param(lambda doc: json.dumps(doc, ensure_ascii=False).encode("utf-8"), id="bytes"),
]


@pytest.mark.parametrize("to_input", QUEUE_INPUTS)
def test_a_queue_document_keeps_what_meta_added_that_we_do_not_know(to_input: Any) -> None:
    message = text_message("wamid.U", "16505550001", "olá 😀", brand_new={"a": [1, 2.5]}, context={"id": "x", "new": 1})
    message["text"]["format"] = "rich"
    contact = {"wa_id": "16505550001", "user_id": BSUID, "profile": {"name": "Ana", "pronouns": "she"}, "new": True}
    raw_status = {**status("wamid.S", "read", "16505550001"), "pricing": {"billable": True, "tier": 3}, "new": "x"}

    message_event = event_from(to_input({"kind": "message", "waba_id": "W", "message": message, "contact": contact}))
    status_event = event_from(to_input({"kind": "status", "phone_number_id": "PN", "status": raw_status}))

    assert isinstance(message_event, MessageEvent)
    assert message_event.message.model_extra == {"brand_new": {"a": [1, 2.5]}}
    assert message_event.message.text is not None
    assert message_event.message.text.body == "olá 😀"
    assert message_event.message.text.model_extra == {"format": "rich"}
    assert message_event.message.context is not None
    assert message_event.message.context.model_extra == {"new": 1}
    assert message_event.contact is not None
    assert message_event.contact.model_extra == {"new": True}
    assert message_event.contact.profile is not None
    assert message_event.contact.profile.model_extra == {"pronouns": "she"}
    assert isinstance(status_event, StatusEvent)
    assert status_event.status.model_extra == {"new": "x"}
    assert status_event.status.pricing is not None
    assert status_event.status.pricing.model_extra == {"tier": 3}
    # ... and the queue document written again says all of it, as Meta wrote it.
    assert json.loads(dump_event(message_event))["message"] == {**message, "timestamp": 1764000000}


@pytest.mark.parametrize("to_input", QUEUE_INPUTS)
def test_a_queue_document_without_metas_optional_fields_takes_their_defaults(to_input: Any) -> None:
    message_event = event_from(to_input({"kind": "message", "message": {"id": "wamid.Bare"}}))
    status_event = event_from(to_input({"kind": "status", "status": {"id": "wamid.Bare", "status": "sent"}}))

    assert isinstance(message_event, MessageEvent)
    message = message_event.message
    assert (message.from_, message.type, message.timestamp, message.text) == ("", "unknown", 0, None)
    assert message_event.contact is None
    assert message_event.waba_id == message_event.phone_number_id == ""
    assert isinstance(status_event, StatusEvent)
    raw_status = status_event.status
    assert (raw_status.recipient_id, raw_status.timestamp, raw_status.errors) == ("", 0, None)


@pytest.mark.parametrize("to_input", QUEUE_INPUTS)
def test_a_queue_document_with_a_malformed_contact_keeps_its_message(to_input: Any) -> None:
    document = {"kind": "message", "message": text_message("wamid.C", "1"), "contact": {"wa_id": ["not", "a", "str"]}}

    event = event_from(to_input(document))

    assert isinstance(event, MessageEvent)
    assert event.message.id == "wamid.C"
    assert event.contact is None


@pytest.mark.parametrize("to_input", QUEUE_INPUTS)
def test_a_queue_document_with_a_malformed_message_or_status_becomes_unparsed(to_input: Any) -> None:
    bad_message = {"kind": "message", "waba_id": "W", "message": text_message("wamid.M", "1", timestamp="soon")}
    bad_status = {"kind": "status", "status": {"id": "wamid.S", "status": ["read"]}}

    unparsed_message, unparsed_status = event_from(to_input(bad_message)), event_from(to_input(bad_status))

    assert isinstance(unparsed_message, UnparsedEvent)
    assert unparsed_message.reason.startswith("message is malformed: timestamp")
    assert unparsed_message.raw == bad_message["message"]
    assert unparsed_message.waba_id == "W"
    assert isinstance(unparsed_status, UnparsedEvent)
    assert unparsed_status.reason.startswith("status is malformed: status")


def test_json_that_only_pythons_parser_takes_is_typed_as_before() -> None:
    # pydantic-core refuses an unpaired surrogate escape and very deep nesting; json.loads takes
    # both, and such a document was typed before the one-pass path existed: it still is.
    lone = '{"kind":"message","message":{"id":"wamid.L","type":"text","text":{"body":"\\ud83d!"}}}'
    deep = '{"kind":"change","field":"x","value":' + "[" * 300 + "]" * 300 + "}"

    message_event, change_event = event_from(lone), event_from(deep)

    assert isinstance(message_event, MessageEvent)
    assert message_event.message.text is not None
    assert message_event.message.text.body == "\ud83d!"
    assert isinstance(change_event, ChangeEvent)


def test_a_document_typed_whole_equals_the_same_document_typed_part_by_part() -> None:
    from wacloud.inbound.parse import _event_in_parts

    for event in split_webhook(copy.deepcopy(BATCH)):
        document = event.body()
        whole, parts = event_from(document), _event_in_parts(document)
        assert whole == parts
        assert dump_event(whole) == dump_event(parts)
