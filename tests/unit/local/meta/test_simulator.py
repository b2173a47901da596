"""The simulated customers as Meta carries them in late 2026: every one with a stable business-scoped
user id, some with only a username; groups; calls; and the business's sends to each of them (BSUIDs
in `recipient`, groups by id, marketing templates through /marketing_messages)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.local.meta.conftest import PNID, Meta
from wacloud.local.meta.addressing import user_id_for
from wacloud.local.meta.business_numbers import EUM, BusinessNumber
from wacloud.local.meta.webhooks import DEFAULT_DISPLAY_NUMBER

PHONE = "16505551234"
HELLO = {"type": "text", "text": {"body": "hello"}}


def value(webhook: dict[str, Any]) -> dict[str, Any]:
    return dict(webhook["entry"][0]["changes"][0]["value"])


def template(name: str, *parameters: str) -> dict[str, Any]:
    body = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}]
    return {"type": "template", "template": {"name": name, "language": {"code": "en_US"}, "components": body}}


def test_a_phone_customers_webhooks_carry_a_business_scoped_user_id_that_stays_the_same(meta: Meta):
    body, status, _ = meta.simulator.customer_sends(PHONE, HELLO, name="Ana")
    sent = value(body)
    assert status == 200
    assert sent["messages"][0]["from"] == PHONE
    assert sent["messages"][0]["from_user_id"] == user_id_for(PHONE) == sent["contacts"][0]["user_id"]
    assert sent["contacts"][0]["wa_id"] == PHONE
    again, _, _ = meta.simulator.customer_sends(PHONE, HELLO)
    assert value(again)["messages"][0]["from_user_id"] == user_id_for(PHONE)


def test_a_customer_with_only_a_username_has_no_phone_in_webhooks_and_shows_as_at_username(meta: Meta):
    body, _, _ = meta.simulator.customer_sends("@ana.b", HELLO, name="Ana")
    sent = value(body)
    user_id = sent["messages"][0]["from_user_id"]
    assert sent["messages"][0]["from"] == "" and user_id == user_id_for("@ana.b")
    assert sent["contacts"] == [{"profile": {"name": "Ana", "username": "ana.b"}, "wa_id": "", "user_id": user_id}]
    (shown,) = meta.simulator.state()["customers"]
    assert (shown["label"], shown["phone"], shown["wa_id"]) == ("@ana.b", "", user_id)
    assert [b["direction"] for b in shown["bubbles"]] == ["in"]


def test_a_send_to_a_bsuid_in_recipient_is_answered_and_its_statuses_name_no_phone(meta: Meta):
    meta.simulator.customer_sends("@ana.b", HELLO)
    user_id = user_id_for("@ana.b")
    status, answer = meta.send({"recipient_type": "individual", "recipient": user_id, **HELLO})
    assert status == 200, answer
    assert answer["contacts"] == [{"input": user_id, "wa_id": "", "user_id": user_id}]
    statuses = meta.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["recipient_id"] == "" and s["recipient_user_id"] == user_id for s in statuses)
    (shown,) = meta.simulator.state()["customers"]
    assert [b["direction"] for b in shown["bubbles"]] == ["in", "out"]  # the same conversation


def test_graph_refuses_a_bsuid_in_to_and_both_to_and_recipient_with_metas_error_body(meta: Meta):
    user_id = user_id_for("@ana.b")
    for address in ({"to": user_id}, {"to": f"+{PHONE}", "recipient": user_id}):
        status, answer = meta.send({**address, **HELLO})
        assert status == 400 and set(answer["error"]) == {"message", "type", "code", "error_data", "fbtrace_id"}
        assert (answer["error"]["code"], answer["error"]["type"]) == (100, "OAuthException")
        assert answer["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert meta.graph.messages() == []


def test_the_local_runs_account_has_a_disabled_and_an_authentication_template(meta: Meta):
    status, answer = meta.send({"to": f"+{PHONE}", **template("winter_sale", "20%")})
    assert (status, answer["error"]["code"]) == (400, 132016)
    status, answer = meta.send({"recipient": user_id_for(PHONE), **template("login_code", "123456")})
    assert (status, answer["error"]["code"]) == (400, 131062)


def test_marketing_templates_go_through_marketing_messages_when_the_account_says_so(meta: Meta):
    assert meta.simulator.configure({"disable_marketing_messages_on_cloud_api": True})[
        "disable_marketing_messages_on_cloud_api"
    ]
    deals = {"to": f"+{PHONE}", **template("weekly_deals", "2 for 1")}
    status, answer = meta.send(deals)
    assert (status, answer["error"]["code"]) == (400, 131063)
    status, answer = meta.send({**deals, "message_activity_sharing": False}, endpoint="marketing_messages")
    assert status == 200 and answer["messages"][0]["id"].startswith("wamid.")
    assert [s["status"] for s in meta.statuses()] == ["sent", "delivered", "read"]
    status, answer = meta.send({"to": f"+{PHONE}", **HELLO}, endpoint="marketing_messages")
    assert (status, answer["error"]["code"]) == (400, 100)


def test_a_participants_message_to_a_group_is_metas_group_message_webhook(meta: Meta):
    meta.simulator.group("GROUP1", subject="Weekend", participants=[PHONE, "@bob"])
    body, _, _ = meta.simulator.customer_sends(PHONE, HELLO, group_id="GROUP1")
    message = value(body)["messages"][0]
    assert (message["group_id"], message["from"], message["from_user_id"]) == ("GROUP1", PHONE, user_id_for(PHONE))
    (group,) = meta.simulator.state()["groups"]
    assert [b["author"] for b in group["bubbles"]] == [PHONE]
    customers = {c["wa_id"]: c for c in meta.simulator.state()["customers"]}
    assert customers[PHONE]["bubbles"] == []  # not in the one-to-one conversation


def test_a_send_to_a_group_is_taken_with_statuses_for_each_participant(meta: Meta):
    meta.simulator.group("GROUP1", participants=[PHONE, "@bob"])
    status, answer = meta.send({"recipient_type": "group", "to": "GROUP1", **HELLO})
    assert status == 200, answer
    statuses = meta.statuses()
    assert len(statuses) == 6  # sent, delivered, read for each of the two
    assert all(s["recipient_type"] == "group" and s["recipient_id"] == "GROUP1" for s in statuses)
    participants = {(s["recipient_participant_id"], s["recipient_participant_user_id"]) for s in statuses}
    assert participants == {(PHONE, user_id_for(PHONE)), ("", user_id_for("@bob"))}


def test_a_customers_call_is_a_connect_then_a_terminate_calls_webhook(meta: Meta):
    meta.simulator.customer_calls(PHONE, seconds=12)
    connect, terminate = meta.webhooks
    assert connect["entry"][0]["changes"][0]["field"] == "calls"
    first, last = value(connect)["calls"][0], value(terminate)["calls"][0]
    assert (first["event"], first["from"], first["to"]) == ("connect", PHONE, DEFAULT_DISPLAY_NUMBER)
    assert first["session"]["sdp_type"] == "offer" and first["direction"] == "USER_INITIATED"
    assert (last["event"], last["status"], last["duration"], last["id"]) == ("terminate", "COMPLETED", 12, first["id"])
    assert value(connect)["contacts"][0]["user_id"] == user_id_for(PHONE)
    assert value(connect)["metadata"]["phone_number_id"] == PNID


def test_the_chat_api_makes_username_customers_groups_and_calls(meta: Meta):
    made = meta.chat("/_sim/customers/@carla", {"name": "Carla"})
    assert (made["label"], made["phone"], made["user_id"]) == ("@carla", "", user_id_for("@carla"))
    assert meta.chat("/_sim/groups/G2", {"subject": "Team", "participants": [PHONE, "@carla"]})["participants"] == [
        PHONE,
        user_id_for("@carla"),
    ]
    sent = meta.chat("/_sim/groups/G2/messages", {"from": "@carla", "text": "hi all"})
    assert sent["webhook_status"] == 200
    assert value(meta.webhooks[-1])["messages"][0]["group_id"] == "G2"
    assert meta.chat(f"/_sim/customers/{PHONE}/call", {"seconds": 3})["webhook_statuses"] == [200, 200]


def test_the_business_reading_a_group_message_marks_it_read(meta: Meta):
    meta.simulator.group("GROUP1", participants=[PHONE])
    body, _, _ = meta.simulator.customer_sends(PHONE, HELLO, group_id="GROUP1")
    wamid = value(body)["messages"][0]["id"]
    assert meta.send({"status": "read", "message_id": wamid}) == (200, {"success": True})
    (group,) = meta.simulator.state()["groups"]
    assert [b["status"] for b in group["bubbles"]] == ["read"]


def second_number(meta: Meta) -> BusinessNumber:
    """The business's second number (on End User Messaging Social), added to the simulator."""
    second = BusinessNumber(
        "100000000000002",
        waba_id="200000000000002",
        display_phone_number="15550783882",
        transport=EUM,
        eum_phone_number_id="phone-number-id-" + "ab" * 16,
    )
    meta.simulator.numbers[second.phone_number_id] = second
    return second


def test_a_customer_writes_to_either_number_and_each_conversation_keeps_to_its_number(meta: Meta):
    second = second_number(meta)
    to_second, status, _ = meta.simulator.customer_sends(PHONE, HELLO, phone_number_id=second.phone_number_id)
    assert status == 200 and to_second["entry"][0]["id"] == second.waba_id
    assert value(to_second)["metadata"] == {
        "display_phone_number": "15550783882",
        "phone_number_id": second.phone_number_id,
    }
    to_first, _, _ = meta.simulator.customer_sends(PHONE, HELLO)
    assert value(to_first)["metadata"]["phone_number_id"] == PNID

    # The first number reads its message: the conversation with the second is not read by it.
    meta.send({"status": "read", "message_id": value(to_first)["messages"][0]["id"]})
    state = meta.simulator.state()
    (customer,) = state["customers"]
    read = {b["phone_number_id"]: b["status"] for b in customer["bubbles"]}
    assert read == {second.phone_number_id: "delivered", PNID: "read"}
    assert [(n["phone_number_id"], n["transport_name"]) for n in state["numbers"]] == [
        (PNID, "Cloud API"),
        (second.phone_number_id, "End User Messaging Social"),
    ]
    with pytest.raises(ValueError, match="not one of the business's numbers"):
        meta.simulator.customer_sends(PHONE, HELLO, phone_number_id="199999999999999")


def test_a_call_to_the_second_number_is_to_its_display_number_in_the_webhooks_and_the_chat_view(meta: Meta):
    second = second_number(meta)
    meta.simulator.customer_calls(PHONE, seconds=4, phone_number_id=second.phone_number_id)
    connect, terminate = meta.webhooks
    assert [value(w)["calls"][0]["to"] for w in (connect, terminate)] == [second.display_phone_number] * 2
    assert value(connect)["metadata"]["phone_number_id"] == second.phone_number_id
    meta.simulator.customer_calls(PHONE, seconds=2)  # the default number's own
    (customer,) = meta.simulator.state()["customers"]
    shown = [(b["phone_number_id"], b["message"]["call"]["to"]) for b in customer["bubbles"]]
    assert shown == [(second.phone_number_id, second.display_phone_number), (PNID, DEFAULT_DISPLAY_NUMBER)]


def test_a_group_made_through_the_chat_api_for_the_second_number_is_written_to_through_it(meta: Meta):
    second = second_number(meta)
    made = meta.chat("/_sim/groups/G3", {"participants": [PHONE], "phone_number_id": second.phone_number_id})
    assert made["phone_number_id"] == second.phone_number_id
    meta.chat("/_sim/groups/G3/messages", {"from": PHONE, "text": "hi all"})  # names no number: the group's
    assert value(meta.webhooks[-1])["metadata"]["phone_number_id"] == second.phone_number_id
    assert meta.chat("/_sim/groups/G4", {"participants": [PHONE]})["phone_number_id"] == PNID
