"""wacloud.ops.dead_letters: what is on a DLQ, shown without personal data (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PHONE_NUMBER_ID
from tests.unit.ops.conftest import (
    OTHER_PHONE,
    PHONE,
    TEXT,
    CloudFormation,
    eum_message,
    inbound_message_event,
    notification,
    on_failure_record,
    outbound,
    put,
    visible,
)
from wacloud.inbound.split import queue_document, split_webhook
from wacloud.local.cloudformation import Stack
from wacloud.local.meta.webhooks import status_update
from wacloud.ops import dead_letters as dlq
from wacloud.runtime.masking import mask_wamid

# --- inspect ---------------------------------------------------------------------------------------


def test_inspect_lists_messages_with_groups_and_receive_counts_and_leaves_them_on_the_dlq(aws: Stack) -> None:
    url = aws.queue_urls["OutboundDLQ"]
    ids = [
        put(url, outbound("a-1"), group=PHONE, dedup="a-1"),
        put(url, outbound("b-1", to=OTHER_PHONE), group=OTHER_PHONE, dedup="b-1"),
        put(url, outbound("a-2"), group=PHONE, dedup="a-2"),
    ]

    first = dlq.inspect(url)

    assert [letter.message_id for letter in first] == ids
    assert [letter.group_id for letter in first] == [PHONE, OTHER_PHONE, PHONE]
    assert [letter.deduplication_id for letter in first] == ["a-1", "b-1", "a-2"]
    assert [json.loads(letter.body)["idempotency_key"] for letter in first] == ["a-1", "b-1", "a-2"]
    assert [letter.receive_count for letter in first] == [1, 1, 1]
    assert all(abs(datetime.now(UTC) - letter.sent_at) < timedelta(minutes=1) for letter in first)
    # The peek left every message where it was, visible: a second look sees the same (one receive more)
    second = dlq.inspect(url)
    assert [letter.message_id for letter in second] == ids
    assert [letter.receive_count for letter in second] == [2, 2, 2]
    assert [m["id"] for m in visible(url)] == ids


def test_inspect_stops_at_the_limit_and_leaves_the_rest(aws: Stack) -> None:
    url = aws.queue_urls["InboundDLQ"]
    ids = [put(url, json.dumps({"kind": "change", "field": f"f{n}"}), group=f"g{n}") for n in range(15)]

    assert [letter.message_id for letter in dlq.inspect(url, limit=12)] == ids[:12]
    assert [letter.message_id for letter in dlq.inspect(url, limit=3)] == ids[:3]
    assert [letter.message_id for letter in dlq.inspect(url, limit=100)] == ids


def test_inspect_of_an_empty_dlq_is_empty(aws: Stack) -> None:
    assert dlq.inspect(aws.queue_urls["InboundDLQ"]) == []


# --- what is shown ---------------------------------------------------------------------------------


def test_describe_names_documents_without_personal_data() -> None:
    document, _, wamid = inbound_message_event()
    [status] = split_webhook(status_update("wamid.OUT1", "delivered", phone_number_id=PHONE_NUMBER_ID, recipient=PHONE))
    _, status_document = queue_document(status)

    assert dlq.describe_body(outbound("order-7")) == "key=order-7 type=text"
    assert dlq.describe_body(outbound(f"read:{wamid}")) == f"key=read:{mask_wamid(wamid)} type=text"
    assert dlq.describe_body(document) == f"kind=message type=text wamid={mask_wamid(wamid)}"
    assert dlq.describe_body(status_document) == f"kind=status status=delivered wamid={mask_wamid('wamid.OUT1')}"
    assert (
        dlq.describe_body(json.dumps({"kind": "change", "field": "account_update"}))
        == "kind=change field=account_update"
    )
    assert dlq.describe_body(json.dumps({"kind": "unparsed", "raw_sha256": "ab" * 32, "raw": PHONE})) == (
        f"kind=unparsed raw_sha256={'ab' * 8}"
    )
    assert dlq.describe_body("not json") == "body is not JSON (8 bytes)"
    for body in (document, status_document, outbound("k")):
        assert PHONE not in dlq.describe_body(body)
        assert TEXT not in dlq.describe_body(body)


@pytest.mark.parametrize(
    ("group", "shown"),
    [
        (PHONE, "165******34"),
        ("+1-650-555-1234", "+1-6*********34"),
        ("US.13491208655302741918", "US.1*****************18"),
        ("change-102290129340398", "change-102290129340398"),
        ("unparsed", "unparsed"),
        ("h-" + "0123456789abcdef" * 2 + "01234567", "h-" + "0123456789abcdef" * 2 + "01234567"),
    ],
)
def test_groups_that_may_be_a_person_are_masked(group: str, shown: str) -> None:
    assert dlq.display_group(group) == shown


def test_a_standard_queues_letters_have_no_group_and_show_a_dash() -> None:
    assert dlq.display_group("") == "-"


TOPIC = "arn:aws:sns:us-east-1:123456789012:s-eum-events"


def test_the_eum_ingests_letters_are_described_by_shape_and_fields_without_personal_data() -> None:
    message = eum_message()
    described = {
        "on-failure": dlq.describe_body(on_failure_record(TOPIC, message)),
        "notification": dlq.describe_body(notification(TOPIC, message)),
        "message": dlq.describe_body(message),
        "empty": dlq.describe_body(json.dumps({"requestPayload": {"not": "sns"}})),
    }

    assert described == {
        "on-failure": "eum on-failure record condition=RetriesExhausted sns=1 field=messages",
        "notification": "eum SNS notification sns=1 field=messages",
        "message": "eum SNS message sns=1 field=messages",
        "empty": "eum on-failure record: its requestPayload is not an SNS event (no Records)",
    }
    assert not any(PHONE in text or TEXT in text for text in described.values())
    assert dlq.sns_messages(on_failure_record(TOPIC, message)) == [(TOPIC, message)]
    assert dlq.sns_messages(message) == [("", message)]  # no topic named: the stack's is taken


def test_age_is_counted_from_when_sqs_stamped_the_message() -> None:
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    letter = dlq.DeadLetter(
        message_id="m", group_id="g", deduplication_id="d", receive_count=1, sent_at=sent, body="{}"
    )

    assert letter.age(sent + timedelta(seconds=42)) == "42s"
    assert letter.age(sent + timedelta(minutes=3, seconds=5)) == "3m05s"
    assert letter.age(sent + timedelta(hours=2, minutes=7)) == "2h07m"
    assert letter.age(sent + timedelta(days=3, hours=4)) == "3d04h"


# --- stack outputs ---------------------------------------------------------------------------------


STACK_OUTPUTS = {
    "WebhookUrl": "https://example.execute-api/Prod/webhook",
    "InboundQueueUrl": "https://sqs/1/s-inbound.fifo",
    "OutboundQueueUrl": "https://sqs/1/s-outbound.fifo",
    "InboundDLQUrl": "https://sqs/1/s-inbound-dlq.fifo",
    "OutboundDLQUrl": "https://sqs/1/s-outbound-dlq.fifo",
    "EumIngestDLQUrl": "https://sqs/1/s-eum-ingest-dlq",
    "EumEventTopicArn": "arn:aws:sns:us-east-1:1:s-eum-events",
}


def test_queue_urls_come_from_the_stack_outputs() -> None:
    cloudformation = CloudFormation(STACK_OUTPUTS)

    assert dlq.stack_queue_urls("whatsapp-cloud", "inbound", client=cloudformation) == (
        "https://sqs/1/s-inbound-dlq.fifo",
        "https://sqs/1/s-inbound.fifo",
    )
    assert dlq.stack_queue_urls("whatsapp-cloud", "outbound", client=cloudformation) == (
        "https://sqs/1/s-outbound-dlq.fifo",
        "https://sqs/1/s-outbound.fifo",
    )
    assert dlq.stack_queue_urls("whatsapp-cloud", "eum", client=cloudformation) == (
        "https://sqs/1/s-eum-ingest-dlq",
        "arn:aws:sns:us-east-1:1:s-eum-events",  # the ingest reads its topic, not a queue
    )
    assert cloudformation.calls == [{"StackName": "whatsapp-cloud"}] * 3


def test_a_stack_without_the_outputs_is_an_error() -> None:
    outputs = {k: v for k, v in STACK_OUTPUTS.items() if k != "OutboundDLQUrl"}

    with pytest.raises(dlq.DlqError, match="OutboundDLQUrl"):
        dlq.stack_queue_urls("other-stack", "outbound", client=CloudFormation(outputs))
