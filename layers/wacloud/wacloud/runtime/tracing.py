"""X-Ray tracing through Powertools' Tracer, only when the stack turns it on (`Tracing=Active`).

Creating a Tracer imports the X-Ray SDK and patches boto3 and requests: about 160 ms of every cold
start even when tracing is disabled. With tracing off (the default) the handlers are left as they
are and the SDK is never imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from wacloud.runtime.singletons import singleton

F = TypeVar("F", bound=Callable[..., Any])


def enabled() -> bool:
    """Whether this function traces: the template's `Tracing` parameter, unless Powertools is told not to."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true")
    return os.environ.get("WACLOUD_TRACING") == "Active" and not disabled


@singleton
def _tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer()


def trace_handler(handler: F) -> F:
    """`Tracer.capture_lambda_handler` when tracing is on; the handler itself otherwise."""
    return _tracer().capture_lambda_handler(handler) if enabled() else handler


def trace_method(method: F) -> F:
    """`Tracer.capture_method` when tracing is on; the function itself otherwise."""
    return _tracer().capture_method(method) if enabled() else method
