"""End User Messaging Social's SNS events into the inbound queue: checked (topic, account), unwrapped
and split exactly as a webhook body, refused when not ours, retried when the queue fails."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics

from tests.conftest import queue_bodies
from wacloud.adapters.queues import QueueError
from wacloud.adapters.store import Store
from wacloud.inbound.eum_ingest import REJECTED_SOURCE, ingest
from wacloud.inbound.refusals import UNSERVED
from wacloud.inbound.split import split_webhook
from wacloud.local.account import ACCOUNT_ID, REGION
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.webhooks import DEFAULT_WABA_ID, status_update, text_message
from wacloud.models.keys import digest
from wacloud.runtime import singletons

EUM_NUMBER = "100000000000002"
EUM_ID = "phone-number-id-" + "0" * 31 + "2"


@pytest.fixture
def topic(aws, monkeypatch) -> str:
    """The stack's topic, the ingest's environment, and an EUM number in the registry."""
    for name, value in aws.environments["EumIngestFunction"].items():
        monkeypatch.setenv(name, value)
    entry = {
        "phone_number_id": EUM_NUMBER,
        "waba_id": DEFAULT_WABA_ID,
        "transport": "eum",
        "eum_phone_number_id": EUM_ID,
    }
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="whatsapp/cloud-api/numbers", SecretString=json.dumps({"version": 1, "numbers": {EUM_NUMBER: entry}})
    )
    singletons.reset()
    return aws.topic_arns["EumEventTopic"]


def envelope(entry: Any, *, account: str = ACCOUNT_ID, waba: str = DEFAULT_WABA_ID) -> dict[str, Any]:
    """AWS's envelope around one of Meta's entries (a JSON string, as EUM publishes it)."""
    return {
        "context": {
            "MetaWabaIds": [{"wabaId": waba, "arn": f"arn:aws:social-messaging:{REGION}:{account}:waba/{'a' * 32}"}],
            "MetaPhoneNumberIds": [
                {
                    "metaPhoneNumberId": EUM_NUMBER,
                    "arn": f"arn:aws:social-messaging:x:{account}:phone-number-id/{'0' * 31}2",
                }
            ],
        },
        "whatsAppWebhookEntry": entry if not isinstance(entry, dict) else json.dumps(entry),
        "aws_account_id": account,
        "message_timestamp": "2026-12-06T05:00:00.123456789Z",
        "messageId": str(uuid.uuid4()),
    }


def sns_event(topic: str, *messages: Any) -> dict[str, Any]:
    """Lambda's SNS event: one record per message (a dict is sent as its JSON)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Message": message if isinstance(message, str) else json.dumps(message),
                },
            }
            for message in messages
        ]
    }


def run(event: dict[str, Any]) -> dict[str, int]:
    return ingest(event, LocalContext(function_name="eum-ingest"))


def test_an_entry_is_queued_as_the_webhook_would_queue_it(topic, aws):
    body = text_message("hola", phone_number_id=EUM_NUMBER, sender="5511999999999")
    assert run(sns_event(topic, envelope(body["entry"][0]))) == {"records": 1, "events": 1, "refused": 0}

    (queued,) = queue_bodies(aws, "InboundQueue")
    (webhook_event,) = split_webhook(body)  # the same event, key and deduplication id either way in
    assert queued["body"] == webhook_event.document
    assert queued["attributes"]["MessageDeduplicationId"] == digest(webhook_event.key)
    assert queued["attributes"]["MessageGroupId"] == "5511999999999"
    assert Metrics().metric_set["EumEventsQueued"]["Value"] == [1.0]


def test_an_entry_given_as_an_object_is_taken_too(topic, aws):
    body = status_update("wamid.A", "delivered", phone_number_id=EUM_NUMBER, recipient="5511999999999")
    message = {**envelope({}), "whatsAppWebhookEntry": body["entry"][0]}
    assert run(sns_event(topic, message))["events"] == 1
    assert [q["body"]["kind"] for q in queue_bodies(aws, "InboundQueue")] == ["status"]


def test_a_record_from_another_topic_is_recorded_and_counted_not_queued(topic, aws):
    other = topic.replace("eum-events", "someone-elses")
    message = envelope(text_message("hi", phone_number_id=EUM_NUMBER)["entry"][0])
    assert run(sns_event(other, message)) == {"records": 1, "events": 0, "refused": 1}

    assert queue_bodies(aws, "InboundQueue") == []
    record = Store().rejections.get(REJECTED_SOURCE, digest(json.dumps(message)))
    assert record is not None and "is not one this stack subscribes to" in record.reason
    assert Metrics().metric_set["EumTopicRefused"]["Value"] == [1.0]


def test_an_envelope_of_another_account_is_recorded_and_counted_not_queued(topic, aws):
    message = envelope(text_message("hi", phone_number_id=EUM_NUMBER)["entry"][0], account="999999999999")
    assert run(sns_event(topic, message))["refused"] == 1
    assert queue_bodies(aws, "InboundQueue") == []
    record = Store().rejections.get(REJECTED_SOURCE, digest(json.dumps(message)))
    assert record is not None and record.reason == "envelope's account '999999999999' is not this stack's"
    assert Metrics().metric_set["EumRecordRefused"]["Value"] == [1.0]


def test_an_unserved_number_is_recorded_and_counted_and_the_served_one_queued(topic, aws):
    served = text_message("a", phone_number_id=EUM_NUMBER)["entry"][0]
    unserved = text_message("b", phone_number_id="555000")["entry"][0]
    assert run(sns_event(topic, envelope(served), envelope(unserved))) == {"records": 2, "events": 1, "refused": 1}

    assert [q["body"]["message"]["text"]["body"] for q in queue_bodies(aws, "InboundQueue")] == ["a"]
    (refused,) = split_webhook({"entry": [unserved]})
    record = Store().rejections.get(UNSERVED, digest(refused.key))
    assert record is not None
    assert record.reason == "phone number id 555000 is not served by this stack (End User Messaging Social)"
    assert Metrics().metric_set["WebhookEventRefused"]["Value"] == [1.0]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        pytest.param("not json", "SNS message is not a JSON object", id="message-not-json"),
        pytest.param(envelope("{broken"), "whatsAppWebhookEntry is not JSON: JSONDecodeError", id="entry-not-json"),
        pytest.param({"aws_account_id": ACCOUNT_ID}, "envelope has no whatsAppWebhookEntry", id="no-entry"),
    ],
)
def test_unreadable_data_from_our_topic_is_queued_as_unparsed_for_a_person(topic, aws, message, reason):
    assert run(sns_event(topic, message))["events"] == 1
    (queued,) = queue_bodies(aws, "InboundQueue")
    assert queued["body"]["kind"] == "unparsed" and queued["body"]["reason"] == reason


def test_a_queue_failure_raises_so_that_lambda_retries_the_event(topic, monkeypatch):
    def fail(self: Any, entries: Any) -> None:
        raise QueueError("SendMessageBatch failed: throttled")

    monkeypatch.setattr("wacloud.adapters.queues.FifoQueue.send", fail)
    message = envelope(text_message("hi", phone_number_id=EUM_NUMBER)["entry"][0])
    with pytest.raises(QueueError):
        run(sns_event(topic, message))


def test_an_event_that_is_not_sns_is_recorded_not_raised(topic):
    assert run({"detail": "an EventBridge event"})["refused"] == 1
    assert Metrics().metric_set["EumRecordRefused"]["Value"] == [1.0]


def test_two_wabas_identical_template_updates_are_two_events_keyed_as_the_webhook_keys_them(topic, aws):
    second_waba = "200000000000002"
    entries = {
        EUM_NUMBER: {"phone_number_id": EUM_NUMBER, "waba_id": DEFAULT_WABA_ID, "transport": "eum",
                     "eum_phone_number_id": EUM_ID},
        "100000000000003": {"phone_number_id": "100000000000003", "waba_id": second_waba, "transport": "eum",
                            "eum_phone_number_id": EUM_ID[:-1] + "3"},
    }  # fmt: skip
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId="whatsapp/cloud-api/numbers", SecretString=json.dumps({"version": 1, "numbers": entries})
    )
    singletons.reset()
    change = {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 7}}
    meta_entries = [{"id": waba, "changes": [change]} for waba in (DEFAULT_WABA_ID, second_waba)]

    records = [envelope(entry, waba=str(entry["id"])) for entry in meta_entries]
    assert run(sns_event(topic, *records)) == {"records": 2, "events": 2, "refused": 0}

    queued = queue_bodies(aws, "InboundQueue")
    webhook_events = split_webhook({"object": "whatsapp_business_account", "entry": meta_entries})
    assert [q["body"] for q in queued] == [event.document for event in webhook_events]
    assert [q["attributes"]["MessageDeduplicationId"] for q in queued] == [digest(e.key) for e in webhook_events]
    assert len({digest(event.key) for event in webhook_events}) == 2
