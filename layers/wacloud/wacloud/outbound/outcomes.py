"""A send's outcome in the store: the document's outbound record (`OUT#`), and for a message Graph
took, the message record its statuses go to (`MSG#`); and the confirmation a status webhook brings
for a send whose answer was lost.

The two records are written one after the other, not in one transaction: a status webhook updating
the message at the same moment would cancel the transaction, and transactional writes cost twice
as much. Each write converges whatever the order (see `wacloud.models.outbound_state`).
"""

from __future__ import annotations

from wacloud.adapters.store import Store
from wacloud.models.outbound import OutboundMessage
from wacloud.models.outbound_state import OutboundState, SendOutcome, may_confirm, may_record
from wacloud.outbound.unconfirmed_check import schedule_check


def record_outcome(
    store: Store, document: OutboundMessage, outcome: SendOutcome, phone_number_id: str, *, digest: str | None = None
) -> None:
    """Write what a send came to (a settled record is never overwritten); `digest`: the document's."""
    if outcome.state is OutboundState.UNCONFIRMED:
        _record_unconfirmed(store, document, outcome, phone_number_id, digest)
        return
    written = store.outbound.record(document, outcome, phone_number_id, digest=digest)
    if outcome.state is OutboundState.ACCEPTED and outcome.wamid:
        # Written whether or not the outbound record had settled already (a duplicate's success);
        # marked only when this acceptance was recorded: otherwise its statuses may still confirm.
        store.messages.record_outbound(document, outcome.wamid, phone_number_id, mark=written)


def _record_unconfirmed(
    store: Store, document: OutboundMessage, outcome: SendOutcome, phone_number_id: str, digest: str | None
) -> None:
    """Graph took the request but did not answer. The status webhook can win the race against this
    write: then it has left `confirmed_wamid` on the record, and the send is accepted instead.

    Recorded `unconfirmed`, the send gets a delayed check (`unconfirmed_check`): still unconfirmed
    then, it raises an alarm. Scheduling it never raises."""
    if store.outbound.record(document, outcome, phone_number_id, unless_confirmed=True, digest=digest):
        schedule_check(document.idempotency_key)
        return
    record = store.outbound.get(document.idempotency_key)
    if record is not None and record.confirmed_wamid and may_record(record.state):
        record_outcome(store, document, SendOutcome.accepted(record.confirmed_wamid), phone_number_id, digest=digest)


def confirm_send(store: Store, idempotency_key: str, wamid: str) -> bool:
    """A status webhook names an outbound document (by our callback data): Meta took it.

    True when this turned an `unconfirmed`, `retrying` or `dead_lettered` record (or an acceptance
    without its wamid) into `accepted` with the wamid. Either way the wamid is left on the record,
    for a send whose outcome is still being written.
    """
    record = store.outbound.note_confirmation(idempotency_key, wamid)
    if record.state is OutboundState.ACCEPTED and record.wamid == wamid:
        # Accepted with this very wamid: (again) mark its message, in case the write that follows a
        # confirmation failed last time; later statuses then skip this.
        store.messages.mark_outbound_accepted(wamid, idempotency_key)
        return False
    if not may_confirm(record.state, has_wamid=bool(record.wamid)):
        return False  # the send's own answer recorded another wamid, or a final refusal
    confirmed = store.outbound.accept_confirmed(idempotency_key, wamid)
    if confirmed:
        store.messages.mark_outbound_accepted(wamid, idempotency_key)
    return confirmed
