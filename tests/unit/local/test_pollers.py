"""The local stand-in for SNS's delivery to Lambda: each notification SNS queued becomes the one-record
SNS event Lambda hands the EUM ingest function; one that fails comes back, the others do not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wacloud.local.pollers import SnsInvoker, sns_event

TOPIC = "arn:aws:sns:us-east-1:123456789012:wacloud-local-EumEventTopic"
SUBSCRIPTION = TOPIC + ":5f1c"


def queued(message: str, message_id: str = "n-1") -> str:
    """A notification as SNS puts it on a queue (raw delivery off)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": TOPIC,
            "Message": message,
            "Timestamp": "2026-12-06T05:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def test_a_queued_notification_becomes_lambdas_sns_event():
    event = sns_event(queued('{"whatsAppWebhookEntry": "{}"}'), SUBSCRIPTION)
    (record,) = event["Records"]
    assert (record["EventSource"], record["EventSubscriptionArn"]) == ("aws:sns", SUBSCRIPTION)
    sns = record["Sns"]
    assert (sns["TopicArn"], sns["Message"], sns["MessageId"]) == (TOPIC, '{"whatsAppWebhookEntry": "{}"}', "n-1")
    assert sns["SigningCertUrl"].endswith("cert.pem") and "UnsubscribeURL" not in sns  # Lambda's spelling


def test_each_notification_is_one_invocation_and_only_the_failed_ones_come_back():
    seen: list[str] = []

    def invoke(event: dict[str, Any]) -> None:
        message = event["Records"][0]["Sns"]["Message"]
        seen.append(message)
        if message == "bad":
            raise RuntimeError("the queue was not reachable")

    records = [{"messageId": f"q-{n}", "body": queued(text, f"n-{n}")} for n, text in enumerate(["a", "bad", "c"])]
    answer = SnsInvoker(invoke, SUBSCRIPTION)({"Records": records})
    assert seen == ["a", "bad", "c"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "q-1"}]}


def test_a_body_that_is_not_snss_envelope_fails_and_comes_back():
    answer = SnsInvoker(lambda event: None, SUBSCRIPTION)({"Records": [{"messageId": "q-0", "body": "not json"}]})
    assert answer == {"batchItemFailures": [{"itemIdentifier": "q-0"}]}
    with pytest.raises(ValueError):
        sns_event("not json", SUBSCRIPTION)
