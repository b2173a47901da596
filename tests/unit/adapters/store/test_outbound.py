"""wacloud.adapters.store.outbound: an outbound document's record, its conditional writes derived
from the state machine (moto)."""

from __future__ import annotations

import pytest

from tests.conftest import outbound_document
from wacloud.adapters.store import Store
from wacloud.adapters.store.outbound import state_condition
from wacloud.models.outbound_state import OutboundState, SendOutcome, may_confirm, may_record
from wacloud.models.records import ErrorInfo

pytestmark = pytest.mark.usefixtures("aws")
STATES: list[OutboundState | None] = [None, *OutboundState]
ERROR = ErrorInfo(code=131000)


@pytest.fixture
def outbound():
    return Store().outbound


def put_state(outbound, key: str, state: OutboundState | None, *, wamid: str | None = None) -> None:
    """A record in `state` (None: one a status webhook created, with no state yet)."""
    if state is None:
        outbound.note_confirmation(key, "wamid.EARLY")
        return
    outcome = SendOutcome(
        state=state, wamid=wamid, error=ERROR, reason="r" if state is OutboundState.REJECTED else None
    )
    assert outbound.record(outbound_document(key), outcome, "1")


@pytest.mark.parametrize("state", STATES, ids=str)
def test_a_sends_outcome_is_written_exactly_where_the_state_machine_allows(outbound, state):
    put_state(outbound, "k", state)
    written = outbound.record(outbound_document("k"), SendOutcome.failed(ERROR), "1")
    assert written is may_record(state)
    record = outbound.get("k")
    assert record is not None and record.state == (OutboundState.FAILED if written else state)


@pytest.mark.parametrize(
    ("state", "has_wamid"),
    # a record without a state (a status webhook made it) has no wamid of its own
    [(None, False), *((state, has_wamid) for state in OutboundState for has_wamid in (False, True))],
    ids=str,
)
def test_a_confirmation_is_written_exactly_where_the_state_machine_allows(outbound, state, has_wamid):
    put_state(outbound, "k", state, wamid="wamid.OWN" if has_wamid else None)
    assert outbound.accept_confirmed("k", "wamid.STATUS") is may_confirm(state, has_wamid=has_wamid)


def test_the_state_condition_names_every_state_once_and_a_missing_one_when_asked():
    condition, values = state_condition([None, OutboundState.RETRYING, OutboundState.DEAD_LETTERED])
    assert condition == "(attribute_not_exists(#state) OR #state IN (:in_dead_lettered, :in_retrying))"
    assert values == {":in_dead_lettered": "dead_lettered", ":in_retrying": "retrying"}


def test_a_settled_record_is_not_overwritten_by_a_late_retry_report(outbound):
    doc = outbound_document("k2")
    outbound.record(doc, SendOutcome.retrying(ERROR, last_attempt=False), "1")
    outbound.record(doc, SendOutcome.accepted("wamid.A"), "1")
    outbound.record(doc, SendOutcome.retrying(ERROR, last_attempt=False), "1")  # a slow duplicate reporting late
    record = outbound.get("k2")
    assert record is not None and (record.state, record.wamid, record.attempts) == ("accepted", "wamid.A", 2)


def test_not_over_a_confirmation_when_asked(outbound):
    outbound.note_confirmation("k3", "wamid.STATUS")
    doc = outbound_document("k3")
    assert outbound.record(doc, SendOutcome.unconfirmed(ERROR), "1", unless_confirmed=True) is False
    assert outbound.record(doc, SendOutcome.unconfirmed(ERROR), "1") is True


def test_an_invalid_document_is_recorded_with_its_reason_and_raw_document(outbound):
    outbound.record_invalid("bad-1", "invalid document: message: Field required", raw='{"idempotency_key":"bad-1"}')
    record = outbound.get("bad-1")
    assert record is not None
    assert (record.state, record.reason) == ("rejected", "invalid document: message: Field required")


def test_records_are_found_by_client_reference(outbound):
    outbound.record(outbound_document("a", client_reference="order-9"), SendOutcome.accepted("wamid.1"), "1")
    outbound.record(outbound_document("b", client_reference="order-9"), SendOutcome.rejected("opted out"), "1")
    outbound.record(outbound_document("c", client_reference="order-8"), SendOutcome.accepted("wamid.2"), "1")
    assert sorted(record.idempotency_key for record in outbound.find_by_client_reference("order-9")) == ["a", "b"]


def test_a_confirmation_leaves_the_first_wamid_on_the_record(outbound):
    assert outbound.note_confirmation("k4", "wamid.FIRST").confirmed_wamid == "wamid.FIRST"
    assert outbound.note_confirmation("k4", "wamid.SECOND").confirmed_wamid == "wamid.FIRST"


def test_an_acceptance_after_failed_attempts_clears_their_error(outbound):
    # A redriven document that Graph then took: its record says accepted, with no old error left.
    doc = outbound_document("redriven")
    outbound.record(doc, SendOutcome.retrying(ERROR, last_attempt=True), "1")
    outbound.record(doc, SendOutcome.accepted("wamid.A"), "1")
    record = outbound.get("redriven")
    assert record is not None
    assert (record.state, record.wamid, record.error, record.attempts) == ("accepted", "wamid.A", None, 2)


def test_a_refusal_after_failed_attempts_has_its_reason_not_their_error(outbound):
    doc = outbound_document("window-closed")
    outbound.record(doc, SendOutcome.retrying(ERROR, last_attempt=False), "1")
    outbound.record(doc, SendOutcome.rejected("outside the 24-hour window"), "1")
    record = outbound.get("window-closed")
    assert record is not None and (record.state, record.reason, record.error) == (
        "rejected",
        "outside the 24-hour window",
        None,
    )


def test_a_confirmation_clears_the_error_of_the_send_it_confirms(outbound):
    outbound.record(outbound_document("lost"), SendOutcome.unconfirmed(ERROR), "1")
    assert outbound.accept_confirmed("lost", "wamid.STATUS")
    record = outbound.get("lost")
    assert record is not None and (record.state, record.wamid, record.error) == ("accepted", "wamid.STATUS", None)


def test_sending_is_marked_only_over_an_open_record_and_names_its_attempt(outbound):
    assert outbound.mark_sending(outbound_document("k"), "1", owner="attempt-1", digest="d1")
    record = outbound.get("k")
    assert record is not None and (record.state, record.digest) == (OutboundState.SENDING, "d1")
    # The send's lock: another attempt does not start a call while one may be in flight.
    assert not outbound.mark_sending(outbound_document("k"), "1", owner="attempt-2", digest="d1")
    put_state(outbound, "done", OutboundState.ACCEPTED, wamid="w")
    assert not outbound.mark_sending(outbound_document("done"), "1", owner="a", digest="d")


def test_a_documents_writes_never_go_over_another_documents_record(outbound):
    # The record is the send's only lock: of two documents racing under one key, one wins.
    retry = SendOutcome.retrying(ERROR, last_attempt=False)
    assert outbound.record(outbound_document("k"), retry, "1", digest="d1")
    assert not outbound.mark_sending(outbound_document("k"), "1", owner="other", digest="d2")
    assert not outbound.record(outbound_document("k"), SendOutcome.rejected("opted out"), "1", digest="d2")
    assert outbound.get("k").digest == "d1"  # type: ignore[union-attr]
    assert outbound.mark_sending(outbound_document("k"), "1", owner="mine", digest="d1")
    # A record from before digests were kept (or a status's) names no document: it is not refused.
    outbound.note_confirmation("old", "wamid.OLD")
    assert outbound.record(outbound_document("old"), retry, "1", digest="d3")


def test_only_the_attempt_that_marked_sending_may_reopen_it(outbound):
    outbound.mark_sending(outbound_document("k"), "1", owner="attempt-1", digest="d1")
    retry = SendOutcome.retrying(ERROR, last_attempt=False)
    # Another attempt's bookkeeping (held back, no time left) never reopens a call that may be out.
    assert not outbound.record(outbound_document("k"), retry, "1", owner="attempt-2")
    assert not outbound.record(outbound_document("k"), retry, "1")
    # The attempt that made the call, told by Graph it was refused, may.
    assert outbound.record(outbound_document("k"), retry, "1", owner="attempt-1")
    assert outbound.get("k").state == OutboundState.RETRYING  # type: ignore[union-attr]


def test_any_attempt_settles_a_call_in_flight(outbound):
    outbound.mark_sending(outbound_document("k"), "1", owner="attempt-1", digest="d1")
    assert outbound.record(outbound_document("k"), SendOutcome.unconfirmed(ERROR), "1")
    assert outbound.get("k").state == OutboundState.UNCONFIRMED  # type: ignore[union-attr]


@pytest.mark.parametrize("state", [s for s in OutboundState if s is not OutboundState.REJECTED], ids=str)
def test_an_invalid_document_never_overwrites_a_valid_documents_record(outbound, state):
    put_state(outbound, "k", state, wamid="w")
    before = outbound.get("k")
    assert not outbound.record_invalid("k", "invalid document: broken", raw="{}")
    assert outbound.get("k") == before


def test_a_valid_documents_outcome_replaces_an_invalid_ones_rejection(outbound):
    assert outbound.record_invalid("k", "invalid document: broken", raw='{"broken": true}')
    assert outbound.record_invalid("k", "invalid document: still broken", raw="{}")  # its key is free
    assert outbound.record(outbound_document("k"), SendOutcome.accepted("wamid.A"), "1", digest="d1")
    item = outbound.table.get({"pk": "OUT#k", "sk": "OUTBOUND"})
    assert item is not None and "invalid" not in item and "raw" not in item and "reason" not in item
    assert (item["state"], item["digest"]) == ("accepted", "d1")


def test_an_invalid_document_never_marks_a_record_a_status_made(outbound):
    # A status named the key first (Meta has that message): a malformed copy must not free the key.
    outbound.note_confirmation("k", "wamid.EARLY")
    assert not outbound.record_invalid("k", "invalid document: broken", raw="{}")
    record = outbound.get("k")
    assert record is not None and not record.invalid and record.outcome() == SendOutcome.accepted("wamid.EARLY")
