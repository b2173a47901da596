"""How the sender backs off: the delays set on the failed records themselves, in SQS (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
import responses

from tests.conftest import GRAPH_URL, PHONE_NUMBER_ID, customers_wrote
from wacloud.local.pollers import lambda_record

SEND_URL = f"{GRAPH_URL}/v26.0/{PHONE_NUMBER_ID}/messages"


@pytest.mark.usefixtures("aws")
def test_failed_records_and_those_held_behind_them_wait_out_the_delay_then_return_in_order(
    aws, lambda_context, monkeypatch
):
    from functions.sender import app
    from wacloud.runtime import singletons

    monkeypatch.setenv("WACLOUD_RETRY_BASE_SECONDS", "600")
    singletons.reset()
    customers_wrote("+111111")
    sqs, url = boto3.client("sqs"), aws.queue_urls["OutboundQueue"]
    for key in ("first", "second"):
        body = {"idempotency_key": key, "message": {"to": "+111111", "type": "text", "text": {"body": key}}}
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(body), MessageGroupId="111111", MessageDeduplicationId=key
        )
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    event = {"Records": [lambda_record(m, "arn:aws:sqs:us-east-1:123456789012:x") for m in messages["Messages"]]}

    with responses.RequestsMock() as graph:
        graph.add(responses.POST, SEND_URL, status=503, json={"error": {"code": 2, "message": "down"}})
        response = app.lambda_handler(event, lambda_context)

    assert len(response["batchItemFailures"]) == 2
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"  # both wait (300-600 s), not 0 s
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None

    # When the delay is over (made immediate here), they come back in their order.
    for message in messages["Messages"]:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["idempotency_key"] for m in again] == ["first", "second"]
