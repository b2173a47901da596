"""wacloud.models.outbound_state: the outbound state machine's sets and rules, a send's outcome and
what a stored record answers a redelivery with."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import ValidationError

from wacloud.models.outbound_state import (
    ANSWER_NOT_RECORDED,
    CONFIRMABLE,
    IN_FLIGHT,
    OPEN,
    RECORDED_OVER,
    SETTLED,
    OutboundRecord,
    OutboundState,
    SendOutcome,
    may_confirm,
    may_record,
)
from wacloud.models.records import ErrorInfo

S = OutboundState
ERROR = ErrorInfo(code=131000, title="Something went wrong", fbtrace_id="TRACE")


def test_the_sets_are_what_the_state_machine_says():
    assert {S.RETRYING, S.DEAD_LETTERED} == OPEN
    assert {S.SENDING} == IN_FLIGHT
    assert {S.ACCEPTED, S.FAILED, S.REJECTED, S.UNCONFIRMED} == SETTLED
    assert {None, S.RETRYING, S.DEAD_LETTERED} == RECORDED_OVER
    assert {S.UNCONFIRMED, S.SENDING, S.RETRYING, S.DEAD_LETTERED} == CONFIRMABLE


def test_every_state_is_open_in_flight_or_settled():
    assert set(S) == OPEN | IN_FLIGHT | SETTLED
    assert not OPEN & SETTLED
    assert not IN_FLIGHT & (OPEN | SETTLED)


# (state, a send's outcome may be written over it, a status makes it accepted: without / with its own wamid)
RULES: list[tuple[OutboundState | None, bool, bool, bool]] = [
    (None, True, False, False),  # no record yet, or one a status webhook made (it notes the wamid)
    (S.RETRYING, True, True, True),
    (S.DEAD_LETTERED, True, True, True),
    (S.SENDING, True, True, True),  # by its own attempt's answer; another attempt records `unconfirmed`
    (S.UNCONFIRMED, False, True, True),
    (S.ACCEPTED, False, True, False),  # only an acceptance whose answer had no wamid gets one
    (S.FAILED, False, False, False),
    (S.REJECTED, False, False, False),
]


def test_the_rules_name_every_state():
    assert {rule[0] for rule in RULES} == {None, *S}


@pytest.mark.parametrize(("state", "recorded", "confirmed", "confirmed_with_wamid"), RULES, ids=str)
def test_may_record_and_may_confirm_for_every_state(state, recorded, confirmed, confirmed_with_wamid):
    assert may_record(state) is recorded
    assert may_confirm(state, has_wamid=False) is confirmed
    assert may_confirm(state, has_wamid=True) is confirmed_with_wamid


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        pytest.param(SendOutcome.accepted("wamid.A"), {"state": S.ACCEPTED, "wamid": "wamid.A"}, id="accepted"),
        pytest.param(SendOutcome.accepted(None), {"state": S.ACCEPTED}, id="accepted-without-wamid"),
        pytest.param(SendOutcome.failed(ERROR), {"state": S.FAILED, "error": ERROR}, id="failed"),
        pytest.param(SendOutcome.unconfirmed(ERROR), {"state": S.UNCONFIRMED, "error": ERROR}, id="unconfirmed"),
        pytest.param(SendOutcome.rejected("opted out"), {"state": S.REJECTED, "reason": "opted out"}, id="rejected"),
        pytest.param(
            SendOutcome.retrying(ERROR, last_attempt=False), {"state": S.RETRYING, "error": ERROR}, id="retrying"
        ),
        pytest.param(
            SendOutcome.retrying(ERROR, last_attempt=True),
            {"state": S.DEAD_LETTERED, "error": ERROR},
            id="retrying-on-the-last-attempt",
        ),
    ],
)
def test_each_constructor_sets_its_state_and_only_what_goes_with_it(outcome, expected):
    assert outcome == SendOutcome(**expected)


@pytest.mark.parametrize(
    "outcome",
    [
        SendOutcome.accepted("wamid.A"),
        SendOutcome.failed(ERROR),
        SendOutcome.unconfirmed(ErrorInfo(title="transport error", details="read timeout")),
        SendOutcome.rejected("outside the window"),
        SendOutcome.retrying(ERROR, last_attempt=True),
    ],
    ids=lambda outcome: outcome.state.value,
)
def test_an_outcome_survives_the_idempotency_stores_json_round_trip(outcome):
    # Powertools stores the idempotent send's result as JSON and loads it back for a duplicate.
    serializer = PydanticSerializer(model=SendOutcome)
    stored = json.loads(json.dumps(serializer.to_dict(outcome)))
    loaded = serializer.from_dict(stored)
    assert loaded == outcome
    assert isinstance(loaded.state, OutboundState)


def test_an_outcome_stored_by_an_older_version_still_loads():
    # GIVEN a result stored before the outcome lost its idempotency_key field
    old = {"state": "accepted", "wamid": "w", "idempotency_key": "k"}
    # WHEN it is loaded THEN the unknown field is ignored
    assert SendOutcome.model_validate(old) == SendOutcome.accepted("w")


def test_an_unknown_state_does_not_load():
    with pytest.raises(ValidationError):
        SendOutcome.model_validate({"state": "sent"})


def test_an_outcome_is_immutable():
    outcome = SendOutcome.accepted("wamid.A")
    with pytest.raises(ValidationError):
        outcome.wamid = "wamid.B"  # type: ignore[misc]


def record(state: OutboundState | None, **fields: object) -> OutboundRecord:
    return OutboundRecord.model_validate({"idempotency_key": "k", "state": state, **fields})


@pytest.mark.parametrize("state", sorted(SETTLED), ids=str)
def test_a_settled_record_answers_with_its_own_outcome(state):
    stored = record(state, wamid="wamid.OWN", error=ERROR.model_dump(), reason="why", attempts=2)
    assert stored.outcome() == SendOutcome(state=state, wamid="wamid.OWN", error=ERROR, reason="why")


@pytest.mark.parametrize("state", [None, *sorted(OPEN)], ids=str)
def test_an_open_record_answers_nothing_the_send_is_still_to_be_done(state):
    assert record(state, error=ERROR.model_dump()).outcome() is None


@pytest.mark.parametrize("state", [None, *sorted(OPEN)], ids=str)
def test_a_status_that_named_the_document_settles_an_open_record_as_accepted(state):
    # A redrive after a lost reply: the status webhook already proved Meta has the message.
    assert record(state, confirmed_wamid="wamid.STATUS").outcome() == SendOutcome.accepted("wamid.STATUS")


def test_a_settled_records_own_outcome_wins_over_a_confirmation():
    stored = record(S.FAILED, error=ERROR.model_dump(), confirmed_wamid="wamid.STATUS")
    assert stored.outcome() == SendOutcome.failed(ERROR)


def test_a_record_ignores_fields_it_does_not_know():
    stored = OutboundRecord.model_validate({"idempotency_key": "k", "pk": "OUT#k", "sk": "OUTBOUND", "state": "failed"})
    assert (stored.idempotency_key, stored.state) == ("k", S.FAILED)


def test_a_call_that_left_no_answer_is_unconfirmed_never_sent_again():
    # An attempt wrote `sending`, called Graph and died (or failed) before recording the answer.
    assert record(S.SENDING).outcome() == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)


def test_a_status_that_named_a_call_in_flight_settles_it_as_accepted():
    assert record(S.SENDING, confirmed_wamid="wamid.STATUS").outcome() == SendOutcome.accepted("wamid.STATUS")


def test_an_invalid_documents_rejection_answers_nothing_its_key_is_free():
    stored = record(S.REJECTED, reason="invalid document: to is missing", invalid=True)
    assert stored.outcome() is None
