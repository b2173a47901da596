"""What the store keeps in DynamoDB: message records with their status history, contacts, history
lines and rejections (outbound records and their states: `wacloud.models.outbound_state`)."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
        seconds) in the order a message goes through them, whatever order they arrived in."""
        return sorted(self.status_history.items(), key=lambda item: (item[1], STATUS_RANK.get(item[0], FAILED_RANK)))


class ContactRecord(BaseModel):
    """A customer: who they are and when they last wrote (drives the 24-hour window)."""

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

    @property
    def address(self) -> str:
        """How to name the customer to a person or to Graph: phone digits, else the BSUID."""
        return self.wa_id or self.user_id or self.parent_user_id or self.customer_id

    def handed_over(self, now: int) -> bool:
        return self.handover_until is not None and now < self.handover_until


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
