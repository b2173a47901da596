"""wacloud.adapters.queues.FifoQueue: batches, order, deduplication and failures (moto for SQS)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.conftest import queue_bodies
from wacloud.adapters.queues import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    MAX_DELAY_SECONDS,
    SEND_ATTEMPTS,
    FifoQueue,
    QueueEntry,
    QueueError,
    send_delayed,
)
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack

QUEUE = "InboundQueue"


def entry(n: int, group: str = "16505551234", size: int = 0) -> QueueEntry:
    body = json.dumps({"n": n, "pad": "x" * size})
    return QueueEntry(body=body, group_id=group, deduplication_id=f"dedup-{n}")


class SpyClient:
    """The real (moto) SQS client, with every SendMessageBatch call recorded."""

    def __init__(self) -> None:
        self.real = boto3.client("sqs", region_name=REGION)
        self.batches: list[list[dict[str, Any]]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.batches.append(kwargs["Entries"])
        return self.real.send_message_batch(**kwargs)


class StubClient:
    """A client answering SendMessageBatch with scripted responses (or raising)."""

    def __init__(self, *responses: dict[str, Any] | Exception) -> None:
        self.responses = list(responses)
        self.calls: list[list[dict[str, Any]]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs["Entries"])
        response = self.responses.pop(0) if self.responses else None
        if isinstance(response, Exception):
            raise response
        if response is None:
            return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]], "Failed": []}
        return response


def failed(entry_id: str, *, sender_fault: bool, code: str = "InternalError") -> dict[str, Any]:
    return {"Id": entry_id, "SenderFault": sender_fault, "Code": code, "Message": f"{code} for {entry_id}"}


def test_25_entries_are_sent_in_order_in_batches_of_at_most_10(aws: Stack) -> None:
    # Given 25 entries for three customers
    entries = [entry(n, group=f"group-{n % 3}") for n in range(25)]
    spy = SpyClient()

    # When they are queued
    FifoQueue(aws.queue_urls[QUEUE], client=spy).send(entries)

    # Then they went out in order, 10 + 10 + 5
    assert [len(b) for b in spy.batches] == [10, 10, 5]
    assert all(len(b) <= MAX_BATCH_ENTRIES for b in spy.batches)
    sent = [e for batch in spy.batches for e in batch]
    assert [json.loads(e["MessageBody"])["n"] for e in sent] == list(range(25))
    # And every one is on the queue, with its group and deduplication id, in order within its group
    received = queue_bodies(aws, QUEUE)
    assert sorted(r["body"]["n"] for r in received) == list(range(25))
    for r in received:
        n = r["body"]["n"]
        assert r["attributes"]["MessageGroupId"] == f"group-{n % 3}"
        assert r["attributes"]["MessageDeduplicationId"] == f"dedup-{n}"
    for group in range(3):
        in_group = [r["body"]["n"] for r in received if r["attributes"]["MessageGroupId"] == f"group-{group}"]
        assert in_group == [n for n in range(25) if n % 3 == group]


def test_one_group_keeps_its_order_across_batches(aws: Stack) -> None:
    FifoQueue(aws.queue_urls[QUEUE]).send([entry(n) for n in range(25)])

    received = queue_bodies(aws, QUEUE)

    assert [r["body"]["n"] for r in received] == list(range(25))


def test_same_deduplication_id_twice_gives_one_message(aws: Stack) -> None:
    queue = FifoQueue(aws.queue_urls[QUEUE])
    first = QueueEntry(body='{"v": 1}', group_id="g", deduplication_id="same")
    again = QueueEntry(body='{"v": 2}', group_id="g", deduplication_id="same")

    queue.send([first])
    queue.send([again])  # e.g. Meta delivering the same webhook again

    received = queue_bodies(aws, QUEUE)
    assert [r["body"] for r in received] == [{"v": 1}]


def test_batches_are_split_by_size(aws: Stack) -> None:
    # Entries of ~100 KB: only two fit in one batch of MAX_BATCH_BYTES.
    entries = [entry(n, size=100 * 1024) for n in range(5)]
    spy = SpyClient()

    FifoQueue(aws.queue_urls[QUEUE], client=spy).send(entries)

    assert [len(b) for b in spy.batches] == [2, 2, 1]
    for batch in spy.batches:
        assert sum(len(e["MessageBody"].encode("utf-8")) for e in batch) <= MAX_BATCH_BYTES
    assert [json.loads(e["MessageBody"])["n"] for b in spy.batches for e in b] == list(range(5))
    assert sorted(r["body"]["n"] for r in queue_bodies(aws, QUEUE)) == list(range(5))


def test_size_counts_utf8_bytes_not_characters() -> None:
    # 3 entries of 40 000 three-byte characters: 40 K characters but 120 KB each, so only two fit in a
    # batch (counting characters, all three would).
    wide = [QueueEntry(body="€" * 40_000 + str(n), group_id="g", deduplication_id=str(n)) for n in range(3)]
    stub = StubClient()

    FifoQueue("https://queue", client=stub).send(wide)

    assert [len(c) for c in stub.calls] == [2, 1]
    assert all(sum(len(e["MessageBody"].encode()) for e in c) <= MAX_BATCH_BYTES for c in stub.calls)


def test_entry_ids_and_fields_are_what_sqs_expects() -> None:
    stub = StubClient()

    FifoQueue("https://queue", client=stub).send([entry(0, group="g0"), entry(1, group="g1")])

    assert stub.calls == [
        [
            {"Id": "0", "MessageBody": entry(0).body, "MessageGroupId": "g0", "MessageDeduplicationId": "dedup-0"},
            {"Id": "1", "MessageBody": entry(1).body, "MessageGroupId": "g1", "MessageDeduplicationId": "dedup-1"},
        ]
    ]


def test_transient_failed_entries_are_retried_and_succeed() -> None:
    # Given SQS refusing two of three entries once, for a reason that is not the sender's fault
    stub = StubClient(
        {
            "Successful": [{"Id": "1"}],
            "Failed": [failed("0", sender_fault=False), failed("2", sender_fault=False)],
        },
    )

    # When queued, Then no error, and only the refused entries were sent again, in order
    FifoQueue("https://queue", client=stub).send([entry(0), entry(1), entry(2)])

    assert len(stub.calls) == 2
    assert [e["MessageDeduplicationId"] for e in stub.calls[1]] == ["dedup-0", "dedup-2"]
    assert [e["Id"] for e in stub.calls[1]] == ["0", "2"]


def test_entries_still_failing_after_every_attempt_raise() -> None:
    always_failing = {"Successful": [], "Failed": [failed("0", sender_fault=False)]}
    stub = StubClient(*([always_failing] * SEND_ATTEMPTS))

    with pytest.raises(QueueError, match="1 of 1 documents not queued: InternalError"):
        FifoQueue("https://queue", client=stub).send([entry(0)])

    assert len(stub.calls) == SEND_ATTEMPTS


def test_sender_fault_raises_without_retrying() -> None:
    stub = StubClient(
        {
            "Successful": [{"Id": "0"}],
            "Failed": [failed("1", sender_fault=True, code="InvalidParameterValue")],
        }
    )

    with pytest.raises(QueueError, match="InvalidParameterValue"):
        FifoQueue("https://queue", client=stub).send([entry(0), entry(1)])

    assert len(stub.calls) == 1


def test_a_failed_batch_stops_later_batches() -> None:
    stub = StubClient({"Successful": [], "Failed": [failed("0", sender_fault=True)]})

    with pytest.raises(QueueError):
        FifoQueue("https://queue", client=stub).send([entry(n) for n in range(15)])

    # The second batch is never sent: the caller will not acknowledge its input and retries it all.
    assert len(stub.calls) == 1


@pytest.mark.parametrize(
    "exception",
    [
        pytest.param(
            ClientError(
                {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": "no"}}, "SendMessageBatch"
            ),
            id="client-error",
        ),
        pytest.param(EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com"), id="botocore-error"),
    ],
)
def test_client_errors_become_queue_errors(exception: Exception) -> None:
    stub = StubClient(exception)

    with pytest.raises(QueueError) as caught:
        FifoQueue("https://queue", client=stub).send([entry(0)])

    assert caught.value.__cause__ is exception


def test_nonexistent_queue_with_moto_is_a_queue_error(aws: Stack) -> None:
    url = aws.queue_urls[QUEUE].replace("inbound", "missing")

    with pytest.raises(QueueError):
        FifoQueue(url).send([entry(0)])


@pytest.mark.parametrize("entries", [[], [entry(0)]], ids=["no-entries", "one-entry"])
def test_empty_url_is_a_queue_error(entries: list[QueueEntry]) -> None:
    stub = StubClient()

    with pytest.raises(QueueError, match="not configured"):
        FifoQueue("", client=stub).send(entries)

    assert stub.calls == []


def test_queue_error_is_transient() -> None:
    from wacloud.errors import TransientError

    assert issubclass(QueueError, TransientError)


def test_nothing_to_send_makes_no_call() -> None:
    stub = StubClient()

    FifoQueue("https://queue", client=stub).send([])

    assert stub.calls == []


# --- send_delayed: one message on a standard queue, received no sooner than its delay ----------


class DelayStub:
    """A client recording SendMessage calls, or raising."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {"MessageId": "m"}


@pytest.mark.parametrize(("asked", "sent"), [(0, 0), (60, 60), (900, 900), (5000, 900), (-3, 0)])
def test_send_delayed_keeps_the_delay_within_what_sqs_takes(asked: int, sent: int) -> None:
    stub = DelayStub()
    send_delayed("https://queue", "body", asked, client=stub)
    assert stub.calls == [{"QueueUrl": "https://queue", "MessageBody": "body", "DelaySeconds": sent}]
    assert sent <= MAX_DELAY_SECONDS


def test_send_delayed_message_waits_its_delay_with_moto(aws: Stack) -> None:
    url = aws.queue_urls["UnconfirmedCheckQueue"]
    send_delayed(url, "later", 900)
    send_delayed(url, "now", 0)
    sqs = boto3.client("sqs", region_name=REGION)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in received] == ["now"]


def test_send_delayed_errors_are_queue_errors() -> None:
    error = EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
    with pytest.raises(QueueError) as caught:
        send_delayed("https://queue", "body", 10, client=DelayStub(error))
    assert caught.value.__cause__ is error
    with pytest.raises(QueueError, match="not configured"):
        send_delayed("", "body", 10, client=DelayStub())
