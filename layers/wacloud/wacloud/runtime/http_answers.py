"""The answers both HTTP functions (webhook, messages API) give: JSON bodies that say what is wrong
and nothing internal, and the one mapping of the errors they share.

Lean on purpose (no event handler, no pydantic): the webhook answers with these directly, while the
messages API registers them on Powertools' resolver (`runtime/resolver_answers.py`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Protocol

from wacloud.errors import ConfigurationError, TransientError, WacloudError


class UndecodableBodyError(WacloudError):
    """API Gateway said the body is base64 (it is not UTF-8) and it is not valid base64: 400."""


class ErrorLogger(Protocol):
    def error(self, msg: object, *args: Any, **kwargs: Any) -> None: ...

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None: ...


def raw_body(body: str | None, *, is_base64_encoded: bool) -> bytes:
    """The exact bytes the caller sent, as API Gateway hands them over (base64 when not UTF-8)."""
    if not body:
        return b""
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UndecodableBodyError("body is not valid base64") from exc
    return body.encode("utf-8", "surrogateescape")


def error_answer(exc: Exception, logger: ErrorLogger, *, name: str) -> tuple[int, dict[str, str]]:
    """The status and body for an error both functions share: 400 for a body API Gateway could not
    have encoded, 503 for a dependency that may come back (the caller retries: Meta does), 500 for a
    broken deployment or anything unexpected (logged with the stack trace, never answered with it)."""
    if isinstance(exc, UndecodableBodyError):
        return 400, {"error": str(exc)}
    if isinstance(exc, TransientError):
        logger.error(f"{name} not accepted: dependency unavailable", extra={"error": str(exc)})
        return 503, {"error": "temporarily unavailable"}
    if isinstance(exc, ConfigurationError):
        logger.error(f"{name} misconfigured", extra={"error": str(exc)})
        return 500, {"error": "internal error"}
    logger.exception(f"Unexpected {name.lower()} error")
    return 500, {"error": "internal error"}


def proxy_json(status: int, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy answer (REST and HTTP API alike) with a JSON body."""
    answer_headers = {"Content-Type": "application/json", **(headers or {})}
    return {"statusCode": status, "headers": answer_headers, "body": json.dumps(body, separators=(",", ":"))}


def proxy_text(status: int, body: str) -> dict[str, Any]:
    """A text answer no browser will sniff into HTML or script (the webhook's GET echoes its caller)."""
    headers = {"Content-Type": "text/plain", "X-Content-Type-Options": "nosniff"}
    return {"statusCode": status, "headers": headers, "body": body}
