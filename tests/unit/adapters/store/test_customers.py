"""wacloud.adapters.store.customers: a customer's profile, opt-out, marketing choice, handover and
history, found by any of their names (moto)."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import message_event
from wacloud.adapters.store import Store
from wacloud.models.events import MessageEvent
from wacloud.models.identity import CustomerIdentity
from wacloud.models.records import Direction, HistoryEntry

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
USER_ID = "US.13491208655302741918"


def written(*, wamid: str, at: int, phone: str = "", user_id: str = "", username: str = "") -> MessageEvent:
    """A text message as Meta sends it in 2026: a BSUID always, a phone number and a username maybe."""
    contact = {
        "wa_id": phone,
        "user_id": user_id,
        "profile": {"name": "Ana", **({"username": username} if username else {})},
    }
    message = {
        "from": phone,
        "from_user_id": user_id,
        "id": wamid,
        "timestamp": str(at),
        "type": "text",
        "text": {"body": "hi"},
    }
    return MessageEvent.model_validate({"message": message, "contact": contact})


@pytest.fixture
def customers():
    return Store().customers


def test_contact_keeps_the_latest_inbound_time_even_when_an_older_message_arrives_late(customers):
    customers.upsert(message_event(wamid="wamid.NEW", timestamp=200, name="Ana B."))
    customers.upsert(message_event(wamid="wamid.OLD", timestamp=100, name="Ana"))
    contact = customers.get(CUSTOMER)
    assert contact is not None
    assert (contact.last_inbound_at, contact.last_inbound_wamid, contact.profile_name) == (200, "wamid.NEW", "Ana B.")
    assert contact.first_inbound_wamid == "wamid.NEW"


def test_a_customer_is_found_by_any_spelling_of_their_number(customers):
    customers.upsert(message_event(wamid="wamid.A", timestamp=100))
    for spelling in ("16505551234", "+16505551234", "+1 (650) 555-1234"):
        contact = customers.get(spelling)
        assert contact is not None and contact.wa_id == CUSTOMER, spelling


def test_an_opt_out_outlives_the_contact_profile(customers, aws):
    customers.upsert(message_event(wamid="wamid.P", timestamp=100))
    assert customers.set_opt_out(CUSTOMER, True, at=100, keyword="STOP") is True
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    assert "expires_at" not in table.get_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "OPT"})["Item"]

    # The profile expires (TTL); the opt-out is still there.
    table.delete_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "PROFILE"})
    contact = customers.get(f"+{CUSTOMER}")
    assert contact is not None and contact.opted_out is True and contact.opt_keyword == "STOP"


def test_the_latest_opt_keyword_wins_whatever_the_arrival_order(customers):
    assert customers.set_opt_out(CUSTOMER, False, at=200, keyword="START") is True
    assert customers.set_opt_out(CUSTOMER, True, at=100, keyword="STOP") is False  # older, arrived late
    contact = customers.get(CUSTOMER)
    assert contact is not None and (contact.opted_out, contact.opt_keyword) == (False, "START")


def test_a_handover_is_set_and_released(customers):
    customers.upsert(message_event(wamid="wamid.A", timestamp=100))
    customers.set_handover(CUSTOMER, until=2_000, at=1_000, wamid="wamid.H")
    contact = customers.get(CUSTOMER)
    assert contact is not None and contact.handed_over(1_500) and not contact.handed_over(2_000)

    customers.release_handover(CUSTOMER)
    contact = customers.get(CUSTOMER)
    assert contact is not None and contact.handover_until is None


def test_history_keeps_the_latest_lines_oldest_first_and_rewrites_a_redelivered_message(customers):
    def line(at: int, wamid: str) -> HistoryEntry:
        return HistoryEntry(at=at, direction=Direction.INBOUND, type="text", text=f"at {at}", wamid=wamid)

    for i in range(1, 6):
        customers.append_history(CUSTOMER, [line(i, f"wamid.{i}")], ttl_seconds=60)
    customers.append_history(CUSTOMER, [line(5, "wamid.5")], ttl_seconds=60)  # the same message again

    assert [entry.at for entry in customers.history(CUSTOMER, limit=3)] == [3, 4, 5]
    assert len(customers.history(CUSTOMER, limit=20)) == 5
    assert customers.history(CUSTOMER, limit=0) == []


def test_one_person_written_by_phone_then_by_user_id_only_is_one_customer(customers):
    first = customers.upsert(written(wamid="wamid.1", at=100, phone=CUSTOMER, user_id=USER_ID))
    customers.set_opt_out(first, True, at=100, keyword="STOP")
    later = customers.upsert(written(wamid="wamid.2", at=200, user_id=USER_ID, username="ana.b"))
    assert later == first == CUSTOMER
    for address in (CUSTOMER, f"+{CUSTOMER}", USER_ID, "@Ana.B"):
        contact = customers.get(address)
        assert contact is not None, address
        assert (contact.customer_id, contact.last_inbound_wamid, contact.opted_out) == (CUSTOMER, "wamid.2", True)
    assert (contact.wa_id, contact.user_id, contact.username) == (CUSTOMER, USER_ID, "ana.b")


def test_a_customer_first_known_by_user_id_keeps_their_id_when_their_number_appears(customers):
    first = customers.upsert(written(wamid="wamid.1", at=100, user_id=USER_ID))
    assert first == USER_ID
    assert customers.upsert(written(wamid="wamid.2", at=200, phone=CUSTOMER, user_id=USER_ID)) == USER_ID
    contact = customers.get(f"+{CUSTOMER}")
    assert contact is not None and contact.customer_id == USER_ID and contact.address == CUSTOMER


def test_a_number_that_changed_hands_is_not_the_old_customer(customers):
    old = customers.upsert(written(wamid="wamid.1", at=100, phone=CUSTOMER, user_id=USER_ID))
    customers.set_opt_out(old, True, at=100, keyword="STOP")
    new = customers.upsert(written(wamid="wamid.2", at=200, phone=CUSTOMER, user_id="US.999"))
    assert new != old
    assert customers.get(CUSTOMER).customer_id == new  # the number names its new holder
    assert not customers.get("US.999").opted_out
    assert customers.get(USER_ID).opted_out  # the old customer keeps their choice


def test_a_call_opens_the_window_like_a_message(customers):
    customers.touch(CustomerIdentity(phone=CUSTOMER, user_id=USER_ID), at=300, ref="wacid.1")
    contact = customers.get(USER_ID)
    assert contact is not None and contact.last_inbound_at == 300
    customers.touch(CustomerIdentity(user_id=USER_ID), at=250, ref="wacid.0")  # older, arrived late
    assert customers.get(CUSTOMER).last_inbound_at == 300


def test_the_latest_marketing_choice_wins_and_outlives_the_profile(customers, aws):
    identity = CustomerIdentity(phone=CUSTOMER, user_id=USER_ID)
    assert customers.set_marketing(identity, stopped=True, at=200) is True
    assert customers.set_marketing(identity, stopped=False, at=100) is False  # older, arrived late
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    assert "expires_at" not in table.get_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "MARKETING"})["Item"]
    contact = customers.get(USER_ID)
    assert contact is not None and contact.marketing_stopped and contact.marketing_changed_at == 200


def test_releasing_a_handover_finds_the_customer_by_any_name(customers):
    customer = customers.upsert(written(wamid="wamid.1", at=100, phone=CUSTOMER, user_id=USER_ID))
    customers.set_handover(customer, until=2_000, at=1_000, wamid="wamid.1")
    customers.release_handover(USER_ID)
    assert customers.get(CUSTOMER).handover_until is None
