"""An outbound document's record and its state machine, and the typed outcome of one send.

Every document read from the outbound queue ends in a state that says what happened to it:

    (none) ──▶ sending ──▶ accepted | failed | rejected | unconfirmed      settled: answered from the record
      │  ▲        │           retrying | dead_lettered                    open: a later attempt replaces it
      │  └────────┘           sending, unconfirmed ──a status names it──▶ accepted
      └──▶ rejected (policy, before any call)

- `sending` is written just before the Graph call: from then on the call may have reached Meta, so
  no failure may make the send run again. The attempt that wrote it replaces it with Graph's answer
  (or `retrying` when Graph definitely refused); any other attempt that finds it (the first died or
  failed after the call) records `unconfirmed` and makes no call.
- A send's outcome is written over no state or an open one (`RECORDED_OVER`), never over a settled
  one: a late retry report after a duplicate's success changes nothing. A settled outcome may
  replace `sending`; `retrying` may replace it only for the attempt that wrote it (`owner`).
- A document refused as invalid (it broke the contract) saves no result (`invalid`): a corrected
  document with the same key is sent, and a malformed duplicate never overwrites a valid record.
- A status webhook naming the document (our callback data) proves Meta took it: an `unconfirmed`,
  `sending`, `retrying` or `dead_lettered` record becomes `accepted` with the status's wamid
  (`CONFIRMABLE`), and an acceptance whose answer had no wamid gets it: every End User Messaging
  Social send, which AWS answers with its own message id (`transport_message_id`) only.
- A settled record answers a redelivered document without a second Graph call.

The store derives its conditional writes from these sets (`wacloud.adapters.store.outbound`).
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from wacloud.models.records import ErrorInfo


class OutboundState(StrEnum):
    """Where an outbound document stands; every document ends in one of these."""

    SENDING = "sending"  # the Graph call started; its answer is not recorded (yet)
    ACCEPTED = "accepted"  # Graph took it: follow the message record (by wamid) for delivery
    RETRYING = "retrying"  # a transient failure; SQS will deliver the document again
    DEAD_LETTERED = "dead_lettered"  # the last attempt failed too: the document is in the DLQ
    UNCONFIRMED = "unconfirmed"  # Graph did not answer after receiving the request: it may have gone out
    FAILED = "failed"  # Graph refused it for good (Meta's error recorded)
    REJECTED = "rejected"  # we refused it before any Graph call (reason recorded)


S = OutboundState
# States a later attempt replaces: the send is still to be done.
OPEN: frozenset[OutboundState] = frozenset({S.RETRYING, S.DEAD_LETTERED})
# The call may be out and its answer is not recorded: only its own attempt (or a status) settles it.
IN_FLIGHT: frozenset[OutboundState] = frozenset({S.SENDING})
# States a send ends in: a redelivered document is answered with them, never sent again.
SETTLED: frozenset[OutboundState] = frozenset(S) - OPEN - IN_FLIGHT
# What a send's outcome may be written over (None: no record, or one without a state yet); a
# settled outcome also over `sending` (`SETTLES_SENDING`), an open one only for the call's owner.
RECORDED_OVER: frozenset[OutboundState | None] = frozenset({None, *OPEN})
# States a status webhook naming the document turns into `accepted`: Meta has it.
CONFIRMABLE: frozenset[OutboundState] = frozenset({S.UNCONFIRMED, *IN_FLIGHT, *OPEN})
# What an attempt that finds `sending` records: the earlier attempt's call may have reached Meta.
ANSWER_NOT_RECORDED = ErrorInfo(
    title="answer not recorded",
    details="an earlier attempt started the Graph call and stopped before its answer was recorded: "
    "Meta may have the message, so it is not sent again; a status webhook naming it confirms it",
)


def may_record(current: OutboundState | None) -> bool:
    """Whether a send's outcome may be written over a record in `current` (by any attempt)."""
    return current in RECORDED_OVER or current in IN_FLIGHT


def may_confirm(current: OutboundState | None, *, has_wamid: bool) -> bool:
    """Whether a status naming the document makes a record in `current` `accepted` with its wamid."""
    return current in CONFIRMABLE or (current is S.ACCEPTED and not has_wamid)


class SendOutcome(BaseModel):
    """What one send came to: the state to record and what goes with it (the wamid of an acceptance,
    Meta's error, our reason for a refusal), written on the document's record."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    state: OutboundState
    wamid: str | None = None
    error: ErrorInfo | None = None
    reason: str | None = None
    transport: str | None = None  # "eum" for End User Messaging Social; None: the Cloud API
    transport_message_id: str | None = None  # AWS's id of an End User Messaging Social send

    @classmethod
    def accepted(
        cls, wamid: str | None, *, transport: str | None = None, transport_message_id: str | None = None
    ) -> "SendOutcome":
        return cls(state=S.ACCEPTED, wamid=wamid, transport=transport, transport_message_id=transport_message_id)

    @classmethod
    def failed(cls, error: ErrorInfo) -> "SendOutcome":
        return cls(state=S.FAILED, error=error)

    @classmethod
    def unconfirmed(cls, error: ErrorInfo) -> "SendOutcome":
        return cls(state=S.UNCONFIRMED, error=error)

    @classmethod
    def rejected(cls, reason: str) -> "SendOutcome":
        return cls(state=S.REJECTED, reason=reason)

    @classmethod
    def retrying(cls, error: ErrorInfo, *, last_attempt: bool) -> "SendOutcome":
        return cls(state=S.DEAD_LETTERED if last_attempt else S.RETRYING, error=error)


class OutboundRecord(BaseModel):
    """One outbound document, keyed by its idempotency key."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    idempotency_key: str
    # None only for a record a status webhook created before the send's own outcome was written.
    state: OutboundState | None = None
    wamid: str | None = None
    confirmed_wamid: str | None = None  # a status webhook named this document: Meta took it
    recipient: str | None = None
    type: str | None = None
    client_ref: str | None = None
    phone_number_id: str | None = None
    transport: str | None = None  # "eum": sent through End User Messaging Social
    transport_message_id: str | None = None  # AWS's id of that send (its wamid comes with a status)
    error: ErrorInfo | None = None
    reason: str | None = None
    attempts: int = 0
    invalid: bool = False  # refused for breaking the contract: saves no result, the key is free
    digest: str | None = None  # of the document (`models.keys.document_digest`): a key names one document
    created_at: int | None = None
    updated_at: int | None = None
    expires_at: int | None = None

    def names_another_document(self, digest: str) -> bool:
        """Whether the key already names a document other than the one with `digest` (a record from
        before digests were kept, or an invalid document's, names none)."""
        return not self.invalid and self.digest not in (None, digest)

    def outcome(self) -> SendOutcome | None:
        """The settled outcome this record answers a redelivery with; None while the send is open.

        A status that already named the document (`confirmed_wamid`: a redrive after a lost reply)
        settles it as `accepted` with that wamid; a call that started and left no answer, as
        `unconfirmed`. An invalid document's rejection answers nothing: the key is free."""
        if self.state is not None and self.state in SETTLED and not self.invalid:
            wamid = self.wamid or (self.confirmed_wamid if self.state is S.ACCEPTED else None)
            return SendOutcome(
                state=self.state,
                wamid=wamid,
                error=self.error,
                reason=self.reason,
                transport=self.transport,
                transport_message_id=self.transport_message_id,
            )
        if self.confirmed_wamid:
            return SendOutcome.accepted(self.confirmed_wamid)
        if self.invalid:
            return None
        if self.state in IN_FLIGHT:
            return SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
        return None
