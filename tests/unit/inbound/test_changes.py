"""wacloud.inbound.changes.AccountChanges: Meta's group, call and preference bodies applied: group
events and calls stored and queryable, a customer's call touching their service window, a marketing
stop or resume set on the customer (moto; a fake for the customers' side)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.data import meta_webhooks as meta
from wacloud.adapters.registry import get_registry
from wacloud.adapters.store import Store
from wacloud.inbound.changes import AccountChanges
from wacloud.inbound.parse import parse_webhook
from wacloud.models.events import ChangeEvent
from wacloud.models.identity import CustomerIdentity
from wacloud.models.number_entry import NumberEntry

pytestmark = pytest.mark.usefixtures("aws")


class FakeCustomers:
    def __init__(self) -> None:
        self.touched: list[tuple[CustomerIdentity, int, str]] = []
        self.numbers: list[str | None] = []  # the number each touch opened the window with
        self.marketing: list[tuple[CustomerIdentity, bool, int]] = []

    def touch(self, identity: CustomerIdentity, *, at: int, ref: str, entry: NumberEntry | None = None) -> str:
        self.touched.append((identity, at, ref))
        self.numbers.append(entry.phone_number_id if entry else None)
        return identity.primary

    def set_marketing(
        self, identity: CustomerIdentity, *, stopped: bool, at: int, entry: NumberEntry | None = None
    ) -> bool:
        self.marketing.append((identity, stopped, at))
        return True


@pytest.fixture
def customers() -> FakeCustomers:
    return FakeCustomers()


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def changes(store: Store, customers: FakeCustomers) -> AccountChanges:
    return AccountChanges(groups=store.groups, calls=store.calls, customers=customers)


def change(body: dict[str, Any]) -> ChangeEvent:
    (event,) = parse_webhook(body)
    assert isinstance(event, ChangeEvent)
    return event


def test_group_events_are_stored_and_queryable_by_group(changes, store):
    for body in meta.GROUP_BODIES.values():
        assert changes.apply(change(body)) == "group events recorded"
    events = store.groups.events(meta.GROUP_ID)
    assert len(events) == len(meta.GROUP_BODIES)  # one each: no two documented bodies are one event
    assert {e.field for e in events} == {
        "group_lifecycle_update",
        "group_participants_update",
        "group_settings_update",
        "group_status_update",
    }
    state = store.groups.state(meta.GROUP_ID)
    assert state is not None and state.lifecycle == "deleted" and state.suspended is False  # cleared last


def test_a_group_event_without_group_id_is_skipped(changes, store):
    body = meta.groups("group_status_update", {"timestamp": "1", "type": "group_suspend"})
    assert changes.apply(change(body)) == "group events recorded"
    assert store.groups.events("") == []


def test_a_customers_call_is_stored_and_opens_their_window(changes, store, customers):
    assert changes.apply(change(meta.CALL_FROM_CUSTOMER)) == "calls recorded"
    record = store.calls.get(meta.CALL_ID)
    assert record is not None and (record.state, record.customer) == ("connect", meta.BSUID)
    assert customers.touched == [
        (
            CustomerIdentity(
                phone=meta.PHONE, user_id=meta.BSUID, parent_user_id=meta.PARENT_BSUID, username="@realsheenanelson"
            ),
            1749197000,
            meta.CALL_ID,
        )
    ]


def test_a_call_opens_the_window_with_the_number_called(changes, customers):
    second = NumberEntry(phone_number_id="100000000000777", waba_id=meta.WABA_ID)
    get_registry().put(second)
    default = get_registry().default()
    assert default is not None

    for number in (default.phone_number_id, second.phone_number_id, "999"):
        call = copy.deepcopy(meta.CALL_FROM_CUSTOMER)
        call["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = number
        changes.apply(change(call))

    # A number the registry does not list is the default's (None), as everything was before it.
    assert customers.numbers == [default.phone_number_id, second.phone_number_id, None]


def test_a_business_call_opens_no_window(changes, store, customers):
    changes.apply(change(meta.BUSINESS_CALL_ANSWERED))
    changes.apply(change(meta.BUSINESS_CALL_RINGING))
    changes.apply(change(meta.BUSINESS_CALL_ENDED))
    record = store.calls.get("wacid.BUSINESS1")
    assert record is not None and (record.state, record.customer, record.outcome) == (
        "terminate",
        meta.BSUID,
        "COMPLETED",
    )
    assert set(record.history) == {"connect", "ringing", "terminate"}
    assert customers.touched == []


def test_marketing_stop_and_resume_are_set_on_the_customer(changes, customers):
    assert changes.apply(change(meta.MARKETING_STOPPED)) == "preferences applied"
    assert changes.apply(change(meta.MARKETING_RESUMED)) == "preferences applied"
    assert customers.marketing == [
        (CustomerIdentity(phone=meta.PHONE, user_id=meta.BSUID, parent_user_id=meta.PARENT_BSUID), True, 1731705721),
        (CustomerIdentity(phone=meta.PHONE), False, 1731705800),
    ]


def test_a_preference_of_another_category_changes_nothing(changes, customers):
    body = meta.body(
        "user_preferences",
        {"user_preferences": [{"wa_id": meta.PHONE, "category": "something_new", "value": "stop", "timestamp": 1}]},
    )
    changes.apply(change(body))
    assert customers.marketing == []


def test_a_changed_user_id_names_the_same_customer_with_their_opt_out(store):
    real = AccountChanges(groups=store.groups, calls=store.calls, customers=store.customers)
    customer = store.customers.touch(CustomerIdentity(phone=meta.PHONE, user_id=meta.BSUID), at=1, ref="call")
    store.customers.set_opt_out(customer, True, at=1, keyword="stop")

    assert real.apply(change(meta.USER_ID_UPDATED)) == "user ids changed"

    moved = store.customers.get("US.99999999999999999999")
    assert moved is not None and moved.customer_id == customer and moved.opted_out
    assert store.customers.get("US.ENT.99999999999999999999").customer_id == customer
    assert store.customers.get(meta.BSUID) is None  # the old id names nobody now


def to_number(body: dict[str, Any], phone_number_id: str) -> dict[str, Any]:
    told = copy.deepcopy(body)
    told["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = phone_number_id
    return told


BRAND_B = NumberEntry(phone_number_id="100000000000004", waba_id="400000000000004", business="brand-b")


@pytest.fixture
def two_businesses(store: Store) -> tuple[AccountChanges, tuple[str, str]]:
    """Changes on the real store, a number of brand-b registered, and the same person a customer of
    both businesses: (the changes, (their default-business id, their brand-b id))."""
    get_registry().put(BRAND_B)
    identity = CustomerIdentity(phone=meta.PHONE, user_id=meta.BSUID)
    ours, theirs = (store.customers.touch(identity, at=1, ref="call", entry=entry) for entry in (None, BRAND_B))
    return AccountChanges(groups=store.groups, calls=store.calls, customers=store.customers), (ours, theirs)


def test_a_marketing_stop_told_to_another_business_binds_its_customer_only(store, two_businesses):
    real, _ = two_businesses

    real.apply(change(to_number(meta.MARKETING_STOPPED, BRAND_B.phone_number_id)))

    assert store.customers.get(meta.PHONE, BRAND_B).marketing_stopped  # type: ignore[union-attr]
    assert not store.customers.get(meta.PHONE).marketing_stopped  # type: ignore[union-attr]


def test_a_marketing_stop_naming_no_number_binds_the_customer_of_its_wabas_business(store, two_businesses):
    real, _ = two_businesses
    body = copy.deepcopy(meta.MARKETING_STOPPED)
    del body["entry"][0]["changes"][0]["value"]["metadata"]  # Meta's may carry none: its WABA says whose
    body["entry"][0]["id"] = BRAND_B.waba_id

    real.apply(change(body))

    assert store.customers.get(meta.PHONE, BRAND_B).marketing_stopped  # type: ignore[union-attr]
    assert not store.customers.get(meta.PHONE).marketing_stopped  # type: ignore[union-attr]


def test_a_changed_user_id_told_to_another_business_moves_its_customer_only(store, two_businesses):
    real, (ours, theirs) = two_businesses

    real.apply(change(to_number(meta.USER_ID_UPDATED, BRAND_B.phone_number_id)))

    assert store.customers.get("US.99999999999999999999", BRAND_B).customer_id == theirs  # type: ignore[union-attr]
    assert store.customers.get("US.99999999999999999999") is None  # the default business's: untouched
    assert store.customers.get(meta.BSUID).customer_id == ours  # type: ignore[union-attr]


def test_other_fields_are_not_this_modules(changes):
    assert changes.apply(change(meta.body("brand_new_field", {"x": 1}))) is None
