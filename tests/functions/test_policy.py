"""Sending rules before a Graph call is spent: opt-out keywords and the 24-hour service window."""

from __future__ import annotations

import json
import time

import pytest
import responses

from tests.conftest import GRAPH_URL, PHONE_NUMBER_ID, customers_wrote, queue_bodies
from wacloud.adapters.store import Store
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import text_message
from wacloud.local.pollers import lambda_record
from wacloud.models.events import dump_event

pytestmark = pytest.mark.usefixtures("aws")
SEND_URL = f"{GRAPH_URL}/v26.0/{PHONE_NUMBER_ID}/messages"
CUSTOMER = "16505551234"
TEXT = {"type": "text", "text": {"body": "Your order shipped"}}
TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en_US"}}}


@pytest.fixture
def graph():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, SEND_URL, json={"messages": [{"id": "wamid.OK"}]})
        yield mock


def send(key: str, message: dict, lambda_context) -> dict:
    from functions.sender import app

    body = json.dumps({"idempotency_key": key, "message": {"to": f"+{CUSTOMER}", **message}})
    record = lambda_record(
        {"MessageId": "m0", "ReceiptHandle": "r0", "Body": body, "Attributes": {"ApproximateReceiveCount": "1"}},
        "arn:x",
    )
    assert app.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    outbound = Store().outbound.get(key)
    assert outbound is not None
    return outbound.model_dump()


def customer_says(text: str, lambda_context, *, at: int | None = None) -> None:
    from functions.processor import app

    (event,) = parse_webhook(text_message(text, phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER, timestamp=at))
    record = lambda_record(
        {
            "MessageId": "i0",
            "ReceiptHandle": "r",
            "Body": dump_event(event),
            "Attributes": {"MessageGroupId": CUSTOMER},
        },
        "arn:x",
    )
    assert app.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}


def test_free_form_to_a_customer_who_never_wrote_is_refused_with_the_reason(graph, lambda_context):
    outbound = send("never-wrote", TEXT, lambda_context)
    assert outbound["state"] == "rejected"
    assert "24-hour customer service window" in outbound["reason"] and "template" in outbound["reason"]
    assert len(graph.calls) == 0


def test_window_closes_24_hours_after_the_customers_last_message(graph, lambda_context):
    customers_wrote(CUSTOMER, at=int(time.time()) - 25 * 3600)
    assert send("late-text", TEXT, lambda_context)["state"] == "rejected"
    assert send("late-template", TEMPLATE, lambda_context)["state"] == "accepted"
    customers_wrote(CUSTOMER, at=int(time.time()) - 3600)
    assert send("fresh-text", TEXT, lambda_context)["state"] == "accepted"
    assert len(graph.calls) == 2


def test_window_rule_can_be_switched_off(graph, lambda_context, monkeypatch):
    from wacloud.runtime import singletons

    monkeypatch.setenv("WACLOUD_ENFORCE_SERVICE_WINDOW", "false")
    singletons.reset()
    assert send("no-window", TEXT, lambda_context)["state"] == "accepted"


def test_stop_opts_out_of_everything_until_start(graph, lambda_context, aws):
    now = int(time.time())
    customer_says("  stop. ", lambda_context, at=now)

    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and contact.opted_out and contact.opt_keyword == "STOP"
    queued = [q["body"]["idempotency_key"].split(":")[0] for q in queue_bodies(aws, "OutboundQueue")]
    assert queued == ["read"]  # the STOP itself is marked read, not answered
    refused = send("after-stop", TEMPLATE, lambda_context)
    assert refused["state"] == "rejected" and "opted out" in refused["reason"]

    customer_says("Start", lambda_context, at=now + 10)
    assert send("after-start", TEMPLATE, lambda_context)["state"] == "accepted"
    assert len(graph.calls) == 1


def test_an_old_stop_arriving_late_does_not_undo_a_newer_start(lambda_context):
    now = int(time.time())
    customer_says("START", lambda_context, at=now)
    customer_says("STOP", lambda_context, at=now - 60)
    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and contact.opted_out is False


def test_words_that_merely_contain_a_keyword_do_nothing(lambda_context, aws):
    customer_says("please don't stop sending me updates", lambda_context)
    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and contact.opted_out is False
    assert len(queue_bodies(aws, "OutboundQueue")) == 2  # read receipt and auto-reply


def test_a_customer_known_by_phone_and_user_id_is_found_by_either(graph, lambda_context):
    from functions.processor import app

    body = text_message("STOP", phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER)
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["user_id"] = "US.13491208655302741918"
    (event,) = parse_webhook(body)
    record = lambda_record(
        {
            "MessageId": "i0",
            "ReceiptHandle": "r",
            "Body": dump_event(event),
            "Attributes": {"MessageGroupId": CUSTOMER},
        },
        "arn:x",
    )
    assert app.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}

    # A producer addressing the business-scoped user id finds the same opt-out.
    from functions.sender import app as sender

    doc = json.dumps({"idempotency_key": "by-bsuid", "message": {"recipient": "US.13491208655302741918", **TEMPLATE}})
    record = lambda_record(
        {"MessageId": "m0", "ReceiptHandle": "r0", "Body": doc, "Attributes": {"ApproximateReceiveCount": "1"}}, "arn:x"
    )
    assert sender.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    outbound = Store().outbound.get("by-bsuid")
    assert outbound is not None and outbound.state == "rejected" and "opted out" in (outbound.reason or "")
    assert len(graph.calls) == 0
