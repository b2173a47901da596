"""wacloud.adapters.store.customers: a customer's profile, opt-out, handover and history (moto)."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import message_event
from wacloud.adapters.store import Store
from wacloud.adapters.store.customers import contact_keys
from wacloud.models.records import Direction, HistoryEntry

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"


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
    assert customers.set_opt_out([CUSTOMER], True, at=100, keyword="STOP") is True
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    assert "expires_at" not in table.get_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "OPT"})["Item"]

    # The profile expires (TTL); the opt-out is still there.
    table.delete_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "PROFILE"})
    contact = customers.get(f"+{CUSTOMER}")
    assert contact is not None and contact.opted_out is True and contact.opt_keyword == "STOP"


def test_the_latest_opt_keyword_wins_whatever_the_arrival_order(customers):
    assert customers.set_opt_out([CUSTOMER], False, at=200, keyword="START") is True
    assert customers.set_opt_out([CUSTOMER], True, at=100, keyword="STOP") is False  # older, arrived late
    contact = customers.get(CUSTOMER)
    assert contact is not None and (contact.opted_out, contact.opt_keyword) == (False, "START")


def test_a_handover_is_set_and_released(customers):
    customers.set_handover(f"+{CUSTOMER}", until=2_000, at=1_000, wamid="wamid.H")
    contact = customers.get(CUSTOMER)
    assert contact is not None and contact.handed_over(1_500) and not contact.handed_over(2_000)

    customers.release_handover(CUSTOMER)
    contact = customers.get(CUSTOMER)
    assert contact is None or contact.handover_until is None


def test_history_keeps_the_latest_lines_oldest_first_and_rewrites_a_redelivered_message(customers):
    def line(at: int, wamid: str) -> HistoryEntry:
        return HistoryEntry(at=at, direction=Direction.INBOUND, type="text", text=f"at {at}", wamid=wamid)

    for i in range(1, 6):
        customers.append_history(CUSTOMER, [line(i, f"wamid.{i}")], ttl_seconds=60)
    customers.append_history(CUSTOMER, [line(5, "wamid.5")], ttl_seconds=60)  # the same message again

    assert [entry.at for entry in customers.history(f"+{CUSTOMER}", limit=3)] == [3, 4, 5]
    assert len(customers.history(CUSTOMER, limit=20)) == 5
    assert customers.history(CUSTOMER, limit=0) == []


@pytest.mark.parametrize(
    ("addresses", "keys"),
    [
        (("16505551234", "US.1349"), ["16505551234", "US.1349"]),
        (("+1 650 555 1234", "16505551234", None, ""), ["16505551234"]),
        ((None,), []),
    ],
)
def test_contact_keys_are_the_distinct_keys_of_a_customers_addresses(addresses, keys):
    assert contact_keys(*addresses) == keys
