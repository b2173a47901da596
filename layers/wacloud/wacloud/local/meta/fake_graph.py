"""A fake of the Graph API on localhost, for the local run and the tests.

- `POST /{version}/{phone-number-id}/messages`: checks the bearer token like Graph (190 when wrong),
  answers sends with a new wamid and read receipts with `{"success": true}`; a message goes `to` a
  phone number or a group, or to a business-scoped user id in `recipient` (`addressing`).
- `POST /{version}/{phone-number-id}/marketing_messages`: template messages, answered the same way.
- `POST /{version}/{phone-number-id}/media`: takes a multipart upload of a type WhatsApp accepts
  (131053 otherwise) and answers its media id.
- `GET /{version}/{media-id}`: the media's download URL, MIME type, size and SHA-256, as Graph
  answers; `GET /download/{media-id}` serves the bytes to a caller with the token.
- `GET /{version}/{waba-id}/message_templates`: the account's templates, in pages.

It remembers every request and can be scripted to fail: the scripted answers are used, in order,
for the next API requests (downloads included) before normal service resumes. Given `rules`, it
refuses sends as Graph does (`graph_rules`); `error_rate` and `latency` make sends fail or wait at
random. Any other path goes to `app` (the simulator's chat view and API).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from wacloud.local.meta.account_templates import DEFAULT_TEMPLATES
from wacloud.local.meta.addressing import Recipient, contacts_answer, recipient_of
from wacloud.local.meta.graph_http import handler_class
from wacloud.local.meta.graph_rules import MARKETING_MESSAGES, GraphRules, graph_error_body
from wacloud.models import media_types
from wacloud.models.confirmation_marker import named_key

# The routes that send a message: Graph's two, and End User Messaging Social's.
SEND_ROUTES = ("messages", MARKETING_MESSAGES, "eum_send")
# (method, path, query, headers, raw body) -> (status, content type, body)
App = Callable[[str, str, dict[str, list[str]], Any, bytes], tuple[int, str, bytes]]


@dataclass
class GraphRequest:
    """One request the fake received, and what it answered."""

    version: str
    phone_number_id: str  # the id in the path: a phone number, media or account id
    authorization: str
    body: Any
    status: int
    response: dict[str, Any]
    received_at: float = field(default_factory=time.time)
    reply_dropped: bool = False
    method: str = "POST"
    # messages, marketing_messages, media, media_info, download, templates; End User Messaging
    # Social's eum_send, eum_media, eum_media_get (`response` is what Meta answered AWS)
    route: str = "messages"
    transport_message_id: str | None = None  # AWS's message id, for eum_send

    @property
    def wamid(self) -> str | None:
        messages = self.response.get("messages") or []
        return messages[0]["id"] if messages else None

    @property
    def is_message(self) -> bool:
        sends = self.route in SEND_ROUTES
        return sends and self.status == 200 and isinstance(self.body, dict) and "type" in self.body


@dataclass
class ScriptedAnswer:
    status: int
    body: dict[str, Any] | None = None
    delay: float = 0.0
    # Take the message as Graph would, then drop the connection without answering (a lost reply).
    drop_reply: bool = False


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    mime_type: str
    phone_number_id: str

    @property
    def sha256(self) -> str:
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


def lost_reply() -> ScriptedAnswer:
    """The message is accepted (and its statuses follow), but the caller never hears back."""
    return ScriptedAnswer(status=200, drop_reply=True)


def graph_error(code: int, message: str, *, status: int = 400, details: str | None = None) -> ScriptedAnswer:
    """A Graph error answer as Meta shapes it."""
    return ScriptedAnswer(status=status, body=graph_error_body(code, message, details))


def _error(code: int, message: str, *, status: int = 400, details: str | None = None) -> tuple[int, dict[str, Any]]:
    return status, graph_error_body(code, message, details)


class FakeGraph:
    def __init__(
        self,
        *,
        access_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        on_accepted: Callable[[GraphRequest], None] | None = None,
        on_request: Callable[[GraphRequest], None] | None = None,
        templates: list[dict[str, Any]] | None = None,
        rules: GraphRules | None = None,
        app: App | None = None,
        seed: int | None = None,
    ) -> None:
        self.access_token = access_token
        self.rules = rules
        self.app = app
        self.eum: Any = None  # fake_eum.FakeEum, when End User Messaging Social is played too
        self.error_rate = 0.0  # the share of sends answered with a transient error
        self.latency = 0.0  # seconds before every send and upload is answered
        self._random = random.Random(seed)  # noqa: S311 (fault injection, not cryptography)
        self.on_accepted = on_accepted
        self.on_request = on_request
        self.templates = list(DEFAULT_TEMPLATES if templates is None else templates)
        self.requests: list[GraphRequest] = []
        self.files: dict[str, StoredFile] = {}
        self._script: list[ScriptedAnswer | None] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, port), handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

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

    def add_media(self, data: bytes, mime_type: str, *, phone_number_id: str = "") -> str:
        """Hold a file as if a customer had sent it; its media id (for an inbound media webhook)."""
        media_id = str(uuid.uuid4().int % 10**15 + 10**15)
        with self._lock:
            self.files[media_id] = StoredFile(data, mime_type, phone_number_id)
        return media_id

    def messages(self) -> list[GraphRequest]:
        """The accepted message sends (not read receipts, not refused requests)."""
        with self._lock:
            return [r for r in self.requests if r.is_message]

    def replies_to(self, wamid: str) -> list[GraphRequest]:
        """The answers the processor sent to a customer's message (their documents' keys derive
        from its wamid, and the sender passes the key back in `biz_opaque_callback_data`)."""
        return [r for r in self.messages() if is_reply_to(r, wamid)]

    def requests_to(self, route: str) -> list[GraphRequest]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def wait_for(self, predicate: Callable[[list[GraphRequest]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self.requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    # -- answering -------------------------------------------------------------------------------

    def _answer(
        self, method: str, route: str, match: re.Match[str], *, headers: Any, raw: bytes, query: dict[str, list[str]]
    ) -> tuple[GraphRequest, bytes | None]:
        """Answer one request: (what was asked and answered, the bytes of a download)."""
        version, object_id = (match[1], match[2]) if route != "download" else ("", match[1])
        authorization = headers.get("Authorization", "")
        body: Any = {}  # uploads are kept in `files`, other requests have none
        if route in ("messages", MARKETING_MESSAGES):
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        scripted = self.next_scripted()
        data: bytes | None = None
        if scripted is not None and not scripted.drop_reply:
            time.sleep(scripted.delay)
            status, response = scripted.status, scripted.body or {}
        elif authorization != f"Bearer {self.access_token}":
            status, response = (
                (401, {}) if route == "download" else _error(190, "Error validating access token.", status=401)
            )
        elif route in ("messages", MARKETING_MESSAGES):
            status, response = self.send_answer(object_id, body, route)
        elif route == "media":
            status, response = self._faulty() or self._upload(object_id, headers.get("Content-Type", ""), raw)
        elif route == "media_info":
            status, response = self._media_info(object_id)
        elif route == "templates":
            status, response = self._templates(query)
        else:
            status, response, data = self._download(object_id)
        dropped = scripted is not None and scripted.drop_reply
        request = GraphRequest(
            version, object_id, authorization, body, status, response, reply_dropped=dropped, method=method, route=route
        )
        self.record(request)
        return request, data

    def next_scripted(self) -> ScriptedAnswer | None:
        """The next scripted answer, if any is left (each is used once)."""
        with self._lock:
            return self._script.pop(0) if self._script else None

    def send_answer(self, phone_number_id: str, body: Any, endpoint: str) -> tuple[int, dict[str, Any]]:
        """Graph's answer to a send from this number: refused by the rules, a fault, or a new wamid."""
        refused = self.rules and self.rules.check(phone_number_id, body, templates=self.templates, endpoint=endpoint)
        return self._faulty() or refused or self._send(body)

    def record(self, request: GraphRequest) -> None:
        """Remember a request and tell the listeners (the simulator, the terminal)."""
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
        if self.on_request is not None:
            self.on_request(request)
        if request.is_message and self.on_accepted is not None:
            self.on_accepted(request)

    def _faulty(self) -> tuple[int, dict[str, Any]] | None:
        """The injected faults: a wait, and now and then a transient error."""
        if self.latency:
            time.sleep(self.latency)
        if self.error_rate and self._random.random() < self.error_rate:
            return _error(131000, "Something went wrong", status=500, details="injected by the simulator")
        return None

    def _send(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return _error(100, "(#100) Invalid parameter", details="messaging_product is required")
        if body.get("status") == "read":
            return 200, {"success": True}
        recipient = recipient_of(body)
        if not isinstance(recipient, Recipient):
            return recipient
        if not body.get("type") or body["type"] not in body:
            return _error(100, "(#100) Invalid parameter", details="type and the type's object")
        media = body[body["type"]]
        unknown_media = isinstance(media, dict) and "id" in media and str(media["id"]) not in self.files
        if body["type"] in media_types.KINDS and unknown_media:
            return _error(131009, "Parameter value is not valid", details=f"media id {media['id']} is unknown")
        wamid = "wamid." + base64.b64encode(b"FAKE" + uuid.uuid4().bytes).decode()
        message = {"id": wamid, "group_id": recipient.address} if recipient.kind == "group" else {"id": wamid}
        return 200, {"messaging_product": "whatsapp", "contacts": contacts_answer(recipient), "messages": [message]}

    def _upload(self, phone_number_id: str, content_type: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        fields: dict[str, bytes] = {}
        file_type = ""
        for part in message.iter_parts() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
            if name == "file":
                file_type = part.get_content_type()
        if fields.get("messaging_product") != b"whatsapp" or "file" not in fields:
            return _error(100, "(#100) Invalid parameter", details="messaging_product and file are required")
        if not any(file_type in kind.mime_types for kind in media_types.KINDS.values()):
            return _error(131053, "Media upload error", details=f"unsupported file type {file_type}")
        media_id = self.add_media(fields["file"], file_type, phone_number_id=phone_number_id)
        return 200, {"id": media_id}

    def _media_info(self, media_id: str) -> tuple[int, dict[str, Any]]:
        stored = self.files.get(media_id)
        if stored is None:
            return _error(100, f"Unsupported get request. Object with ID '{media_id}' does not exist")
        return 200, {
            "messaging_product": "whatsapp",
            "url": f"{self.url}/download/{media_id}",
            "mime_type": stored.mime_type,
            "sha256": stored.sha256,
            "file_size": len(stored.data),
            "id": media_id,
        }

    def _download(self, media_id: str) -> tuple[int, dict[str, Any], bytes | None]:
        stored = self.files.get(media_id)
        if stored is None:
            return 404, {}, None
        return 200, {"mime_type": stored.mime_type}, stored.data

    def _templates(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        name = next(iter(query.get("name") or []), None)
        chosen = [t for t in self.templates if name is None or name in t["name"]]
        limit = int((query.get("limit") or ["25"])[0])
        start = int((query.get("after") or ["0"])[0])
        page: dict[str, Any] = {"data": chosen[start : start + limit]}
        cursors = {"before": str(start), "after": str(start + limit)}
        page["paging"] = {"cursors": cursors}
        if start + limit < len(chosen):
            page["paging"]["next"] = f"{self.url}/next?after={start + limit}"
        return 200, page


def is_reply_to(request: GraphRequest, wamid: str) -> bool:
    key = named_key(str(request.body.get("biz_opaque_callback_data") or "")) or ""
    return request.is_message and (key == f"reply:{wamid}" or key.startswith(f"reply:{wamid}:"))
