"""wacloud.inbound.customer_message with numbers of two business portfolios (issue 20): a customer's
message is remembered, and their keywords and changed names applied, among the customers of the
business of the number written to (moto; fake queues and conversation engine)."""

from __future__ import annotations

import pytest

from tests.conftest import PHONE_NUMBER_ID
from tests.unit.inbound.test_customer_message import (
    BSUID,
    CUSTOMER,
    SENT,
    FakeEngine,
    FakeQueue,
    event,
    numbered,
    to_number,
)
from wacloud.adapters.store import Store
from wacloud.inbound.customer_message import CustomerMessages
from wacloud.models.number_entry import NumberEntry

pytestmark = pytest.mark.usefixtures("aws")
BRAND_B = NumberEntry(phone_number_id="100000000000004", business="brand-b")


def two_businesses(outbound: FakeQueue, engine: FakeEngine) -> CustomerMessages:
    """The stack's own number (business default), sales and support, and one number of brand-b."""
    messages = numbered(outbound, engine)
    messages.numbers.entries[BRAND_B.phone_number_id] = BRAND_B  # type: ignore[union-attr]
    return messages


def test_the_same_phone_number_writing_to_two_businesses_is_two_customers() -> None:
    messages = two_businesses(FakeQueue(), FakeEngine())
    messages.handle(to_number(PHONE_NUMBER_ID, id="wamid.A", at=SENT))
    messages.handle(to_number(BRAND_B.phone_number_id, id="wamid.B", at=SENT + 5))

    ours, theirs = Store().customers.get(CUSTOMER), Store().customers.get(CUSTOMER, BRAND_B)
    assert ours is not None and theirs is not None
    assert (ours.window_for(None), ours.window_for(BRAND_B)) == (SENT, None)
    assert (theirs.window_for(BRAND_B), theirs.first_wamid_for(BRAND_B)) == (SENT + 5, "wamid.B")
    assert [line.wamid for line in Store().customers.history(CUSTOMER, entry=BRAND_B)] == ["wamid.B"] * 3
    assert [line.wamid for line in Store().customers.history(CUSTOMER)] == ["wamid.A"] * 3


def test_a_stop_to_one_business_binds_nothing_of_the_other() -> None:
    outbound, engine = FakeQueue(), FakeEngine()
    messages = two_businesses(outbound, engine)
    messages.handle(to_number(BRAND_B.phone_number_id, id="wamid.B", text={"body": "STOP"}))
    messages.handle(to_number(PHONE_NUMBER_ID, id="wamid.A", at=SENT + 5))

    assert engine.asked == ["wamid.A"]  # B's STOP is answered by the read receipt alone; A's message as ever
    assert Store().customers.get(CUSTOMER, BRAND_B).opted_out_for(BRAND_B)  # type: ignore[union-attr]
    assert not Store().customers.get(CUSTOMER).opted_out_for(None)  # type: ignore[union-attr]


def test_a_changed_number_told_to_one_business_moves_its_customer_only() -> None:
    messages = two_businesses(FakeQueue(), FakeEngine())
    messages.handle(to_number(PHONE_NUMBER_ID, id="wamid.A"))
    messages.handle(to_number(BRAND_B.phone_number_id, id="wamid.B", user_id=BSUID))
    system = {"type": "user_changed_number", "wa_id": "447700900123", "body": "changed"}
    change = event("system", id="wamid.C", at=SENT + 1, system=system, from_user_id=BSUID)
    messages.handle(change.model_copy(update={"phone_number_id": BRAND_B.phone_number_id}))

    assert Store().customers.get("+447700900123", BRAND_B).customer_id == CUSTOMER  # type: ignore[union-attr]
    assert Store().customers.get("+447700900123") is None
    assert Store().customers.get(CUSTOMER).customer_id == CUSTOMER  # type: ignore[union-attr]
    assert Store().customers.get(BSUID) is None  # B's BSUID names nobody to the default business
