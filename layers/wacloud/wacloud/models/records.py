"""What the store keeps in DynamoDB: message records with their status history, contacts, history
lines and rejections (outbound records and their states: `wacloud.models.outbound_state`)."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wacloud.models.number_entry import NumberEntry


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageStatus(StrEnum):
    """A message's lifecycle. Outbound: accepted < sent < delivered < read < played, or failed."""

    RECEIVED = "received"  # inbound messages
    ACCEPTED = "accepted"  # Graph answered 200 with a wamid
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


# Status webhooks arrive late, duplicated and out of order; a status only ever moves up this rank.
STATUS_RANK: dict[str, int] = {
    MessageStatus.ACCEPTED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.PLAYED: 4,
}
# `failed` can follow accepted or sent (Meta may fail a sent message later), never a delivery.
FAILED_RANK = 9
FAILABLE_BELOW_RANK = STATUS_RANK[MessageStatus.DELIVERED]


class ErrorInfo(BaseModel):
    """An error in Meta's own terms (or ours, for rejections)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    code: int | None = None
    subcode: int | None = None
    title: str | None = None
    message: str | None = None
    details: str | None = None
    fbtrace_id: str | None = None
    http_status: int | None = None
    href: str | None = None


class StoredMedia(BaseModel):
    """Where an inbound message's media is archived (the stack's media bucket)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    bucket: str
    key: str
    mime_type: str | None = None
    size: int | None = None
    sha256: str | None = None  # hex digest of the bytes stored
    media_id: str | None = None  # Meta's id of the media (downloadable from Meta for 7 days)


class MessageRecord(BaseModel):
    """One WhatsApp message, inbound or outbound, keyed by its wamid."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    wamid: str
    direction: Direction | None = None  # None when only a status webhook has been seen so far
    customer: str | None = None  # the other party: sender of inbound, recipient of outbound
    phone_number_id: str | None = None
    type: str | None = None
    status: MessageStatus | None = None
    status_rank: int | None = None
    status_history: dict[str, int] = Field(default_factory=dict)  # status -> unix seconds
    error: ErrorInfo | None = None
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None
    idempotency_key: str | None = None
    client_ref: str | None = None
    biz_opaque_callback_data: str | None = None
    payload: str | None = None  # inbound: the message JSON as Meta sent it
    media: StoredMedia | None = None  # inbound media, once archived
    media_error: ErrorInfo | None = None  # why inbound media could not be archived
    created_at: int | None = None
    updated_at: int | None = None
    expires_at: int | None = None

    def timeline(self) -> list[tuple[str, int]]:
        """The statuses seen, in time order; those in the same second (Meta's timestamps are whole
        seconds) in the order a message goes through them, whatever order they arrived in.

        `accepted` is when its record was written, which can be after Meta's first status (a busy
        sender; an End User Messaging Social send, written by that status): Graph accepted the
        message before Meta could report on it, so it is shown no later than that status."""
        history = dict(self.status_history)
        reported = [at for status, at in history.items() if status != "accepted"]
        if "accepted" in history and reported:
            history["accepted"] = min(history["accepted"], *reported)
        return sorted(history.items(), key=lambda item: (item[1], STATUS_RANK.get(item[0], FAILED_RANK)))


def number_scope(entry: NumberEntry | None) -> str:
    """The number a customer's per-number items are kept under: "" for the number that keeps the
    keys of the single-number version (the stack's own, pinned by the registry: a single-number stack
    reads and writes what it always did), else its phone number id. Not the default's role: moving
    that moves no customer's window, handover or history."""
    if entry is None:
        return ""
    unsuffixed = entry.default if entry.unsuffixed_keys is None else entry.unsuffixed_keys
    return "" if unsuffixed else entry.phone_number_id


class OptChoice(BaseModel):
    """An opt-out choice: the business-wide one (`OPT`) or one number's own (`OPT#<number>`)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    opted_out: bool = False
    opt_changed_at: int | None = None
    opt_keyword: str | None = None


class Handover(BaseModel):
    """With a human on one number until `handover_until` (`HANDOVER#<number>`)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    handover_until: int | None = None
    handover_at: int | None = None
    handover_wamid: str | None = None


class ContactRecord(BaseModel):
    """A customer: who they are and when they last wrote (drives the 24-hour window).

    The unsuffixed fields are the stack's own number's (windows, handover: `number_scope`) and the
    business-wide opt-out; the dicts, keyed by phone number id, hold what other numbers keep of
    their own. Ask through the `..._for(entry)` methods, which pick the right one."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    customer_id: str = ""  # the id the customer's items are kept under (`CONTACT#<customer_id>`)
    wa_id: str = ""  # phone digits; "" for a customer known only by user id
    user_id: str | None = None  # business-scoped user id (BSUID)
    parent_user_id: str | None = None
    profile_name: str | None = None
    username: str | None = None
    last_inbound_at: int | None = None  # their last message or call
    last_inbound_wamid: str | None = None
    first_inbound_wamid: str | None = None  # the customer's first message to this number
    opted_out: bool = False
    opt_changed_at: int | None = None
    opt_keyword: str | None = None
    marketing_stopped: bool = False  # they stopped marketing messages at Meta (`user_preferences`)
    marketing_changed_at: int | None = None
    # With a human until then (epoch seconds): no automatic replies. Released early by deleting it.
    handover_until: int | None = None
    handover_at: int | None = None
    handover_wamid: str | None = None  # the customer's message that started it
    created_at: int | None = None
    updated_at: int | None = None
    expires_at: int | None = None
    windows: dict[str, int] = Field(default_factory=dict)  # number -> their last message or call to it
    last_wamids: dict[str, str] = Field(default_factory=dict)  # number -> their last message to it
    first_wamids: dict[str, str] = Field(default_factory=dict)  # number -> their first message to it
    number_opts: dict[str, OptChoice] = Field(default_factory=dict)  # numbers whose opt-outs are their own
    handovers: dict[str, Handover] = Field(default_factory=dict)

    @property
    def address(self) -> str:
        """How to name the customer to a person or to Graph: phone digits, else the BSUID."""
        return self.wa_id or self.user_id or self.parent_user_id or self.customer_id

    def handed_over(self, now: int) -> bool:
        """With a human on the number that keeps the unsuffixed keys (`number_scope`)."""
        return self.handover_until is not None and now < self.handover_until

    def window_for(self, entry: NumberEntry | None) -> int | None:
        """When the customer last wrote or called this number (its 24-hour window), if ever."""
        scope = number_scope(entry)
        return self.windows.get(scope) if scope else self.last_inbound_at

    def first_wamid_for(self, entry: NumberEntry | None) -> str | None:
        """The customer's first message to this number."""
        scope = number_scope(entry)
        return self.first_wamids.get(scope) if scope else self.first_inbound_wamid

    def opt_out_for(self, entry: NumberEntry | None) -> OptChoice | None:
        """The opt-out that keeps this number from messaging the customer, or None.

        The business-wide choice binds every number. A number whose opt-outs are its own
        (`opt_out_scope: number`) also has its own: an opt-out there binds it alone, an opt-in there
        reopens it alone (a later business-wide opt-out closes it again). A business-wide opt-in
        does not undo an opt-out said to one number: the customer never took that back."""
        business = OptChoice(opted_out=self.opted_out, opt_changed_at=self.opt_changed_at, opt_keyword=self.opt_keyword)
        own = self.number_opts.get(entry.phone_number_id) if entry and entry.opt_out_scope == "number" else None
        if own is not None and own.opted_out:
            return own
        if not business.opted_out:
            return None
        # At the same second, the opt-out.
        return business if own is None or (business.opt_changed_at or 0) >= (own.opt_changed_at or 0) else None

    def opted_out_for(self, entry: NumberEntry | None) -> bool:
        return self.opt_out_for(entry) is not None

    def handover_for(self, entry: NumberEntry | None) -> Handover:
        """The customer's handover to a human on this number (empty when none)."""
        scope = number_scope(entry)
        if scope:
            return self.handovers.get(scope) or Handover()
        return Handover(
            handover_until=self.handover_until, handover_at=self.handover_at, handover_wamid=self.handover_wamid
        )

    def handed_over_for(self, entry: NumberEntry | None, now: int) -> bool:
        until = self.handover_for(entry).handover_until
        return until is not None and now < until


class HistoryEntry(BaseModel):
    """One line of a customer's conversation: what they sent, or what was answered (bounded, with a TTL)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    at: int
    direction: Direction
    type: str
    text: str | None = None  # a text's body, a caption, a tapped choice's title; cut to 1,024 characters
    wamid: str | None = None  # the customer's message; for a reply, the message it answered
    rule: str | None = None  # what decided a reply: `bot`, a rule's name, `fallback`


class RejectionRecord(BaseModel):
    """Input we could not use (a malformed queue document, an unparseable webhook part)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    source: str
    ref: str
    reason: str
    raw: str | None = None
    created_at: int | None = None
    expires_at: int | None = None
