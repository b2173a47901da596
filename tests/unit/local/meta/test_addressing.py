"""How the simulated Graph reads a body's recipient: a phone number in `to`, a business-scoped user id
in `recipient`, a group id in `to` with `recipient_type: "group"`; and what it refuses (100)."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.local.meta.addressing import Recipient, address_key, contacts_answer, recipient_of, user_id_for

BSUID = "US.13491208655302741918"


def message(**address: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", **address, "type": "text", "text": {"body": "hi"}}


@pytest.mark.parametrize(
    ("address", "kind", "key"),
    [
        ({"to": "+1 (650) 555-1234"}, "phone", "16505551234"),
        ({"recipient_type": "individual", "recipient": BSUID}, "user_id", BSUID),
        ({"recipient_type": "group", "to": "Y2FwaV9ncm91cDoxMjM0"}, "group", "Y2FwaV9ncm91cDoxMjM0"),
    ],
    ids=["phone", "bsuid", "group"],
)
def test_each_way_of_addressing_a_message(address, kind, key):
    recipient = recipient_of(message(**address))
    assert isinstance(recipient, Recipient) and (recipient.kind, recipient.key) == (kind, key)


@pytest.mark.parametrize(
    ("address", "detail"),
    [
        ({"to": "+16505551234", "recipient": BSUID}, "either to"),
        ({"to": BSUID}, "goes in recipient"),
        ({"recipient": "16505551234"}, "business-scoped user id"),
        ({}, "is required"),
        ({"to": "hello"}, "phone number"),
        ({"recipient_type": "group", "to": "+16505551234"}, "group's id"),
        ({"recipient_type": "group", "to": "Y2FwaV9ncm91cDoxMjM0", "recipient": BSUID}, "either to"),
        ({"recipient_type": "broadcast", "to": "+16505551234"}, "recipient_type"),
    ],
    ids=[
        "both",
        "bsuid-in-to",
        "phone-in-recipient",
        "none",
        "not-a-phone",
        "phone-as-group",
        "group-and-bsuid",
        "kind",
    ],
)
def test_an_address_graph_would_not_take_is_100(address, detail):
    answer = recipient_of(message(**address))
    assert isinstance(answer, tuple), answer
    status, body = answer
    assert status == 400 and body["error"]["code"] == 100
    assert detail in body["error"]["error_data"]["details"]


def test_the_answer_names_a_bsuid_recipient_by_user_id_and_no_phone():
    assert contacts_answer(Recipient("user_id", BSUID)) == [{"input": BSUID, "wa_id": "", "user_id": BSUID}]
    assert contacts_answer(Recipient("phone", "+16505551234")) == [{"input": "+16505551234", "wa_id": "16505551234"}]


def test_a_simulated_customers_bsuid_is_stable_and_has_their_country():
    assert user_id_for("16505551234") == user_id_for("16505551234")
    assert user_id_for("16505551234") != user_id_for("16505551235")
    assert user_id_for("16505551234").startswith("US.") and user_id_for("447700900123").startswith("GB.")
    assert address_key(user_id_for("447700900123")) == user_id_for("447700900123")
