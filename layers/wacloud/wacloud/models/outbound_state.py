"""An outbound document's record and its state machine, and the typed outcome of one send.

Every document read from the outbound queue ends in a state that says what happened to it:

    (none) ──send──▶ accepted | failed | rejected | unconfirmed      settled: answered from the record
      │                 ▲            retrying | dead_lettered        open: a later attempt replaces it
      └─────────────────┘            unconfirmed ──a status names it──▶ accepted

- The send's own outcome is written over no state or an open one (`RECORDED_OVER`), never over a
  settled one: a late retry report after a duplicate's success changes nothing.
- A status webhook naming the document (our callback data) proves Meta took it: an `unconfirmed`,
  `retrying` or `dead_lettered` record becomes `accepted` with the status's wamid (`CONFIRMABLE`),
  and an acceptance whose answer had no wamid gets it.
- A settled record answers a redelivered document without a second Graph call.

The store derives its conditional writes from these sets (`wacloud.adapters.store.outbound`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from wacloud.models.records import ErrorInfo


class OutboundState(StrEnum):
    """Where an outbound document stands; every document ends in one of these."""

    ACCEPTED = "accepted"  # Graph took it: follow the message record (by wamid) for delivery
    RETRYING = "retrying"  # a transient failure; SQS will deliver the document again
    DEAD_LETTERED = "dead_lettered"  # the last attempt failed too: the document is in the DLQ
    UNCONFIRMED = "unconfirmed"  # Graph did not answer after receiving the request: it may have gone out
    FAILED = "failed"  # Graph refused it for good (Meta's error recorded)
    REJECTED = "rejected"  # we refused it before any Graph call (reason recorded)


S = OutboundState
# States a later attempt replaces: the send is still to be done.
OPEN: frozenset[OutboundState] = frozenset({S.RETRYING, S.DEAD_LETTERED})
# States a send ends in: a redelivered document is answered with them, never sent again.
SETTLED: frozenset[OutboundState] = frozenset(S) - OPEN
# What a send's outcome may be written over (None: no record, or one without a state yet).
RECORDED_OVER: frozenset[OutboundState | None] = frozenset({None, *OPEN})
# States a status webhook naming the document turns into `accepted`: Meta has it.
CONFIRMABLE: frozenset[OutboundState] = frozenset({S.UNCONFIRMED, *OPEN})


def may_record(current: OutboundState | None) -> bool:
    """Whether a send's outcome may be written over a record in `current`."""
    return current in RECORDED_OVER


def may_confirm(current: OutboundState | None, *, has_wamid: bool) -> bool:
    """Whether a status naming the document makes a record in `current` `accepted` with its wamid."""
    return current in CONFIRMABLE or (current is S.ACCEPTED and not has_wamid)


class SendOutcome(BaseModel):
    """What one send came to: the state to record and what goes with it (the wamid of an acceptance,
    Meta's error, our reason for a refusal). Kept by idempotency as the send's stored result."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    state: OutboundState
    wamid: str | None = None
    error: ErrorInfo | None = None
    reason: str | None = None

    @classmethod
    def accepted(cls, wamid: str | None) -> SendOutcome:
        return cls(state=S.ACCEPTED, wamid=wamid)

    @classmethod
    def failed(cls, error: ErrorInfo) -> SendOutcome:
        return cls(state=S.FAILED, error=error)

    @classmethod
    def unconfirmed(cls, error: ErrorInfo) -> SendOutcome:
        return cls(state=S.UNCONFIRMED, error=error)

    @classmethod
    def rejected(cls, reason: str) -> SendOutcome:
        return cls(state=S.REJECTED, reason=reason)

    @classmethod
    def retrying(cls, error: ErrorInfo, *, last_attempt: bool) -> SendOutcome:
        return cls(state=S.DEAD_LETTERED if last_attempt else S.RETRYING, error=error)


class OutboundRecord(BaseModel):
    """One outbound document, keyed by its idempotency key."""

    model_config = ConfigDict(extra="ignore")

    idempotency_key: str
    # None only for a record a status webhook created before the send's own outcome was written.
    state: OutboundState | None = None
    wamid: str | None = None
    confirmed_wamid: str | None = None  # a status webhook named this document: Meta took it
    recipient: str | None = None
    type: str | None = None
    client_ref: str | None = None
    phone_number_id: str | None = None
    error: ErrorInfo | None = None
    reason: str | None = None
    attempts: int = 0
    created_at: int | None = None
    updated_at: int | None = None
    expires_at: int | None = None

    def outcome(self) -> SendOutcome | None:
        """The settled outcome this record answers a redelivery with; None while the send is open.

        A status that already named the document (`confirmed_wamid`: a redrive after a lost reply)
        settles it as `accepted` with that wamid."""
        if self.state is not None and self.state in SETTLED:
            return SendOutcome(state=self.state, wamid=self.wamid, error=self.error, reason=self.reason)
        if self.confirmed_wamid:
            return SendOutcome.accepted(self.confirmed_wamid)
        return None
