"""Pollers standing in for Lambda's SQS event source mappings.

Like the real mapping, a poller receives up to 10 messages, hands them to the function as an SQS
event, and deletes only the records the function did not list in `batchItemFailures`. Failed
records stay on the queue and are received again when their visibility timeout has passed (the
queue's, or the one the function set); after `maxReceiveCount` receives SQS moves them to the
dead-letter queue.

End User Messaging Social's events come through SNS, whose delivery to Lambda moto makes only with
Docker: here the topic delivers to a standard queue, and `SnsInvoker` hands the function each queued
notification as the one-record SNS event Lambda would (a failure leaves it to come back, as Lambda's
asynchronous retries would).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wacloud.local.account import REGION

Invoke = Callable[[dict[str, Any]], Any]


@dataclass
class PollResult:
    received: int
    failed: int


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS record as Lambda delivers it, from a ReceiveMessage entry."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sns_event(body: str, subscription_arn: str) -> dict[str, Any]:
    """Lambda's SNS event for one notification as SNS queued it (its JSON envelope: SQS spells
    `SigningCertURL` and `UnsubscribeURL`, Lambda `SigningCertUrl` and `UnsubscribeUrl`)."""
    notification = json.loads(body)
    sns = {
        "Type": notification.get("Type", "Notification"),
        "MessageId": notification.get("MessageId", ""),
        "TopicArn": notification.get("TopicArn", ""),
        "Subject": notification.get("Subject"),
        "Message": notification.get("Message", ""),
        "Timestamp": notification.get("Timestamp", ""),
        "SignatureVersion": notification.get("SignatureVersion", "1"),
        "Signature": notification.get("Signature", ""),
        "SigningCertUrl": notification.get("SigningCertURL", ""),
        "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
        "MessageAttributes": notification.get("MessageAttributes") or {},
    }
    record = {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn, "Sns": sns}
    return {"Records": [record]}


class SnsInvoker:
    """A poller's `invoke` for a queue subscribed to an SNS topic: one function invocation per
    notification; the ones that raise are reported as failed (received again later)."""

    def __init__(self, invoke: Invoke, subscription_arn: str) -> None:
        self.invoke = invoke
        self.subscription_arn = subscription_arn

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        failed = []
        for record in event["Records"]:
            try:
                self.invoke(sns_event(record["body"], self.subscription_arn))
            except Exception:  # the function logged it; the poller counts it as failed
                failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}


class QueuePoller:
    def __init__(
        self,
        *,
        name: str,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Invoke,
        batch_size: int = 10,
        on_batch: Callable[[str, PollResult], None] | None = None,
    ) -> None:
        self.name = name
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.invoke = invoke
        self.batch_size = batch_size
        self.on_batch = on_batch

    def poll_once(self, wait_seconds: int = 0) -> PollResult:
        """Receive one batch and run the function on it."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return PollResult(0, 0)
        records = [lambda_record(m, self.queue_arn) for m in messages]
        try:
            response = self.invoke({"Records": records})
            failed_ids = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        except Exception:
            failed_ids = {r["messageId"] for r in records}
        done = [r for r in records if r["messageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done[start : start + 10])
                ],
            )
        result = PollResult(len(records), len(failed_ids))
        if self.on_batch is not None:
            self.on_batch(self.name, result)
        return result

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set (long polling, one second at a time)."""
        while not stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception as exc:
                print(f"  [{self.name}] poll error: {exc}")
                stop.wait(1)
