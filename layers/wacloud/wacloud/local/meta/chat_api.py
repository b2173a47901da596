"""The chat view (`/`) and the simulator's own API (`/_sim/...`), served beside the fake Graph API
on the same port: what a person in a browser, `wacloud say` and the tests drive the simulated
customers with. A message or call may name the business number (`phone_number_id`) it is for."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any
from urllib.parse import unquote

from wacloud.local.meta.simulator import Simulator
from wacloud.local.meta.webhooks import new_wamid

SIMULATOR_HEADER = "X-Wacloud-Simulator"


class ChatApi:
    """(status, content type, body) for a request: the fake Graph API's `app` for what is not Graph."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def __call__(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes
    ) -> tuple[int, str, bytes]:
        """(status, content type, body) for the chat view (`/`) and the simulator's API (`/_sim/...`).

        Only for this machine: a request must name a loopback host (no DNS rebinding), and a POST must
        carry the simulator's header (which a cross-site form or `text/plain` fetch cannot send)."""
        host = str(headers.get("Host", "")).rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            return _json(403, {"error": "the simulator answers only requests to 127.0.0.1 or localhost"})
        if method == "POST" and headers.get(SIMULATOR_HEADER) != "1":
            return _json(403, {"error": f"POSTs to the simulator carry the header {SIMULATOR_HEADER}: 1"})
        try:
            if method == "GET":
                return self._get(path, query)
            if method == "POST":
                return self._post(path, headers, raw)
        except (TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(405, {"error": "method not allowed"})

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        if path in ("/", "/index.html"):
            return (
                200,
                "text/html; charset=utf-8",
                resources.files("wacloud.local.meta").joinpath("chat.html").read_bytes(),
            )
        if path == "/favicon.ico":
            return 204, "image/x-icon", b""
        if path == "/_sim/state":
            since = int((query.get("since") or ["-1"])[0])
            wait = min(20.0, float((query.get("wait") or ["0"])[0]))
            return _json(200, self.simulator.wait_for_change(since, wait) if wait else self.simulator.state())
        media = re.fullmatch(r"/_sim/media/([0-9]+)", path)
        stored = self.simulator.graph.files.get(media[1]) if media else None
        if stored is None:
            return _json(404, {"error": "not found"})
        return 200, stored.mime_type, stored.data

    def _post(self, path: str, headers: Any, raw: bytes) -> tuple[int, str, bytes]:
        if path == "/_sim/settings":
            return _json(200, self.simulator.configure(_body(raw)))
        if path == "/_sim/rotate-token":
            self.simulator.rotate_token()
            return _json(200, {"rotated": True})
        group = re.fullmatch(r"/_sim/groups/([^/]+)(/messages)?", path)
        if group is not None:
            return self._group(unquote(group[1]), bool(group[2]), _body(raw))
        target = re.fullmatch(r"/_sim/customers/([^/]+)(/messages|/media|/call)?", path)
        if target is None:
            return _json(404, {"error": "not found"})
        return self._customer(unquote(target[1]), target[2], headers, raw)

    def _customer(self, address: str, action: str | None, headers: Any, raw: bytes) -> tuple[int, str, bytes]:
        """A customer's settings (name, username, unreachable), message, media upload or call."""
        if action == "/media":
            content_type = headers.get("Content-Type", "application/octet-stream").split(";")[0]
            media_id = self.simulator.graph.add_media(raw, content_type, phone_number_id=self.simulator.phone_number_id)
            return _json(200, {"id": media_id})
        document = _body(raw)
        if action == "/messages":
            return self._message(address, document)
        if action == "/call":
            answers = self.simulator.customer_calls(
                address, seconds=int(document.get("seconds") or 5), phone_number_id=_number(document)
            )
            return _json(200, {"webhook_statuses": [status for status, _ in answers]})
        unreachable = document.get("unreachable")
        customer = self.simulator.configure_customer(
            address,
            name=document.get("name"),
            unreachable=int(unreachable) if unreachable else None,
            username=document.get("username"),
        )
        shown = ("wa_id", "name", "unreachable", "phone", "user_id", "username", "label")
        return _json(200, {name: getattr(customer, name) for name in shown})

    def _message(self, address: str, document: dict[str, Any], group_id: str | None = None) -> tuple[int, str, bytes]:
        message = document.get("message") or {"type": "text", "text": {"body": str(document.get("text", ""))}}
        if not isinstance(message, dict) or not message.get("type"):
            raise ValueError("give 'text', or a 'message' with its 'type'")
        body, status, answer = self.simulator.customer_sends(
            address,
            message,
            name=document.get("name"),
            wamid=document.get("wamid") or new_wamid(),
            group_id=group_id,
            phone_number_id=_number(document),
        )
        wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        return _json(200, {"wamid": wamid, "webhook_status": status, "webhook_answer": answer})

    def _group(self, group_id: str, message: bool, document: dict[str, Any]) -> tuple[int, str, bytes]:
        """A group's subject and participants; or a participant's message to it (`from`)."""
        if message:
            if not document.get("from"):
                raise ValueError("give 'from': the participant who writes")
            return self._message(str(document["from"]), document, group_id=group_id)
        participants = document.get("participants") or []
        if not isinstance(participants, list):
            raise ValueError("participants is a list of phone numbers, business-scoped user ids or @usernames")
        group = self.simulator.group(
            group_id,
            subject=document.get("subject"),
            participants=[str(p) for p in participants],
            phone_number_id=_number(document),
        )
        shown = {"id": group.id, "subject": group.subject, "participants": group.participants}
        return _json(200, {**shown, "phone_number_id": group.phone_number_id})


def _number(document: dict[str, Any]) -> str | None:
    """The business number written to (`phone_number_id`; the default one when absent)."""
    number = document.get("phone_number_id")
    return str(number) if number else None


def _body(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ValueError("the body is not JSON") from exc
    if not isinstance(document, dict):
        raise ValueError("the body is not a JSON object")
    return document


def _json(status: int, document: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(document).encode()
