"""Once the Graph call for a key has started, nothing makes it run again (issue 18, point 1).

A failure is injected at each step after Graph's answer (the log line, the metric, each write of
the outcome), and the sender is killed between the call and the outcome's write. Every redelivery
that follows makes no second Graph call; the record ends `accepted` where the answer was kept, else
`unconfirmed` until a status names the send. The outbound record is the only lock: no send touches
the idempotency table, an attempt that finds `sending` makes no call, and of two documents racing
under one key only one is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import botocore.client
import pytest

from tests.unit.outbound.test_sender import (
    CUSTOMER,
    RECEIPT,
    StubGraph,
    accepted,
    document,
    make,
    meta_error,
    stored,
)
from wacloud.adapters.store import Store
from wacloud.adapters.store.messages import MessageRecords
from wacloud.adapters.store.outbound import OutboundRecords
from wacloud.adapters.table import StoreError
from wacloud.models.graph import SendResponse
from wacloud.models.outbound_state import ANSWER_NOT_RECORDED, SendOutcome
from wacloud.outbound import outcomes
from wacloud.outbound import sender as sender_module
from wacloud.outbound.contract import document_digest, parse_document
from wacloud.outbound.outcomes import confirm_send

pytestmark = pytest.mark.usefixtures("aws")


class Killed(BaseException):
    """The process dies here (a timeout, out of memory): no `except Exception` runs."""


def failing_once(error: BaseException) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        state = {"failed": False}

        def replacement(*args: Any, **kwargs: Any) -> Any:
            if not state["failed"]:
                state["failed"] = True
                raise error
            return original(*args, **kwargs)

        return replacement

    return wrap


@pytest.fixture(autouse=True)
def customer_wrote(aws: Any) -> Iterator[None]:
    from tests.conftest import customers_wrote

    customers_wrote(CUSTOMER)
    yield


def deliver_until_answered(send: Callable[[], SendOutcome], aws: Any, attempts: int = 4) -> SendOutcome:
    """Redeliver as SQS would until the sender answers."""
    for _ in range(attempts):
        try:
            return send()
        except (Exception, Killed):  # noqa: S112 (SQS delivers it again: that is the point)
            continue
    raise AssertionError("never answered")


# (step, where the failure is injected, the outcome the record ends with: the answer kept or not)
AFTER_THE_ANSWER: list[Any] = [
    pytest.param("log", (outcomes.logger, "info"), RuntimeError("log formatter broke"), "accepted", id="log"),
    pytest.param("metric", (outcomes, "count"), RuntimeError("metric set full"), "accepted", id="metric"),
    # Not retried in-process (botocore tried 10 times already): the redelivery finds `sending`.
    pytest.param(
        "outbound-write", (OutboundRecords, "record"), StoreError("throttled"), "unconfirmed", id="outcome-write"
    ),
    pytest.param(
        "message-write",
        (MessageRecords, "record_outbound"),
        StoreError("throttled"),
        "accepted",
        id="message-record-write",
    ),
    pytest.param(
        "killed-in-outcome", (outcomes, "record_outcome"), Killed(), "unconfirmed", id="killed-before-outcome"
    ),
]


@pytest.mark.parametrize(("step", "target", "error", "final"), AFTER_THE_ANSWER)
def test_a_failure_after_graphs_answer_never_sends_again(monkeypatch, aws, step, target, error, final):
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    owner, name = target
    monkeypatch.setattr(owner, name, failing_once(error)(getattr(owner, name)))
    if owner is outcomes and name == "record_outcome":  # the sender holds its own reference
        monkeypatch.setattr(sender_module, "record_outcome", getattr(outcomes, name))

    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)

    assert len(graph.sent) == 1, f"{step}: Graph was called {len(graph.sent)} times"
    assert stored("k1").state == final == outcome.state
    if final == "unconfirmed":
        assert outcome == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
        # Meta had taken it: its first status (carrying our marker) settles the record.
        assert confirm_send(sender.store, "k1", "wamid.A")
    assert (stored("k1").state, stored("k1").wamid) == ("accepted", "wamid.A")
    # Either way, more redeliveries call nothing.
    deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)
    assert len(graph.sent) == 1


def test_killed_between_the_call_and_its_answer_is_unconfirmed_then_confirmed_by_a_status(aws):
    class DyingGraph(StubGraph):
        def send_message(self, *args: Any, **kwargs: Any) -> Any:
            super().send_message(*args, **kwargs)
            raise Killed  # the request went out; the process died before the answer came back

    graph = DyingGraph()
    sender = make(graph)
    with pytest.raises(Killed):
        sender.send(document("k1"), message_id="m")
    assert stored("k1").state == "sending"

    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)

    assert len(graph.sent) == 1
    assert outcome.state == "unconfirmed" and stored("k1").state == "unconfirmed"
    # Meta had taken it: its first status (carrying our marker) settles the record.
    assert confirm_send(sender.store, "k1", "wamid.LATE")
    assert (stored("k1").state, stored("k1").wamid) == ("accepted", "wamid.LATE")


def test_an_unexpected_error_after_the_call_leaves_the_send_unconfirmed_not_retried(aws):
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    # A bug after Graph's answer (here in building the outcome): SQS delivers the document again...
    original = SendOutcome.accepted
    calls = {"n": 0}

    def broken(wamid: str | None) -> SendOutcome:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("bug")
        return original(wamid)

    sender_module.SendOutcome.accepted = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(ValueError, match="bug"):
            sender.send(document("k1"), message_id="m")
        # ...but `sending` is on the record: the redelivery makes no call.
        outcome = sender.send(document("k1"), message_id="m")
    finally:
        sender_module.SendOutcome.accepted = original  # type: ignore[method-assign]
    assert len(graph.sent) == 1
    assert outcome == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)


def test_graphs_refusal_after_sending_is_retried_and_sent_once(aws):
    graph = StubGraph(meta_error(131000))  # transient: Graph did not take it
    sender = make(graph)
    with pytest.raises(sender_module.SendRetryableError):
        sender.send(document("k1"), message_id="m")
    assert stored("k1").state == "retrying"

    assert sender.send(document("k1"), message_id="m").state == "accepted"
    assert len(graph.sent) == 2  # the refused call and the one that went through


def test_another_attempts_bookkeeping_never_reopens_a_call_in_flight(aws):
    class DyingGraph(StubGraph):
        def send_message(self, *args: Any, **kwargs: Any) -> Any:
            super().send_message(*args, **kwargs)
            raise Killed

    graph = DyingGraph()
    sender = make(graph)
    with pytest.raises(Killed):
        sender.send(document("k1"), message_id="m")
    # A later delivery held back behind another failure, or stopped before its call (no time left),
    # writes `retrying`: never over the dead attempt's `sending`.
    sender.record_held_back(document("k1"), attempt=2)
    assert stored("k1").state == "sending"

    graph.answers = [accepted("wamid.B")]
    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)
    assert outcome.state == "unconfirmed" and len(graph.sent) == 1


def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every DynamoDB call from now on, by any client: (operation, table)."""
    calls: list[tuple[str, str]] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            tables = [params["TableName"]] if "TableName" in params else list(params.get("RequestItems", {}))
            calls.extend((operation, table) for table in tables)
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls


@pytest.mark.parametrize(
    "answers",
    [[accepted("wamid.A")], [meta_error(131000), accepted("wamid.A")], [meta_error(131026)]],
    ids=["accepted", "retried", "failed"],
)
def test_no_send_calls_the_idempotency_table(monkeypatch, aws, answers):
    graph = StubGraph(*answers, SendResponse(success=True))
    sender = make(graph)
    calls = dynamodb_calls(monkeypatch)
    for body in (document("k1"), document("k1"), RECEIPT):  # the second: a redelivery
        deliver_until_answered(lambda body=body: sender.send(body, message_id="m"), aws)
    assert calls and [c for c in calls if c[1] == aws.table_names["IdempotencyTable"]] == []


def test_what_an_accepted_send_costs_in_dynamodb_calls(monkeypatch, aws):
    # One read (the record, the contact, a template's changes), the rate's turn, `sending`, the
    # outcome, the message record: none on the idempotency table.
    sender = make(StubGraph(accepted("wamid.A")))
    sender.rate = sender_module.SendRateLimiter(counters=sender.store.rate_counters, rate_per_second=80)
    calls = dynamodb_calls(monkeypatch)
    sender.send(document("k1"), message_id="m")
    assert [operation for operation, _ in calls] == [
        "BatchGetItem",
        "UpdateItem",
        "UpdateItem",
        "UpdateItem",
        "UpdateItem",
    ]


def test_an_attempt_that_finds_sending_never_calls_graph(aws):
    # Another attempt holds `sending` (it died, or its call is still out): no call, `unconfirmed`.
    body = document("k1")
    parsed = parse_document(body)
    Store().outbound.mark_sending(parsed, "1", owner="another attempt", digest=document_digest(parsed))
    graph = StubGraph(accepted("wamid.A"))
    assert make(graph).send(body, message_id="m") == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
    assert graph.sent == []


def test_an_attempt_that_loses_mark_sending_never_calls_graph(aws):
    # Another attempt marks `sending` between this one's read and its own `mark_sending`.
    body = document("k1")
    parsed = parse_document(body)
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    sender.rate.acquire = lambda *_, **__: Store().outbound.mark_sending(  # type: ignore[method-assign]
        parsed, "1", owner="another attempt", digest=document_digest(parsed)
    )
    with pytest.raises(sender_module.SendRetryableError):
        sender.send(body, message_id="m")
    assert graph.sent == []
    assert stored("k1").state == "sending"  # the other attempt's, untouched


@pytest.mark.parametrize("first_answer", [accepted("wamid.B"), meta_error(131000)], ids=["accepted", "retrying"])
def test_two_documents_racing_under_one_key_are_not_both_sent(aws, first_answer):
    # Document A reads no record; before it marks `sending`, document B (same key) is handled.
    a, b = document("k1"), document("k1", message={"type": "text", "text": {"body": "B"}})
    graph = StubGraph(first_answer)
    sender = make(graph)

    def b_goes_first(*_: Any, **__: Any) -> None:
        sender.rate.acquire = lambda *_, **__: None  # type: ignore[method-assign]
        with contextlib.suppress(sender_module.SendRetryableError):
            sender.send(b, message_id="mb")

    sender.rate.acquire = b_goes_first  # type: ignore[method-assign]
    with pytest.raises(sender_module.SendRetryableError):  # A's `mark_sending` finds B's record
        sender.send(a, message_id="ma")
    refused = sender.send(a, message_id="ma")  # A delivered again: refused by digest
    assert "already used by a different document" in (refused.reason or "")
    if first_answer.__class__ is not SendResponse:
        assert sender.send(b, message_id="mb").state == "accepted"  # B, retried, still goes
    assert [body["text"]["body"] for _, body, _ in graph.sent] == ["B"] * len(graph.sent)


def test_a_failed_read_receipt_records_why(aws):
    graph = StubGraph(meta_error(131026))
    assert make(graph).send(RECEIPT, message_id="m").state == "failed"
    record = stored("read:wamid.IN")
    assert (record.state, record.error.code) == ("failed", 131026)  # type: ignore[union-attr]
