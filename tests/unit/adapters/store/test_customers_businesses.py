"""wacloud.adapters.store.customers, per business portfolio (issue 20): the same person writing to
numbers of two businesses is two customers; nothing said to one (opt-out, marketing choice,
handover, a changed or joined name) binds or moves the other; the default business keeps the
exact keys of a single-business stack (moto)."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import message_event
from wacloud.adapters.store import Store
from wacloud.models.identity import CustomerIdentity
from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import Direction, HistoryEntry

pytestmark = pytest.mark.usefixtures("aws")
PHONE, USER_ID, B_USER_ID = "16505551234", "US.1349", "US.8888"
DEFAULT = NumberEntry(phone_number_id="100000000000001", default=True)
SALES = NumberEntry(phone_number_id="100000000000002")  # business default, too
BRAND_B = NumberEntry(phone_number_id="100000000000004", business="brand-b")
BRAND_B_2 = NumberEntry(phone_number_id="100000000000005", business="brand-b")


@pytest.fixture
def store() -> Store:
    return Store()


def table_keys(aws) -> set[tuple[str, str]]:
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    return {(item["pk"], item["sk"]) for item in table.scan()["Items"]}


def wrote(store: Store, entry: NumberEntry | None, wamid: str, at: int, **fields: str) -> str:
    customer = store.customers.upsert(message_event(wamid=wamid, timestamp=at, **fields), entry)
    assert customer is not None
    return customer


def test_the_same_phone_number_writing_to_two_businesses_is_two_customers(store, aws):
    wrote(store, DEFAULT, "wamid.A", 100)
    wrote(store, BRAND_B, "wamid.B", 200)

    a, b = store.customers.get(PHONE, DEFAULT), store.customers.get(PHONE, BRAND_B)
    assert a is not None and b is not None
    assert (a.last_inbound_at, a.windows) == (100, {})  # A's profile knows nothing of B's message
    assert (b.windows, b.first_wamids) == ({BRAND_B.phone_number_id: 200}, {BRAND_B.phone_number_id: "wamid.B"})
    assert b.last_inbound_at is None
    assert {("CONTACT#16505551234", "PROFILE"), ("BUSINESS#brand-b#CONTACT#16505551234", "PROFILE")} <= table_keys(aws)


def test_an_opt_out_said_to_one_business_binds_nothing_of_the_other(store):
    a, b = wrote(store, DEFAULT, "wamid.A", 100), wrote(store, BRAND_B, "wamid.B", 100)
    store.customers.set_opt_out(b, True, at=150, keyword="STOP", entry=BRAND_B)

    assert store.customers.get(PHONE, BRAND_B).opted_out_for(BRAND_B)  # type: ignore[union-attr]
    assert store.customers.get(PHONE, BRAND_B_2).opted_out_for(BRAND_B_2)  # type: ignore[union-attr]  # B-wide
    for entry in (None, DEFAULT, SALES):
        assert not store.customers.get(PHONE, entry).opted_out_for(entry)  # type: ignore[union-attr]

    store.customers.set_opt_out(a, True, at=200, keyword="STOP", entry=DEFAULT)
    store.customers.set_opt_out(b, False, at=300, keyword="START", entry=BRAND_B)
    assert store.customers.get(PHONE, SALES).opted_out_for(SALES)  # type: ignore[union-attr]
    assert not store.customers.get(PHONE, BRAND_B).opted_out_for(BRAND_B)  # type: ignore[union-attr]


def test_marketing_handover_and_history_are_each_business_s_own(store):
    b = wrote(store, BRAND_B, "wamid.B", 100)
    wrote(store, DEFAULT, "wamid.A", 100)
    store.customers.set_marketing(CustomerIdentity(phone=PHONE), stopped=True, at=120, entry=BRAND_B)
    store.customers.set_handover(b, until=9_999_999_999, at=120, wamid="wamid.B", entry=BRAND_B)
    line = HistoryEntry(at=100, direction=Direction.INBOUND, type="text", wamid="wamid.B")
    store.customers.append_history(b, [line], ttl_seconds=60, entry=BRAND_B)

    theirs, ours = store.customers.get(PHONE, BRAND_B), store.customers.get(PHONE, DEFAULT)
    assert theirs is not None and ours is not None
    assert theirs.marketing_stopped and theirs.handed_over_for(BRAND_B, 1000)
    assert not ours.marketing_stopped and not ours.handed_over_for(DEFAULT, 1000)
    assert [h.wamid for h in store.customers.history(b, entry=BRAND_B)] == ["wamid.B"]
    assert store.customers.history(PHONE, entry=DEFAULT) == []
    assert set(store.customers.handovers(b, business="brand-b")) == {BRAND_B.phone_number_id}
    assert store.customers.handovers(PHONE) == {}

    store.customers.release_handover(PHONE)  # the default business's: B's handover stays
    assert store.customers.get(PHONE, BRAND_B).handed_over_for(BRAND_B, 1000)  # type: ignore[union-attr]
    store.customers.release_handover(PHONE, business="brand-b")
    assert not store.customers.get(PHONE, BRAND_B).handed_over_for(BRAND_B, 1000)  # type: ignore[union-attr]


def test_a_bsuid_names_a_customer_of_its_own_business_only(store):
    wrote(store, DEFAULT, "wamid.A", 100, user_id=USER_ID)
    wrote(store, BRAND_B, "wamid.B", 100, user_id=B_USER_ID)

    assert store.customers.get(USER_ID, DEFAULT).customer_id == PHONE  # type: ignore[union-attr]
    assert store.customers.get(B_USER_ID, BRAND_B).customer_id == PHONE  # type: ignore[union-attr]
    assert store.customers.get(B_USER_ID, DEFAULT) is None  # B's BSUID is nobody to A
    assert store.customers.get(USER_ID, BRAND_B) is None


def test_joining_two_customers_in_one_business_leaves_the_other_business_alone(store, aws):
    # A: the phone and the BSUID were two customers (the BSUID wrote first, without a number)
    store.customers.touch(CustomerIdentity(user_id=USER_ID), at=50, ref="call", entry=DEFAULT)
    wrote(store, DEFAULT, "wamid.A", 60)
    # B: the same phone number, its own customer, opted out
    b = wrote(store, BRAND_B, "wamid.B", 70)
    store.customers.set_opt_out(b, True, at=80, keyword="STOP", entry=BRAND_B)
    before = {key for key in table_keys(aws) if key[0].startswith("BUSINESS#")}

    store.customers.upsert(message_event(wamid="wamid.A2", timestamp=90, user_id=USER_ID), DEFAULT)  # A joins them

    assert store.customers.get(USER_ID, DEFAULT).customer_id == PHONE  # type: ignore[union-attr]
    assert ("CONTACT#US.1349", "MERGED") in table_keys(aws)
    assert {key for key in table_keys(aws) if key[0].startswith("BUSINESS#")} == before  # B untouched
    assert not store.customers.get(PHONE, DEFAULT).opted_out_for(DEFAULT)  # type: ignore[union-attr]


def test_a_changed_number_in_one_business_moves_nothing_of_the_other(store):
    wrote(store, DEFAULT, "wamid.A", 100)
    wrote(store, BRAND_B, "wamid.B", 100)

    store.customers.change_identity(
        CustomerIdentity(phone=PHONE), CustomerIdentity(phone="447700900123"), at=200, entry=BRAND_B
    )

    assert store.customers.get("447700900123", BRAND_B).customer_id == PHONE  # type: ignore[union-attr]
    assert store.customers.get(PHONE, BRAND_B) is None  # retired in B
    assert store.customers.get("447700900123", DEFAULT) is None
    assert store.customers.get(PHONE, DEFAULT).customer_id == PHONE  # type: ignore[union-attr]  # A's keeps it


def test_a_send_reads_the_recipient_among_the_sending_number_s_business_in_one_round_trip(store):
    b = wrote(store, BRAND_B, "wamid.B", 100)
    store.customers.set_opt_out(b, True, at=150, keyword="STOP", entry=BRAND_B)
    wrote(store, DEFAULT, "wamid.A", 100)

    _, theirs, _ = store.send_context("k1", "+16505551234", entry=BRAND_B)
    _, ours, _ = store.send_context("k1", "+16505551234", entry=DEFAULT)

    assert theirs is not None and theirs.opted_out_for(BRAND_B) and theirs.window_for(BRAND_B) == 100
    assert ours is not None and not ours.opted_out_for(DEFAULT) and ours.window_for(BRAND_B) is None


def test_a_default_business_stack_writes_exactly_todays_keys(store, aws):
    customer = wrote(store, DEFAULT, "wamid.D", 100, user_id=USER_ID)
    store.customers.set_opt_out(customer, True, at=100, keyword="STOP", entry=DEFAULT)
    store.customers.set_marketing(CustomerIdentity(phone=PHONE), stopped=True, at=100, entry=DEFAULT)
    store.customers.set_handover(customer, until=900, at=100, wamid="wamid.D", entry=DEFAULT)
    line = HistoryEntry(at=100, direction=Direction.INBOUND, type="text", wamid="wamid.D")
    store.customers.append_history(customer, [line], ttl_seconds=60, entry=DEFAULT)
    wrote(store, SALES, "wamid.S", 110)

    assert table_keys(aws) == {
        ("CONTACT#16505551234", "PROFILE"),
        ("CONTACT#16505551234", "OPT"),
        ("CONTACT#16505551234", "MARKETING"),
        ("CONTACT#16505551234", "HANDOVER"),
        ("CONTACT#16505551234", "HIST#00000000100#in#wamid.D#00"),
        ("ALIAS#US.1349", "ALIAS"),
    }
