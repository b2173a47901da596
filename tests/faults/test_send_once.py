"""Once the Graph call for a key has started, nothing makes it run again (issue 18, point 1).

A failure is injected at each step after Graph's answer (the log line, the metric, the idempotency
record's success, each write of the outcome), and the sender is killed between the call and the
outcome's write. Every redelivery that follows makes no second Graph call; the record ends
`accepted` where the answer was kept, else `unconfirmed` until a status names the send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer

from tests.unit.outbound.test_sender import CUSTOMER, StubGraph, accepted, document, make, meta_error, stored
from wacloud.adapters.store.messages import MessageRecords
from wacloud.adapters.store.outbound import OutboundRecords
from wacloud.adapters.table import StoreError
from wacloud.models.outbound_state import ANSWER_NOT_RECORDED, SendOutcome
from wacloud.outbound import outcomes
from wacloud.outbound import sender as sender_module
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


def expire_the_lock(aws: Any) -> None:
    """The killed invocation's time has run out: Powertools may let a redelivery take the lock."""
    table = boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"])
    for item in table.scan()["Items"]:
        if item.get("status") == "INPROGRESS":
            table.update_item(
                Key={"id": item["id"]},
                UpdateExpression="SET in_progress_expiration = :past",
                ExpressionAttributeValues={":past": 1},
            )


def deliver_until_answered(send: Callable[[], SendOutcome], aws: Any, attempts: int = 4) -> SendOutcome:
    """Redeliver as SQS would until the sender answers; a lock held by a dead attempt expires."""
    for _ in range(attempts):
        try:
            return send()
        except IdempotencyAlreadyInProgressError:
            expire_the_lock(aws)
        except (Exception, Killed):  # noqa: S112 (SQS delivers it again: that is the point)
            continue
    raise AssertionError("never answered")


# (step, where the failure is injected, the outcome the record ends with: the answer kept or not)
AFTER_THE_ANSWER: list[Any] = [
    pytest.param("log", (sender_module.logger, "info"), RuntimeError("log formatter broke"), "accepted", id="log"),
    pytest.param("metric", (sender_module, "count"), RuntimeError("metric set full"), "accepted", id="metric"),
    pytest.param(
        "lock-success",
        (DynamoDBPersistenceLayer, "_update_record"),
        RuntimeError("DynamoDB unavailable"),
        "unconfirmed",
        id="idempotency-success-write",
    ),
    pytest.param(
        "outbound-write", (OutboundRecords, "record"), StoreError("throttled"), "accepted", id="outcome-write"
    ),
    pytest.param(
        "message-write",
        (MessageRecords, "record_outbound"),
        StoreError("throttled"),
        "accepted",
        id="message-record-write",
    ),
    pytest.param(
        "killed-before-lock", (DynamoDBPersistenceLayer, "_update_record"), Killed(), "unconfirmed", id="killed"
    ),
    pytest.param("killed-in-outcome", (outcomes, "record_outcome"), Killed(), "accepted", id="killed-before-outcome"),
]


@pytest.mark.parametrize(("step", "target", "error", "final"), AFTER_THE_ANSWER)
def test_a_failure_after_graphs_answer_never_sends_again(monkeypatch, aws, step, target, error, final):
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    owner, name = target
    monkeypatch.setattr(owner, name, failing_once(error)(getattr(owner, name)))
    if owner is outcomes:  # the sender holds its own reference
        monkeypatch.setattr(sender_module, "record_outcome", getattr(outcomes, name))

    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)

    assert len(graph.sent) == 1, f"{step}: Graph was called {len(graph.sent)} times"
    assert stored("k1").state == final == outcome.state
    if final == "unconfirmed":
        assert outcome == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
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
    # A bug after Graph's answer (here in building the outcome) releases Powertools' lock...
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


def test_a_failing_persistence_layer_is_not_mistaken_for_a_second_chance(monkeypatch, aws):
    # Powertools cannot record the success: its lock stays in progress, and a redelivery meanwhile
    # is told so (SQS tries again later), never sent.
    graph = StubGraph(accepted("wamid.A"))
    sender = make(graph)
    monkeypatch.setattr(
        DynamoDBPersistenceLayer,
        "_update_record",
        failing_once(RuntimeError("DynamoDB unavailable"))(DynamoDBPersistenceLayer._update_record),
    )
    with pytest.raises(IdempotencyPersistenceLayerError):
        sender.send(document("k1"), message_id="m")
    with pytest.raises(IdempotencyAlreadyInProgressError):
        sender.send(document("k1"), message_id="m")
    assert len(graph.sent) == 1
