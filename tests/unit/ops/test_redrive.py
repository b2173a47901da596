"""wacloud.ops.redrive: dead letters back on their queue, in order, each once (moto)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import queue_bodies
from tests.unit.ops.conftest import (
    OTHER_PHONE,
    PHONE,
    DeduplicationWindow,
    FailingSends,
    Wrapped,
    delivered_messages,
    eum_message,
    keys,
    notification,
    on_failure_record,
    outbound,
    put,
    put_standard,
    sqs,
    subscribed_queue,
    visible,
    visible_keys,
)
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack
from wacloud.ops import dead_letters as dlq
from wacloud.ops import redrive

# --- redrive ---------------------------------------------------------------------------------------


def test_redrive_moves_everything_back_in_order_per_group_with_new_deduplication_ids(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    plan = [("a-1", PHONE), ("b-1", OTHER_PHONE), ("a-2", PHONE), ("b-2", OTHER_PHONE), ("a-3", PHONE)]
    ids = {key: put(url, outbound(key, to=group), group=group, dedup=key) for key, group in plan}

    result = redrive.redrive(url, source)

    assert (result.moved, result.failed) == (5, 0)
    assert [o.letter.message_id for o in result.outcomes] == [ids[key] for key, _ in plan]
    assert visible(url) == []
    assert dlq.approximate_count(url) == 0
    received = queue_bodies(aws, "OutboundQueue")
    assert keys(received) == ["a-1", "b-1", "a-2", "b-2", "a-3"]
    for r in received:
        key = r["body"]["idempotency_key"]
        assert r["attributes"]["MessageGroupId"] == dict(plan)[key]
        assert r["attributes"]["MessageDeduplicationId"] == f"redrive-{ids[key]}"
        assert r["body"] == json.loads(outbound(key, to=dict(plan)[key]))


def test_message_attributes_travel_with_a_redriven_message(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    put(url, outbound("k-1"), MessageAttributes={"origin": {"DataType": "String", "StringValue": "crm"}})

    redrive.redrive(url, source)

    [moved] = sqs().receive_message(QueueUrl=source, MessageAttributeNames=["All"])["Messages"]
    assert moved["MessageAttributes"]["origin"] == {"DataType": "String", "StringValue": "crm"}


def test_a_document_redriven_twice_within_5_minutes_is_not_dropped_as_a_duplicate(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    client = DeduplicationWindow()
    # A producer queues a document; the sender fails it until SQS dead-letters it
    client.send_message(
        QueueUrl=source, MessageBody=outbound("order-1"), MessageGroupId=PHONE, MessageDeduplicationId="order-1"
    )

    def fails_until_dead_lettered() -> None:
        [message] = sqs().receive_message(QueueUrl=source, MessageSystemAttributeNames=["All"])["Messages"]
        attrs = message["Attributes"]
        put(url, message["Body"], group=attrs["MessageGroupId"], dedup=attrs["MessageDeduplicationId"])
        sqs().delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])

    fails_until_dead_lettered()
    # Redriven within 5 minutes of the producer's send: on the source queue again
    assert redrive.redrive(url, source, client=client).moved == 1
    assert visible_keys(source) == ["order-1"]
    # It fails again, and is redriven again within 5 minutes of the first redrive: still not dropped
    fails_until_dead_lettered()
    assert redrive.redrive(url, source, client=client).moved == 1
    assert visible_keys(source) == ["order-1"]


def test_a_message_whose_send_fails_stays_on_the_dlq_and_is_reported(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    put(url, outbound("a-1"), group="g-a")
    failing_id = put(url, outbound("b-1"), group="g-b")
    put(url, outbound("c-1"), group="g-c")

    result = redrive.redrive(url, source, client=FailingSends('"b-1"'))

    assert (result.moved, result.failed) == (2, 1)
    [failure] = [o for o in result.outcomes if not o.moved]
    assert failure.letter.message_id == failing_id
    assert "InternalError" in failure.error
    # Exactly that message is still on the DLQ, visible again; the others are on the source queue
    assert [m["id"] for m in visible(url)] == [failing_id]
    assert keys(queue_bodies(aws, "OutboundQueue")) == ["a-1", "c-1"]


def test_a_message_not_moved_holds_back_the_later_messages_of_its_group(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    a1 = put(url, outbound("a-1"), group="g-a")
    a2 = put(url, outbound("a-2"), group="g-a")
    put(url, outbound("b-1"), group="g-b")
    client = FailingSends('"a-1"')

    result = redrive.redrive(url, source, client=client)

    assert (result.moved, result.failed) == (1, 2)
    # a-2 was never sent: sent before a-1 it would overtake it
    assert all('"a-2"' not in e["MessageBody"] for batch in client.batches for e in batch)
    assert [m["id"] for m in visible(url)] == [a1, a2]
    assert keys(queue_bodies(aws, "OutboundQueue")) == ["b-1"]


def test_a_failed_send_call_moves_nothing(aws: Stack) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    ids = [put(url, outbound(f"k-{n}"), group=f"g{n}") for n in range(3)]

    class Refusing(Wrapped):
        def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessageBatch")

    result = redrive.redrive(url, source, client=Refusing())

    assert (result.moved, result.failed) == (0, 3)
    assert all("AccessDenied" in o.error for o in result.outcomes)
    assert [m["id"] for m in visible(url)] == ids
    assert visible(source) == []


class ReceiveFailsAfter(Wrapped):
    """ReceiveMessage works `n` times, then raises."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        if self.left == 0:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "ReceiveMessage")
        self.left -= 1
        return self.real.receive_message(**kwargs)


def test_a_receive_failing_midway_ends_the_run_and_reports_what_was_moved(aws: Stack) -> None:
    source, url = aws.queue_urls["InboundQueue"], aws.queue_urls["InboundDLQ"]
    ids = [put(url, json.dumps({"kind": "change", "field": f"f{n}"}), group=f"g{n}") for n in range(12)]

    result = redrive.redrive(url, source, client=ReceiveFailsAfter(1))

    assert (result.moved, result.failed) == (10, 0)
    assert "ThrottlingException" in result.stopped
    assert [m["id"] for m in visible(url)] == ids[10:]
    # And when nothing could be received at all, that is an error, not an empty result
    with pytest.raises(ClientError):
        redrive.redrive(url, source, client=ReceiveFailsAfter(0))


def test_the_sqs_client_is_made_for_the_region_of_the_queue_url(aws: Stack) -> None:
    other = boto3.client("sqs", region_name="eu-west-1")
    url = other.create_queue(QueueName="elsewhere-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert ".eu-west-1." in url
    other.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")

    assert [letter.group_id for letter in dlq.inspect(url)] == ["g"]  # the default region is us-east-1


@pytest.mark.parametrize("limit", [2, 11])
def test_redrive_moves_no_more_than_the_limit(aws: Stack, limit: int) -> None:
    source, url = aws.queue_urls["InboundQueue"], aws.queue_urls["InboundDLQ"]
    ids = [put(url, json.dumps({"kind": "change", "field": f"f{n}"}), group=f"g{n}") for n in range(12)]

    result = redrive.redrive(url, source, limit=limit)

    assert result.moved == limit
    assert [o.letter.message_id for o in result.outcomes] == ids[:limit]
    assert [r["body"]["field"] for r in queue_bodies(aws, "InboundQueue")] == [f"f{n}" for n in range(limit)]
    assert [letter.message_id for letter in dlq.inspect(url)] == ids[limit:]


def test_redrive_into_the_dlq_itself_is_refused(aws: Stack) -> None:
    url = aws.queue_urls["InboundDLQ"]
    put(url, json.dumps({"kind": "change", "field": "f"}))

    with pytest.raises(dlq.DlqError):
        redrive.redrive(url, url, limit=5)  # (a limit, so that a missing check ends the test instead of looping)
    assert len(visible(url)) == 1


# --- republish: the EUM ingest's dead letters back on its topic --------------------------------------


def test_an_eum_event_the_ingest_failed_on_is_published_on_the_topic_again_and_reaches_the_ingest(
    aws: Stack,
) -> None:
    """As on the local run: the topic feeds a queue, three failed receives move it to EumIngestDLQ."""
    topic, dead = aws.topic_arns["EumEventTopic"], aws.queue_urls["EumIngestDLQ"]
    source = subscribed_queue(aws)
    message = eum_message()
    boto3.client("sns", region_name=REGION).publish(TopicArn=topic, Message=message)
    for _ in range(4):  # three receives the ingest failed on; the fourth finds it on the DLQ
        sqs().receive_message(QueueUrl=source, VisibilityTimeout=0)
    assert [json.loads(m["body"])["Message"] for m in visible(dead)] == [message]

    result = redrive.republish(dead, topic)

    assert (result.moved, result.failed) == (1, 0)
    assert delivered_messages(source) == [message]  # unchanged, from the stack's topic
    assert visible(dead) == []


def test_every_shape_of_eum_dead_letter_is_republished_and_what_is_not_ours_stays(aws: Stack) -> None:
    topic, dead = aws.topic_arns["EumEventTopic"], aws.queue_urls["EumIngestDLQ"]
    source = subscribed_queue(aws)
    first, second, third = eum_message("one"), eum_message("two"), eum_message("three")
    put_standard(dead, on_failure_record(topic, first))  # Lambda's, after the retries (deployed)
    put_standard(dead, notification(topic, second))  # SNS's JSON (the local run's queue)
    put_standard(dead, third)  # the SNS message itself (SNS could not deliver it to the function)
    other = put_standard(dead, notification(topic.replace("eum-events", "elsewhere"), eum_message("four")))
    unreadable = put_standard(dead, json.dumps({"idempotency_key": "k"}))

    result = redrive.republish(dead, topic)

    assert (result.moved, result.failed) == (3, 2)
    assert sorted(delivered_messages(source)) == sorted([first, second, third])
    errors = {o.letter.message_id: o.error for o in result.outcomes if not o.moved}
    assert "the ingest would refuse it" in errors[other]
    assert "not an End User Messaging Social event" in errors[unreadable]
    assert sorted(m["id"] for m in visible(dead)) == sorted([other, unreadable])


def test_a_publish_that_fails_leaves_the_letter_on_the_dlq(aws: Stack) -> None:
    topic, dead = aws.topic_arns["EumEventTopic"], aws.queue_urls["EumIngestDLQ"]
    letter = put_standard(dead, notification(topic, eum_message()))

    class Refusing:
        def publish(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "Publish")

    result = redrive.republish(dead, topic, sns=Refusing())

    assert (result.moved, result.failed) == (0, 1)
    assert "AuthorizationError" in result.outcomes[0].error
    assert [m["id"] for m in visible(dead)] == [letter]


def test_republish_wants_a_topic() -> None:
    with pytest.raises(dlq.DlqError, match="not an SNS topic"):
        redrive.republish("https://sqs.us-east-1.amazonaws.com/1/dlq", "https://sqs.us-east-1.amazonaws.com/1/q")
