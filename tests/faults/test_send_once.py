"""Once the send call for a key has started, nothing makes it run again (issue 18, point 1), on both
ways out: Graph, and End User Messaging Social (`way`).

A failure is injected at each step after the answer (the log line, the metric, each write of the
outcome), and the sender is killed between the call and the outcome's write. Every redelivery
that follows makes no second call; the record ends `accepted` where the answer was kept, else
`unconfirmed` until a status names the send (an End User Messaging Social send's wamid comes with
that status either way). The outbound record is the only lock: no send touches the idempotency
table, an attempt that finds `sending` makes no call, and of two documents racing under one key
only one is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import botocore.client
import pytest

from tests.unit.outbound.test_sender import (
    CUSTOMER,
    RECEIPT,
    StubGraph,
    StubNumbers,
    accepted,
    document,
    make,
    meta_error,
    stored,
)
from wacloud.adapters.social_messaging import ServiceError
from wacloud.adapters.store import Store
from wacloud.adapters.store.messages import MessageRecords
from wacloud.adapters.store.outbound import OutboundRecords
from wacloud.adapters.table import StoreError
from wacloud.config import get_settings
from wacloud.models.graph import SendResponse
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound_state import ANSWER_NOT_RECORDED, SendOutcome
from wacloud.outbound import outcomes
from wacloud.outbound import sender as sender_module
from wacloud.outbound.contract import document_digest, parse_document
from wacloud.outbound.outcomes import confirm_send
from wacloud.outbound.sender import Sender
from wacloud.outbound.transports import EumTransport

pytestmark = pytest.mark.usefixtures("aws")
AWS_ID = "phone-number-id-0123456789abcdef0123456789abcdef"


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


@dataclass(frozen=True)
class Way:
    """One way out: a stub of its client (answers in turn, records each send) and a sender on it."""

    name: str

    @property
    def eum(self) -> bool:
        return self.name == "eum"

    def stub(self, *answers: Any) -> Any:
        # Imported here: that module imports this one's `dynamodb_calls`.
        from tests.unit.outbound.test_sender_transports import StubEum

        return StubEum(*answers) if self.eum else StubGraph(*answers)

    def sender(self, stub: Any) -> Sender:
        if not self.eum:
            return make(stub)
        # The stack's own number, carried by End User Messaging Social.
        own = NumberEntry.from_settings(get_settings())
        number = NumberEntry(own.phone_number_id, transport="eum", eum_phone_number_id=AWS_ID, default=True)
        return make(StubGraph(), numbers=StubNumbers(number), transports={"eum": EumTransport(stub)})

    def accepted(self, wamid: str) -> Any:
        """The answer of a send taken: Graph's, with the wamid; AWS's, with its own id."""
        return f"aws-{wamid}" if self.eum else accepted(wamid)

    def refused(self, code: int) -> Exception:
        """Meta's refusal, as each way relays it."""
        return ServiceError("ValidationException", 400, f"(#{code}) error {code}") if self.eum else meta_error(code)

    def receipt_answer(self) -> Any:
        return "aws-receipt" if self.eum else SendResponse(success=True)

    def dying(self, stub: Any) -> Any:
        """The stub, its request out and then the process dead before the answer came back."""
        name = "send" if self.eum else "send_message"
        original = getattr(stub, name)

        def send_then_die(*args: Any, **kwargs: Any) -> Any:
            original(*args, **kwargs)
            raise Killed

        setattr(stub, name, send_then_die)
        return stub

    def status_names(self, sender: Sender, key: str, wamid: str) -> None:
        """Meta's first status of the send (carrying our marker) gives an EUM send its wamid."""
        if self.eum:
            assert confirm_send(sender.store, key, wamid)


@pytest.fixture(params=["cloud_api", "eum"])
def way(request: pytest.FixtureRequest) -> Way:
    return Way(str(request.param))


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
def test_a_failure_after_the_answer_never_sends_again(monkeypatch, aws, way, step, target, error, final):
    if way.eum and step == "message-write":
        pytest.skip("an End User Messaging Social send's message record is written by its first status")
    stub = way.stub(way.accepted("wamid.A"))
    sender = way.sender(stub)
    owner, name = target
    monkeypatch.setattr(owner, name, failing_once(error)(getattr(owner, name)))
    if owner is outcomes and name == "record_outcome":  # the sender holds its own reference
        monkeypatch.setattr(sender_module, "record_outcome", getattr(outcomes, name))

    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)

    assert len(stub.sent) == 1, f"{step}: sent {len(stub.sent)} times"
    assert stored("k1").state == final == outcome.state
    if final == "unconfirmed":
        assert outcome == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
        # Meta had taken it: its first status (carrying our marker) settles the record.
        assert confirm_send(sender.store, "k1", "wamid.A")
    else:
        way.status_names(sender, "k1", "wamid.A")
    assert (stored("k1").state, stored("k1").wamid) == ("accepted", "wamid.A")
    # Either way, more redeliveries call nothing.
    deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)
    assert len(stub.sent) == 1


def test_killed_between_the_call_and_its_answer_is_unconfirmed_then_confirmed_by_a_status(aws, way):
    stub = way.dying(way.stub())
    sender = way.sender(stub)
    with pytest.raises(Killed):
        sender.send(document("k1"), message_id="m")
    assert stored("k1").state == "sending"

    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)

    assert len(stub.sent) == 1
    assert outcome.state == "unconfirmed" and stored("k1").state == "unconfirmed"
    # Meta had taken it: its first status (carrying our marker) settles the record, which still says
    # how the send left (written with `sending`, before the call).
    assert confirm_send(sender.store, "k1", "wamid.LATE")
    record = stored("k1")
    assert (record.state, record.wamid, record.transport) == ("accepted", "wamid.LATE", "eum" if way.eum else None)


def test_an_unexpected_error_after_the_call_leaves_the_send_unconfirmed_not_retried(aws, way):
    stub = way.stub(way.accepted("wamid.A"))
    sender = way.sender(stub)
    # A bug after the answer (here in building the outcome): SQS delivers the document again...
    original = SendOutcome.accepted
    calls = {"n": 0}

    def broken(wamid: str | None, **kwargs: Any) -> SendOutcome:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("bug")
        return original(wamid, **kwargs)

    sender_module.SendOutcome.accepted = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(ValueError, match="bug"):
            sender.send(document("k1"), message_id="m")
        # ...but `sending` is on the record: the redelivery makes no call.
        outcome = sender.send(document("k1"), message_id="m")
    finally:
        sender_module.SendOutcome.accepted = original  # type: ignore[method-assign]
    assert len(stub.sent) == 1
    assert outcome == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)


def test_metas_refusal_after_sending_is_retried_and_sent_once(aws, way):
    stub = way.stub(way.refused(131000))  # transient: Meta did not take it
    sender = way.sender(stub)
    with pytest.raises(sender_module.SendRetryableError):
        sender.send(document("k1"), message_id="m")
    assert stored("k1").state == "retrying"

    assert sender.send(document("k1"), message_id="m").state == "accepted"
    assert len(stub.sent) == 2  # the refused call and the one that went through


def test_another_attempts_bookkeeping_never_reopens_a_call_in_flight(aws, way):
    stub = way.dying(way.stub())
    sender = way.sender(stub)
    with pytest.raises(Killed):
        sender.send(document("k1"), message_id="m")
    # A later delivery held back behind another failure, or stopped before its call (no time left),
    # writes `retrying`: never over the dead attempt's `sending`.
    sender.record_held_back(document("k1"), attempt=2)
    assert stored("k1").state == "sending"

    stub.answers = [way.accepted("wamid.B")]
    outcome = deliver_until_answered(lambda: sender.send(document("k1"), message_id="m"), aws)
    assert outcome.state == "unconfirmed" and len(stub.sent) == 1


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


@pytest.mark.parametrize("answers", [["accepted"], ["refused", "accepted"], ["failed"]], ids=str)
def test_no_send_calls_the_idempotency_table(monkeypatch, aws, way, answers):
    made = {"accepted": way.accepted("wamid.A"), "refused": way.refused(131000), "failed": way.refused(131026)}
    stub = way.stub(*(made[answer] for answer in answers), way.receipt_answer())
    sender = way.sender(stub)
    calls = dynamodb_calls(monkeypatch)
    for body in (document("k1"), document("k1"), RECEIPT):  # the second: a redelivery
        deliver_until_answered(lambda body=body: sender.send(body, message_id="m"), aws)
    assert calls and [c for c in calls if c[1] == aws.table_names["IdempotencyTable"]] == []


def test_what_an_accepted_send_costs_in_dynamodb_calls(monkeypatch, aws, way):
    # One read (the record, the contact, a template's changes), the rate's turn, `sending`, the
    # outcome, the message record (an End User Messaging Social send's comes with its first status):
    # none on the idempotency table.
    sender = way.sender(way.stub(way.accepted("wamid.A")))
    # A stopped clock: on a loaded machine a reservation could lapse before its use and be made again.
    sender.rate = sender_module.SendRateLimiter(
        counters=sender.store.rate_counters, rate_per_second=80, clock=lambda: 1_800_000_000.0
    )
    calls = dynamodb_calls(monkeypatch)
    sender.send(document("k1"), message_id="m")
    assert [operation for operation, _ in calls] == ["BatchGetItem", "UpdateItem", "UpdateItem", "UpdateItem"] + (
        [] if way.eum else ["UpdateItem"]
    )


def test_an_attempt_that_finds_sending_never_calls(aws, way):
    # Another attempt holds `sending` (it died, or its call is still out): no call, `unconfirmed`.
    body = document("k1")
    parsed = parse_document(body)
    Store().outbound.mark_sending(parsed, "1", owner="another attempt", digest=document_digest(parsed))
    stub = way.stub(way.accepted("wamid.A"))
    assert way.sender(stub).send(body, message_id="m") == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
    assert stub.sent == []


def test_an_attempt_that_loses_mark_sending_never_calls(aws, way):
    # Another attempt marks `sending` between this one's read and its own `mark_sending`.
    body = document("k1")
    parsed = parse_document(body)
    stub = way.stub(way.accepted("wamid.A"))
    sender = way.sender(stub)
    sender.rate.acquire = lambda *_, **__: Store().outbound.mark_sending(  # type: ignore[method-assign]
        parsed, "1", owner="another attempt", digest=document_digest(parsed)
    )
    with pytest.raises(sender_module.SendRetryableError):
        sender.send(body, message_id="m")
    assert stub.sent == []
    assert stored("k1").state == "sending"  # the other attempt's, untouched


@pytest.mark.parametrize("first_answer", ["accepted", "retrying"])
def test_two_documents_racing_under_one_key_are_not_both_sent(aws, way, first_answer):
    # Document A reads no record; before it marks `sending`, document B (same key) is handled.
    a, b = document("k1"), document("k1", message={"type": "text", "text": {"body": "B"}})
    stub = way.stub(way.accepted("wamid.B") if first_answer == "accepted" else way.refused(131000))
    sender = way.sender(stub)

    def b_goes_first(*_: Any, **__: Any) -> None:
        sender.rate.acquire = lambda *_, **__: None  # type: ignore[method-assign]
        with contextlib.suppress(sender_module.SendRetryableError):
            sender.send(b, message_id="mb")

    sender.rate.acquire = b_goes_first  # type: ignore[method-assign]
    with pytest.raises(sender_module.SendRetryableError):  # A's `mark_sending` finds B's record
        sender.send(a, message_id="ma")
    refused = sender.send(a, message_id="ma")  # A delivered again: refused by digest
    assert "already used by a different document" in (refused.reason or "")
    assert sender.send(b, message_id="mb").state == "accepted"  # B (retried if it was refused) goes
    assert [sent[1]["text"]["body"] for sent in stub.sent] == ["B"] * len(stub.sent)


def test_a_failed_read_receipt_records_why(aws, way):
    stub = way.stub(way.refused(131026))
    assert way.sender(stub).send(RECEIPT, message_id="m").state == "failed"
    record = stored("read:wamid.IN")
    assert (record.state, record.error.code) == ("failed", 131026)  # type: ignore[union-attr]
