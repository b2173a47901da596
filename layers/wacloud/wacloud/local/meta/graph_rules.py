"""What Graph refuses a send for, simulated: a malformed body or address (100, `addressing`), a
template message Meta would not take (`template_rules`: 132000, 132001, 132012, 132015, 132016, 131062,
131063), a free-form message outside the customer's 24-hour window (131047), a number pushed past its
throughput (130429), too many messages to one customer in a short time (131056). Each answer is
Meta's error body with Meta's code.

Reference: ../shared/reference/whatsapp-cloud-api.md (error codes, throughput, pair rate, windows).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from wacloud.local.meta.addressing import Recipient, address_key, recipient_of
from wacloud.local.meta.graph_errors import Refusal, graph_error_body, refusal
from wacloud.local.meta.template_rules import template_refusal
from wacloud.models.outbound import MessageBody
from wacloud.models.validation_errors import describe
from wacloud.outbound.media_upload import s3_media

WINDOW_SECONDS = 24 * 3600
PAIR_SECONDS = 6.0  # one message to the same customer per 6 s, after a burst

_BODY: TypeAdapter[Any] = TypeAdapter(MessageBody)


# Any valid phone number: the body's own address is checked by `addressing`, the rest by the model.
_SOME_PHONE = "+10000000000"
# The endpoint for marketing templates (Marketing Messages API), beside /messages.
MARKETING_MESSAGES = "marketing_messages"
__all__ = ["MARKETING_MESSAGES", "GraphRules", "RuleSettings", "graph_error_body"]


@dataclass
class RuleSettings:
    enforce_window: bool = True
    throughput_per_second: float | None = 80.0  # a number's default tier
    # Messages to one customer: a burst of this many, then one per 6 s (bursts borrow future quota).
    pair_limit: int | None = 45
    # The account's setting: marketing templates only through /marketing_messages (131063 otherwise).
    disable_marketing_messages_on_cloud_api: bool = False


class GraphRules:
    """The checks, with the state they need (when each customer last wrote, recent sends)."""

    def __init__(
        self,
        settings: RuleSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        last_inbound: Callable[[str], float | None] | None = None,
    ) -> None:
        self.settings = settings or RuleSettings()
        self._clock = clock
        self._wall = wall_clock
        # Where else a customer's last message may be known (the local run's store: a message that
        # reached the webhook some other way than through the simulator still opens the window).
        self._last_inbound = last_inbound
        self._lock = threading.Lock()
        # (business number or "" for any, customer) -> when they last wrote: windows are per number.
        self._last_wrote: dict[tuple[str, str], float] = {}
        self._tokens: dict[str, tuple[float, float]] = {}  # phone number id -> (tokens, at)
        self._pairs: dict[str, tuple[float, float]] = {}  # pair -> (tokens, at)

    def customer_wrote(self, customer: str, at: float | None = None, *, number: str = "") -> None:
        """A customer's message to a business number opens (or renews) their 24-hour window with it
        (by phone number or BSUID); without a number, with every number."""
        key = (number, address_key(customer))
        with self._lock:
            self._last_wrote[key] = max(self._last_wrote.get(key, 0.0), at or self._wall())

    def check(
        self,
        phone_number_id: str,
        body: Any,
        *,
        templates: list[dict[str, Any]] | None = None,
        endpoint: str = "messages",
    ) -> Refusal | None:
        """Graph's answer when it would refuse this send, or None when it would take it. With the
        account's `templates`, template messages are checked against them too."""
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return refusal(100, "(#100) Invalid parameter", "messaging_product must be 'whatsapp'")
        if next(s3_media(body), None) is not None:  # our contract's, not Graph's
            return refusal(100, "(#100) Param s3_key is not a valid parameter", "unexpected key s3_key")
        receipt = body.get("status") == "read" and endpoint != MARKETING_MESSAGES
        recipient = None if receipt else recipient_of(body)
        if not isinstance(recipient, Recipient | None):
            return recipient
        refused = self._marketing_endpoint(body) if endpoint == MARKETING_MESSAGES else None
        if refused is None and recipient is not None and body.get("type") == "template" and templates is not None:
            refused = template_refusal(
                body.get("template"),
                templates,
                to_user_id=recipient.kind == "user_id",
                via_messages=endpoint != MARKETING_MESSAGES,
                marketing_disabled=self.settings.disable_marketing_messages_on_cloud_api,
            )
        refused = refused or _malformed(body, addressed=recipient is not None)
        if refused is not None or recipient is None:
            return refused
        window = None if recipient.kind == "group" else self._window(phone_number_id, recipient.key, body.get("type"))
        return window or self._throughput(phone_number_id) or self._pair_rate(phone_number_id, recipient.key)

    @staticmethod
    def _marketing_endpoint(body: dict[str, Any]) -> Refusal | None:
        if body.get("type") != "template":
            return refusal(
                100, "(#100) Invalid parameter", "the marketing_messages endpoint takes template messages only"
            )
        if not isinstance(body.get("message_activity_sharing", False), bool):
            return refusal(100, "(#100) Invalid parameter", "message_activity_sharing must be true or false")
        return None

    def _window(self, phone_number_id: str, recipient: str, kind: Any) -> tuple[int, dict[str, Any]] | None:
        if not self.settings.enforce_window or kind == "template":
            return None
        with self._lock:
            known = [self._last_wrote.get((number, recipient)) for number in (phone_number_id, "")]
        last = max((at for at in known if at is not None), default=None)
        if last is None and self._last_inbound is not None:
            last = self._last_inbound(recipient)
        if last is not None and self._wall() - last <= WINDOW_SECONDS:
            return None
        return 400, graph_error_body(
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied "
            "to this number.",
        )

    def _throughput(self, phone_number_id: str) -> tuple[int, dict[str, Any]] | None:
        rate = self.settings.throughput_per_second
        if not rate:
            return None
        now = self._clock()
        with self._lock:
            tokens, at = self._tokens.get(phone_number_id, (rate, now))
            tokens = min(rate, tokens + (now - at) * rate)  # a bucket of one second's worth
            if tokens < 1:
                self._tokens[phone_number_id] = (tokens, now)
                refused = True
            else:
                self._tokens[phone_number_id] = (tokens - 1, now)
                refused = False
        if not refused:
            return None
        return 400, graph_error_body(
            130429, "(#130429) Rate limit hit", f"Cloud API message throughput ({rate:g} messages/s) has been reached."
        )

    def _pair_rate(self, phone_number_id: str, recipient: str) -> tuple[int, dict[str, Any]] | None:
        limit = self.settings.pair_limit
        if not limit:
            return None
        now, pair = self._clock(), f"{phone_number_id}|{recipient}"
        with self._lock:
            tokens, at = self._pairs.get(pair, (float(limit), now))
            tokens = min(float(limit), tokens + (now - at) / PAIR_SECONDS)
            if tokens >= 1:
                self._pairs[pair] = (tokens - 1, now)
                return None
            self._pairs[pair] = (tokens, now)
        return 400, graph_error_body(
            131056,
            "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone number in a short "
            "period of time.",
        )


def _malformed(body: dict[str, Any], *, addressed: bool) -> Refusal | None:
    """100 for a body the model of Graph's bodies refuses (its address already checked)."""
    candidate = {k: v for k, v in body.items() if k not in _CHECKED_ELSEWHERE}
    if addressed:
        candidate["to"] = _SOME_PHONE
    try:
        _BODY.validate_python(candidate)
    except ValidationError as exc:
        return refusal(100, "(#100) Invalid parameter", describe(exc))
    return None


_CHECKED_ELSEWHERE = frozenset(
    {"biz_opaque_callback_data", "to", "recipient", "recipient_type", "message_activity_sharing"}
)
