"""wacloud.outbound.sender with several numbers: each document goes out of its number through that
number's transport, a number the stack does not serve is rejected before any call, each number
keeps its own send rate, and an End User Messaging Social send is accepted without a wamid until its
first status (carrying the confirmation marker) gives it one."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from tests.conftest import customers_wrote, message_event
from tests.faults.test_send_once import dynamodb_calls
from tests.unit.outbound.test_sender import (
    CUSTOMER,
    IMAGE,
    StubGraph,
    StubMedia,
    StubNumbers,
    StubRate,
    accepted,
    document,
    make,
    stored,
)
from wacloud.adapters.credentials import credential
from wacloud.adapters.graph import GraphTransportError
from wacloud.adapters.social_messaging import SEND_TIMEOUT, ServiceError
from wacloud.adapters.store import Store
from wacloud.config import get_settings
from wacloud.models.confirmation_marker import confirmed_key
from wacloud.models.number_entry import NumberEntry
from wacloud.outbound.outcomes import confirm_send
from wacloud.outbound.send_rate import SendRateLimiter
from wacloud.outbound.sender import SendRetryableError
from wacloud.outbound.transports import EumTransport

pytestmark = pytest.mark.usefixtures("aws")
EUM_ID = "phone-number-id-0123456789abcdef0123456789abcdef"
# Its window is not checked here: windows are per number (tests/unit/outbound/test_policy.py).
EUM_NUMBER = NumberEntry("100000000000002", transport="eum", eum_phone_number_id=EUM_ID, window_policy="off")


class StubEum:
    """End User Messaging Social's client: answers sends from `answers` (an exception is raised),
    then with AWS message ids; records what was sent and which boto3 clients were made."""

    timeout = SEND_TIMEOUT

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.uploads: list[tuple[str, str, str]] = []
        self.made: list[str] = []

    @property
    def send_client(self) -> object:
        self.made.append("send")
        return object()

    @property
    def media_client(self) -> object:
        self.made.append("media")
        return object()

    def send(self, entry: NumberEntry, body: dict[str, Any]) -> str:
        self.sent.append((entry.phone_number_id, copy.deepcopy(body)))
        answer = self.answers.pop(0) if self.answers else f"aws-{len(self.sent)}"
        if isinstance(answer, Exception):
            raise answer
        return answer

    def post_media(self, entry: NumberEntry, bucket: str, key: str) -> str:
        self.uploads.append((entry.phone_number_id, bucket, key))
        return "media.EUM"


@pytest.fixture(autouse=True)
def customer_wrote_to_the_stacks_number(aws: Any) -> None:
    customers_wrote(CUSTOMER)


def numbers(*more: NumberEntry) -> StubNumbers:
    return StubNumbers(NumberEntry.from_settings(get_settings()), *more)


def on_both(eum: StubEum, graph: StubGraph | None = None, **kwargs: Any) -> Any:
    return make(graph or StubGraph(), numbers=numbers(EUM_NUMBER), transports={"eum": EumTransport(eum)}, **kwargs)


def test_a_number_the_stack_does_not_serve_is_rejected_with_the_reason_before_any_call() -> None:
    graph = StubGraph()
    sender = make(graph)

    outcome = sender.send(document(phone_number_id="5550001"), message_id="m")

    reason = "phone_number_id 5550001 is not a number this stack serves (wacloud numbers list)"
    assert (outcome.state, outcome.reason) == ("rejected", reason)
    record = stored("k1")
    assert (record.state, record.reason, record.phone_number_id) == ("rejected", reason, "5550001")
    assert graph.sent == [] and sender.rate.numbers == []


def test_a_document_naming_no_number_goes_out_of_the_registrys_default() -> None:
    graph = StubGraph()
    own = dataclasses.replace(NumberEntry.from_settings(get_settings()), default=False)
    sender = make(graph, numbers=StubNumbers(own, NumberEntry("777", default=True, window_policy="off")))

    sender.send(document(), message_id="m")

    assert graph.sent[0][0] == "777" and stored("k1").phone_number_id == "777"


def test_an_eum_number_sends_through_end_user_messaging_social_and_is_accepted_without_a_wamid() -> None:
    graph, eum = StubGraph(), StubEum("aws-message-1")
    sender = on_both(eum, graph)

    outcome = sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id, client_reference="c1"), message_id="m")

    assert graph.sent == [] and [number for number, _ in eum.sent] == [EUM_NUMBER.phone_number_id]
    body = eum.sent[0][1]
    assert body["to"] == CUSTOMER and confirmed_key(body["biz_opaque_callback_data"], credential("app_secret")) == "k1"
    assert (outcome.state, outcome.wamid, outcome.transport_message_id) == ("accepted", None, "aws-message-1")
    record = stored("k1")
    assert (record.state, record.wamid, record.transport, record.transport_message_id) == (
        "accepted",
        None,
        "eum",
        "aws-message-1",
    )
    assert sender.rate.numbers == [EUM_NUMBER.phone_number_id]


def test_the_first_status_gives_an_eum_send_its_wamid_and_its_message_record() -> None:
    sender = on_both(StubEum("aws-message-1"))
    sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id, client_reference="c1"), message_id="m")
    store = Store()
    assert store.messages.get("wamid.EUM") is None  # AWS named no wamid: no message record yet

    assert confirm_send(store, "k1", "wamid.EUM")

    record = stored("k1")
    assert (record.state, record.wamid, record.transport_message_id) == ("accepted", "wamid.EUM", "aws-message-1")
    message = store.messages.get("wamid.EUM")
    assert message is not None
    assert (message.idempotency_key, message.phone_number_id, message.type) == (
        "k1",
        EUM_NUMBER.phone_number_id,
        "text",
    )
    assert (message.direction, message.client_ref, message.customer) == ("out", "c1", CUSTOMER.lstrip("+"))
    # A redelivered document is answered from the record: no second send.
    again = sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id, client_reference="c1"), message_id="m")
    assert (again.state, again.wamid) == ("accepted", "wamid.EUM")


def test_a_status_that_wins_the_race_against_the_eum_answer_settles_it_with_its_wamid() -> None:
    # The status arrives while the send is `sending`: it leaves its wamid on the record first.
    class StatusFirst(StubEum):
        def send(self, entry: NumberEntry, body: dict[str, Any]) -> str:
            Store().outbound.note_confirmation("k1", "wamid.EARLY")
            return super().send(entry, body)

    on_both(StatusFirst()).send(document(phone_number_id=EUM_NUMBER.phone_number_id), message_id="m")

    assert (stored("k1").state, stored("k1").wamid) == ("accepted", "wamid.EARLY")
    message = Store().messages.get("wamid.EARLY")
    assert message is not None and message.idempotency_key == "k1"


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (ServiceError("ThrottledRequestException", 429, "Rate exceeded"), "retrying"),
        (ServiceError("ValidationException", 400, "(#131047) Re-engagement message"), "failed"),
        (ServiceError("AccessDeniedException", 403, "not authorized"), "retrying"),
        (GraphTransportError("read timeout", maybe_sent=False), "retrying"),
    ],
)
def test_awss_answers_decide_as_graphs_do(error: Exception, state: str) -> None:
    sender = on_both(StubEum(error))
    if state == "failed":
        outcome = sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id), message_id="m")
        assert outcome.error is not None and outcome.error.code == 131047
    else:
        with pytest.raises(SendRetryableError):
            sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id), message_id="m")
    assert stored("k1").state == state


def test_a_lost_eum_answer_is_unconfirmed_never_sent_again_and_confirmed_by_its_status() -> None:
    eum = StubEum(GraphTransportError("connection closed", maybe_sent=True))
    sender = on_both(eum)

    outcome = sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id), message_id="m")
    again = sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id), message_id="m")

    assert outcome.state == again.state == "unconfirmed" and len(eum.sent) == 1
    assert confirm_send(Store(), "k1", "wamid.LATE")
    assert (stored("k1").state, stored("k1").wamid) == ("accepted", "wamid.LATE")


def test_media_goes_up_through_the_numbers_own_transport() -> None:
    media = StubMedia(reused=False)
    sender = on_both(StubEum(), media=media)
    seen: list[str] = []
    resolve = media.resolve

    def spying(body: dict[str, Any], **kwargs: Any) -> Any:
        seen.append(kwargs["transport"].name)
        return resolve(body, **kwargs)

    media.resolve = spying  # type: ignore[method-assign]
    sender.send(document("k-eum", phone_number_id=EUM_NUMBER.phone_number_id, message=IMAGE), message_id="m1")
    sender.send(document("k-cloud", message=IMAGE), message_id="m2")
    assert seen == ["eum", "cloud_api"]


def test_each_number_takes_its_turn_in_its_own_rate() -> None:
    made: dict[float, StubRate] = {}
    slow = dataclasses.replace(EUM_NUMBER, send_rate_per_second=2.0)
    sender = make(StubGraph(), numbers=numbers(slow), transports={"eum": EumTransport(StubEum())})
    sender.rate_for = lambda rate: made.setdefault(rate, StubRate(rate))

    sender.send(document("k1", phone_number_id=slow.phone_number_id), message_id="m1")
    sender.send(document("k2"), message_id="m2")

    assert made[2.0].numbers == [slow.phone_number_id] and list(made) == [2.0]
    assert sender.rate.numbers == [get_settings().phone_number_id]  # the stack's rate for the others


def test_only_the_transports_the_numbers_use_are_warmed() -> None:
    eum = StubEum()
    make(StubGraph(), transports={"eum": EumTransport(eum)}, start=False).start_invocation(may_name_bucket_objects=True)
    assert eum.made == []  # a Cloud API stack makes no End User Messaging Social client
    on_both(eum, start=False).start_invocation(may_name_bucket_objects=False)
    assert eum.made == ["send"]


def test_an_eum_send_costs_four_dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Cloud API's five (tests/faults/test_send_once.py) but the message record: its status writes it.
    sender = on_both(StubEum())
    # A stopped clock: on a loaded machine a reservation could lapse before its use and be made again.
    sender.rate = SendRateLimiter(counters=sender.store.rate_counters, rate_per_second=80, clock=lambda: 1.8e9)
    calls = dynamodb_calls(monkeypatch)
    sender.send(document(phone_number_id=EUM_NUMBER.phone_number_id), message_id="m")
    assert [operation for operation, _ in calls] == ["BatchGetItem", "UpdateItem", "UpdateItem", "UpdateItem"]


def test_graph_still_answers_with_its_wamid() -> None:
    graph = StubGraph(accepted("wamid.G"))
    outcome = on_both(StubEum(), graph).send(document(), message_id="m")
    assert (outcome.state, outcome.wamid, outcome.transport) == ("accepted", "wamid.G", None)


def test_each_number_has_its_own_window_with_the_customer() -> None:
    # GIVEN the customer wrote to the stack's number only, and the second number checks its window
    second = dataclasses.replace(EUM_NUMBER, window_policy="enforce")
    eum = StubEum()
    sender = make(StubGraph(), numbers=numbers(second), transports={"eum": EumTransport(eum)})

    # THEN a text from the second number is refused before any call, as Meta would refuse it (131047)
    refused = sender.send(document("k1", phone_number_id=second.phone_number_id), message_id="m1")
    assert refused.state == "rejected" and "has not written to this number" in (refused.reason or "")
    assert eum.sent == []

    # AND once the customer writes to it, it may answer
    Store().customers.upsert(message_event("hi", sender=CUSTOMER.lstrip("+")), second)
    assert sender.send(document("k2", phone_number_id=second.phone_number_id), message_id="m2").state == "accepted"
