"""The webhook's HTTP face: an API Gateway proxy event (REST, payload 1.0; or HTTP API, 2.0) routed
to `Webhook`, and every outcome answered with a status and a body that says what is wrong.

Hand-routed rather than Powertools' event handler: two routes do not pay for its import (with the
asyncio it brings, about 50 ms of every cold start), and Meta asks for fast answers.
"""

from __future__ import annotations

from typing import Any

from wacloud.errors import SignatureError
from wacloud.inbound.webhook import BadRequestError, ForbiddenError, PayloadTooLargeError, get_webhook
from wacloud.runtime.http_answers import error_answer, proxy_json, proxy_text, raw_body
from wacloud.runtime.logs import child_logger

logger = child_logger(__name__)
PATH = "/webhook"


def answer(event: dict[str, Any]) -> dict[str, Any]:
    """The proxy answer to one request."""
    method, path = _method_and_path(event)
    if path != PATH:
        return proxy_json(404, {"error": "not found"})
    if method not in {"GET", "POST"}:
        return proxy_json(405, {"error": "method not allowed"}, headers={"Allow": "GET, POST"})
    try:
        return _subscribe(event) if method == "GET" else _receive(event)
    except Exception as exc:  # each failure has its answer; Meta retries a 503 later
        return proxy_json(*_refusal(exc))


def request_id(event: dict[str, Any]) -> str | None:
    """API Gateway's id of the request (REST and HTTP API alike): the log lines' correlation id."""
    context = event.get("requestContext")
    return str(context["requestId"]) if isinstance(context, dict) and "requestId" in context else None


def _subscribe(event: dict[str, Any]) -> dict[str, Any]:
    params = event.get("queryStringParameters") or {}
    mode, token, challenge = (params.get(f"hub.{name}") for name in ("mode", "verify_token", "challenge"))
    return proxy_text(200, get_webhook().subscribe(mode, token, challenge))


def _receive(event: dict[str, Any]) -> dict[str, Any]:
    body = raw_body(event.get("body"), is_base64_encoded=bool(event.get("isBase64Encoded")))
    events = get_webhook().receive(body, _header(event, "x-hub-signature-256"))
    return proxy_json(200, {"ok": True, "events": len(events)})


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
    return error_answer(exc, logger, name="Webhook")


def _method_and_path(event: dict[str, Any]) -> tuple[str, str]:
    """(method, route path) of a REST (1.0) or HTTP API (2.0) event: without the stage (in an HTTP
    API's `rawPath` unless it is `$default`) or a trailing slash (REST routes `/webhook/` here too)."""
    context = event.get("requestContext") or {}
    http = context.get("http")
    if isinstance(http, dict):  # payload format 2.0
        method, route = str(http.get("method", "")), str(event.get("routeKey") or "")
        if " " in route and "{" not in route:  # "POST /webhook": the route as declared
            path = route.split(" ", 1)[1]
        else:
            path, stage = str(event.get("rawPath") or http.get("path") or ""), str(context.get("stage") or "")
            if stage and stage != "$default" and path.startswith(f"/{stage}/"):
                path = path[len(stage) + 1 :]
    else:  # 1.0: the resource as declared, whatever the stage or a custom domain's base path
        method = str(event.get("httpMethod", ""))
        resource = str(event.get("resource") or "")
        path = resource if resource and "{" not in resource else str(event.get("path") or "")
    return method.upper(), path.rstrip("/") or "/"


def _header(event: dict[str, Any], name: str) -> str | None:
    """A request header, whatever its case (2.0 lowercases them; 1.0 keeps the caller's)."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None
