"""Count metrics from any thread: Powertools' `add_metric` reads and writes a shared dict without
a lock, and the sender adds metrics from one thread per recipient, so two could lose a count
(`SendNeedsAttention` feeds an alarm)."""

from __future__ import annotations

import threading

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

_lock = threading.Lock()
_metrics = Metrics()


def count(name: str, value: float = 1) -> None:
    """Add `value` to the metric `name` (a count), safely from any thread."""
    with _lock:
        _metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
