"""The simulated Meta side of the local run: customers with phones (or only a username), groups, and
their conversations with the business as Meta would carry them.

- The business has one or more numbers (`business_numbers`), each reached its own way: a Cloud API
  number's webhooks are signed and POSTed, an End User Messaging Social number's published on SNS
  (`post` is handed each body and routes it by its number). A conversation is a customer's with one
  number: each bubble names the number, and the chat view lets the customer pick it.
- A customer's message (the chat view, `wacloud say`, a test) becomes a webhook for the number
  written to and opens their 24-hour window; it carries their business-scoped user id (and no phone
  number for one known only by it and a username). A participant's message to a group becomes the
  group's number's group message webhook (`group_id`); a call, the called number's `calls` webhooks.
- Every message Graph accepts appears in its conversation, and its statuses come back as signed
  webhooks: sent, delivered and read after the configured delays (for each participant of a group),
  or failed with Meta's error for a customer set as unreachable.
- A read receipt from the business turns the customer's messages read; the typing indicator shows.
- Faults on request: an error rate and latency on sends, rate limits, a token rotation.

`chat_api.ChatApi` serves the chat view and the simulator's own API beside the fake Graph API.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.account_templates import LOCAL_RUN_TEMPLATES
from wacloud.local.meta.addressing import Recipient, recipient_of
from wacloud.local.meta.business_numbers import BusinessNumber, addressed, number_in
from wacloud.local.meta.conversations import Bubble, Conversation, Customer, Directory, Group
from wacloud.local.meta.fake_graph import SEND_ROUTES, FakeGraph, GraphRequest
from wacloud.local.meta.graph_rules import GraphRules
from wacloud.local.meta.simulator_settings import apply_settings, current_settings, parse_settings
from wacloud.local.meta.template_rendering import render_template
from wacloud.local.meta.webhooks import call_event, contact, customer_message, status_update
from wacloud.models.events import MessageEvent

STATUS_SEQUENCE = ("sent", "delivered", "read")
TYPING_SECONDS = 25  # Meta dismisses the indicator after 25 s or at the reply
UNDELIVERABLE = {"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}
Post = Callable[[dict[str, Any]], tuple[int, str]]
# A status webhook to send: (wamid, status, error, the group participant's key or None).
_Status = tuple[str, str, dict[str, Any] | None, str | None]

__all__ = ["Bubble", "Customer", "Group", "Simulator"]


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
        numbers: list[BusinessNumber] | None = None,
    ) -> None:
        self.graph = graph
        self.rules = rules
        self.post = post
        self.phone_number_id = phone_number_id  # the default number: where a customer writes unless told
        self.numbers = {n.phone_number_id: n for n in numbers or []}
        self.numbers.setdefault(phone_number_id, BusinessNumber(phone_number_id))
        self.status_delays = status_delays
        self.status_webhooks = status_webhooks
        self.background = background
        self._rotate_token = rotate_token
        self.echo = echo
        self.directory = Directory()
        self.version = 0
        self._changed = threading.Condition()
        self._pending: list[_Status] = []
        self._timers: list[threading.Timer] = []
        self._stopped = False
        # The local run's account also has a disabled, an authentication and a marketing template.
        known = {(t["name"], t["language"]) for t in graph.templates}
        graph.templates.extend(t for t in LOCAL_RUN_TEMPLATES if (t["name"], t["language"]) not in known)

    @property
    def customers(self) -> dict[str, Customer]:
        return self.directory.customers

    def number(self, phone_number_id: str | None = None) -> BusinessNumber:
        """One of the business's numbers (the default one without an id)."""
        number = self.numbers.get(phone_number_id or self.phone_number_id)
        if number is None:
            raise ValueError(f"{phone_number_id} is not one of the business's numbers: {', '.join(self.numbers)}")
        return number

    def deliver(self, body: dict[str, Any]) -> tuple[int, str]:
        """Hand a webhook body to the business the way its number takes (`post` routes it)."""
        known = self.numbers.get(number_in(body) or "")
        return self.post(addressed(body, known) if known else body)

    def stop(self) -> None:
        self._stopped = True
        for timer in self._timers:
            timer.cancel()
        with self._changed:
            self._changed.notify_all()  # long polls answer now

    # -- customers and groups ------------------------------------------------------------------------

    def customer(self, address: str, name: str | None = None) -> Customer:
        """The customer with this phone number, business-scoped user id or `@username`."""
        with self._changed:
            return self.directory.customer(address, name)

    def configure_customer(
        self, address: str, *, name: str | None = None, unreachable: int | None = None, username: str | None = None
    ) -> Customer:
        with self._changed:
            customer = self.directory.customer(address, name, username)
            customer.unreachable = unreachable
            self._touch()
        return customer

    def group(
        self,
        group_id: str,
        *,
        subject: str | None = None,
        participants: list[str] | None = None,
        phone_number_id: str | None = None,
    ) -> Group:
        """A business number's group (the default one's unless given; a group keeps its number)."""
        with self._changed:
            known = self.directory.groups.get(group_id)
            number = self.number(phone_number_id or (known.phone_number_id if known else None)).phone_number_id
            group = self.directory.group(group_id, subject, participants, number=number, claim=True)
            self._touch()
        return group

    def customer_sends(
        self,
        address: str,
        message: dict[str, Any],
        *,
        name: str | None = None,
        wamid: str | None = None,
        group_id: str | None = None,
        phone_number_id: str | None = None,
    ) -> tuple[dict[str, Any], int, str]:
        """A customer's message of any type (`{"type": "text", "text": {...}}`, optionally with a
        `context`), to a business number (the default one unless given) or to a group (its number's),
        delivered as that number's webhooks are: (the webhook body, its HTTP status, its answer)."""
        number = self.number(phone_number_id)
        customer = self.customer(address, name)
        if group_id is not None:
            group = self.group(group_id, participants=[customer.wa_id], phone_number_id=phone_number_id)
            number = self.number(group.phone_number_id)
        body = customer_message(
            message,
            phone_number_id=number.phone_number_id,
            sender=customer.phone,
            name=customer.name,
            wamid=wamid,
            user_id=customer.user_id,
            username=customer.username,
            group_id=group_id,
        )
        self.observe(body)
        status, answer = self.deliver(body)  # addressed from the number's WABA on the way
        sent = body["entry"][0]["changes"][0]["value"]["messages"][0]
        with self._changed:
            conversation = self.directory.conversation_of(sent["id"])
            bubble = conversation.find(sent["id"]) if conversation else None
            if bubble is not None and bubble.status == "sent":
                bubble.status = "delivered" if status == 200 else "failed"
                bubble.error = None if status == 200 else {"title": f"the webhook answered {status}", "message": answer}
            self._touch()
        return body, status, answer

    def customer_calls(
        self, address: str, *, seconds: int = 5, phone_number_id: str | None = None
    ) -> list[tuple[int, str]]:
        """A customer calls a business number and hangs up after `seconds`: Meta's `calls` webhooks,
        connect then terminate, each delivered: their (HTTP status, answer)."""
        called = self.number(phone_number_id)
        number, to = called.phone_number_id, called.display_phone_number
        customer = self.customer(address)
        caller = contact(customer.phone, customer.name, user_id=customer.user_id, username=customer.username)
        call_id = "wacid.LOCAL" + uuid.uuid4().hex
        now = int(time.time())
        event = functools.partial(call_event, call_id=call_id, phone_number_id=number, caller=caller, to=to)
        events = [event("connect", timestamp=now), event("terminate", timestamp=now + seconds, started=now)]
        with self._changed:
            call = {"type": "call", "call": {"id": call_id, "duration": seconds, "to": to}}
            bubble = Bubble(call_id, "in", "call", call, time.time(), "delivered", phone_number_id=number)
            customer.bubbles.append(bubble)
            self._touch()
        return [self.deliver(event) for event in events]

    def observe(self, body: dict[str, Any]) -> None:
        """A webhook body on its way to the business: its customers' messages join their conversations.

        Read through the webhook's own parser, so whatever a body holds, only well-formed messages
        show up (and nothing a hostile body holds can break the simulator)."""
        for event in parse_webhook(body):
            if isinstance(event, MessageEvent):
                message = event.message.model_dump(mode="json", by_alias=True, exclude_none=True)
                name = event.contact.profile.name if event.contact and event.contact.profile else None
                self._record_inbound(message, name, event.phone_number_id or self.phone_number_id)

    def _record_inbound(self, message: dict[str, Any], name: str | None, number: str) -> None:
        sender = str(message.get("from") or message.get("from_user_id") or "")
        if not sender:
            return
        group_id = message.get("group_id")
        with self._changed:
            customer = self.directory.customer(sender, name)
            if not group_id:  # a message in a group opens no window with its author
                self.rules.customer_wrote(customer.phone or customer.user_id, number=number)
                self.rules.customer_wrote(customer.user_id, number=number)
            where: Conversation = self.directory.group(str(group_id), number=number) if group_id else customer
            if message.get("type") == "reaction":
                target = where.find((message.get("reaction") or {}).get("message_id"))
                if target is not None:
                    target.reaction = (message.get("reaction") or {}).get("emoji") or None
            elif where.find(message.get("id")) is None:
                kind = str(message.get("type"))
                bubble = Bubble(
                    str(message.get("id")), "in", kind, message, time.time(), "sent", phone_number_id=number
                )
                bubble.author = customer.wa_id if group_id else None
                where.bubbles.append(bubble)
            self._touch()

    # -- the business side, seen through Graph -----------------------------------------------------

    def on_graph_request(self, request: GraphRequest) -> None:
        """Every request Graph answered: accepted messages join their conversations."""
        body = request.body if isinstance(request.body, dict) else {}
        receipt = request.route in SEND_ROUTES and request.status == 200 and body.get("status") == "read"
        if receipt:
            self._read_receipt(body)
            return
        recipient = recipient_of(body) if request.is_message and request.wamid else None
        if not isinstance(recipient, Recipient) or request.wamid is None:
            return
        kind = str(body.get("type"))
        with self._changed:
            if recipient.kind == "group":
                where: Conversation = self.directory.group(recipient.address, number=request.phone_number_id or "")
            else:
                where = customer = self.directory.find(recipient.key) or self.directory.customer(recipient.address)
                if customer.typing_number == request.phone_number_id:
                    customer.typing_until = 0.0
            if kind == "reaction":
                target = where.find((body.get("reaction") or {}).get("message_id"))
                if target is not None:
                    target.reaction = (body.get("reaction") or {}).get("emoji") or None
            bubble = Bubble(
                request.wamid, "out", kind, body, time.time(), "accepted", phone_number_id=request.phone_number_id
            )
            if kind == "template":
                bubble.rendered = render_template(body.get("template") or {}, self.graph.templates)
            if kind != "reaction":
                where.bubbles.append(bubble)
            self._touch()
            members = list(where.participants) if isinstance(where, Group) else [None]
            for member in members:
                reached = self.directory.customers.get(member) if member else where
                self._schedule_statuses(reached, request.wamid, body, member)

    def _read_receipt(self, body: dict[str, Any]) -> None:
        """The business read a message: it and every earlier one of its conversation (the customer's
        with that number) are read."""
        wamid = str(body.get("message_id"))
        with self._changed:
            conversation = self.directory.conversation_of(wamid)
            target = conversation.find(wamid) if conversation else None
            if conversation is None or target is None:
                return
            for bubble in conversation.bubbles[: conversation.bubbles.index(target) + 1]:
                same_number = bubble.phone_number_id == target.phone_number_id
                if same_number and bubble.direction == "in" and bubble.status in ("sent", "delivered"):
                    bubble.status = "read"
            if body.get("typing_indicator") and isinstance(conversation, Customer):
                conversation.typing_until = time.time() + TYPING_SECONDS
                conversation.typing_number = target.phone_number_id
            self._touch()

    def _schedule_statuses(self, customer: Any, wamid: str, body: dict[str, Any], member: str | None) -> None:
        if not self.status_webhooks:
            return
        unreachable = customer.unreachable if isinstance(customer, Customer) else None
        if unreachable is not None:
            failure: dict[str, Any] = {**UNDELIVERABLE, "code": unreachable}
            steps: list[tuple[str, dict[str, Any] | None]] = [("failed", failure)]
        elif body.get("type") == "reaction":
            steps = [("sent", None)]  # Meta sends nothing more for a reaction
        else:
            steps = [(status, None) for status in STATUS_SEQUENCE]
        for delay, (status, error) in zip(self.status_delays, steps, strict=False):
            item: _Status = (wamid, status, error, member)
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

    def _send_status(self, wamid: str, status: str, error: dict[str, Any] | None, member: str | None) -> None:
        if self._stopped:
            return
        with self._changed:
            where = self.directory.conversation_of(wamid)
            bubble = where.find(wamid) if where else None
            participant = self.directory.customers.get(member) if member else None
        callback = bubble.message.get("biz_opaque_callback_data") if bubble else None
        addressing: dict[str, Any] = {"recipient": ""}
        if isinstance(where, Group) and participant is not None:
            addressing = {"recipient": where.id, "participant": (participant.phone, participant.user_id)}
        elif isinstance(where, Customer):
            addressing = {"recipient": where.phone, "recipient_user_id": where.user_id}
        webhook = status_update(
            wamid,
            status,
            phone_number_id=(bubble.phone_number_id if bubble else None) or self.phone_number_id,
            error=error,
            callback_data=callback,
            **addressing,
        )
        with self._changed:
            if bubble is not None and (status == "failed" or STATUS_SEQUENCE.index(status) >= _rank(bubble.status)):
                bubble.status = status
                bubble.error = error
            self._touch()
        self.echo(f"  [meta]      status webhook: {status:<9} {wamid}")
        self.deliver(webhook)

    # -- faults ------------------------------------------------------------------------------------

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Change how Meta behaves: error rate, latency, limits, status delays, the account's marketing
        setting. All or nothing: a setting that is unknown or out of range changes none."""
        self.status_delays = apply_settings(
            parse_settings(settings), self.graph, self.rules.settings, self.status_delays
        )
        with self._changed:
            self._touch()
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return current_settings(self.graph, self.rules.settings, self.status_delays)

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
                "business_number": self.number().display_phone_number,
                "numbers": [number.view() for number in self.numbers.values()],
                "settings": self.settings(),
                "customers": [c.view(now) for c in self.customers.values()],
                "groups": [g.view() for g in self.directory.groups.values()],
            }

    def wait_for_change(self, since: int, timeout: float) -> dict[str, Any]:
        with self._changed:
            self._changed.wait_for(lambda: self.version != since or self._stopped, timeout=timeout)
        return self.state()

    def _touch(self) -> None:
        """Called with the lock held: something the chat view shows changed."""
        self.version += 1
        self._changed.notify_all()


def _rank(status: str) -> int:
    return STATUS_SEQUENCE.index(status) if status in STATUS_SEQUENCE else -1
