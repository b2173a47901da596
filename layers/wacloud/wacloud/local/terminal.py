"""The lines `wacloud local` prints as events flow: each request to the front door, to the fake Graph
API or to the fake End User Messaging Social, and each batch a poller hands a function."""

from __future__ import annotations

import json

from wacloud.local.meta.fake_graph import SEND_ROUTES, GraphRequest
from wacloud.local.pollers import PollResult


def front_door_line(method: str, path: str, status: int, data: bytes) -> str:
    name = "webhook" if path.startswith("/webhook") else "api"
    return f"  [{name:<9}] {method} {path[:40]} -> {status} {data.decode('utf-8', 'replace')[:80]}"


def graph_line(request: GraphRequest, *, show_personal_data: bool) -> str:
    """A send (its kind, recipient and answer; its text only when personal data is shown), else the call."""
    source = "[eum]    " if request.route.startswith("eum_") else "[graph]  "
    if request.route not in SEND_ROUTES:
        response = request.response
        answer = response.get("id") or response.get("mediaId") or response.get("mimeType")
        answer = answer or response.get("message") or response.get("error", {}).get("message", "")
        return f"  {source}   {request.method} {request.route} {request.phone_number_id} -> {request.status} {answer}"
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("status") == "read":
        what = f"read receipt for {body.get('message_id')}"
    else:
        kind = body.get("type", "?")
        shown = show_personal_data and kind == "text"
        text = (body.get("text") or {}).get("body", "") if shown else ""
        what = f"{kind} to {body.get('to') or body.get('recipient')}" + (f' "{text[:40]}"' if text else "")
    what += f" from {request.phone_number_id}"
    answer = f"wamid {request.wamid}" if request.wamid else json.dumps(request.response)[:60]
    if request.transport_message_id:
        answer += f" (AWS message id {request.transport_message_id})"
    return f"  {source}   {what} -> {request.status} {answer}"


def batch_line(name: str, result: PollResult) -> str:
    failed = f", {result.failed} failed (will retry; `wacloud local --verbose` shows why)" if result.failed else ""
    return f"  [{name:<9}] {result.received} record(s){failed}"
