"""The simulated Meta side of the local run: customers with phones, and their conversations with the
business as Meta would carry them.

- A customer's message (typed in the chat view, `wacloud say`, or a test) becomes a webhook signed
  with the app secret and posted to the local webhook; it opens the customer's 24-hour window.
- Every message Graph accepts appears in its customer's conversation, and its statuses come back as
  signed webhooks: sent, delivered and read after the configured delays, or failed with Meta's error
  for a customer set as unreachable.
- A read receipt from the business turns the customer's messages read; the typing indicator shows.
- Faults on request: an error rate and latency on sends, rate limits, a token rotation.

`chat_api.ChatApi` serves the chat view and the simulator's own API beside the fake Graph API.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.fake_graph import FakeGraph, GraphRequest
from wacloud.local.meta.graph_rules import GraphRules
from wacloud.local.meta.template_rendering import render_template
from wacloud.local.meta.webhooks import DEFAULT_DISPLAY_NUMBER, customer_message, status_update
from wacloud.models.events import MessageEvent

STATUS_SEQUENCE = ("sent", "delivered", "read")
TYPING_SECONDS = 25  # Meta dismisses the indicator after 25 s or at the reply
UNDELIVERABLE = {"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}
Post = Callable[[dict[str, Any]], tuple[int, str]]


@dataclass
class Bubble:
    """One message in a conversation, as the chat view draws it."""

    id: str
    direction: str  # "in": the customer wrote it; "out": the business sent it
    type: str
    message: dict[str, Any]
    at: float
    status: str  # out: accepted, sent, delivered, read or failed; in: sent, delivered (to the webhook), read
    error: dict[str, Any] | None = None
    rendered: dict[str, Any] | None = None  # a template's text with its parameters filled in
    reaction: str | None = None  # the other side's reaction
    phone_number_id: str | None = None  # the business number it went out from (outbound)


@dataclass
class Customer:
    wa_id: str
    name: str
    bubbles: list[Bubble] = field(default_factory=list)
    typing_until: float = 0.0
    unreachable: int | None = None  # deliveries to this customer fail with this Meta code

    def find(self, wamid: str | None) -> Bubble | None:
        return next((b for b in self.bubbles if b.id == wamid), None) if wamid else None


class Simulator:
    def __init__(
        self,
        *,
        graph: FakeGraph,
        rules: GraphRules,
        post: Post,
        phone_number_id: str,
        status_delays: tuple[float, ...] = (0.3, 0.6, 1.2),
        status_webhooks: bool = True,
        background: bool = True,
        rotate_token: Callable[[], str] | None = None,
        echo: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.graph = graph
        self.rules = rules
        self.post = post
        self.phone_number_id = phone_number_id
        self.status_delays = status_delays
        self.status_webhooks = status_webhooks
        self.background = background
        self._rotate_token = rotate_token
        self.echo = echo
        self.customers: dict[str, Customer] = {}
        self.version = 0
        self._changed = threading.Condition()
        self._pending: list[tuple[str, str, str, dict[str, Any] | None]] = []  # (wa_id, wamid, status, error)
        self._timers: list[threading.Timer] = []
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        for timer in self._timers:
            timer.cancel()
        with self._changed:
            self._changed.notify_all()  # long polls answer now

    # -- customers ---------------------------------------------------------------------------------

    def customer(self, wa_id: str, name: str | None = None) -> Customer:
        wa_id = re.sub(r"[^0-9A-Za-z.]", "", wa_id)
        with self._changed:
            customer = self.customers.get(wa_id)
            if customer is None:
                customer = self.customers[wa_id] = Customer(wa_id, name or f"Customer {wa_id[-4:]}")
            elif name:
                customer.name = name
            return customer

    def customer_sends(
        self, wa_id: str, message: dict[str, Any], *, name: str | None = None, wamid: str | None = None
    ) -> tuple[dict[str, Any], int, str]:
        """A customer's message of any type (`{"type": "text", "text": {...}}`, optionally with a
        `context`), signed and posted to the webhook: (the webhook body, its HTTP status, its answer)."""
        customer = self.customer(wa_id, name)
        body = customer_message(
            message, phone_number_id=self.phone_number_id, sender=customer.wa_id, name=customer.name, wamid=wamid
        )
        self.observe(body)
        status, answer = self.post(body)
        sent = body["entry"][0]["changes"][0]["value"]["messages"][0]
        with self._changed:
            bubble = customer.find(sent["id"])
            if bubble is not None and bubble.status == "sent":
                bubble.status = "delivered" if status == 200 else "failed"
                bubble.error = None if status == 200 else {"title": f"the webhook answered {status}", "message": answer}
            self._touch()
        return body, status, answer

    def observe(self, body: dict[str, Any]) -> None:
        """A webhook body on its way to the business: its customers' messages join their conversations.

        Read through the webhook's own parser, so whatever a body holds, only well-formed messages
        show up (and nothing a hostile body holds can break the simulator)."""
        for event in parse_webhook(body):
            if isinstance(event, MessageEvent):
                message = event.message.model_dump(mode="json", by_alias=True, exclude_none=True)
                name = event.contact.profile.name if event.contact and event.contact.profile else None
                self._record_inbound(message, name)

    def _record_inbound(self, message: dict[str, Any], name: str | None) -> None:
        sender = str(message.get("from") or message.get("from_user_id") or "")
        if not sender:
            return
        self.rules.customer_wrote(sender)
        customer = self.customer(sender, name)
        with self._changed:
            if message.get("type") == "reaction":
                target = customer.find((message.get("reaction") or {}).get("message_id"))
                if target is not None:
                    target.reaction = (message.get("reaction") or {}).get("emoji") or None
            elif customer.find(message.get("id")) is None:
                bubble = Bubble(str(message.get("id")), "in", str(message.get("type")), message, time.time(), "sent")
                customer.bubbles.append(bubble)
            self._touch()

    def configure_customer(self, wa_id: str, *, name: str | None = None, unreachable: int | None = None) -> Customer:
        customer = self.customer(wa_id, name)
        with self._changed:
            customer.unreachable = unreachable
            self._touch()
        return customer

    # -- the business side, seen through Graph -----------------------------------------------------

    def on_graph_request(self, request: GraphRequest) -> None:
        """Every request Graph answered: accepted messages join their conversations."""
        body = request.body if isinstance(request.body, dict) else {}
        if request.route != "messages" or request.status != 200:
            return
        if body.get("status") == "read":
            self._read_receipt(body)
            return
        if request.wamid is None:
            return
        customer = self.customer(str(body.get("to", "")))
        kind = str(body.get("type"))
        with self._changed:
            customer.typing_until = 0.0
            if kind == "reaction":
                target = customer.find((body.get("reaction") or {}).get("message_id"))
                if target is not None:
                    target.reaction = (body.get("reaction") or {}).get("emoji") or None
            bubble = Bubble(
                request.wamid, "out", kind, body, time.time(), "accepted", phone_number_id=request.phone_number_id
            )
            if kind == "template":
                bubble.rendered = render_template(body.get("template") or {}, self.graph.templates)
            if kind != "reaction":
                customer.bubbles.append(bubble)
            self._touch()
        self._schedule_statuses(customer, request.wamid, body)

    def _read_receipt(self, body: dict[str, Any]) -> None:
        """The business read a message: it and every earlier one of its conversation are read."""
        with self._changed:
            for customer in self.customers.values():
                target = customer.find(str(body.get("message_id")))
                if target is None:
                    continue
                for bubble in customer.bubbles[: customer.bubbles.index(target) + 1]:
                    if bubble.direction == "in" and bubble.status in ("sent", "delivered"):
                        bubble.status = "read"
                if body.get("typing_indicator"):
                    customer.typing_until = time.time() + TYPING_SECONDS
                self._touch()

    def _schedule_statuses(self, customer: Customer, wamid: str, body: dict[str, Any]) -> None:
        if not self.status_webhooks:
            return
        if customer.unreachable is not None:
            failure: dict[str, Any] = {**UNDELIVERABLE, "code": customer.unreachable}
            steps: list[tuple[str, dict[str, Any] | None]] = [("failed", failure)]
        elif body.get("type") == "reaction":
            steps = [("sent", None)]  # Meta sends nothing more for a reaction
        else:
            steps = [(status, None) for status in STATUS_SEQUENCE]
        for delay, (status, error) in zip(self.status_delays, steps, strict=False):
            item = (customer.wa_id, wamid, status, error)
            if not self.background:
                self._pending.append(item)
                continue
            timer = threading.Timer(delay, self._send_status, args=item)
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()

    def drain(self) -> bool:
        """Without background threads: send the status webhooks waiting; True when there were some."""
        pending, self._pending = self._pending, []
        for item in pending:
            self._send_status(*item)
        return bool(pending)

    def _send_status(self, wa_id: str, wamid: str, status: str, error: dict[str, Any] | None) -> None:
        if self._stopped:
            return
        customer = self.customers.get(wa_id)
        bubble = customer.find(wamid) if customer else None
        callback = bubble.message.get("biz_opaque_callback_data") if bubble else None
        webhook = status_update(
            wamid,
            status,
            phone_number_id=(bubble.phone_number_id if bubble else None) or self.phone_number_id,
            recipient=wa_id,
            error=error,
            callback_data=callback,
        )
        with self._changed:
            if bubble is not None and (status == "failed" or STATUS_SEQUENCE.index(status) >= _rank(bubble.status)):
                bubble.status = status
                bubble.error = error
            self._touch()
        self.echo(f"  [meta]      status webhook: {status:<9} {wamid}")
        self.post(webhook)

    # -- faults ------------------------------------------------------------------------------------

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Change how Meta behaves: error rate, latency, limits, status delays. All or nothing: a
        setting that is unknown or out of range changes none."""
        unknown = set(settings) - set(_SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(_SETTINGS)}")
        try:
            parsed = {name: _SETTINGS[name](value) for name, value in settings.items()}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a setting has the wrong type or range: {exc}") from exc
        rules = self.rules.settings
        for name, value in parsed.items():
            if name == "error_rate":
                self.graph.error_rate = value
            elif name == "latency_ms":
                self.graph.latency = value / 1000
            elif name == "status_delays":
                self.status_delays = value
            else:
                setattr(rules, name, value)
        with self._changed:
            self._touch()
        return self.settings()

    def settings(self) -> dict[str, Any]:
        rules = self.rules.settings
        return {
            "error_rate": self.graph.error_rate,
            "latency_ms": round(self.graph.latency * 1000),
            "throughput_per_second": rules.throughput_per_second,
            "pair_limit": rules.pair_limit,
            "enforce_window": rules.enforce_window,
            "status_delays": list(self.status_delays),
        }

    def rotate_token(self) -> None:
        """Meta now accepts only a new token; the local secret holds it, the functions' caches do not."""
        if self._rotate_token is None:
            raise ValueError("token rotation is not available here")
        self._rotate_token()
        with self._changed:
            self._touch()

    # -- what the chat view reads ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        now = time.time()
        with self._changed:
            return {
                "version": self.version,
                "phone_number_id": self.phone_number_id,
                "business_number": DEFAULT_DISPLAY_NUMBER,
                "settings": self.settings(),
                "customers": [
                    {
                        "wa_id": c.wa_id,
                        "name": c.name,
                        "typing": c.typing_until > now,
                        "unreachable": c.unreachable,
                        "bubbles": [bubble.__dict__ for bubble in c.bubbles],
                    }
                    for c in self.customers.values()
                ],
            }

    def wait_for_change(self, since: int, timeout: float) -> dict[str, Any]:
        with self._changed:
            self._changed.wait_for(lambda: self.version != since or self._stopped, timeout=timeout)
        return self.state()

    def _touch(self) -> None:
        """Called with the lock held: something the chat view shows changed."""
        self.version += 1
        self._changed.notify_all()


def _fraction(value: Any) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError("error_rate is a fraction between 0 and 1")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes", "on"):
        return True
    if str(value).lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"not a true/false value: {value!r}")


def _delays(value: Any) -> tuple[float, ...]:
    delays = tuple(float(d) for d in value)
    if any(d < 0 for d in delays):
        raise ValueError("status delays are seconds, 0 or more")
    return delays


# What `configure` takes, and how each value is read (None or 0 turns a limit off).
_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "error_rate": _fraction,
    "latency_ms": lambda v: max(0.0, float(v)),
    "throughput_per_second": lambda v: float(v) if v else None,
    "pair_limit": lambda v: int(v) if v else None,
    "enforce_window": _flag,
    "status_delays": _delays,
}


def _rank(status: str) -> int:
    return STATUS_SEQUENCE.index(status) if status in STATUS_SEQUENCE else -1
