"""The answers both REST functions (webhook, messages API) give: JSON bodies that say what is wrong
and nothing internal, and the same mapping of the errors they share."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError

from wacloud.errors import ConfigurationError, TransientError


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def add_error_answers(app: APIGatewayRestResolver, logger: Logger, *, name: str) -> None:
    """503 for a dependency that may come back (the caller retries: Meta does), 500 for a broken
    deployment or anything unexpected (logged with the stack trace, never answered with it), and
    Powertools' own 404/405 as API Gateway would answer them."""

    @app.exception_handler(TransientError)
    def _unavailable(exc: TransientError) -> Response:
        logger.error(f"{name} not accepted: dependency unavailable", extra={"error": str(exc)})
        return json_response(503, {"error": "temporarily unavailable"})

    @app.exception_handler(ConfigurationError)
    def _misconfigured(exc: ConfigurationError) -> Response:
        logger.error(f"{name} misconfigured", extra={"error": str(exc)})
        return json_response(500, {"error": "internal error"})

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return json_response(exc.status_code, {"error": exc.msg})

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception(f"Unexpected {name.lower()} error")
        return json_response(500, {"error": "internal error"})
