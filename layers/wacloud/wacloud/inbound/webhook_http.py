"""The webhook's HTTP face: an API Gateway proxy event (REST, payload 1.0; or HTTP API, 2.0) routed
to `Webhook`, and every outcome answered with a status and a body that says what is wrong.

`/webhook` is the default Meta app's, `/webhook/<app>` another app's (`{app}` in the route).

Hand-routed rather than Powertools' event handler: two routes do not pay for its import (with the
asyncio it brings, about 50 ms of every cold start), and Meta asks for fast answers.
"""

from __future__ import annotations

from typing import Any

from wacloud.errors import SignatureError
from wacloud.inbound.webhook import (
    BadRequestError,
    ForbiddenError,
    PayloadTooLargeError,
    UnknownAppError,
    get_webhook,
)
from wacloud.models.number_entry import DEFAULT_APP
from wacloud.runtime.http_answers import error_answer, proxy_json, proxy_text, raw_body
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count

logger = child_logger(__name__)
PATH = "/webhook"
APP_ROUTE = "/webhook/{app}"
# An app's name as the registry allows it (models/number_entry.py); anything else is no app of ours.
MAX_APP_CHARS = 48


def answer(event: dict[str, Any]) -> dict[str, Any]:
    """The proxy answer to one request."""
    method, path, app = _method_and_path(event)
    if path != PATH:
        return proxy_json(404, {"error": "not found"})
    if app is None:  # no app can have that name
        count("WebhookUnknownApp")
        return proxy_json(404, {"error": "not found"})
    if method not in {"GET", "POST"}:
        return proxy_json(405, {"error": "method not allowed"}, headers={"Allow": "GET, POST"})
    try:
        return _subscribe(event, app) if method == "GET" else _receive(event, app)
    except Exception as exc:  # each failure has its answer; Meta retries a 503 later
        return proxy_json(*_refusal(exc))


def request_id(event: dict[str, Any]) -> str | None:
    """API Gateway's id of the request (REST and HTTP API alike): the log lines' correlation id."""
    context = event.get("requestContext")
    return str(context["requestId"]) if isinstance(context, dict) and "requestId" in context else None


def _subscribe(event: dict[str, Any], app: str) -> dict[str, Any]:
    params = event.get("queryStringParameters") or {}
    mode, token, challenge = (params.get(f"hub.{name}") for name in ("mode", "verify_token", "challenge"))
    return proxy_text(200, get_webhook().subscribe(mode, token, challenge, app=app))


def _receive(event: dict[str, Any], app: str) -> dict[str, Any]:
    body = raw_body(event.get("body"), is_base64_encoded=bool(event.get("isBase64Encoded")))
    received = get_webhook().receive(body, _header(event, "x-hub-signature-256"), app=app)
    answer = {"ok": True, "events": len(received.events)}
    if received.refused:
        answer["refused"] = received.refused
    return proxy_json(200, answer)


def _refusal(exc: Exception) -> tuple[int, dict[str, str]]:
    """The status and body for a failure: the webhook's own first, then those every function shares."""
    if isinstance(exc, SignatureError):
        logger.warning("Webhook signature rejected", extra={"reason": exc.reason})
        return (401 if exc.missing else 403), {"error": "invalid signature"}
    if isinstance(exc, ForbiddenError):
        return 403, {"error": "forbidden"}
    if isinstance(exc, BadRequestError):
        return 400, {"error": str(exc)}
    if isinstance(exc, PayloadTooLargeError):
        return 413, {"error": "payload too large"}
    if isinstance(exc, UnknownAppError):
        logger.warning("Webhook for an unknown app refused")
        return 404, {"error": "not found"}
    return error_answer(exc, logger, name="Webhook")


def _method_and_path(event: dict[str, Any]) -> tuple[str, str, str | None]:
    """(method, route path, app) of a REST (1.0) or HTTP API (2.0) event: `/webhook` and the app
    (`default`, or the `{app}` path parameter; None for a name no app can have), other paths as they
    are, without the stage (in an HTTP API's `rawPath` unless it is `$default`) or a trailing slash
    (REST routes `/webhook/` here too)."""
    context = event.get("requestContext") or {}
    http = context.get("http")
    if isinstance(http, dict):  # payload format 2.0
        method, route = str(http.get("method", "")), str(event.get("routeKey") or "")
        declared = route.split(" ", 1)[1] if " " in route else ""
    else:  # 1.0: the resource as declared, whatever the stage or a custom domain's base path
        method, declared = str(event.get("httpMethod", "")), str(event.get("resource") or "")
    if declared == APP_ROUTE:
        parameters = event.get("pathParameters") or {}
        return method.upper(), PATH, _app(parameters.get("app") if isinstance(parameters, dict) else None)
    if declared and "{" not in declared:  # "POST /webhook": the route as declared
        path = declared
    elif isinstance(http, dict):
        path, stage = str(event.get("rawPath") or http.get("path") or ""), str(context.get("stage") or "")
        if stage and stage != "$default" and path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1 :]
    else:
        path = str(event.get("path") or "")
    path = path.rstrip("/") or "/"
    if path.startswith(PATH + "/"):  # a catch-all route ($default): the app from the path itself
        return method.upper(), PATH, _app(path[len(PATH) + 1 :])
    return method.upper(), path, DEFAULT_APP


def _app(name: Any) -> str | None:
    """A path's app name, or None when no registered app can have it (never looked up)."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_APP_CHARS or "/" in name:
        return None
    return name


def _header(event: dict[str, Any], name: str) -> str | None:
    """A request header, whatever its case (2.0 lowercases them; 1.0 keeps the caller's)."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None
