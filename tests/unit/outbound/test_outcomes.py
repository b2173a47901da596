"""wacloud.outbound.outcomes: a send's outcome on its outbound record and its message, and the
confirmation a status brings for a send whose answer was lost, whatever the order (moto)."""

from __future__ import annotations

import pytest

from tests.conftest import outbound_document, status_event
from wacloud.adapters.store import Store
from wacloud.adapters.table import StoreError
from wacloud.models.outbound_state import SendOutcome
from wacloud.models.records import ErrorInfo
from wacloud.outbound.outcomes import confirm_send, record_outcome

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
LOST = ErrorInfo(title="transport error")


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.mark.parametrize("status_first", [False, True], ids=["send-then-status", "status-then-send"])
def test_send_record_and_status_webhook_merge_in_either_order(store, status_first):
    doc = outbound_document("k1", client_reference="order-1")
    steps = [
        lambda: record_outcome(store, doc, SendOutcome.accepted("wamid.M"), "1"),
        lambda: store.messages.apply_status(status_event("sent", 10, wamid="wamid.M")),
    ]
    for step in reversed(steps) if status_first else steps:
        step()
    record = store.messages.get("wamid.M")
    assert record is not None
    assert (record.status, record.direction, record.idempotency_key, record.client_ref, record.customer) == (
        "sent",
        "out",
        "k1",
        "order-1",
        CUSTOMER,
    )
    assert set(record.status_history) == {"accepted", "sent"}
    outbound = store.outbound.get("k1")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.M")


def test_a_status_says_whether_the_sender_had_recorded_its_message(store):
    # The processor confirms an outbound record only for a message the sender has not recorded.
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.LOST")).send_recorded is False
    assert store.messages.apply_status(status_event("delivered", 20, wamid="wamid.LOST")).send_recorded is False

    record_outcome(store, outbound_document("known"), SendOutcome.accepted("wamid.KNOWN"), "1")
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.KNOWN")).send_recorded is True
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.KNOWN")).send_recorded is True


def test_a_message_accepted_over_a_settled_record_is_not_marked_and_its_status_still_confirms(store):
    # An acceptance after `unconfirmed` (no path does this today): the outbound record keeps its
    # settled state, so its statuses must still be allowed to confirm it.
    doc = outbound_document("late-answer")
    record_outcome(store, doc, SendOutcome.unconfirmed(LOST), "1")
    record_outcome(store, doc, SendOutcome.accepted("wamid.W"), "1")
    assert store.outbound.get("late-answer").state == "unconfirmed"
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.W")).send_recorded is False
    assert confirm_send(store, "late-answer", "wamid.W") is True
    assert store.messages.apply_status(status_event("delivered", 20, wamid="wamid.W")).send_recorded is True


def test_a_confirmation_whose_message_write_failed_marks_the_message_when_its_status_comes_again(store, monkeypatch):
    record_outcome(store, outbound_document("lost-answer"), SendOutcome.unconfirmed(LOST), "1")
    write = store.messages.record_outbound_from

    def failing(*args, **kwargs):
        raise StoreError("UpdateItem failed: throttled")

    monkeypatch.setattr(store.messages, "record_outbound_from", failing)
    with pytest.raises(StoreError):
        confirm_send(store, "lost-answer", "wamid.L")
    monkeypatch.setattr(store.messages, "record_outbound_from", write)

    # The status is delivered again (SQS): the record is already accepted, the message gets marked.
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.L")).send_recorded is False
    assert confirm_send(store, "lost-answer", "wamid.L") is False
    assert store.messages.apply_status(status_event("delivered", 20, wamid="wamid.L")).send_recorded is True
    assert store.outbound.get("lost-answer").state == "accepted"
    message = store.messages.get("wamid.L")
    assert message is not None and (message.idempotency_key, message.type, message.phone_number_id) == (
        "lost-answer",
        "text",
        "1",
    )


@pytest.mark.parametrize("status_first", [False, True], ids=["unconfirmed-then-status", "status-then-unconfirmed"])
def test_an_unconfirmed_send_is_confirmed_by_its_status_in_either_order(store, status_first):
    doc = outbound_document("maybe")
    steps = [
        lambda: record_outcome(store, doc, SendOutcome.unconfirmed(LOST), "1"),
        lambda: confirm_send(store, "maybe", "wamid.LATE"),
    ]
    for step in reversed(steps) if status_first else steps:
        step()
    outbound = store.outbound.get("maybe")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.LATE")
    message = store.messages.get("wamid.LATE")
    assert message is not None and message.idempotency_key == "maybe"


def test_a_status_never_confirms_a_document_that_failed(store):
    record_outcome(store, outbound_document("refused"), SendOutcome.failed(ErrorInfo(code=131047)), "1")
    assert confirm_send(store, "refused", "wamid.X") is False
    outbound = store.outbound.get("refused")
    assert outbound is not None and outbound.state == "failed"


@pytest.mark.parametrize("last_attempt", [False, True], ids=["retrying", "dead_lettered"])
def test_a_status_proves_a_send_that_reported_an_error_went_out(store, last_attempt):
    outcome = SendOutcome.retrying(ErrorInfo(code=131000), last_attempt=last_attempt)
    record_outcome(store, outbound_document("took-it"), outcome, "1")
    assert confirm_send(store, "took-it", "wamid.YES") is True
    outbound = store.outbound.get("took-it")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.YES")


def test_a_status_fills_in_the_wamid_of_an_acceptance_without_one_and_writes_its_message(store):
    record_outcome(store, outbound_document("no-wamid", client_reference="c9"), SendOutcome.accepted(None), "1")
    assert store.messages.get("wamid.LATER") is None  # no wamid: no message to write
    assert confirm_send(store, "no-wamid", "wamid.LATER") is True
    outbound = store.outbound.get("no-wamid")
    assert outbound is not None and outbound.wamid == "wamid.LATER"
    message = store.messages.get("wamid.LATER")
    assert message is not None
    assert (message.idempotency_key, message.client_ref, message.customer, message.direction) == (
        "no-wamid",
        "c9",
        CUSTOMER,
        "out",
    )
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.LATER")).send_recorded is True


EUM_SENT = SendOutcome.accepted(None, transport="eum", transport_message_id="aws-1")


@pytest.mark.parametrize("status_first", [False, True], ids=["answer-then-status", "status-then-answer"])
def test_an_eum_acceptance_and_its_first_status_settle_in_either_order(store, status_first):
    doc = outbound_document("eum")
    store.outbound.mark_sending(doc, "2", owner="attempt", digest=None)  # as the sender, before its call
    steps = [lambda: record_outcome(store, doc, EUM_SENT, "2"), lambda: confirm_send(store, "eum", "wamid.E")]
    for step in reversed(steps) if status_first else steps:
        step()
    outbound = store.outbound.get("eum")
    assert outbound is not None
    # AWS's id is kept also when the status settled the record before AWS's answer was written.
    assert (outbound.state, outbound.wamid, outbound.confirmed_wamid) == ("accepted", "wamid.E", "wamid.E")
    assert (outbound.transport, outbound.transport_message_id) == ("eum", "aws-1")
    message = store.messages.get("wamid.E")
    assert message is not None and (message.idempotency_key, message.phone_number_id) == ("eum", "2")


def test_aws_id_added_after_the_status_undoes_nothing_of_the_confirmation(store):
    # The status confirmed it first (the record accepted with its wamid, its message marked)...
    doc = outbound_document("raced", client_reference="c1")
    store.outbound.mark_sending(doc, "2", owner="attempt", digest="d1")
    assert confirm_send(store, "raced", "wamid.R") is True
    before = store.outbound.get("raced")
    # ...then AWS's answer is written: it adds its id and changes nothing else.
    record_outcome(store, doc, EUM_SENT, "2", digest="d1")
    after = store.outbound.get("raced")
    assert after is not None and before is not None
    assert (after.transport, after.transport_message_id) == ("eum", "aws-1")
    unchanged = {"state", "wamid", "confirmed_wamid", "error", "attempts", "client_ref", "digest", "created_at"}
    assert after.model_dump(include=unchanged) == before.model_dump(include=unchanged)
    assert store.messages.apply_status(status_event("sent", 10, wamid="wamid.R")).send_recorded is True
    # A second answer (a redelivery answered from the record) does not replace the id.
    record_outcome(store, doc, SendOutcome.accepted(None, transport="eum", transport_message_id="aws-2"), "2")
    assert store.outbound.get("raced").transport_message_id == "aws-1"


def test_aws_id_is_not_added_to_a_record_another_document_holds(store):
    doc = outbound_document("other")
    store.outbound.mark_sending(doc, "2", owner="attempt", digest="theirs")
    confirm_send(store, "other", "wamid.O")
    record_outcome(store, doc, EUM_SENT, "2", digest="ours")
    assert store.outbound.get("other").transport_message_id is None


def test_an_eum_answer_after_a_status_that_only_left_its_wamid_is_accepted_with_it(store):
    # The processor noted the wamid and stopped before accepting (it will run again); the answer
    # recorded meanwhile takes the wamid the status left.
    doc = outbound_document("noted")
    store.outbound.mark_sending(doc, "2", owner="attempt", digest=None)
    store.outbound.note_confirmation("noted", "wamid.N")
    record_outcome(store, doc, EUM_SENT, "2")
    outbound = store.outbound.get("noted")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.N")
    assert store.messages.get("wamid.N") is not None
