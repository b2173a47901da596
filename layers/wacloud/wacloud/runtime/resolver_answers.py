"""`runtime/http_answers` on Powertools' resolver (the messages API, an HTTP API resolver): its JSON answers, and the
shared error mapping registered as exception handlers, with Powertools' own 404/405 as API Gateway
would answer them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError

from wacloud.runtime.http_answers import error_answer


def json_response(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def add_error_answers(app: ApiGatewayResolver, logger: Logger, *, name: str) -> None:
    """Every exception answered as `http_answers.error_answer` says; Powertools' routing errors
    (404, 405) as they are."""

    def service_error(exc: ServiceError) -> Response[dict[str, Any]]:
        return json_response(exc.status_code, {"error": exc.msg})

    def shared(exc: Exception) -> Response[dict[str, Any]]:
        status, body = error_answer(exc, logger, name=name)
        return json_response(status, body)

    app.exception_handler(ServiceError)(service_error)
    app.exception_handler(Exception)(shared)
