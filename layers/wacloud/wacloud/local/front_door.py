"""An HTTP server on localhost standing in for API Gateway's HTTP API: each request becomes a payload
format 2.0 event for the function its path routes to, and the function's answer becomes the HTTP
response.

Unlike API Gateway it checks no IAM signature on the messages API: only this machine can reach it."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

# The routes template.yaml declares on the HTTP API, and which of them need IAM authorization.
ROUTES: tuple[tuple[str, str, bool], ...] = (
    ("GET", "/webhook", False),
    ("POST", "/webhook", False),
    ("GET", "/webhook/{app}", False),
    ("POST", "/webhook/{app}", False),
    ("POST", "/messages", True),
    ("GET", "/messages/{id}", True),
)

# What API Gateway puts in `requestContext.authorizer.iam` for a SigV4-signed call (the caller's
# identity); locally nobody signs, so a stand-in names the local run.
LOCAL_CALLER = {
    "accessKey": "ASIALOCALRUN",
    "accountId": "123456789012",
    "callerId": "LOCALRUN",
    "cognitoIdentity": None,
    "principalOrgId": None,
    "userArn": "arn:aws:iam::123456789012:user/local-run",
    "userId": "LOCALRUN",
}


def route_key(method: str, path: str) -> tuple[str, dict[str, str] | None, bool]:
    """(routeKey, pathParameters, IAM-authorized) of a request: the declared route it matches, or
    `$default` (what a catch-all route would get; the deployed API answers 404 itself)."""
    for route_method, route, iam in ROUTES:
        if route_method != method:
            continue
        if route == path:
            return f"{method} {route}", None, iam
        prefix = route.split("{", 1)[0]
        if "{" in route and path.startswith(prefix) and "/" not in path[len(prefix) :] and path[len(prefix) :]:
            name = route[len(prefix) :].strip("{}")
            return f"{method} {route}", {name: path[len(prefix) :]}, iam
    return "$default", None, False


def proxy_event(
    method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str, *, stage: str = "$default"
) -> dict[str, Any]:
    """The event API Gateway's HTTP API hands the function (Lambda proxy integration, payload format
    2.0): header names lowercased, cookies apart, repeated query parameters joined with commas, and
    under a named stage the stage in `rawPath` (`routeKey` and the path parameters without it)."""
    url = urlsplit(target)
    path = url.path or "/"
    pairs = parse_qsl(url.query, keep_blank_values=True)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else str(value)
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    query: dict[str, str] = {}
    for name, value in pairs:
        query[name] = f"{query[name]},{value}" if name in query else value
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    key, parameters, iam = route_key(method, path)
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    now = time.time()
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": lowered.get("host", "localhost"),
        "domainPrefix": lowered.get("host", "localhost").split(".")[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if iam:
        context["authorizer"] = {"iam": dict(LOCAL_CALLER)}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": key,
        "rawPath": raw_path,
        "rawQueryString": url.query,
        "headers": lowered,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if parameters:
        event["pathParameters"] = parameters
    if body:
        event["body"] = text
    return event


def http_response(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) API Gateway makes of a function's 2.0 answer. An answer without a
    `statusCode` is a 200 whose JSON body is the answer itself."""
    if "statusCode" not in result:
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode("utf-8")
    payload = result.get("body") or ""
    data = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode("utf-8")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    # 1.0 answers' multi-value headers, which a 2.0 integration would ignore; kept for 1.0 handlers.
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    return int(result["statusCode"]), headers, data


def _refusal(method: str, path: str, headers: Any) -> str | None:
    """What a page in the developer's browser must not do to the local run (it has no IAM check):
    reach it under another host name (DNS rebinding), or POST to the messages API without a JSON
    content type (a cross-site form could)."""
    host = str(headers.get("Host", "")).rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        return "the local front door answers only requests to 127.0.0.1 or localhost"
    content_type = str(headers.get("Content-Type", "")).split(";")[0].strip().lower()
    if method == "POST" and path.startswith("/messages") and content_type != "application/json":
        return "POST /messages takes Content-Type: application/json"
    return None


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods template.yaml routes for a path (HTTP's 405 answer lists them in `Allow`)."""
    if path == "/webhook" or (path.startswith("/webhook/") and "/" not in path[len("/webhook/") :]):
        return ("GET", "POST")  # the default app's and each other app's
    if path == "/messages":
        return ("POST",)
    if path.startswith("/messages/"):
        return ("GET",)
    return ()


# API Gateway refuses a request body over 10 MB before any function runs.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


class FrontDoor:
    """Routes each path prefix (`/webhook`, `/messages`) to its function; anything else is a 404."""

    def __init__(
        self, routes: dict[str, Invoke], *, host: str = "127.0.0.1", port: int = 0, on_request: Any = None
    ) -> None:
        self.routes = routes
        self.on_request = on_request
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FrontDoor:
        threading.Thread(target=self._server.serve_forever, name="front-door", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"door": self})


class _Handler(BaseHTTPRequestHandler):
    """One request to the front door: routed to its function, or refused as API Gateway would."""

    door: FrontDoor

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _not_allowed(self) -> None:
        data = b"" if self.command == "HEAD" else b'{"error":"method not allowed"}'
        allow = ", ".join(allowed_methods(urlsplit(self.path).path.rstrip("/")))
        self._reply(405, {"Content-Type": "application/json", "Allow": allow}, data)

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>: every method but GET and POST is answered 405.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _route(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._reply(400, {"Content-Type": "application/json"}, b'{"error":"bad Content-Length"}')
            return
        if length > MAX_REQUEST_BYTES:  # API Gateway's own limit, refused before reading
            self._reply(413, {"Content-Type": "application/json"}, b'{"message":"Request Too Long"}')
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path.rstrip("/")
        invoke = next(
            (f for prefix, f in self.door.routes.items() if path == prefix or path.startswith(prefix + "/")), None
        )
        if invoke is None:
            self._reply(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
            return
        if method not in allowed_methods(path):
            self._not_allowed()
            return
        refusal = _refusal(method, path, self.headers)
        if refusal is not None:
            self._reply(403, {"Content-Type": "application/json"}, json.dumps({"error": refusal}).encode())
            return
        headers = {k: v for k, v in self.headers.items()}
        result = invoke(proxy_event(method, self.path, headers, body, self.client_address[0]))
        status, answer_headers, data = http_response(result)
        if self.door.on_request is not None:
            self.door.on_request(method, path, status, body, data)
        self._reply(status, answer_headers, data, cookies=[str(c) for c in result.get("cookies") or []])

    def _reply(self, status: int, headers: dict[str, str], data: bytes, *, cookies: list[str] | None = None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, str(value))
        for cookie in cookies or []:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return
