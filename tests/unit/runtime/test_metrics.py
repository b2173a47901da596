"""wacloud.runtime.metrics: `count` adds Count metrics to Powertools' shared set, from any thread
without losing one."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Metrics

from wacloud.runtime.metrics import count

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
