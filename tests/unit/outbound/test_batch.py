"""wacloud.outbound.batch: one invocation's batch, its recipients side by side and each in order, a
failure holding back only its own group, and every failed record's retry delay (a fake sender)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from wacloud.config import Settings
from wacloud.errors import TransientError
from wacloud.local.pollers import lambda_record
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.batch import PAIR_RATE_MIN_SECONDS, SendBatch, retry_delay
from wacloud.outbound.sender import SendRetryableError
from wacloud.runtime.deadline import Deadline, NotEnoughTimeError

ARN = "arn:aws:sqs:us-east-1:123456789012:outbound.fifo"
SETTINGS = Settings.from_env(
    {"WACLOUD_SEND_CONCURRENCY": 10, "WACLOUD_RETRY_BASE_SECONDS": 30, "WACLOUD_MAX_RECEIVE_COUNT": 5}
)


class FakeSender:
    """Sends by calling `on_send(body)`; remembers what the batch asked of it."""

    def __init__(self, on_send: Callable[[str], None] = lambda body: None, settings: Settings = SETTINGS) -> None:
        self.settings = settings
        self.on_send = on_send
        self.started: list[bool] = []
        self.sent: list[tuple[str, int, Deadline]] = []
        self.held_back: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def start_invocation(self, *, may_name_bucket_objects: bool) -> None:
        self.started.append(may_name_bucket_objects)

    def send(self, body: str, *, message_id: str, attempt: int, deadline: Deadline) -> SendOutcome:
        with self._lock:
            self.sent.append((body, attempt, deadline))
        self.on_send(body)
        return SendOutcome.accepted(f"wamid.{body}")

    def record_held_back(self, body: str, attempt: int) -> None:
        self.held_back.append((body, attempt))


class FakeQueue:
    def __init__(self) -> None:
        self.delays: list[dict[str, Any]] = []

    def delay(self, entries: list[dict[str, Any]]) -> None:
        self.delays.extend(entries)


def event(*records: tuple[str, str] | tuple[str, str, int]) -> dict[str, Any]:
    """A batch of (group, body[, receive count]) records, as Lambda delivers them."""
    return {
        "Records": [
            lambda_record(
                {
                    "MessageId": f"m{i}",
                    "ReceiptHandle": f"r{i}",
                    "Body": record[1],
                    "Attributes": {
                        "MessageGroupId": record[0],
                        "ApproximateReceiveCount": str(record[2] if len(record) > 2 else 1),
                    },
                },
                ARN,
            )
            for i, record in enumerate(records)
        ]
    }


def run(sender: FakeSender, batch: dict[str, Any], queue: FakeQueue | None = None) -> dict[str, Any]:
    return SendBatch(sender, queue or FakeQueue(), batch, context=None).run()  # type: ignore[arg-type]


def test_groups_run_side_by_side() -> None:
    # GIVEN three recipients who meet at a barrier: run one after the other, the first would wait in vain
    barrier = threading.Barrier(3, timeout=10)
    sender = FakeSender(lambda body: barrier.wait())

    # WHEN the batch runs THEN every record is sent
    assert run(sender, event(("a", "1"), ("b", "2"), ("c", "3"))) == {"batchItemFailures": []}
    assert sorted(body for body, _, _ in sender.sent) == ["1", "2", "3"]


def test_each_group_keeps_its_order_and_a_failure_holds_back_only_its_own_group() -> None:
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def send(body: str) -> None:
        seen[body[0]].append(body)
        if body == "a2":
            raise SendRetryableError("Graph is down for this one", code=131000)

    queue = FakeQueue()
    batch = event(("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3"), ("b", "b3"))
    answer = run(FakeSender(send), batch, queue)

    assert seen == {"a": ["a1", "a2"], "b": ["b1", "b2", "b3"]}
    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == ["m2", "m4"]  # a2 and a3
    # a3 waits as long as a2 (the group keeps its order), and says why it waits
    delays = {entry["ReceiptHandle"]: entry["VisibilityTimeout"] for entry in queue.delays}
    assert set(delays) == {"r2", "r4"} and delays["r2"] == delays["r4"] > 0


def test_a_record_held_back_is_recorded_as_held_back_and_one_tried_is_not() -> None:
    def send(body: str) -> None:
        raise SendRetryableError("down", code=131000)

    sender = FakeSender(send)
    run(sender, event(("a", "first"), ("a", "second", 3)))

    assert [body for body, _, _ in sender.sent] == ["first"]
    assert sender.held_back == [("second", 3)]


def test_one_worker_runs_the_groups_one_after_the_other() -> None:
    sender = FakeSender(settings=Settings.from_env({"WACLOUD_SEND_CONCURRENCY": 1}))
    run(sender, event(("a", "1"), ("b", "2"), ("a", "3")))
    assert [body for body, _, _ in sender.sent] == ["1", "3", "2"]


def test_the_invocation_starts_once_on_the_handlers_thread_and_knows_about_bucket_objects() -> None:
    starts: list[str] = []
    sender = FakeSender()
    sender.start_invocation = lambda *, may_name_bucket_objects: starts.append(  # type: ignore[method-assign]
        f"{threading.current_thread() is threading.main_thread()}:{may_name_bucket_objects}"
    )
    run(sender, event(("a", '{"s3_key": "x.pdf"}'), ("b", "2")))
    run(sender, event(("a", "text only")))
    assert starts == ["True:True", "True:False"]


def test_every_send_gets_the_receive_count_and_the_invocations_deadline() -> None:
    sender = FakeSender()
    run(sender, event(("a", "1", 4), ("b", "2", 1)))
    assert sorted((body, attempt) for body, attempt, _ in sender.sent) == [("1", 4), ("2", 1)]
    assert len({id(deadline) for _, _, deadline in sender.sent}) == 1


def test_an_unexpected_error_fails_the_record_and_backs_off_by_its_own_attempts() -> None:
    def send(body: str) -> None:
        raise RuntimeError("a bug")

    queue = FakeQueue()
    answer = run(FakeSender(send), event(("a", "1", 2)), queue)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert 30 <= queue.delays[0]["VisibilityTimeout"] <= 60  # 30 x 2^(2-1), jittered to half or more


def test_the_last_attempt_is_not_delayed_so_sqs_moves_it_to_the_dlq_at_once() -> None:
    def send(body: str) -> None:
        raise SendRetryableError("down", code=131000)

    queue = FakeQueue()
    sender = FakeSender(send)
    run(sender, event(("a", "1", 5), ("a", "2", 5)), queue)
    assert [entry["VisibilityTimeout"] for entry in queue.delays] == [0, 0]
    assert sender.held_back == [("2", 5)]


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 15, 30), (2, 30, 60), (3, 60, 120), (4, 120, 240)])
def test_delay_doubles_per_attempt_with_jitter(attempt, low, high) -> None:
    settings = Settings.from_env(
        {"WACLOUD_RETRY_BASE_SECONDS": 30, "WACLOUD_RETRY_MAX_SECONDS": 900, "WACLOUD_MAX_RECEIVE_COUNT": 10}
    )
    delays = {retry_delay(settings, attempt) for _ in range(200)}
    assert min(delays) >= low and max(delays) <= high
    assert len(delays) > 5  # jittered, not one fixed value


def test_delay_is_capped() -> None:
    settings = Settings.from_env(
        {"WACLOUD_RETRY_BASE_SECONDS": 30, "WACLOUD_RETRY_MAX_SECONDS": 900, "WACLOUD_MAX_RECEIVE_COUNT": 30}
    )
    assert max(retry_delay(settings, 20) for _ in range(100)) <= 900


def test_pair_rate_limit_waits_at_least_six_seconds_and_lack_of_time_or_attempts_not_at_all() -> None:
    settings = Settings.from_env({"WACLOUD_RETRY_BASE_SECONDS": 1, "WACLOUD_MAX_RECEIVE_COUNT": 5})
    pair_rate = SendRetryableError("pair", code=131056)
    assert min(retry_delay(settings, 1, pair_rate) for _ in range(50)) >= PAIR_RATE_MIN_SECONDS
    assert retry_delay(settings, 3, NotEnoughTimeError("late")) == 0
    assert retry_delay(settings, 5, TransientError("down")) == 0  # the last attempt: the DLQ is next


def test_a_record_without_attributes_is_a_group_of_its_own_on_its_first_attempt() -> None:
    # Lambda always sends them; a hand-made event (sam local invoke -e) may not.
    bare = {"Records": [{"messageId": "m0", "receiptHandle": "r0", "body": "1"}, {"messageId": "m1", "body": "2"}]}
    sender = FakeSender()

    assert run(sender, bare) == {"batchItemFailures": []}
    assert sorted((body, attempt) for body, attempt, _ in sender.sent) == [("1", 1), ("2", 1)]
