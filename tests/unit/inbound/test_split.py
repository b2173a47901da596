"""wacloud.inbound.split: a webhook body split on plain JSON into queue documents, each with its key
and FIFO group (the typed parse of those documents: test_parse.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import fresh_python
from wacloud.inbound.parse import event_from
from wacloud.inbound.split import DEEP, MAX_DEPTH, MAX_EVENT_BYTES, MAX_RAW_CHARS, queue_document, split_webhook
from wacloud.models.keys import digest

BSUID = "US.13491208655302741918"


def text(wamid: str, sender: str = "16505550001", body: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": "1764000000", "type": "text", "text": {"body": body}, **extra}


def status(wamid: str, state: str = "read", recipient: str = "16505550003", **extra: Any) -> dict[str, Any]:
    return {"id": wamid, "status": state, "timestamp": "1764000005", "recipient_id": recipient, **extra}


def messages(phone_number_id: str = "PN1", **value: Any) -> dict[str, Any]:
    metadata = {"display_phone_number": "15550783881", "phone_number_id": phone_number_id}
    return {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}


def body(*changes: dict[str, Any], waba_id: Any = "WABA1") -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": list(changes)}]}


def nested(levels: int) -> list[Any]:
    """Lists nested `levels` deep (built without recursion)."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


ERRORS = [{"code": 131000, "title": "Something went wrong"}]
TEMPLATE = {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}}
ACCOUNT = {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}
BATCH = {
    "entry": [
        {
            "id": "WABA1",
            "changes": [
                messages(messages=[text("wamid.M1"), text("wamid.M2", "16505550002")], statuses=[status("wamid.S1")]),
                TEMPLATE,
                messages(messages=[text("wamid.M3", "", from_user_id=BSUID)], errors=ERRORS),
            ],
        },
        {"id": "WABA2", "changes": [messages("PN2", statuses=[status("wamid.S2", "failed", "")]), ACCOUNT]},
    ]
}


def test_every_message_status_and_change_of_a_batched_body_in_metas_order() -> None:
    events = split_webhook(BATCH)

    assert [(e.kind, e.key, e.group) for e in events] == [
        ("message", "message:wamid.M1", "16505550001"),
        ("message", "message:wamid.M2", "16505550002"),
        ("status", "status:wamid.S1:read", "16505550003"),
        ("change", f"change:message_template_status_update:WABA1:{digest(TEMPLATE['value'])}", "change-WABA1"),
        ("message", "message:wamid.M3", BSUID),
        # value-level errors beside messages: the messages, then the errors as a change of their own
        ("change", f"change:messages:WABA1:{digest(BATCH['entry'][0]['changes'][2]['value'])}", "change-WABA1"),
        ("status", "status:wamid.S2:failed", "unknown-recipient"),
        ("change", f"change:account_update:WABA2:{digest(ACCOUNT['value'])}", "change-WABA2"),
    ]
    assert [(e.document["waba_id"], e.document["phone_number_id"]) for e in events] == [
        *[("WABA1", "PN1")] * 3,
        ("WABA1", ""),
        *[("WABA1", "PN1")] * 2,
        ("WABA2", "PN2"),
        ("WABA2", ""),
    ]


def test_the_split_key_and_group_are_those_of_the_typed_event() -> None:
    # The webhook deduplicates by the split's key, the processor by the typed event's: one key.
    for event in split_webhook(BATCH):
        typed = event_from(event.body())
        assert (typed.kind, typed.key, typed.group) == (event.kind, event.key, event.group)


@pytest.mark.parametrize(
    ("change", "key", "group"),
    [
        pytest.param(messages(messages=[text("wamid.C", 1)]), "message:wamid.C", "unknown-sender", id="from-int"),
        pytest.param(
            messages(messages=[text("wamid.D", 1, from_user_id=BSUID)]), "message:wamid.D", BSUID, id="int-bsuid"
        ),
        pytest.param(
            messages(statuses=[status("wamid.S", "sent", "", recipient_user_id=BSUID)]),
            "status:wamid.S:sent",
            BSUID,
            id="st-bsuid",
        ),
        pytest.param(messages(statuses=[{"id": "wamid.T"}]), "status:wamid.T:", "unknown-recipient", id="no-recipient"),
        pytest.param(messages(statuses=[status("wamid.U", 3)]), "status:wamid.U:", "16505550003", id="status-int"),
    ],
)
def test_message_and_status_key_and_group(change: dict[str, Any], key: str, group: str) -> None:
    (event,) = split_webhook(body(change))

    assert (event.key, event.group) == (key, group)


@pytest.mark.parametrize(
    ("entry", "group", "waba"),
    [
        pytest.param({"id": "WABA1", "changes": [ACCOUNT]}, "change-WABA1", "WABA1", id="account"),
        pytest.param({"changes": [ACCOUNT]}, "change-account", "", id="no-account"),
        pytest.param(
            {"id": 102290129340398, "changes": [ACCOUNT]},
            "change-102290129340398",
            "102290129340398",
            id="numeric-account",
        ),
        pytest.param({"id": "é" * 3, "changes": [ACCOUNT]}, "h-" + digest("change-ééé")[:40], "ééé", id="hashed-group"),
    ],
)
def test_a_change_is_grouped_and_keyed_by_its_account(entry: dict[str, Any], group: str, waba: str) -> None:
    (event,) = split_webhook({"entry": [entry]})

    assert (event.kind, event.group) == ("change", group)
    assert event.key == f"change:account_update:{waba}:{digest(ACCOUNT['value'])}"
    assert event_from(event.body()).key == event.key  # the processor's idempotency key, the same


@pytest.mark.parametrize(
    ("kind", "item", "key", "group"),
    [
        pytest.param("message", {"id": 42}, f"message:{digest({'id': 42})}", "unknown-sender", id="message-int-id"),
        pytest.param("message", {"id": None}, f"message:{digest({'id': None})}", "unknown-sender", id="message-no-id"),
        pytest.param("message", {"id": ""}, f"message:{digest({'id': ''})}", "unknown-sender", id="message-empty-id"),
        pytest.param("message", "hello", f"message:{digest('hello')}", "unknown-sender", id="message-a-string"),
        pytest.param("status", [1], f"status:{digest([1])}", "unknown-recipient", id="status-a-list"),
        pytest.param(
            "status",
            {"id": 7, "status": "read"},
            f"status:{digest({'id': 7, 'status': 'read'})}:read",
            "unknown-recipient",
            id="id-7",
        ),
    ],
)
def test_items_without_a_string_id_make_keys_of_their_own_digest(kind: str, item: Any, key: str, group: str) -> None:
    items = {"messages" if kind == "message" else "statuses": [item]}
    (event,) = split_webhook(body(messages(**items)))

    assert (event.kind, event.key, event.group) == (kind, key, group)
    assert event.document[kind] == item  # kept as sent, for the processor to record why it is no event


def test_two_different_messages_without_an_id_get_two_keys() -> None:
    # One sender, one FIFO group, one deduplication id: SQS would keep only the first of the two.
    first, second = split_webhook(body(messages(messages=[{"from": "1", "type": "a"}, {"from": "1", "type": "b"}])))

    assert first.key != second.key


@pytest.mark.parametrize(
    ("contacts", "sender", "expected"),
    [
        pytest.param([{"wa_id": "2"}, {"wa_id": "1", "n": "me"}], {"from": "1"}, {"wa_id": "1", "n": "me"}, id="wa-id"),
        pytest.param(
            [{"wa_id": "", "user_id": "US.9"}, {"wa_id": "", "user_id": BSUID}],
            {"from": "", "from_user_id": BSUID},
            {"wa_id": "", "user_id": BSUID},
            id="user-id",
        ),
        pytest.param([{"wa_id": "9"}], {"from": "1"}, {"wa_id": "9"}, id="the-only-one"),
        pytest.param(["junk", {"wa_id": "9"}], {"from": "1"}, {"wa_id": "9"}, id="the-only-object"),
        pytest.param([{"wa_id": "8"}, {"wa_id": "9"}], {"from": "1"}, None, id="several-none-matching"),
        pytest.param({"wa_id": "1"}, {"from": "1"}, None, id="not-a-list"),
    ],
)
def test_the_contact_is_matched_to_its_message(contacts: Any, sender: dict[str, Any], expected: Any) -> None:
    (event,) = split_webhook(body(messages(contacts=contacts, messages=[{"id": "wamid.X", **sender}])))

    assert event.document.get("contact") == expected


@pytest.mark.parametrize(
    ("metadata", "phone_number_id"),
    [
        pytest.param({"phone_number_id": "PN1"}, "PN1", id="given"),
        pytest.param({"phone_number_id": 5}, "", id="not-a-string"),
        pytest.param("PN1", "", id="metadata-not-an-object"),
    ],
)
def test_a_messages_change_names_its_phone_number_only_when_given_as_text(metadata: Any, phone_number_id: str) -> None:
    (event,) = split_webhook(body({"field": "messages", "value": {"metadata": metadata, "messages": [text("w")]}}))

    assert event.document["phone_number_id"] == phone_number_id


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"{not json", "body is not JSON", id="not-json"),
        pytest.param(json.dumps({"entry": {"id": "W"}}), "body has no 'entry' list", id="entry-not-a-list"),
        pytest.param(b"null", "body has no 'entry' list", id="null"),
        pytest.param(json.dumps(nested(MAX_DEPTH + 1)), DEEP, id="one-level-too-deep"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, DEEP, id="deeper-than-the-parser-goes"),
        pytest.param({"entry": nested(MAX_DEPTH)}, DEEP, id="dict-too-deep"),
    ],
)
def test_a_body_not_shaped_like_metas_becomes_one_unparsed_event(raw: Any, reason: str) -> None:
    (event,) = split_webhook(raw)

    assert (event.kind, event.group) == ("unparsed", "unparsed")
    assert event.document["reason"].startswith(reason)
    assert event.key == f"unparsed:{event.document['raw_sha256']}"


def test_nesting_up_to_the_limit_is_split_as_usual() -> None:
    # root, entry list, entry, changes list, change: five levels before the value's own
    document = body({"field": "history", "value": nested(MAX_DEPTH - 5)})

    (event,) = split_webhook(json.dumps(document))
    (deeper,) = split_webhook(json.dumps(body({"field": "history", "value": nested(MAX_DEPTH - 4)})))

    assert (event.kind, deeper.kind) == ("change", "unparsed")


def test_a_dict_body_far_too_deep_is_unparsed_not_raised() -> None:
    (event,) = split_webhook({"entry": nested(5000)})

    assert event.document["reason"].startswith(DEEP)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            json.dumps(body(messages(messages=[text("w", body="a\ud83db \ud83d\ude00")]))).encode(), id="bytes"
        ),
        pytest.param(
            json.dumps(body(messages(messages=[text("w", body="a\ud83db 😀")])), ensure_ascii=False), id="str"
        ),
        pytest.param(body(messages(messages=[text("w", body="a\ud83db 😀")])), id="dict"),
    ],
)
def test_lone_surrogates_are_replaced_and_pairs_kept(raw: Any) -> None:
    (event,) = split_webhook(raw)

    assert event.document["message"]["text"]["body"] == "a\ufffdb 😀"
    event.body().encode("utf-8")  # no UnicodeEncodeError: every store and queue takes it


def test_a_lone_surrogate_in_a_key_is_replaced_too() -> None:
    (event,) = split_webhook(body(messages(messages=[text("w", **{"x\udc00": 1})])))

    assert event.document["message"]["x\ufffd"] == 1


def test_the_queue_document_is_ascii_and_decodes_to_the_same_document() -> None:
    (event,) = split_webhook(body(messages(messages=[text("w", body="olá \uffff\x07 👋 مرحبا")])))

    document = event.body()

    assert document.isascii()
    assert json.loads(document) == event.document
    assert json.loads(document)["message"]["text"]["body"] == "olá \uffff\x07 👋 مرحبا"


def test_an_event_that_fits_in_one_queue_message_is_queued_as_it_is() -> None:
    (event,) = split_webhook(body({"field": "history", "value": ""}))
    padding = MAX_EVENT_BYTES - len(event.body())
    (event,) = split_webhook(body({"field": "history", "value": "y" * padding}))

    queued, document = queue_document(event)

    assert len(document) == MAX_EVENT_BYTES
    assert (queued, document) == (event, event.body())


def test_an_event_too_large_for_one_queue_message_is_queued_as_an_unparsed_stand_in() -> None:
    (event,) = split_webhook(body({"field": "history", "value": "y" * MAX_EVENT_BYTES}))
    (other,) = split_webhook(body({"field": "history", "value": "y" * MAX_EVENT_BYTES + "z"}))

    queued, document = queue_document(event)

    full = event.body()
    assert (queued.kind, queued.group, queued.key) == ("unparsed", "unparsed", f"unparsed:{digest(full)}")
    assert queued.document["reason"].startswith(f"change event of {len(full)} bytes is too large to queue")
    assert queued.document["waba_id"] == "WABA1"
    assert queued.document["raw"] == full[:MAX_RAW_CHARS]
    assert document == queued.body() and len(document) <= MAX_EVENT_BYTES
    assert queue_document(other)[0].key != queued.key  # the same start, two events


def test_the_split_imports_no_pydantic() -> None:
    # The webhook's whole work between the signature and the queue: no model building at cold start.
    result = fresh_python("import sys\nimport wacloud.inbound.split\nprint('pydantic' in sys.modules)")

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_a_group_messages_statuses_for_each_participant_are_events_of_their_own():
    def status(participant: str) -> dict:
        return {
            "id": "wamid.G",
            "status": "read",
            "timestamp": "1",
            "recipient_id": "GROUP1",
            "recipient_type": "group",
            "recipient_participant_id": participant,
        }

    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "W", "changes": [{"field": "messages", "value": {"statuses": [status("1650"), status("4477")]}}]}
        ],
    }
    events = split_webhook(body)
    assert [event.key for event in events] == ["status:wamid.G:read:1650", "status:wamid.G:read:4477"]
    assert [event_from(event.document).key for event in events] == [event.key for event in events]
