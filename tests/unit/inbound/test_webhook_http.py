"""wacloud.inbound.webhook_http: the webhook's routes for both API Gateway payload formats, header
names in any case, and each refusal's answer (the whole flow: tests/functions/test_webhook.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wacloud.errors import SignatureError, TransientError
from wacloud.inbound import webhook_http
from wacloud.inbound.webhook import BadRequestError, ForbiddenError, PayloadTooLargeError, Received, UnknownAppError


class StubWebhook:
    def __init__(self, error: Exception | None = None) -> None:
        self.error, self.calls = error, []  # type: ignore[var-annotated]
        self.refused = 0
        self.apps: list[str] = []

    def subscribe(self, mode: str | None, token: str | None, challenge: str | None, *, app: str) -> str:
        self.calls.append(("subscribe", mode, token, challenge))
        self.apps.append(app)
        if self.error:
            raise self.error
        return challenge or ""

    def receive(self, body: bytes, signature: str | None, *, app: str) -> Received:
        self.calls.append(("receive", body, signature))
        self.apps.append(app)
        if self.error:
            raise self.error
        return Received([object(), object()], self.refused)  # type: ignore[list-item]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> StubWebhook:
    stub = StubWebhook()
    monkeypatch.setattr(webhook_http, "get_webhook", lambda: stub)
    return stub


def rest(method: str, path: str = "/webhook", **fields: Any) -> dict[str, Any]:
    return {"httpMethod": method, "path": path, "requestContext": {"stage": "prod"}, **fields}


def http_api(method: str, path: str = "/webhook", **fields: Any) -> dict[str, Any]:
    return {"version": "2.0", "rawPath": path, "requestContext": {"http": {"method": method, "path": path}}, **fields}


@pytest.mark.parametrize("shape", [rest, http_api], ids=["rest-1.0", "http-api-2.0"])
def test_both_payload_formats_reach_the_same_routes(stub: StubWebhook, shape: Any) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "t", "hub.challenge": "7"}
    assert webhook_http.answer(shape("GET", queryStringParameters=query))["body"] == "7"
    posted = webhook_http.answer(shape("POST", headers={"X-HUB-Signature-256": "sha256=ab"}, body="{}"))
    assert json.loads(posted["body"]) == {"ok": True, "events": 2}
    assert stub.calls[-1] == ("receive", b"{}", "sha256=ab")  # the header found whatever its case
    assert webhook_http.answer(shape("GET", "/elsewhere"))["statusCode"] == 404
    refused = webhook_http.answer(shape("PUT"))
    assert (refused["statusCode"], refused["headers"]["Allow"]) == (405, "GET, POST")


def test_a_trailing_slash_is_the_same_route(stub: StubWebhook) -> None:
    # API Gateway's REST API sends `/webhook/` to the `/webhook` resource: a callback URL set with
    # the slash keeps working.
    assert webhook_http.answer(rest("POST", "/webhook/", body="{}"))["statusCode"] == 200


def test_an_http_api_stage_is_not_part_of_the_route(stub: StubWebhook) -> None:
    # On a named stage an HTTP API's rawPath starts with it; routeKey names the route as declared.
    staged = {"stage": "v1", "http": {"method": "POST", "path": "/v1/webhook"}}
    with_route = {"version": "2.0", "routeKey": "POST /webhook", "rawPath": "/v1/webhook", "requestContext": staged}
    assert webhook_http.answer({**with_route, "body": "{}"})["statusCode"] == 200
    catch_all = {**with_route, "routeKey": "$default"}
    assert webhook_http.answer({**catch_all, "body": "{}"})["statusCode"] == 200
    assert webhook_http.answer({**catch_all, "rawPath": "/v1/other"})["statusCode"] == 404


def test_a_rest_resource_is_the_route_whatever_the_base_path(stub: StubWebhook) -> None:
    # A custom domain's base path is in `path`, never in the declared `resource`.
    event = rest("POST", "/whatsapp/webhook", resource="/webhook", body="{}")
    assert webhook_http.answer(event)["statusCode"] == 200


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (SignatureError("no signature", missing=True), 401, {"error": "invalid signature"}),
        (SignatureError("mismatch"), 403, {"error": "invalid signature"}),
        (ForbiddenError("verification refused"), 403, {"error": "forbidden"}),
        (BadRequestError("hub.mode, hub.verify_token and hub.challenge are required"), 400, None),
        (PayloadTooLargeError("too big"), 413, {"error": "payload too large"}),
        (UnknownAppError("no number belongs to app 'x'"), 404, {"error": "not found"}),
        (TransientError("queue down"), 503, {"error": "temporarily unavailable"}),
        (RuntimeError("internals"), 500, {"error": "internal error"}),
    ],
    ids=[
        "unsigned",
        "bad-signature",
        "forbidden",
        "bad-request",
        "too-large",
        "unknown-app",
        "transient",
        "unexpected",
    ],
)
def test_each_refusal_has_its_answer(stub: StubWebhook, error: Exception, status: int, body: Any) -> None:
    stub.error = error
    answered = webhook_http.answer(rest("POST", body="{}"))
    assert answered["statusCode"] == status
    assert json.loads(answered["body"]) == (body or {"error": str(error)})


def test_an_apps_path_names_its_app_in_both_payload_formats(stub: StubWebhook) -> None:
    http = {"version": "2.0", "routeKey": "POST /webhook/{app}", "rawPath": "/v1/webhook/sales"}
    http["requestContext"] = {"stage": "v1", "http": {"method": "POST", "path": "/v1/webhook/sales"}}
    assert webhook_http.answer({**http, "pathParameters": {"app": "sales"}, "body": "{}"})["statusCode"] == 200
    rest_event = rest("GET", "/webhook/brand-b", resource="/webhook/{app}", pathParameters={"app": "brand-b"})
    assert webhook_http.answer({**rest_event, "queryStringParameters": {"hub.challenge": "1"}})["body"] == "1"
    catch_all = {**http, "routeKey": "$default", "rawPath": "/v1/webhook/other"}  # no declared route
    assert webhook_http.answer({**catch_all, "body": "{}"})["statusCode"] == 200
    assert webhook_http.answer(rest("POST", "/webhook", body="{}"))["statusCode"] == 200
    assert stub.apps == ["sales", "brand-b", "other", "default"]


@pytest.mark.parametrize("path", ["/webhook/a/b", "/webhook/" + "x" * 49])
def test_a_path_no_app_can_have_is_not_found_without_a_look_up(stub: StubWebhook, path: str) -> None:
    assert webhook_http.answer(http_api("POST", path, body="{}"))["statusCode"] == 404
    assert stub.calls == []


def test_refused_events_are_counted_in_the_answer(stub: StubWebhook) -> None:
    stub.refused = 3
    answered = webhook_http.answer(rest("POST", body="{}"))
    assert json.loads(answered["body"]) == {"ok": True, "events": 2, "refused": 3}
