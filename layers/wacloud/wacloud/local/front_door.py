"""An HTTP server on localhost standing in for API Gateway: each request becomes a REST API proxy
event for the function its path routes to, and the function's answer becomes the HTTP response.

Unlike API Gateway it checks no IAM signature on the messages API: only this machine can reach it."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def proxy_event(method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
    """The event API Gateway's REST proxy integration would give the function."""
    url = urlsplit(target)
    pairs = parse_qsl(url.query, keep_blank_values=True)
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(pairs) or None,
        "multiValueQueryStringParameters": {k: [v for kk, v in pairs if kk == k] for k, _ in pairs} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "local",
            "resourcePath": url.path,
            "httpMethod": method,
            "path": f"/local{url.path}",
            "identity": {"sourceIp": source_ip},
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64,
    }


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
    if path == "/webhook":
        return ("GET", "POST")
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
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        status = int(result.get("statusCode", 502))
        if self.door.on_request is not None:
            self.door.on_request(method, path, status, body, data)
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(v) for v in values)
        self._reply(status, headers, data)

    def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return
