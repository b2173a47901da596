"""wacloud.runtime.metrics: `count` adds Count metrics to Powertools' shared set, from any thread
without losing one, and never raises: not for a metric Powertools refuses, not at a full set, not
with metrics disabled (the local run)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from wacloud.runtime import metrics as metrics_module
from wacloud.runtime.metrics import count, count_by

THREADS = 16
NAMES = 90  # each name gets one value per thread: below Powertools' 100 (it flushes and clears at 100)
ROUNDS = 10  # without the lock a round loses a count about half the time


@pytest.fixture
def collected() -> Iterator[dict[str, dict]]:
    """The metrics Powertools has collected (shared by every Metrics instance), cleared after."""
    metrics = Metrics()
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Threads switch after (nearly) every bytecode, so an unprotected read-modify-write shows."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_a_count_is_a_count_metric_with_its_value(collected: dict[str, dict]) -> None:
    count("MessageSent")
    count("MessageSent", 3)

    assert collected["MessageSent"]["Unit"] == "Count"
    assert collected["MessageSent"]["Value"] == [1.0, 3.0]


def count_every_name(barrier: threading.Barrier) -> None:
    barrier.wait()  # every thread starts counting at once
    for i in range(NAMES):
        count(f"Metric{i}")


@pytest.mark.usefixtures("frequent_thread_switches")
def test_counts_from_many_threads_at_once_are_all_kept(collected: dict[str, dict]) -> None:
    for round_ in range(ROUNDS):
        collected.clear()
        barrier = threading.Barrier(THREADS, timeout=10)
        threads = [threading.Thread(target=count_every_name, args=(barrier,)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        lost = {name: THREADS - len(metric["Value"]) for name, metric in collected.items()}
        assert len(collected) == NAMES, f"round {round_}: metrics missing"
        assert not any(lost.values()), f"round {round_}: counts lost {lost}"


@pytest.fixture
def warnings_logged(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The warnings `count` logs, each as its `extra`; which names were warned about is forgotten."""
    logged: list[dict[str, Any]] = []
    monkeypatch.setattr(metrics_module, "_warned", set())
    monkeypatch.setattr(metrics_module.logger, "warning", lambda message, *, extra: logged.append(extra))
    return logged


@pytest.fixture
def no_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the local run: no namespace, so Powertools cannot publish a set."""
    monkeypatch.setattr(metrics_module.powertools_metrics(), "namespace", None)


@pytest.fixture
def metrics_disabled(monkeypatch: pytest.MonkeyPatch, no_namespace: None) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


@pytest.mark.usefixtures("metrics_disabled")
def test_counting_past_a_full_set_with_metrics_disabled_never_raises(
    collected: dict[str, dict], warnings_logged: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(150):
        count("MessageSent")
    for i in range(150):
        count(f"Metric{i}")

    assert len(collected) < 100 and len(collected["Metric149"]["Value"]) == 1  # cleared, not dropped
    assert warnings_logged == []  # nothing was refused: the set was cleared where Powertools would publish it
    assert capsys.readouterr().out == ""  # and nothing is published when disabled


@pytest.mark.usefixtures("no_namespace")
def test_a_set_that_cannot_be_published_is_cleared_and_counting_goes_on(
    collected: dict[str, dict], warnings_logged: list[dict[str, Any]]
) -> None:
    for _ in range(150):
        count("MessageSent")

    assert collected["MessageSent"]["Value"] == [1.0] * 50  # the full 100 went (unpublishable); the rest kept
    assert [(w["metric"], w["reason"]) for w in warnings_logged] == [("MessageSent", "SchemaValidationError")]


@pytest.mark.parametrize("name", ["", " ", "M" * 256], ids=["empty", "blank", "too-long"])
def test_a_metric_powertools_refuses_is_dropped_with_one_warning(
    collected: dict[str, dict], warnings_logged: list[dict[str, Any]], name: str
) -> None:
    count(name)
    count(name)
    count("MessageSent")

    assert list(collected) == ["MessageSent"]  # the refused one dropped, the next one kept
    assert [w["reason"] for w in warnings_logged] == ["MetricNameError"]  # once, not per value


@pytest.mark.parametrize("name", ["", "M" * 256], ids=["empty", "too-long"])
def test_a_dimensioned_metric_powertools_refuses_is_dropped_with_a_warning(
    warnings_logged: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    count_by(name, dimension="error_code", value="131030")
    count_by("GraphError", dimension="error_code", value="131030")

    published = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["error_code"], p["GraphError"]) for p in published] == [("131030", [1.0])]
    assert [w["reason"] for w in warnings_logged] == ["MetricNameError"]


@pytest.mark.usefixtures("no_namespace")
def test_a_dimensioned_metric_that_cannot_be_published_does_not_raise(
    warnings_logged: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    count_by("GraphError", dimension="error_code", value="131030")
    assert [w["reason"] for w in warnings_logged] == ["SchemaValidationError"]
    assert capsys.readouterr().out == ""


@pytest.mark.usefixtures("metrics_disabled")
def test_a_dimensioned_metric_is_not_published_when_metrics_are_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    count_by("GraphError", dimension="error_code", value="131030")
    assert capsys.readouterr().out == ""
