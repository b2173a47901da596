"""Every metric the package emits goes through `count`: safe from any thread, and it never raises.

The counts go to Powertools' Metrics, which each function's `log_metrics` decorator publishes, or,
while a handler of the webhook runs, to its `LeanMetrics` (runtime/lean_metrics.py): Powertools is
imported on the first count that needs it, so the webhook never pays for it.

Powertools' `add_metric` reads and writes a shared dict without a lock, and the sender adds metrics
from one thread per recipient, so two could lose a count (`SendNeedsAttention` feeds an alarm).

A metric must never fail the work it measures: an exception after Graph accepted a message made the
send run again. Powertools raises for a name or value it refuses, and at a metric's 100th value it
publishes the set from inside `add_metric`, which raises when it cannot (no namespace). With metrics
disabled (the local run) nothing ever clears the set, so that 100th value came on every long run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any

from wacloud.runtime.logs import child_logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from wacloud.runtime.lean_metrics import LeanMetrics

# Powertools publishes (and clears) the set when a metric reaches this many values, or the set this
# many metrics (`MAX_METRICS` of its CloudWatch EMF provider).
MAX_VALUES = 100

logger = child_logger(__name__)
_lock = threading.Lock()
_warned: set[tuple[str, str]] = set()
_lean: ContextVar[LeanMetrics | None] = ContextVar("wacloud_lean_metrics", default=None)


@cache
def powertools_metrics() -> Metrics:
    """Powertools' Metrics (every instance shares one set: the one the function's decorator publishes)."""
    from aws_lambda_powertools import Metrics

    return Metrics()


def count(name: str, value: float = 1) -> None:
    """Add `value` to the metric `name` (a count), safely from any thread; never raises.

    A metric that is refused is dropped, with one warning per name and reason."""
    lean = _lean.get()
    with _lock:
        if lean is not None:
            try:
                lean.add(name, value)
            except Exception as exc:  # as below
                _warn_once(name, exc)
            return
        _count_in_powertools(name, value)


def count_by(name: str, *, dimension: str, value: str) -> None:
    """Count one `name` under `dimension=value`, published on its own (other metrics do not carry
    the dimension); never raises, and publishes nothing when metrics are disabled."""
    lean = _lean.get()
    if lean is not None:
        publish(name, lambda: lean.single(name, dimension=dimension, value=value))
        return
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.base import SingleMetric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return  # Powertools' single_metric would publish it anyway
    try:
        # Built whole before printing: Powertools' single_metric prints `null` for one it refuses.
        metric = SingleMetric(namespace=powertools_metrics().namespace)
        metric.add_metric(name=name, unit=MetricUnit.Count, value=1)
        metric.add_dimension(name=dimension, value=value)
        emf = json.dumps(metric.serialize_metric_set(), separators=(",", ":"))
    except Exception as exc:  # as in `count`
        with _lock:
            _warn_once(name, exc)
        return
    print(emf)  # noqa: T201 - as Powertools publishes: one line of EMF on stdout


@contextmanager
def counting_into(sink: LeanMetrics) -> Iterator[None]:
    """`count` and `count_by` add to `sink` inside this block (the webhook's handler)."""
    token = _lean.set(sink)
    try:
        yield
    finally:
        _lean.reset(token)


def publish(name: str, write: Callable[[], None]) -> None:
    """Run `write` (publishing metrics); a failure is logged once, never raised."""
    try:
        write()
    except Exception as exc:  # a metric is never worth failing the work it counts
        with _lock:
            _warn_once(name, exc)


def _count_in_powertools(name: str, value: float) -> None:
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    metrics = powertools_metrics()
    metric_set = metrics.metric_set
    try:
        if is_metrics_disabled() and _would_fill(metric_set, name):
            # Nothing is published when disabled: clear where Powertools would publish and clear.
            metric_set.clear()
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    except Exception as exc:  # a metric is never worth failing the work it counts
        if _is_full(metric_set):
            # The publish at a full set failed before Powertools cleared it: every later value
            # would fail the same way.
            metric_set.clear()
        _warn_once(name, exc)


def _would_fill(metric_set: dict[str, dict[str, Any]], name: str) -> bool:
    if name in metric_set:
        return len(metric_set[name].get("Value", ())) >= MAX_VALUES - 1
    return len(metric_set) >= MAX_VALUES - 1


def _is_full(metric_set: dict[str, dict[str, Any]]) -> bool:
    return len(metric_set) >= MAX_VALUES or any(len(m.get("Value", ())) >= MAX_VALUES for m in metric_set.values())


def _warn_once(name: str, exc: Exception) -> None:
    reason = type(exc).__name__
    if (name, reason) in _warned:
        return
    _warned.add((name, reason))
    logger.warning("Metric dropped", extra={"metric": name[:300], "reason": reason, "error": str(exc)[:300]})
