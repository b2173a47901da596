"""A fake of the Graph API's send endpoint on localhost: `POST /{version}/{phone-number-id}/messages`.

It checks the bearer token like Graph (190 when wrong), answers sends with a new wamid and read
receipts with `{"success": true}`, remembers every request, and can be scripted to fail: the
scripted answers are used, in order, before normal service resumes.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(r"^/(v\d+\.\d+)/([0-9]+)/messages/?$")


@dataclass
class GraphRequest:
    """One request the fake received, and what it answered."""

    version: str
    phone_number_id: str
    authorization: str
    body: Any
    status: int
    response: dict[str, Any]
    received_at: float = field(default_factory=time.time)
    reply_dropped: bool = False

    @property
    def wamid(self) -> str | None:
        messages = self.response.get("messages") or []
        return messages[0]["id"] if messages else None

    @property
    def is_message(self) -> bool:
        return self.status == 200 and isinstance(self.body, dict) and "type" in self.body


@dataclass
class ScriptedAnswer:
    status: int
    body: dict[str, Any] | None = None
    delay: float = 0.0
    # Take the message as Graph would, then drop the connection without answering (a lost reply).
    drop_reply: bool = False


def lost_reply() -> ScriptedAnswer:
    """The message is accepted (and its statuses follow), but the caller never hears back."""
    return ScriptedAnswer(status=200, drop_reply=True)


def graph_error(code: int, message: str, *, status: int = 400, details: str | None = None) -> ScriptedAnswer:
    """A Graph error answer as Meta shapes it."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "FAKE"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return ScriptedAnswer(status=status, body={"error": error})


class FakeGraph:
    def __init__(
        self,
        *,
        access_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        on_accepted: Callable[[GraphRequest], None] | None = None,
        on_request: Callable[[GraphRequest], None] | None = None,
    ) -> None:
        self.access_token = access_token
        self.on_accepted = on_accepted
        self.on_request = on_request
        self.requests: list[GraphRequest] = []
        self._script: list[ScriptedAnswer | None] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGraph:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-graph", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *answers: ScriptedAnswer | None) -> None:
        """Answer the next requests with these, in order (fault injection); None answers normally."""
        with self._lock:
            self._script.extend(answers)

    def messages(self) -> list[GraphRequest]:
        """The accepted message sends (not read receipts, not refused requests)."""
        with self._lock:
            return [r for r in self.requests if r.is_message]

    def wait_for(self, predicate: Callable[[list[GraphRequest]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self.requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def _answer(self, version: str, phone_number_id: str, authorization: str, raw: bytes) -> GraphRequest:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None and not scripted.drop_reply:
            time.sleep(scripted.delay)
            status, response = scripted.status, scripted.body or {}
        else:
            status, response = self._normal_answer(authorization, body)
        dropped = scripted is not None and scripted.drop_reply
        request = GraphRequest(version, phone_number_id, authorization, body, status, response, reply_dropped=dropped)
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
        if self.on_request is not None:
            self.on_request(request)
        if request.is_message and self.on_accepted is not None:
            self.on_accepted(request)
        return request

    def _normal_answer(self, authorization: str, body: Any) -> tuple[int, dict[str, Any]]:
        if authorization != f"Bearer {self.access_token}":
            return 401, graph_error(190, "Error validating access token: the session is invalid.").body or {}
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return 400, graph_error(100, "(#100) Invalid parameter", details="messaging_product is required").body or {}
        if body.get("status") == "read":
            return 200, {"success": True}
        if not body.get("to") or not body.get("type") or body["type"] not in body:
            return 400, graph_error(
                100, "(#100) Invalid parameter", details="to, type and the type's object"
            ).body or {}
        wamid = "wamid." + base64.b64encode(b"FAKE" + uuid.uuid4().bytes).decode()
        digits = re.sub(r"[^0-9]", "", str(body["to"]))
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": digits or body["to"]}],
            "messages": [{"id": wamid}],
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                match = _PATH.match(self.path.split("?", 1)[0])
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not match:
                    self._send(404, {"error": {"message": "Unknown path", "code": 803}})
                    return
                request = fake._answer(match[1], match[2], self.headers.get("Authorization", ""), raw)
                if request.reply_dropped:
                    self.close_connection = True
                    return
                self._send(request.status, request.response)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
