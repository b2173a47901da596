"""Sending rules checked before a Graph call is spent, and the customer keywords that feed them.

- A customer who opted out (sent an opt-out keyword) gets nothing until they opt in again: from any
  number of the business, or from that number only where its opt-outs are its own
  (`ContactRecord.opt_out_for`). Another business portfolio's numbers have customers of their own
  (`Store.send_context` reads the one of the sending number's business).
- Outside the 24-hour customer service window of the sending number (24 h after the customer's
  last message or call to it) only templates may be sent; Meta would refuse anything else with
  131047. Configurable per number (`window_policy`), else by `EnforceCustomerServiceWindow`.
- Both are a person's: a message to a group is not checked against them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from wacloud.config import Settings, keywords, normalise_keyword
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound import OutboundMessage, ReadReceipt
from wacloud.models.records import ContactRecord

if TYPE_CHECKING:
    from wacloud.models.webhook import InboundMessage

SERVICE_WINDOW_SECONDS = 24 * 3600


def refusal(
    document: OutboundMessage,
    contact: ContactRecord | None,
    settings: Settings,
    now: int,
    *,
    entry: NumberEntry | None = None,
) -> str | None:
    """Why this document must not be sent now from the number `entry` (None: the default number,
    with the stack's window policy), or None. `contact` as that number sees them
    (`Store.send_context(..., entry=entry)`)."""
    if isinstance(document.message, ReadReceipt):
        return None  # a read receipt answers the customer's own message
    if document.message.recipient_type == "group":
        return None  # opt-outs and windows are each member's; Meta decides what a group may get
    opt_out = contact.opt_out_for(entry) if contact is not None else None
    if opt_out is not None:
        return f"the recipient opted out (they sent {opt_out.opt_keyword!r}); nothing is sent until they opt in"
    if enforces_window(entry, settings) and document.kind != "template":
        last = contact.window_for(entry) if contact is not None else None
        if last is None:
            return (
                "outside the 24-hour customer service window: the recipient has not written to this number; "
                "only a template can be sent"
            )
        if now - last > SERVICE_WINDOW_SECONDS:
            return (
                f"outside the 24-hour customer service window: the recipient last wrote {(now - last) // 3600} "
                "hours ago; only a template can be sent"
            )
    return None


def enforces_window(entry: NumberEntry | None, settings: Settings) -> bool:
    """Whether the number checks the 24-hour window before a send: its own policy, else the stack's."""
    policy = entry.window_policy if entry is not None else ""
    return settings.enforce_service_window if not policy else policy == "enforce"


def opt_keyword(message: InboundMessage, settings: Settings) -> tuple[Literal["out", "in"], str] | None:
    """("out" | "in", the keyword) when the whole message is an opt-out or opt-in keyword."""
    if message.type != "text" or message.text is None:
        return None
    word = normalise_keyword(message.text.body)
    if word in keywords(settings.opt_out_keywords):
        return "out", word
    if word in keywords(settings.opt_in_keywords):
        return "in", word
    return None
