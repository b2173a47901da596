"""wacloud.runtime.resolver_answers: the messages API's JSON answers on Powertools' resolver, and the
errors both HTTP functions share mapped to 400/503/500 (never answered with the exception's text)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError

from wacloud.adapters.s3 import S3Error
from wacloud.errors import ConfigurationError, TransientError
from wacloud.local.front_door import proxy_event
from wacloud.local.lambda_context import LocalContext
from wacloud.runtime.http_answers import UndecodableBodyError
from wacloud.runtime.resolver_answers import add_error_answers, json_response

SECRET_DETAIL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:whatsapp token=EAAG"


def test_json_response_is_a_json_answer_with_the_status() -> None:
    response = json_response(202, {"queued": True})

    assert (response.status_code, response.body) == (202, {"queued": True})
    assert response.headers["Content-Type"] == "application/json"


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self.lines.append(("error", message, extra or {}))

    def exception(self, message: str) -> None:
        self.lines.append(("exception", message, {}))


class PaymentRequiredError(ServiceError):
    def __init__(self, msg: str) -> None:
        super().__init__(402, msg)


FAILURES: dict[str, Exception] = {
    "undecodable": UndecodableBodyError("body is not valid base64"),
    "transient": TransientError(SECRET_DETAIL),
    "s3": S3Error(SECRET_DETAIL),
    "misconfigured": ConfigurationError(SECRET_DETAIL),
    "service": PaymentRequiredError("pay first"),
    "unexpected": RuntimeError(SECRET_DETAIL),
    "key": KeyError(SECRET_DETAIL),
}


@pytest.fixture
def logger() -> RecordingLogger:
    return RecordingLogger()


@pytest.fixture
def app(logger: RecordingLogger) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    add_error_answers(app, logger, name="Webhook")  # type: ignore[arg-type]

    @app.get("/fail/<kind>")
    def fail(kind: str) -> None:
        raise FAILURES[kind]

    @app.get("/ok")
    def ok() -> Any:
        return json_response(201, {"created": 1})

    return app


def call(app: APIGatewayHttpResolver, method: str, path: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    event = proxy_event(method, path, {"Host": "api.example.com"}, b"", "203.0.113.9")
    answer = app.resolve(event, LocalContext(function_name="webhook"))
    headers = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()} | (answer.get("headers") or {})
    return answer["statusCode"], json.loads(answer["body"]), headers


def test_a_route_answers_its_own_json_response(app: APIGatewayHttpResolver) -> None:
    assert call(app, "GET", "/ok")[:2] == (201, {"created": 1})


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("undecodable", 400, {"error": "body is not valid base64"}),
        ("transient", 503, {"error": "temporarily unavailable"}),
        ("s3", 503, {"error": "temporarily unavailable"}),
        ("misconfigured", 500, {"error": "internal error"}),
        ("service", 402, {"error": "pay first"}),
        ("unexpected", 500, {"error": "internal error"}),
        ("key", 500, {"error": "internal error"}),
    ],
    ids=list(FAILURES),
)
def test_each_error_gets_its_status_and_a_json_body(
    app: APIGatewayHttpResolver, kind: str, status: int, body: dict[str, Any]
) -> None:
    answered_status, answered_body, headers = call(app, "GET", f"/fail/{kind}")

    assert (answered_status, answered_body) == (status, body)
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("kind", ["transient", "s3", "misconfigured", "unexpected", "key"])
def test_500_and_503_answers_never_carry_the_exceptions_text(app: APIGatewayHttpResolver, kind: str) -> None:
    status, body, _ = call(app, "GET", f"/fail/{kind}")

    assert status in (500, 503)
    assert "secret" not in json.dumps(body) and "EAAG" not in json.dumps(body)


@pytest.mark.parametrize(
    ("kind", "logged"),
    [
        ("transient", ("error", "Webhook not accepted: dependency unavailable", {"error": SECRET_DETAIL})),
        ("misconfigured", ("error", "Webhook misconfigured", {"error": SECRET_DETAIL})),
        ("unexpected", ("exception", "Unexpected webhook error", {})),
    ],
    ids=["transient", "misconfigured", "unexpected"],
)
def test_what_is_not_answered_is_logged(
    app: APIGatewayHttpResolver, logger: RecordingLogger, kind: str, logged: tuple[str, str, dict[str, Any]]
) -> None:
    call(app, "GET", f"/fail/{kind}")

    assert logger.lines == [logged]


@pytest.mark.parametrize(("method", "path"), [("GET", "/nothing/here"), ("POST", "/ok")], ids=["path", "method"])
def test_an_unknown_route_is_powertools_404_in_json(app: APIGatewayHttpResolver, method: str, path: str) -> None:
    assert call(app, method, path)[:2] == (404, {"error": "Not found"})
