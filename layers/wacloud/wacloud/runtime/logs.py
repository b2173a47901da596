"""How the package logs: every module through `child_logger(__name__)`, a stdlib logger named as
Powertools names its child loggers (`<service>.<module>`), so its lines reach the function's logger
whichever that is: Powertools' Logger (every function but the webhook) or `LeanLogger`.

`LeanLogger` is the webhook's: the JSON lines Powertools' Logger writes (the same keys, masked by
`mask_log`) without importing Powertools, which is a tenth of the webhook's cold start
(docs/PERFORMANCE.md). Meta asks for fast answers; the other functions can afford Powertools.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from wacloud.runtime.masking import mask_log

F = TypeVar("F", bound=Callable[..., Any])

# A LogRecord's own attributes: whatever else is on a record came in `extra=` and is a key of the line.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def service_name() -> str:
    """The function's service, as Powertools reads it."""
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"


def child_logger(module: str) -> logging.Logger:
    """The logger a module of the package writes to; its level and handler are the function's."""
    return logging.getLogger(f"{service_name()}.{module}")


def log_level() -> str:
    """The level a function logs at: Lambda's own (`LoggingConfig`) first, then Powertools'."""
    return (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO").upper()


class LeanFormatter(logging.Formatter):
    """One JSON object per line, with Powertools' keys: level, location, message, timestamp, service,
    the invocation's keys, the `extra=` keys and any exception; every value through `mask_log`."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.keys: dict[str, Any] = {}  # the invocation's (`LeanLogger.inject_lambda_context`)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage() if record.args else record.msg,
            "timestamp": self._timestamp(record),
            "service": self.service,
            **self.keys,
            **{key: value for key, value in record.__dict__.items() if key not in _RECORD_ATTRIBUTES},
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = self.formatException(record.exc_info)
            line["exception_name"] = record.exc_info[0].__name__
        trace = os.environ.get("_X_AMZN_TRACE_ID", "")
        if trace:
            line["xray_trace_id"] = trace.split(";")[0].removeprefix("Root=")
        masked = mask_log({key: value for key, value in line.items() if value is not None})
        return json.dumps(masked, default=str, separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def _timestamp(record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
        return f"{seconds},{int(record.msecs):03d}+0000"


class LeanLogger:
    """The webhook's function logger: the `<service>` logger with one stdout handler and
    `LeanFormatter`, and the Lambda context's keys on every line of an invocation."""

    def __init__(self) -> None:
        self.service = service_name()
        self.registered_formatter = LeanFormatter(self.service)
        self._logger = logging.getLogger(self.service)
        self._logger.setLevel(log_level())
        self._logger.propagate = False  # Lambda's root handler would write each line a second time
        if not any(getattr(handler, "wacloud_lean", False) for handler in self._logger.handlers):
            handler = logging.StreamHandler(sys.stdout)
            handler.wacloud_lean = True  # type: ignore[attr-defined]  # one handler however often made
            handler.setFormatter(self.registered_formatter)
            self._logger.addHandler(handler)
        else:
            self.registered_formatter = next(
                handler.formatter for handler in self._logger.handlers if isinstance(handler.formatter, LeanFormatter)
            )
        self._cold = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)  # info, warning, exception...: the stdlib logger's own

    def inject_lambda_context(self, *, correlation_id: Callable[[dict[str, Any]], Any]) -> Callable[[F], F]:
        """Decorate a handler: the context's keys and the event's correlation id on each line."""

        def decorate(handler: F) -> F:
            @functools.wraps(handler)
            def wrapped(event: dict[str, Any], context: Any) -> Any:
                self.registered_formatter.keys = {
                    "cold_start": self._cold,
                    "function_name": getattr(context, "function_name", None),
                    "function_memory_size": getattr(context, "memory_limit_in_mb", None),
                    "function_arn": getattr(context, "invoked_function_arn", None),
                    "function_request_id": getattr(context, "aws_request_id", None),
                    "correlation_id": correlation_id(event) if isinstance(event, dict) else None,
                }
                self._cold = False
                return handler(event, context)

            return wrapped  # type: ignore[return-value]

        return decorate
