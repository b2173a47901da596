"""Issue 20's "Done when", in a fresh local pipeline with its two numbers (the default one on Meta's
Cloud API, the second on AWS End User Messaging Social): a customer writes to each and each reply
leaves from the number written to, through its transport, and reaches `read`; input for a number
the stack does not serve is refused both ways in (answered, recorded, counted, nothing queued) and a
document naming one is rejected with the reason."""

from __future__ import annotations

import json
from typing import Any

import boto3
import requests

from wacloud.adapters.store import Store
from wacloud.inbound import refusals
from wacloud.local.account import REGION
from wacloud.local.meta.business_numbers import EUM, BusinessNumber
from wacloud.local.meta.webhooks import text_message
from wacloud.local.pipeline import LocalPipeline

CUSTOMER = "16505551234"
UNSERVED = "199999999999999"
HELLO = {"type": "text", "text": {"body": "Hello"}}


def wamid_of(body: dict[str, Any]) -> str:
    return str(body["entry"][0]["changes"][0]["value"]["messages"][0]["id"])


def queued(pipeline: LocalPipeline, queue: str = "InboundQueue") -> int:
    assert pipeline.stack is not None
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=pipeline.stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def refusals_recorded(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    assert pipeline.stack is not None
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=pipeline.stack.table_names["MessagesTable"])
    return [item for item in items["Items"] if item["pk"]["S"].startswith("REJECT#unserved#")]


def test_a_customer_writing_to_each_number_is_answered_from_it_through_its_transport_up_to_read(
    pipeline: LocalPipeline, monkeypatch
):
    cloud, eum = pipeline.numbers
    assert (cloud.transport, eum.transport) == ("cloud_api", EUM)
    posted: list[dict[str, Any]] = []
    post = pipeline.deliveries.post
    monkeypatch.setattr(pipeline.deliveries, "post", lambda body, **kw: posted.append(body) or post(body, **kw))

    written = {}
    for number in (cloud, eum):
        body, status, answer = pipeline.simulator.customer_sends(
            CUSTOMER, HELLO, phone_number_id=number.phone_number_id
        )
        assert status == 200, answer
        written[number.phone_number_id] = wamid_of(body)
    pipeline.drain()

    store = Store()
    for number, route in ((cloud, "messages"), (eum, "eum_send")):
        inbound = store.messages.get(written[number.phone_number_id])
        assert inbound is not None and inbound.phone_number_id == number.phone_number_id
        (reply,) = pipeline.graph.replies_to(written[number.phone_number_id])
        assert (reply.route, reply.phone_number_id) == (route, number.phone_number_id)
        record = store.messages.get(reply.wamid or "")
        assert record is not None and record.status == "read", (number, record)
        assert record.phone_number_id == number.phone_number_id
    # Only the Cloud API number's webhooks were POSTed: the other number's went through SNS.
    assert {json.dumps(body).count(eum.phone_number_id) for body in posted} == {0}
    assert posted, "the Cloud API number's message and statuses came by webhook"
    # The chat view shows one conversation per number, each bubble naming its number.
    (customer,) = pipeline.simulator.state()["customers"]
    assert {b["phone_number_id"] for b in customer["bubbles"]} == {cloud.phone_number_id, eum.phone_number_id}


def test_input_for_an_unserved_number_is_acknowledged_recorded_counted_and_never_queued(
    pipeline: LocalPipeline, monkeypatch
):
    counted: list[tuple[str, float]] = []
    monkeypatch.setattr(refusals, "count", lambda name, value=1: counted.append((name, value)))
    body = text_message("hi", phone_number_id=UNSERVED, sender=CUSTOMER)

    status, answer = pipeline.post_webhook(body)
    assert status == 200 and json.loads(answer)["refused"] == 1, answer
    assert queued(pipeline) == 0

    stranger = BusinessNumber(
        UNSERVED, waba_id=pipeline.eum_number.waba_id, transport=EUM, eum_phone_number_id="phone-number-id-" + "f" * 32
    )
    status, _ = pipeline.deliveries.publish(
        stranger, text_message("hi", phone_number_id=UNSERVED, sender="447700900123")
    )
    assert status == 200
    (eum_poller,) = [poller for poller in pipeline.pollers if poller.name == "eum-ingest"]
    assert eum_poller.poll_once().failed == 0  # acknowledged: not delivered again
    assert queued(pipeline) == 0

    recorded = refusals_recorded(pipeline)
    assert len(recorded) == 2
    assert all(UNSERVED in item["reason"]["S"] for item in recorded)
    assert [name for name, _ in counted] == [refusals.REFUSED_METRIC] * 2


def test_a_document_naming_an_unserved_number_is_rejected_with_the_reason(pipeline: LocalPipeline):
    message = {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "from nowhere"}}
    pipeline.send_outbound({"idempotency_key": "unserved-1", "phone_number_id": UNSERVED, "message": message})
    pipeline.drain()
    record = Store().outbound.get("unserved-1")
    assert record is not None and record.state == "rejected"
    assert UNSERVED in (record.reason or "") and "serves" in (record.reason or "")
    assert pipeline.graph.messages() == []

    api = pipeline.outputs()["WebhookUrl"].replace("/webhook", "/messages")
    answer = requests.post(
        api, json={"idempotency_key": "unserved-2", "phone_number_id": UNSERVED, "message": message}, timeout=10
    )
    assert answer.status_code == 400 and UNSERVED in answer.text
