"""The fake Graph API's HTTP side: Graph's routes matched and answered by the fake, End User Messaging
Social's (`/v1/whatsapp/...`) by its `eum` when it plays that service too, every other path handed to
its `app` (the simulator's chat view and API)."""

from __future__ import annotations

import json
import re
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from wacloud.local.meta.fake_eum import FakeEum
    from wacloud.local.meta.fake_graph import FakeGraph

_MESSAGES = re.compile(r"^/(v\d+\.\d+)/([0-9]+)/messages/?$")
_MARKETING = re.compile(r"^/(v\d+\.\d+)/([0-9]+)/marketing_messages/?$")
_UPLOAD = re.compile(r"^/(v\d+\.\d+)/([0-9]+)/media/?$")
_TEMPLATES = re.compile(r"^/(v\d+\.\d+)/([0-9]+)/message_templates/?$")
_OBJECT = re.compile(r"^/(v\d+\.\d+)/([0-9]+)/?$")
_DOWNLOAD = re.compile(r"^/download/([0-9]+)$")
_UNKNOWN_PATH = json.dumps({"error": {"message": "Unknown path", "code": 803}}).encode()


def handler_class(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    """The request handler of `fake`'s HTTP server: Graph's routes, then the simulator's app."""
    routes = {
        "POST": (("messages", _MESSAGES), ("marketing_messages", _MARKETING), ("media", _UPLOAD)),
        "GET": (("templates", _TEMPLATES), ("media_info", _OBJECT), ("download", _DOWNLOAD)),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._route("POST")

        def do_GET(self) -> None:
            self._route("GET")

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)  # b"" for none
            if serve_eum(self, fake.eum, method=method, path=url.path, query=url.query, raw=raw):
                return
            found = next(
                ((route, match) for route, pattern in routes[method] if (match := pattern.match(url.path))), None
            )
            if found is None:
                status, content_type, data = (
                    fake.app(method, url.path, parse_qs(url.query), self.headers, raw)
                    if fake.app is not None
                    else (404, "application/json", _UNKNOWN_PATH)
                )
                self._send_bytes(status, data, content_type)
                return
            request, payload = fake._answer(
                method, found[0], found[1], headers=self.headers, raw=raw, query=parse_qs(url.query)
            )
            if request.reply_dropped:
                self.close_connection = True
                return
            if payload is not None:
                mime_type = request.response.get("mime_type", "application/octet-stream")
                self._send_bytes(request.status, payload, mime_type)
            else:
                self._send(request.status, request.response)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(body).encode(), "application/json")

        def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the browser went away (a closed tab, a long poll)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def serve_eum(
    handler: BaseHTTPRequestHandler, eum: FakeEum | None, *, method: str, path: str, query: str, raw: bytes
) -> bool:
    """Answer a request to End User Messaging Social (rest-json, an error's code in x-amzn-ErrorType);
    False for a path that is not the service's, or when the fake does not play it."""
    if eum is None or not path.startswith("/v1/whatsapp/"):
        return False
    answer = eum.answer(method, path, parse_qs(query), handler.headers, raw)
    if answer.drop:
        handler.close_connection = True
        return True
    data = json.dumps(answer.body).encode()
    try:
        handler.send_response(answer.status)
        handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if answer.error_type:
            handler.send_header("x-amzn-ErrorType", answer.error_type)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
    return True
