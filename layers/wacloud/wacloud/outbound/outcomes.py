"""A send's outcome in the store: the document's outbound record (`OUT#`), and for a message Meta
took, the message record its statuses go to (`MSG#`); and the confirmation a status webhook brings
for a send whose answer was lost or had no wamid (End User Messaging Social answers with AWS's id:
the message record is written when the first status names the send).

The two records are written one after the other, not in one transaction: a status webhook updating
the message at the same moment would cancel the transaction, and transactional writes cost twice
as much. Each write converges whatever the order (see `wacloud.models.outbound_state`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from wacloud.adapters.store import Store
from wacloud.models.outbound import OutboundMessage
from wacloud.models.outbound_state import OutboundRecord, OutboundState, SendOutcome, may_confirm, may_record
from wacloud.outbound.unconfirmed_check import schedule_check
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count

logger = child_logger(__name__)


def settled(previous: OutboundRecord | None, log: dict[str, str]) -> SendOutcome | None:
    """The outcome of a document already sent (or known to be taken by Meta), or None."""
    outcome = previous.outcome() if previous is not None else None
    if outcome is not None:
        # Completed, or a status webhook already named it (a redrive after a lost reply): Meta has it;
        # or a call started and left no answer (`sending`): `unconfirmed`, never sent again.
        logger.info("Document already sent; not sending again", extra={**log, "state": outcome.state})
        count("DuplicateSendSkipped")
    return outcome


def reported(
    outcome: SendOutcome, metric: str, message: str, extra: Mapping[str, object], *, warn: bool = True
) -> SendOutcome:
    """The outcome of a send call that was made, counted and logged. Reporting must never make the
    send run again: a log call that fails is told on stderr (the function's log); the outcome stays."""
    try:
        count(metric)
        (logger.warning if warn else logger.info)(message, extra=dict(extra))
    except Exception as exc:
        sys.stderr.write(f"wacloud: could not log a send's outcome ({outcome.state.value}): {exc!r}\n")
    return outcome


def record_outcome(
    store: Store, document: OutboundMessage, outcome: SendOutcome, phone_number_id: str, *, digest: str | None = None
) -> None:
    """Write what a send came to (a settled record is never overwritten); `digest`: the document's."""
    if outcome.state is OutboundState.UNCONFIRMED or (outcome.state is OutboundState.ACCEPTED and not outcome.wamid):
        _record_awaiting_status(store, document, outcome, phone_number_id, digest)
        return
    written = store.outbound.record(document, outcome, phone_number_id, digest=digest)
    if outcome.state is OutboundState.ACCEPTED and outcome.wamid:
        # Written whether or not the outbound record had settled already (a duplicate's success);
        # marked only when this acceptance was recorded: otherwise its statuses may still confirm.
        store.messages.record_outbound(document, outcome.wamid, phone_number_id, mark=written)


def _record_awaiting_status(
    store: Store, document: OutboundMessage, outcome: SendOutcome, phone_number_id: str, digest: str | None
) -> None:
    """An outcome whose wamid only a status can bring: a call left unanswered (`unconfirmed`), or
    taken without a wamid (`accepted`: End User Messaging Social's answer). The status webhook can
    win the race against this write: then it has left `confirmed_wamid` on the record, and the send
    is recorded accepted with it instead; a record the status already made `accepted` keeps its
    confirmation and gets AWS's message id added (a settled record is otherwise left as it is).

    Recorded `unconfirmed`, or accepted by End User Messaging Social without its wamid, the send gets
    a delayed check (`unconfirmed_check`): still unconfirmed (or without its wamid) then, it raises
    an alarm. Scheduling it never raises."""
    if store.outbound.record(document, outcome, phone_number_id, unless_confirmed=True, digest=digest):
        # A read receipt (no recipient) has no statuses to wait for: AWS's answer is all it gets.
        if outcome.state is OutboundState.UNCONFIRMED or (outcome.transport and document.recipient is not None):
            schedule_check(document.idempotency_key)
        return
    record = store.outbound.get(document.idempotency_key)
    if record is not None and record.confirmed_wamid and may_record(record.state):
        transport = {"transport": outcome.transport, "transport_message_id": outcome.transport_message_id}
        accepted = SendOutcome.accepted(record.confirmed_wamid, **transport)
        record_outcome(store, document, accepted, phone_number_id, digest=digest)
    elif record is not None and record.state is OutboundState.ACCEPTED and outcome.transport_message_id:
        # Its first status confirmed it before AWS's answer was written: keep AWS's id with it.
        store.outbound.add_transport_id(document, outcome, digest=digest)


def confirm_send(store: Store, idempotency_key: str, wamid: str) -> bool:
    """A status webhook names an outbound document (by our callback data): Meta took it.

    True when this turned an `unconfirmed`, `retrying` or `dead_lettered` record (or an acceptance
    without its wamid) into `accepted` with the wamid. Either way the wamid is left on the record,
    for a send whose outcome is still being written.
    """
    record = store.outbound.note_confirmation(idempotency_key, wamid)
    if record.state is OutboundState.ACCEPTED and record.wamid == wamid:
        # Accepted with this very wamid: (again) write and mark its message, in case the write that
        # follows a confirmation failed last time; later statuses then skip this.
        store.messages.record_outbound_from(record, wamid)
        return False
    if not may_confirm(record.state, has_wamid=bool(record.wamid)):
        return False  # the send's own answer recorded another wamid, or a final refusal
    confirmed = store.outbound.accept_confirmed(idempotency_key, wamid)
    if confirmed:
        # The message record from the outbound one: an EUM send (or one whose answer was lost) has none yet.
        store.messages.record_outbound_from(record, wamid)
    return confirmed
