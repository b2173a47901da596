"""wacloud.ops.customer_migration: customers kept before identities carried over; never an opt-out lost."""

from __future__ import annotations

import pytest

from tests.conftest import SESSION
from wacloud.adapters.store import Store
from wacloud.ops.customer_migration import migrate_customers

pytestmark = pytest.mark.usefixtures("aws")
PHONE, USER_ID = "16505551234", "US.1349"


def put(aws, *items):
    table = SESSION.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    for item in items:
        table.put_item(Item=item)


def legacy_items(phone: str, user_id: str, *, opted_out_under: str) -> list[dict]:
    """What the previous version wrote: the profile under both names, an opt-out under one."""
    profile = {"sk": "PROFILE", "wa_id": phone, "user_id": user_id, "last_inbound_at": 100}
    opt = {
        "pk": f"CONTACT#{opted_out_under}",
        "sk": "OPT",
        "opted_out": True,
        "opt_changed_at": 90,
        "opt_keyword": "stop",
    }
    return [{"pk": f"CONTACT#{phone}", **profile}, {"pk": f"CONTACT#{user_id}", **profile}, opt]


@pytest.mark.parametrize("opted_out_under", [PHONE, USER_ID])
def test_an_upgrade_never_loses_an_opt_out(aws, opted_out_under):
    put(aws, *legacy_items(PHONE, USER_ID, opted_out_under=opted_out_under))
    store = Store()

    report = migrate_customers(store)

    assert (report.profiles, report.linked) == (2, 2)
    for address in (PHONE, f"+{PHONE}", USER_ID):
        contact = store.customers.get(address)
        assert contact is not None and contact.customer_id == PHONE and contact.opted_out, address


def test_migrating_twice_changes_nothing_more(aws):
    put(aws, *legacy_items(PHONE, USER_ID, opted_out_under=USER_ID))
    store = Store()
    migrate_customers(store)
    before = SESSION.client("dynamodb").scan(TableName=aws.table_names["MessagesTable"])["Count"]
    migrate_customers(store)
    assert SESSION.client("dynamodb").scan(TableName=aws.table_names["MessagesTable"])["Count"] == before
    assert store.customers.get(USER_ID).opted_out


def test_customers_with_one_name_are_left_as_they_are(aws):
    put(
        aws,
        {"pk": "CONTACT#447700900123", "sk": "PROFILE", "wa_id": "447700900123"},
        {"pk": "CONTACT#447700900123", "sk": "OPT", "opted_out": True, "opt_changed_at": 5, "opt_keyword": "stop"},
    )
    store = Store()
    assert migrate_customers(store).linked == 0
    assert store.customers.get("+44 7700 900123").opted_out


@pytest.mark.parametrize("order", ["new-first", "old-first"])
def test_a_number_two_stored_customers_had_stays_with_who_used_it_last(aws, order):
    old = {"pk": "CONTACT#US.OLD", "sk": "PROFILE", "wa_id": PHONE, "user_id": "US.OLD", "last_inbound_at": 100}
    new = {"pk": f"CONTACT#{PHONE}", "sk": "PROFILE", "wa_id": PHONE, "user_id": "US.NEW", "last_inbound_at": 900}
    opt = {"pk": f"CONTACT#{PHONE}", "sk": "OPT", "opted_out": True, "opt_changed_at": 900, "opt_keyword": "stop"}
    put(aws, *([new, opt, old] if order == "new-first" else [old, new, opt]))
    store = Store()

    migrate_customers(store)

    holder = store.customers.get(f"+{PHONE}")
    assert holder is not None and holder.user_id == "US.NEW" and holder.opted_out
    assert store.customers.get("US.OLD").customer_id == "US.OLD"


def test_another_business_s_customers_are_left_alone_and_never_joined_to_the_default_s(aws):
    from wacloud.models.identity import CustomerIdentity
    from wacloud.models.number_entry import NumberEntry

    brand_b = NumberEntry(phone_number_id="100000000000004", business="brand-b")
    store = Store()
    store.customers.touch(CustomerIdentity(phone=PHONE, user_id=USER_ID), at=100, ref="call", entry=brand_b)
    before = SESSION.client("dynamodb").scan(TableName=aws.table_names["MessagesTable"])["Items"]

    report = migrate_customers(store)

    assert (report.profiles, report.linked) == (0, 0)
    assert SESSION.client("dynamodb").scan(TableName=aws.table_names["MessagesTable"])["Items"] == before
    assert store.customers.get(USER_ID) is None and store.customers.get(PHONE) is None
