"""wacloud.adapters.store.identities: one person, one customer, whatever Meta calls them (moto)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import SESSION
from wacloud.adapters.store import Store
from wacloud.models.identity import CustomerIdentity
from wacloud.models.records import Direction, HistoryEntry

pytestmark = pytest.mark.usefixtures("aws")
PHONE, USER_ID, NEW_PHONE, NEW_USER_ID = "16505551234", "US.1349", "447700900123", "US.7777"
NOW = int(time.time())


@pytest.fixture
def store():
    return Store()


def put(aws, *items):
    table = SESSION.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    for item in items:
        table.put_item(Item=item)


def test_two_customers_one_webhook_shows_to_be_one_person_are_joined_keeping_the_opt_out(store, aws):
    # Before identities: one partition per name; the opt-out was recorded under the phone only.
    put(
        aws,
        {"pk": f"CONTACT#{PHONE}", "sk": "PROFILE", "wa_id": PHONE, "last_inbound_at": 100, "created_at": 50},
        {"pk": f"CONTACT#{PHONE}", "sk": "OPT", "opted_out": True, "opt_changed_at": 90, "opt_keyword": "stop"},
        {"pk": f"CONTACT#{USER_ID}", "sk": "PROFILE", "user_id": USER_ID, "last_inbound_at": 300, "created_at": 200},
        {"pk": f"CONTACT#{USER_ID}", "sk": "HANDOVER", "handover_until": 9_999, "handover_at": 300},
    )
    store.customers.append_history(
        USER_ID,
        [HistoryEntry(at=300, direction=Direction.INBOUND, type="text", text="hi", wamid="w.3")],
        ttl_seconds=60,
    )

    customer = store.customers.identities.link(CustomerIdentity(phone=PHONE, user_id=USER_ID))

    assert customer == PHONE  # the phone number's customer is kept: producers address by phone
    for address in (PHONE, USER_ID):
        contact = store.customers.get(address)
        assert contact is not None and contact.customer_id == PHONE, address
        assert (contact.opted_out, contact.handover_until, contact.last_inbound_at) == (True, 9_999, 300)
        assert contact.created_at == 50
    assert [entry.wamid for entry in store.customers.history(PHONE)] == ["w.3"]


def test_the_later_choice_is_kept_when_two_customers_are_joined(store, aws):
    put(
        aws,
        {"pk": f"CONTACT#{PHONE}", "sk": "OPT", "opted_out": True, "opt_changed_at": 100, "opt_keyword": "stop"},
        {"pk": f"CONTACT#{USER_ID}", "sk": "OPT", "opted_out": False, "opt_changed_at": 200, "opt_keyword": "start"},
    )
    store.customers.identities.link(CustomerIdentity(phone=PHONE, user_id=USER_ID))
    assert not store.customers.get(PHONE).opted_out  # they opted in again later

    put(aws, {"pk": "CONTACT#2", "sk": "OPT", "opted_out": False, "opt_changed_at": 100, "opt_keyword": "start"})
    put(aws, {"pk": "CONTACT#US.2", "sk": "OPT", "opted_out": True, "opt_changed_at": 100, "opt_keyword": "stop"})
    store.customers.identities.link(CustomerIdentity(phone="2", user_id="US.2"))
    assert store.customers.get("2").opted_out  # the same second: the opt-out is kept


def test_a_changed_number_names_the_same_customer_and_the_old_one_nobody(store):
    customer = store.customers.touch(CustomerIdentity(phone=PHONE, user_id=USER_ID), at=100, ref="call")
    store.customers.set_opt_out(customer, True, at=100, keyword="stop")
    assert store.customers.get(PHONE).user_id == USER_ID

    store.customers.identities.change(CustomerIdentity(phone=PHONE), CustomerIdentity(phone=NEW_PHONE), at=NOW)

    contact = store.customers.get(f"+{NEW_PHONE}")
    assert contact is not None and contact.customer_id == customer and contact.opted_out
    assert contact.wa_id == NEW_PHONE and contact.user_id is None  # Meta gives a new BSUID with a new number
    assert store.customers.get(PHONE) is None
    # The customer writes from the new number with their new BSUID: still the same customer.
    assert store.customers.identities.link(CustomerIdentity(phone=NEW_PHONE, user_id=NEW_USER_ID)) == customer
    assert store.customers.get(NEW_USER_ID).opted_out


def test_news_of_a_new_user_id_after_the_new_id_wrote_joins_the_two(store):
    old = store.customers.identities.link(CustomerIdentity(user_id=USER_ID))
    store.customers.set_opt_out(old, True, at=100, keyword="stop")
    new = store.customers.identities.link(CustomerIdentity(user_id=NEW_USER_ID))  # arrived first
    assert new != old

    store.customers.identities.change(CustomerIdentity(user_id=USER_ID), CustomerIdentity(user_id=NEW_USER_ID), at=NOW)

    contact = store.customers.get(NEW_USER_ID)
    assert contact is not None and contact.customer_id == old and contact.opted_out
    assert store.customers.get(USER_ID) is None


def test_a_username_follows_its_latest_owner_and_joins_nobody(store):
    first = store.customers.touch(CustomerIdentity(user_id=USER_ID, username="ana"), at=1, ref="call")
    second = store.customers.touch(CustomerIdentity(user_id=NEW_USER_ID, username="ana"), at=2, ref="call")
    assert first != second
    assert store.customers.get("@ana").customer_id == second
    assert store.customers.get(USER_ID).customer_id == first


def test_an_address_that_names_nobody_finds_nothing(store):
    assert store.customers.get("US.404") is None
    assert store.customers.get("+1 650 555 0000") is None
    assert store.customers.identities.find("") == (None, [])


def test_an_identity_without_a_name_cannot_be_a_customer(store):
    with pytest.raises(ValueError, match="needs a phone number"):
        store.customers.identities.link(CustomerIdentity())


def test_a_lookup_by_phone_of_a_customer_kept_under_their_phone_is_one_read(store, aws, monkeypatch):
    customer = store.customers.identities.link(CustomerIdentity(phone=PHONE, user_id=USER_ID))
    store.customers.set_opt_out(customer, False, at=1, keyword="start")
    calls = []
    original = store.table._call
    monkeypatch.setattr(
        store.table, "_call", lambda operation, **params: calls.append(operation) or original(operation, **params)
    )
    store.customers.get(f"+{PHONE}")
    assert calls == ["BatchGetItem"]
    calls.clear()
    store.customers.get(USER_ID)  # an alias: one read more
    assert calls == ["BatchGetItem", "BatchGetItem"]


def test_merges_into_each_other_do_not_loop(store, aws):
    put(aws, {"pk": "CONTACT#1", "sk": "MERGED", "into": "2"}, {"pk": "CONTACT#2", "sk": "MERGED", "into": "1"})
    with pytest.raises(RuntimeError, match="hops"):
        store.customers.get("1")


def test_a_late_message_under_a_bsuid_its_customer_left_reaches_them_and_moves_nothing(store):
    customer = store.customers.touch(CustomerIdentity(phone=PHONE, user_id=USER_ID), at=100, ref="call")
    store.customers.set_opt_out(customer, True, at=100, keyword="stop")
    store.customers.identities.change(
        CustomerIdentity(phone=PHONE, user_id=USER_ID), CustomerIdentity(user_id=NEW_USER_ID), at=NOW
    )

    # A message sent before the change, processed after it (another FIFO group: its old BSUID).
    assert store.customers.identities.link(CustomerIdentity(phone=PHONE, user_id=USER_ID)) == customer
    for address in (PHONE, NEW_USER_ID):
        contact = store.customers.get(address)
        assert contact is not None and contact.customer_id == customer and contact.opted_out, address
    assert store.customers.get(USER_ID) is None  # still retired
    assert store.customers.identities.link(CustomerIdentity(phone=PHONE, user_id=NEW_USER_ID)) == customer


def test_a_changed_number_that_an_older_customer_had_is_not_joined_to_them(store):
    old_times = Store(clock=lambda: NOW - 400 * 86400)
    other = old_times.customers.touch(CustomerIdentity(phone=NEW_PHONE, user_id="US.OLD"), at=1, ref="call")
    old_times.customers.set_opt_out(other, True, at=1, keyword="stop")
    old_times.customers.append_history(
        other,
        [HistoryEntry(at=1, direction=Direction.INBOUND, type="text", text="theirs", wamid="w.old")],
        ttl_seconds=60,
    )
    customer = store.customers.touch(CustomerIdentity(phone=PHONE, user_id=USER_ID), at=NOW - 60, ref="call")

    store.customers.identities.change(
        CustomerIdentity(phone=PHONE, user_id=USER_ID), CustomerIdentity(phone=NEW_PHONE), at=NOW
    )

    moved = store.customers.get(f"+{NEW_PHONE}")
    assert moved is not None and moved.customer_id == customer and not moved.opted_out
    assert store.customers.history(customer) == []  # nobody else's conversation
    assert store.customers.get("US.OLD").opted_out  # the number's earlier holder keeps their choice


def test_the_same_change_twice_changes_nothing_more(store):
    customer = store.customers.touch(CustomerIdentity(phone=PHONE, user_id=USER_ID), at=100, ref="call")
    change = (CustomerIdentity(phone=PHONE, user_id=USER_ID), CustomerIdentity(phone=NEW_PHONE))
    store.customers.identities.change(*change, at=NOW)
    store.customers.identities.change(*change, at=NOW)
    assert store.customers.get(NEW_PHONE).customer_id == customer
    assert store.customers.get(USER_ID).customer_id == customer
    assert store.customers.get(PHONE) is None


def test_a_late_message_from_a_numbers_earlier_holder_does_not_take_the_number_back(store):
    new_holder = store.customers.touch(CustomerIdentity(phone=PHONE, user_id=NEW_USER_ID), at=NOW, ref="call")
    store.customers.set_opt_out(new_holder, True, at=NOW, keyword="stop")

    # The earlier holder's message, written before, processed after (its own FIFO group).
    earlier = store.customers.touch(CustomerIdentity(phone=PHONE, user_id=USER_ID), at=NOW - 3600, ref="call")

    assert earlier != new_holder
    assert store.customers.get(PHONE).customer_id == new_holder  # the number is still the new holder's
    assert store.customers.get(PHONE).opted_out
    assert store.customers.get(USER_ID).customer_id == earlier
