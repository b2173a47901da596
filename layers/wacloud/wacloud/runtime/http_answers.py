"""The answers both REST functions (webhook, messages API) give: JSON bodies that say what is wrong
and nothing internal, and the same mapping of the errors they share."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError

from wacloud.errors import ConfigurationError, TransientError, WacloudError


class UndecodableBodyError(WacloudError):
    """API Gateway said the body is base64 (it is not UTF-8) and it is not valid base64: 400."""


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


def json_response(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def plain_text_response(status: int, body: str) -> Response[str]:
    """A text answer no browser will sniff into HTML or script (the webhook's GET echoes its caller)."""
    return Response(
        status_code=status,
        content_type=content_types.TEXT_PLAIN,
        body=body,
        headers={"X-Content-Type-Options": "nosniff"},
    )


def add_error_answers(app: APIGatewayRestResolver, logger: Logger, *, name: str) -> None:
    """400 for a body API Gateway could not have encoded, 503 for a dependency that may come back
    (the caller retries: Meta does), 500 for a broken deployment or anything unexpected (logged with
    the stack trace, never answered with it), and Powertools' own 404/405 as API Gateway would
    answer them."""

    def undecodable(exc: UndecodableBodyError) -> Response[dict[str, Any]]:
        return json_response(400, {"error": str(exc)})

    def unavailable(exc: TransientError) -> Response[dict[str, Any]]:
        logger.error(f"{name} not accepted: dependency unavailable", extra={"error": str(exc)})
        return json_response(503, {"error": "temporarily unavailable"})

    def misconfigured(exc: ConfigurationError) -> Response[dict[str, Any]]:
        logger.error(f"{name} misconfigured", extra={"error": str(exc)})
        return json_response(500, {"error": "internal error"})

    def service_error(exc: ServiceError) -> Response[dict[str, Any]]:
        return json_response(exc.status_code, {"error": exc.msg})

    def unexpected(exc: Exception) -> Response[dict[str, Any]]:
        logger.exception(f"Unexpected {name.lower()} error")
        return json_response(500, {"error": "internal error"})

    answers: list[tuple[type[Exception], Any]] = [
        (UndecodableBodyError, undecodable),
        (TransientError, unavailable),
        (ConfigurationError, misconfigured),
        (ServiceError, service_error),
        (Exception, unexpected),
    ]
    for error, answer in answers:
        app.exception_handler(error)(answer)
