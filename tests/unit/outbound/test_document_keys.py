"""wacloud.outbound.document_keys: an idempotency key names one document (issue 18, point 3).

A document refused as invalid saves no result; the same document again is answered from its record;
another document under a key in use is refused with the reason, recorded apart, and never changes
the key's own record."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import pytest

from tests.unit.outbound.test_sender import CUSTOMER, StubGraph, accepted, document, make, meta_error, stored
from wacloud.adapters.store import Store
from wacloud.adapters.table import Update
from wacloud.models.outbound_state import ANSWER_NOT_RECORDED, SendOutcome
from wacloud.outbound.contract import deduplication_id, parse_document
from wacloud.outbound.document_keys import MAX_NESTING, idempotency_key_of
from wacloud.outbound.sender import SendRetryableError

pytestmark = pytest.mark.usefixtures("aws")
INVALID = document("k1", to="nobody")  # breaks the contract: `to` is no phone number


def rejection(key: str, body: str) -> Any:
    return Store().rejections.get("outbound", f"{key}#{deduplication_id(body)[:16]}")


@pytest.fixture(autouse=True)
def customer_wrote(aws: Any) -> None:
    from tests.conftest import customers_wrote

    customers_wrote(CUSTOMER)


def test_a_key_refused_as_invalid_is_free_for_the_corrected_document():
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    assert sender.send(INVALID, message_id="m1").state == "rejected"
    assert stored("k1").invalid

    outcome = sender.send(document("k1"), message_id="m2")

    assert outcome == SendOutcome.accepted("wamid.A") and len(graph.sent) == 1
    record = stored("k1")
    assert (record.state, record.invalid, record.reason) == ("accepted", False, None)


def test_an_invalid_document_again_still_says_why():
    sender = make(StubGraph())
    sender.send(INVALID, message_id="m1")
    fixed_typo_still_wrong = json.dumps({"idempotency_key": "k1", "message": {"to": CUSTOMER, "type": "text"}})
    outcome = sender.send(fixed_typo_still_wrong, message_id="m2")
    assert stored("k1").reason == outcome.reason and "text" in (outcome.reason or "")


@pytest.mark.parametrize(
    ("first_answer", "state"),
    [
        pytest.param(meta_error(131000), "retrying", id="retrying"),
        pytest.param(accepted("wamid.A"), "accepted", id="accepted"),
        pytest.param(meta_error(131026), "failed", id="failed-at-meta"),
    ],
)
def test_a_malformed_duplicate_never_changes_a_valid_documents_record(first_answer, state):
    graph = StubGraph(first_answer)
    sender = make(graph)
    with contextlib.suppress(SendRetryableError):  # SQS would deliver it again
        sender.send(document("k1"), message_id="m1")
    before = stored("k1")
    assert before.state == state

    assert sender.send(INVALID, message_id="m2").state == "rejected"

    assert stored("k1") == before  # the valid document's record, untouched
    kept = rejection("k1", INVALID)
    assert kept is not None and kept.reason.startswith("invalid document: ")
    if state == "retrying":  # and the valid document is still sent when SQS delivers it again
        assert sender.send(document("k1"), message_id="m1").state == "accepted"


@pytest.mark.parametrize(
    ("first_answer", "state"),
    [
        pytest.param(accepted("wamid.A"), "accepted", id="after-acceptance"),
        pytest.param(meta_error(131026), "failed", id="after-failure-at-meta"),
        pytest.param(meta_error(131000), "retrying", id="while-the-first-is-retried"),
    ],
)
def test_another_document_under_a_used_key_is_refused_with_the_reason(first_answer, state):
    graph = StubGraph(first_answer)
    sender = make(graph)
    with contextlib.suppress(SendRetryableError):
        sender.send(document("k1"), message_id="m1")
    before = stored("k1")
    other = document("k1", message={"type": "text", "text": {"body": "a different text"}})

    outcome = sender.send(other, message_id="m2")

    assert outcome.state == "rejected"
    assert "idempotency key already used by a different document" in (outcome.reason or "")
    assert f"that one is {state}" in (outcome.reason or "")
    assert len(graph.sent) == 1  # nothing sent for it
    assert stored("k1") == before
    assert rejection("k1", other).reason == outcome.reason


def test_a_policy_refusal_keeps_its_key():
    # Not a validation failure: the send was decided (Stripe saves such results too).
    graph = StubGraph()
    sender = make(graph, template_refusal="the template has no such language")
    template = {"type": "template", "template": {"name": "order_update", "language": {"code": "xx"}}}
    assert sender.send(document("k1", message=template), message_id="m1").state == "rejected"
    again = sender.send(document("k1", message={"type": "text", "text": {"body": "x"}}), message_id="m2")
    assert "already used by a different document" in (again.reason or "") and graph.sent == []


def test_the_same_document_written_differently_is_a_duplicate_not_a_conflict():
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    body = document("k1")
    sender.send(body, message_id="m1")
    respaced = json.dumps(json.loads(body), indent=2, sort_keys=True)
    filled = parse_document(body).model_dump_json(exclude_none=True)  # as the messages API queues it

    for i, same in enumerate((respaced, filled)):
        assert sender.send(same, message_id=f"m{i + 2}") == SendOutcome.accepted("wamid.A")
        assert rejection("k1", same) is None
    assert len(graph.sent) == 1


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"idempotency_key": "order-1", "message": {}}', "order-1"),
        ('{"idempotency_key": "has space"}', None),
        ('{"idempotency_key": 7}', None),
        ("[1]", None),
        ("not json", None),
    ],
)
def test_the_key_of_an_invalid_document(body, key):
    assert idempotency_key_of(body) == key


@pytest.mark.parametrize("depth", [MAX_NESTING - 1, MAX_NESTING + 1, 400, 5_000])
def test_the_key_of_a_deeply_nested_document_is_the_same_however_deep_the_callers_stack(depth):
    nested = "[" * depth + "]" * depth
    body = f'{{"idempotency_key": "deep-1", "note": "[[[[", "message": {nested}}}'

    def read_under(frames: int) -> str | None:
        return read_under(frames - 1) if frames else idempotency_key_of(body)

    expected = "deep-1" if depth + 1 <= MAX_NESTING else None  # the document's own object counts
    assert read_under(0) == expected
    assert read_under(sys.getrecursionlimit() - 250) == expected  # a sender deep in its own calls


def test_a_key_whose_document_waits_behind_a_failure_still_names_that_document():
    # Held back before any call (its group's earlier message failed): the record already says which
    # document the key names, so another one under it is refused, and the first is sent later.
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    sender.record_held_back(document("k1"), attempt=1)
    other = document("k1", message={"type": "text", "text": {"body": "a different text"}})

    assert "already used by a different document (that one is retrying)" in (
        sender.send(other, message_id="m2").reason or ""
    )
    assert sender.send(document("k1"), message_id="m1") == SendOutcome.accepted("wamid.A")
    assert len(graph.sent) == 1


def test_defaults_written_out_are_the_same_document():
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    sender.send(document("k1"), message_id="m1")
    explicit = document("k1", schema_version=1, marketing_messages=False)
    assert sender.send(explicit, message_id="m2") == SendOutcome.accepted("wamid.A")
    assert rejection("k1", explicit) is None and len(graph.sent) == 1


@pytest.mark.parametrize(
    ("left", "answer"),
    [
        pytest.param({}, SendOutcome.accepted("wamid.A"), id="outcome-written"),
        # The previous version's outcome write had failed (only its Powertools lock knew the answer).
        pytest.param({"#s": "state"}, SendOutcome.unconfirmed(ANSWER_NOT_RECORDED), id="outcome-write-lost"),
    ],
)
def test_a_record_from_before_digests_were_kept_answers_its_document_without_a_call(left, answer):
    # Upgrading: a record without a digest cannot tell another document from this one; it answers.
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    sender.send(document("k1"), message_id="m1")
    store = Store()
    if left:
        store.table.update({"pk": "OUT#k1", "sk": "OUTBOUND"}, Update("SET #s = :s", {":s": "sending"}, left))
    store.table.update({"pk": "OUT#k1", "sk": "OUTBOUND"}, Update("REMOVE digest", {}))

    assert sender.send(document("k1"), message_id="m1") == answer
    assert len(graph.sent) == 1 and stored("k1").state == answer.state
