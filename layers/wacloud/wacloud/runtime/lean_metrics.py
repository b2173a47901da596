"""The webhook's metrics without Powertools: the CloudWatch EMF lines Powertools' Metrics prints (one
line of the invocation's counts under the `service` dimension, and `ColdStart` under `function_name`
and `service`), for the function whose cold start cannot pay Powertools' import (`runtime/logs.py`).

`count` (runtime/metrics.py) adds to it while one of its handlers runs, and to Powertools otherwise.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from wacloud.runtime import metrics

F = TypeVar("F", bound=Callable[..., Any])

MAX_VALUES = 100  # values of one metric, and metrics, in one EMF line (CloudWatch's limits)
MAX_NAME = 255


def metrics_disabled() -> bool:
    """Powertools' rule: disabled when told so, or in its dev mode unless told otherwise."""
    disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    dev = os.environ.get("POWERTOOLS_DEV", "").lower() in ("1", "true", "yes", "on")
    if disabled is not None:
        return disabled.lower() in ("1", "true", "yes", "on")
    return dev


def emf(metrics: dict[str, list[float]], dimensions: dict[str, str], namespace: str) -> str:
    """One EMF line: Count metrics with their values under one set of dimensions."""
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in metrics],
                }
            ],
        },
        **dimensions,
        **metrics,
    }
    return json.dumps(document, separators=(",", ":"))


class LeanMetrics:
    """Counts of one invocation, printed as EMF when it ends (sooner when a line would be full)."""

    def __init__(self) -> None:
        self.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or None
        self.service = os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
        self.metric_set: dict[str, list[float]] = {}
        self._cold = True

    def add(self, name: str, value: float) -> None:
        """Add a Count value; raises ValueError for a name CloudWatch refuses (`count` drops it)."""
        if not name.strip() or len(name) > MAX_NAME:
            raise ValueError(f"metric name must be 1 to {MAX_NAME} characters, not blank")
        values = self.metric_set.get(name)
        full = len(values) >= MAX_VALUES if values is not None else len(self.metric_set) >= MAX_VALUES
        try:
            if full:
                self.flush()
        finally:  # a set that could not be printed is gone either way: counting goes on
            self.metric_set.setdefault(name, []).append(float(value))

    def single(self, name: str, *, dimension: str, value: str) -> None:
        """Print one count of `name` under its own dimension at once (`count_by`)."""
        if not name.strip() or len(name) > MAX_NAME:
            raise ValueError(f"metric name must be 1 to {MAX_NAME} characters, not blank")
        self._print({name: [1.0]}, {dimension: value, "service": self.service})

    def flush(self) -> None:
        """Print the counts so far (nothing when there are none) and start again."""
        metrics, self.metric_set = self.metric_set, {}
        if metrics:
            self._print(metrics, {"service": self.service})

    def _print(self, metrics: dict[str, list[float]], dimensions: dict[str, str]) -> None:
        if metrics_disabled():
            return
        if self.namespace is None:
            raise ValueError("no metric namespace (POWERTOOLS_METRICS_NAMESPACE)")
        print(emf(metrics, dimensions, self.namespace), flush=True)  # noqa: T201 - EMF is a stdout line

    def _cold_start(self, context: Any) -> None:
        function = getattr(context, "function_name", "") or "unknown"
        self._print({"ColdStart": [1.0]}, {"function_name": function, "service": self.service})

    def log_metrics(self, handler: F) -> F:
        """Decorate a handler: `count` adds to these metrics while it runs, printed when it ends,
        with `ColdStart` on the first invocation."""

        @functools.wraps(handler)
        def wrapped(event: Any, context: Any) -> Any:
            with metrics.counting_into(self):
                if self._cold:
                    self._cold = False
                    metrics.publish("ColdStart", lambda: self._cold_start(context))
                try:
                    return handler(event, context)
                finally:
                    metrics.publish("invocation", self.flush)

        return wrapped  # type: ignore[return-value]
