"""wacloud.outbound.sender with numbers of two business portfolios (issue 20): a send is checked
against the recipient as the sending number's business knows them: an opt-out or a marketing stop
said to one business's numbers decides nothing for another's (moto; a stub Graph)."""

from __future__ import annotations

import pytest

from tests.conftest import customers_wrote, message_event
from tests.unit.outbound.test_sender import CUSTOMER, StubGraph, StubNumbers, accepted, document, make
from wacloud.adapters.store import Store
from wacloud.config import get_settings
from wacloud.models.identity import CustomerIdentity
from wacloud.models.number_entry import NumberEntry

pytestmark = pytest.mark.usefixtures("aws")
BRAND_B = NumberEntry("100000000000004", business="brand-b", window_policy="enforce")
TEMPLATE = {"type": "template", "template": {"name": "winter_sale", "language": {"code": "en_US"}}}


@pytest.fixture(autouse=True)
def customer_wrote_to_the_stacks_number(aws: object) -> None:
    customers_wrote(CUSTOMER)  # a customer of the default business


def sender(graph: StubGraph, **kwargs: object):  # type: ignore[no-untyped-def]
    return make(graph, numbers=StubNumbers(NumberEntry.from_settings(get_settings()), BRAND_B), **kwargs)


def wrote_to_brand_b() -> str:
    customer = Store().customers.upsert(message_event("hi", sender=CUSTOMER.lstrip("+")), BRAND_B)
    assert customer is not None
    return customer


def test_an_opt_out_to_one_business_refuses_its_sends_only() -> None:
    # GIVEN the customer wrote to both businesses (the stack's own number: the autouse fixture)
    customer = wrote_to_brand_b()
    Store().customers.set_opt_out(customer, True, at=1, keyword="STOP")  # to the default business
    graph = StubGraph(accepted("wamid.B"))

    b = sender(graph).send(document("k1", phone_number_id=BRAND_B.phone_number_id), message_id="m1")
    a = sender(graph).send(document("k2"), message_id="m2")

    assert b.state == "accepted" and len(graph.sent) == 1
    assert a.state == "rejected" and "opted out" in (a.reason or "")


def test_an_opt_out_to_the_other_business_refuses_its_sends_and_not_the_default_s() -> None:
    customer = wrote_to_brand_b()
    Store().customers.set_opt_out(customer, True, at=1, keyword="STOP", entry=BRAND_B)
    graph = StubGraph(accepted("wamid.A"))

    b = sender(graph).send(document("k1", phone_number_id=BRAND_B.phone_number_id), message_id="m1")
    a = sender(graph).send(document("k2"), message_id="m2")

    assert b.state == "rejected" and "opted out" in (b.reason or "")
    assert a.state == "accepted" and len(graph.sent) == 1


def test_a_marketing_stop_at_one_business_keeps_the_other_s_templates_going() -> None:
    wrote_to_brand_b()
    Store().customers.set_marketing(CustomerIdentity(phone=CUSTOMER), stopped=True, at=1, entry=BRAND_B)
    graph = StubGraph(accepted("wamid.A"))

    b = sender(graph, category="MARKETING").send(
        document("t1", message=TEMPLATE, phone_number_id=BRAND_B.phone_number_id), message_id="m1"
    )
    a = sender(graph, category="MARKETING").send(document("t2", message=TEMPLATE), message_id="m2")

    assert b.state == "rejected" and "stopped marketing messages" in (b.reason or "")
    assert a.state == "accepted"
