"""Shared by the dead-letter tests: SQS helpers over moto's queues, and clients that fail on purpose."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from tests.conftest import PHONE_NUMBER_ID
from wacloud.inbound.split import queue_document, split_webhook
from wacloud.local.account import REGION
from wacloud.local.deliveries import subscribe_queue
from wacloud.local.meta.business_numbers import BusinessNumber, sns_messages
from wacloud.local.meta.webhooks import text_message
from wacloud.local.pollers import sns_event
from wacloud.ops import dead_letters as dlq

PHONE = "16505551234"
OTHER_PHONE = "447700900123"
TEXT = "Your parcel is at the depot"
DEDUPLICATION_WINDOW = 300  # SQS: a deduplication id is remembered for 5 minutes, deleted or not


@pytest.fixture(autouse=True)
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers an empty long poll only when the wait is over: no waiting in tests."""
    monkeypatch.setattr(dlq, "WAIT_SECONDS", 0)


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def outbound(key: str, to: str = PHONE, text: str = TEXT) -> str:
    return json.dumps({"idempotency_key": key, "message": {"to": f"+{to}", "type": "text", "text": {"body": text}}})


def put(url: str, body: str, group: str = PHONE, dedup: str | None = None, **extra: Any) -> str:
    """Put a message on a queue (as SQS does when it dead-letters one); its message id."""
    response = sqs().send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=dedup or f"d-{time.time_ns()}",
        **extra,
    )
    return response["MessageId"]


def visible(url: str) -> list[dict[str, Any]]:
    """What a consumer would receive now (without deleting it): message id, group ("" on a standard
    queue), body."""
    messages = (
        sqs()
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])
        .get("Messages", [])
    )
    return [
        {"id": m["MessageId"], "group": m["Attributes"].get("MessageGroupId", ""), "body": m["Body"]} for m in messages
    ]


def keys(received: list[dict[str, Any]]) -> list[str]:
    return [r["body"]["idempotency_key"] for r in received]


def visible_keys(url: str) -> list[str]:
    """The idempotency keys of the documents a consumer would receive now (nothing deleted)."""
    return [json.loads(m["body"])["idempotency_key"] for m in visible(url)]


class Wrapped:
    """The moto SQS client, with some calls replaced."""

    def __init__(self) -> None:
        self.real = sqs()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class FailingSends(Wrapped):
    """SendMessageBatch reports the entries whose body contains one of `fail` as Failed (not sent)."""

    def __init__(self, *fail: str) -> None:
        super().__init__()
        self.fail = fail
        self.batches: list[list[dict[str, Any]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.batches.append(Entries)
        failing = [e for e in Entries if any(marker in e["MessageBody"] for marker in self.fail)]
        passing = [e for e in Entries if e not in failing]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=passing) if passing else {}
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try later"} for e in failing
        ]
        return {"Successful": response.get("Successful", []), "Failed": failed}


class DeduplicationWindow(Wrapped):
    """SQS's deduplication as documented (moto forgets an id once its message is deleted): a send
    with a (group, deduplication id) seen on the queue in the last 5 minutes is answered as a
    success and dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[tuple[str, str, str], float] = {}

    def _duplicate(self, url: str, entry: dict[str, Any]) -> bool:
        key = (url, entry["MessageGroupId"], entry["MessageDeduplicationId"])
        if time.time() - self.seen.get(key, -DEDUPLICATION_WINDOW) < DEDUPLICATION_WINDOW:
            return True
        self.seen[key] = time.time()
        return False

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        if self._duplicate(kwargs["QueueUrl"], kwargs):
            return {"MessageId": "dropped-duplicate"}
        return self.real.send_message(**kwargs)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        new = [e for e in Entries if not self._duplicate(QueueUrl, e)]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=new) if new else {}
        dropped = [{"Id": e["Id"], "MessageId": "dropped-duplicate"} for e in Entries if e not in new]
        return {"Successful": response.get("Successful", []) + dropped, "Failed": []}


def inbound_message_event(text: str = TEXT, sender: str = PHONE) -> tuple[str, str, str]:
    """(document, group, wamid) of a customer's text message as the webhook queues it."""
    [event] = split_webhook(text_message(text, phone_number_id=PHONE_NUMBER_ID, sender=sender, name="Ana Lima"))
    event, document = queue_document(event)
    return document, event.group, event.document["message"]["id"]


class CloudFormation:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.calls: list[dict[str, Any]] = []

    def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]
        return {"Stacks": [{"StackName": kwargs["StackName"], "Outputs": outputs}]}


# --- the EUM ingest's dead letters -----------------------------------------------------------------

EUM_NUMBER = BusinessNumber("100000000000002", "200000000000002", "15550783882", "eum", "phone-number-id-" + "ab" * 16)


def eum_message(text: str = TEXT) -> str:
    """End User Messaging Social's SNS message (its envelope) for a customer's text to its number."""
    (message,) = sns_messages(text_message(text, phone_number_id=EUM_NUMBER.phone_number_id, sender=PHONE), EUM_NUMBER)
    return message


def on_failure_record(topic: str, message: str) -> str:
    """Lambda's on-failure destination record of an SNS invocation that failed its retries."""
    event = sns_event(json.dumps({"Type": "Notification", "TopicArn": topic, "Message": message}), f"{topic}:sub")
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-12-06T07:00:00.000Z",
            "requestContext": {"requestId": "r-1", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "QueueError", "errorMessage": "the inbound queue refused"},
        }
    )


def notification(topic: str, message: str) -> str:
    """SNS's JSON of a notification, as SNS delivers it to a queue."""
    return json.dumps({"Type": "Notification", "MessageId": "n-1", "TopicArn": topic, "Message": message})


def put_standard(url: str, body: str) -> str:
    return sqs().send_message(QueueUrl=url, MessageBody=body)["MessageId"]


def subscribed_queue(stack: Any) -> str:
    """A queue on the stack's EUM topic (as the local run's ingest poller has): what the ingest gets."""
    return subscribe_queue(
        sqs=sqs(),
        sns=boto3.client("sns", region_name=REGION),
        topic_arn=stack.topic_arns["EumEventTopic"],
        name="eum-ingest-source",
        visibility_timeout=0,
        dead_letter_arn=stack.attributes[("EumIngestDLQ", "Arn")],
    ).queue_url


def delivered_messages(url: str) -> list[str]:
    """The SNS messages waiting on a topic's queue (the notifications' `Message`), deleted."""
    messages = sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"])["Message"] for m in messages]
