"""wacloud.adapters.store.customers, per number (issue 20): windows, handovers and history are each
number's; opt-outs business-wide or the number's own; the default number keeps today's keys (moto)."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import message_event
from wacloud.adapters.store import Store
from wacloud.adapters.store.identities import lookup_keys
from wacloud.models.identity import CustomerIdentity
from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import Direction, HistoryEntry

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
DEFAULT = NumberEntry(phone_number_id="100000000000001", default=True)
SALES = NumberEntry(phone_number_id="100000000000002")
SUPPORT = NumberEntry(phone_number_id="100000000000003", opt_out_scope="number")


@pytest.fixture
def store() -> Store:
    return Store()


def items(aws) -> dict[str, dict]:
    """The customer's partition, by sort key."""
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    found = table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"CONTACT#{CUSTOMER}"})
    return {item["sk"]: item for item in found["Items"]}


def test_the_default_number_writes_exactly_the_keys_of_a_single_number_stack(store, aws):
    for entry in (None, DEFAULT):
        customer = store.customers.upsert(message_event(wamid="wamid.D", timestamp=100), entry)
        store.customers.set_opt_out(customer, True, at=100, keyword="STOP", entry=entry)
        store.customers.set_handover(customer, until=900, at=100, wamid="wamid.D", entry=entry)
        line = HistoryEntry(at=100, direction=Direction.INBOUND, type="text", wamid="wamid.D")
        store.customers.append_history(customer, [line], ttl_seconds=60, entry=entry)

        kept = items(aws)
        assert set(kept) == {"PROFILE", "OPT", "HANDOVER", "HIST#00000000100#in#wamid.D#00"}
        assert not [name for name in kept["PROFILE"] if "#" in name]
        assert (kept["PROFILE"]["last_inbound_at"], kept["PROFILE"]["first_inbound_wamid"]) == (100, "wamid.D")
    assert lookup_keys(CUSTOMER, DEFAULT) == lookup_keys(CUSTOMER)  # and reads what it always read


def test_each_number_has_its_own_window_and_first_message(store):
    store.customers.upsert(message_event(wamid="wamid.D", timestamp=100))
    store.customers.upsert(message_event(wamid="wamid.S1", timestamp=200), SALES)
    store.customers.upsert(message_event(wamid="wamid.S0", timestamp=150), SALES)  # older, arrived late

    contact = store.customers.get(CUSTOMER, SALES)
    assert contact is not None
    assert (contact.window_for(DEFAULT), contact.first_wamid_for(DEFAULT)) == (100, "wamid.D")
    assert (contact.window_for(SALES), contact.first_wamid_for(SALES)) == (200, "wamid.S1")
    assert contact.last_wamids == {SALES.phone_number_id: "wamid.S1"}
    assert contact.window_for(SUPPORT) is None
    store.customers.touch(CustomerIdentity(phone=CUSTOMER), at=300, ref="wacid.1", entry=SUPPORT)
    assert store.customers.get(CUSTOMER).window_for(SUPPORT) == 300  # a call opens that number's window


def test_an_opt_out_said_to_a_number_whose_opt_outs_are_its_own_binds_it_alone(store):
    customer = store.customers.upsert(message_event(wamid="wamid.D", timestamp=100))
    store.customers.set_opt_out(customer, True, at=100, keyword="STOP", entry=SUPPORT)

    assert store.customers.get(CUSTOMER, SUPPORT).opted_out_for(SUPPORT)
    for entry in (None, SALES):
        assert not store.customers.get(CUSTOMER, entry).opted_out_for(entry)
    # Read without the number's keys, its opt-out is not seen: every reader passes its number.
    assert not store.customers.get(CUSTOMER).opted_out_for(SUPPORT)


def test_a_business_wide_opt_out_binds_every_number_and_a_number_scoped_opt_in_reopens_one(store):
    customer = store.customers.upsert(message_event(wamid="wamid.D", timestamp=100))
    store.customers.set_opt_out(customer, True, at=100, keyword="STOP", entry=SALES)  # business-wide
    assert all(store.customers.get(CUSTOMER, e).opted_out_for(e) for e in (None, SALES, SUPPORT))

    store.customers.set_opt_out(customer, False, at=200, keyword="START", entry=SUPPORT)

    assert not store.customers.get(CUSTOMER, SUPPORT).opted_out_for(SUPPORT)
    assert store.customers.get(CUSTOMER, SALES).opted_out_for(SALES)
    assert store.customers.get(CUSTOMER).opted_out


def test_handovers_and_history_are_each_numbers(store):
    customer = store.customers.upsert(message_event(wamid="wamid.D", timestamp=100))
    store.customers.set_handover(customer, until=900, at=100, wamid="wamid.S", entry=SALES)
    for at, entry in ((100, None), (200, SALES), (300, SALES), (400, None)):
        line = HistoryEntry(at=at, direction=Direction.INBOUND, type="text", text=str(at), wamid=f"w{at}")
        store.customers.append_history(customer, [line], ttl_seconds=60, entry=entry)

    sales, default = store.customers.get(CUSTOMER, SALES), store.customers.get(CUSTOMER)
    assert sales.handed_over_for(SALES, 500) and not sales.handed_over_for(DEFAULT, 500)
    assert not default.handed_over(500)
    assert [line.at for line in store.customers.history(customer, entry=SALES)] == [200, 300]
    assert [line.at for line in store.customers.history(customer)] == [100, 400]
    assert [line.at for line in store.customers.history(customer, limit=1, entry=DEFAULT)] == [400]

    store.customers.set_handover(customer, until=900, at=100, wamid="wamid.D")
    store.customers.release_handover(CUSTOMER, SALES)
    assert not store.customers.get(CUSTOMER, SALES).handed_over_for(SALES, 500)
    assert store.customers.get(CUSTOMER).handed_over(500)
    store.customers.set_handover(customer, until=900, at=100, wamid="wamid.S", entry=SALES)
    store.customers.release_handover(CUSTOMER)  # every number's
    contact = store.customers.get(CUSTOMER, SALES)
    assert not contact.handed_over(500) and not contact.handed_over_for(SALES, 500)


def test_the_send_context_reads_the_sending_numbers_opt_out_in_the_same_round_trip(store):
    customer = store.customers.upsert(message_event(wamid="wamid.D", timestamp=100), SUPPORT)
    store.customers.set_opt_out(customer, True, at=100, keyword="STOP", entry=SUPPORT)

    _, contact, _ = store.send_context("k1", CUSTOMER, entry=SUPPORT)
    assert contact is not None and contact.opted_out_for(SUPPORT) and contact.window_for(SUPPORT) == 100
    _, contact, _ = store.send_context("k1", CUSTOMER, entry=DEFAULT)
    assert contact is not None and not contact.opted_out_for(DEFAULT) and contact.window_for(DEFAULT) is None


def test_a_customer_joined_into_another_keeps_every_numbers_opt_out_window_and_history(store):
    user_id = "US.1349"
    by_phone = store.customers.upsert(message_event(wamid="wamid.1", timestamp=100))
    alone = CustomerIdentity(user_id=user_id)
    by_user = store.customers.touch(alone, at=200, ref="wacid.1", entry=SALES)
    store.customers.set_opt_out(by_user, True, at=200, keyword="STOP", entry=SUPPORT)
    line = HistoryEntry(at=200, direction=Direction.INBOUND, type="text", wamid="w2")
    store.customers.append_history(by_user, [line], ttl_seconds=60, entry=SALES)
    assert by_phone != by_user

    # One webhook names both: the user id's customer is absorbed into the phone number's.
    store.customers.identities.link(CustomerIdentity(phone=CUSTOMER, user_id=user_id), at=300)

    contact = store.customers.get(user_id, SUPPORT)
    assert contact is not None and contact.customer_id == by_phone
    assert contact.opted_out_for(SUPPORT) and contact.windows == {SALES.phone_number_id: 200}
    assert [line.wamid for line in store.customers.history(by_phone, entry=SALES)] == ["w2"]
