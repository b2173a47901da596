"""wacloud.runtime.idempotency: a function completed at most once per key over the idempotency table
(moto), its stored result answering duplicates, a failed run forgotten, records kept for the
settings' TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from wacloud.local.cloudformation import Stack
from wacloud.local.lambda_context import LocalContext
from wacloud.runtime import idempotency, singletons
from wacloud.runtime.idempotency import Idempotent

pytestmark = [
    pytest.mark.usefixtures("aws"),
    pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left"),
]
TTL = 3 * 86400


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    metrics: list[str] = []
    monkeypatch.setattr(idempotency, "count", metrics.append)
    return metrics


@pytest.fixture
def ttl(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("WACLOUD_IDEMPOTENCY_TTL_SECONDS", str(TTL))
    monkeypatch.setenv("WACLOUD_MAX_EVENT_AGE_SECONDS", str(TTL))
    singletons.reset()
    return TTL


def records(aws: Stack) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"]).scan()["Items"]


def recording(calls: list[tuple[str, Any]], answer: Callable[[str], Any] = lambda key: f"done {key}"):
    def function(*, key: str, extra: Any = None) -> Any:
        calls.append((key, extra))
        return answer(key)

    return function


def test_a_key_runs_once_and_its_duplicates_get_the_stored_result(counted: list[str]) -> None:
    calls: list[tuple[str, Any]] = []
    once = Idempotent(recording(calls), key_prefix="test", duplicate_metric="DuplicateSkipped")

    first = once.run(key="k1", extra="first")
    assert counted == []  # a first run is not a duplicate
    again = once.run(key="k1", extra="second")  # only the key identifies the run

    assert first == again == "done k1"
    assert calls == [("k1", "first")]
    assert counted == ["DuplicateSkipped"]


def test_each_key_runs_on_its_own(counted: list[str]) -> None:
    calls: list[tuple[str, Any]] = []
    once = Idempotent(recording(calls), key_prefix="test", duplicate_metric="DuplicateSkipped")

    assert [once.run(key=key) for key in ("a", "b", "a", "b")] == ["done a", "done b", "done a", "done b"]
    assert calls == [("a", None), ("b", None)]
    assert counted == ["DuplicateSkipped", "DuplicateSkipped"]


def test_the_prefix_keeps_two_functions_apart(aws: Stack) -> None:
    calls: list[tuple[str, Any]] = []
    sends = Idempotent(recording(calls), key_prefix="send", duplicate_metric="D")
    archives = Idempotent(recording(calls), key_prefix="archive", duplicate_metric="D")

    sends.run(key="k")
    archives.run(key="k")

    assert calls == [("k", None), ("k", None)]
    assert sorted(record["id"].split("#")[0] for record in records(aws)) == ["archive", "send"]


def test_a_run_that_raises_is_forgotten_and_runs_again(aws: Stack, counted: list[str]) -> None:
    attempts: list[int] = []

    def flaky(*, key: str) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("Graph timed out")
        return "sent"

    once = Idempotent(flaky, key_prefix="test", duplicate_metric="DuplicateSkipped")

    with pytest.raises(RuntimeError, match="Graph timed out"):
        once.run(key="k1")
    assert records(aws) == []  # nothing remembered: SQS's retry runs it again

    assert once.run(key="k1") == "sent"
    assert once.run(key="k1") == "sent"
    assert len(attempts) == 2 and counted == ["DuplicateSkipped"]


def test_records_expire_after_the_settings_ttl(aws: Stack, ttl: int) -> None:
    once = Idempotent(recording([]), key_prefix="test", duplicate_metric="D")
    assert once.config.expires_after_seconds == ttl

    before = int(time.time())
    once.run(key="k1")

    (record,) = records(aws)
    assert before + ttl <= int(record["expiration"]) <= int(time.time()) + ttl


def test_a_registered_context_bounds_the_in_progress_record(aws: Stack) -> None:
    seen: list[dict[str, Any]] = []

    def look(*, key: str) -> str:
        seen.extend(records(aws))  # the in-progress record, while the run is under way
        return "ok"

    once = Idempotent(look, key_prefix="test", duplicate_metric="D")
    once.register_lambda_context(LocalContext(function_name="processor", timeout_seconds=20))

    before_ms = int(time.time() * 1000)
    once.run(key="k1")

    (in_progress,) = seen
    assert in_progress["status"] == "INPROGRESS"
    assert before_ms + 19_000 <= int(in_progress["in_progress_expiration"]) <= before_ms + 21_000


def test_no_context_leaves_the_in_progress_record_unbounded(aws: Stack) -> None:
    seen: list[dict[str, Any]] = []

    def look(*, key: str) -> str:
        seen.extend(records(aws))
        return "ok"

    once = Idempotent(look, key_prefix="test", duplicate_metric="D")
    once.register_lambda_context(None)
    once.run(key="k1")

    assert once.config.lambda_context is None
    assert "in_progress_expiration" not in seen[0]
