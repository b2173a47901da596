"""wacloud.outbound.sender: one document, at most one completed Graph call, its outcome recorded (the
Sender class with a stub Graph client, media uploader, template catalog and rate; moto for the store)."""

from __future__ import annotations

import copy
import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from tests.conftest import GRAPH_URL, PHONE_NUMBER_ID, customers_wrote
from wacloud.adapters.credentials import credential
from wacloud.adapters.graph import DEFAULT_TIMEOUT, GraphError, GraphTransportError
from wacloud.adapters.store import Store
from wacloud.config import DEFAULT_GRAPH_API_VERSION, Settings, get_settings
from wacloud.errors import ConfigurationError, WacloudError
from wacloud.local.lambda_context import LocalContext
from wacloud.models.confirmation_marker import confirmed_key, split
from wacloud.models.graph import GraphErrorBody, SendResponse
from wacloud.models.identity import CustomerIdentity
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound_state import SendOutcome
from wacloud.models.records import ErrorInfo
from wacloud.outbound.contract import parse_document
from wacloud.outbound.media_upload import MediaRejectedError, ResolvedBody
from wacloud.outbound.sender import Sender, SendRetryableError, build_sender, get_sender
from wacloud.outbound.transports import EumTransport, GraphClients, GraphTransport
from wacloud.runtime import metrics as runtime_metrics
from wacloud.runtime.deadline import Deadline, NotEnoughTimeError

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "+16505551234"
NO_NUMBER = Settings(phone_number_id="")  # none configured for the stack
RECEIPT = json.dumps({"idempotency_key": "read:wamid.IN", "message": {"status": "read", "message_id": "wamid.IN"}})


class StubGraph:
    """Answers sends from `answers` in turn (an exception is raised), then accepts; records each send."""

    timeout, session, base_url, api_version = DEFAULT_TIMEOUT, object(), GRAPH_URL, DEFAULT_GRAPH_API_VERSION

    def __init__(
        self, *answers: SendResponse | Exception, token_error: Exception | None = None, refused_tokens: int = 0
    ) -> None:
        self.answers, self.token_error = list(answers), token_error
        self.refused_tokens = refused_tokens  # sends Graph refuses the cached token for (then a fresh one)
        self.sent: list[tuple[str, dict[str, Any], Deadline]] = []
        self.endpoints: list[str] = []

    def token(self, *, fresh: bool = False) -> str:
        if self.token_error is not None:
            raise self.token_error
        return "token"

    def send_message(
        self,
        phone_number_id: str,
        body: dict[str, Any],
        *,
        deadline: Deadline,
        before_retry: Any = None,
        endpoint: str = "messages",
    ) -> SendResponse:
        self.endpoints.append(endpoint)
        if self.refused_tokens:  # as the real client does: a fresh token, the caller's checks, once more
            self.refused_tokens -= 1
            before_retry()
        self.sent.append((phone_number_id, copy.deepcopy(body), deadline))
        answer = self.answers.pop(0) if self.answers else accepted(f"wamid.{len(self.sent)}")
        if isinstance(answer, Exception):
            raise answer
        return answer


class StubMedia:
    """Resolves an image's `s3_key` to an earlier upload's id (`reused`), and to a new one on a re-upload."""

    def __init__(self, *, reused: bool = True, sticky: bool = False, error: Exception | None = None) -> None:
        self.bucket: Any = None
        self.reused, self.sticky, self.error = reused, sticky, error  # sticky: a re-upload still says reused
        self.reuploads: list[bool] = []

    def resolve(self, body: dict[str, Any], *, number: Any, transport: Any, deadline: Deadline, reupload: bool) -> Any:
        self.reuploads.append(reupload)
        if self.error is not None:
            raise self.error
        ready = copy.deepcopy(body)
        del ready["image"]["s3_key"]
        ready["image"]["id"] = media_id = "media.NEW" if reupload or not self.reused else "media.OLD"
        return ResolvedBody(ready, [media_id] if self.reused and (self.sticky or not reupload) else [])


class StubRate:
    def __init__(self, rate: float = 80.0) -> None:
        self.rate = rate
        self.numbers: list[str] = []

    def acquire(self, phone_number_id: str, *, before_wait: Any = None) -> None:
        self.numbers.append(phone_number_id)


def accepted(wamid: str) -> SendResponse:
    return SendResponse.model_validate({"messaging_product": "whatsapp", "messages": [{"id": wamid}]})


def meta_error(code: int) -> GraphError:
    return GraphError(400, GraphErrorBody(code=code, message=f"error {code}", fbtrace_id="TRACE"))


class StubNumbers:
    """The registry: the numbers given, the default the one marked so (else the first)."""

    def __init__(self, *numbers: NumberEntry) -> None:
        self.numbers = {number.phone_number_id: number for number in numbers}

    def get(self, phone_number_id: str) -> NumberEntry | None:
        return self.numbers.get(phone_number_id)

    def default(self) -> NumberEntry | None:
        marked = [number for number in self.numbers.values() if number.default]
        return (marked or list(self.numbers.values()) or [None])[0]

    def entries(self) -> list[NumberEntry]:
        return list(self.numbers.values())


def make(
    graph: StubGraph,
    *,
    settings=None,
    media=None,
    template_refusal=None,
    category=None,
    start=True,
    numbers=None,
    transports=None,
) -> Sender:
    """A sender on the stubs (its rate a `StubRate`; its templates all of `category`; its numbers the
    stack's own unless given), started as the batch starts it, on moto's store."""
    settings = settings or get_settings()
    own = [NumberEntry.from_settings(settings)] if settings.phone_number_id else []
    sender = Sender(
        store=Store(),
        transports={"cloud_api": GraphTransport(GraphClients(graph, settings)), **(transports or {})},  # type: ignore[arg-type]
        numbers=numbers or StubNumbers(*own),  # type: ignore[arg-type]
        settings=settings,
        media=media or StubMedia(),  # type: ignore[arg-type]
        templates=SimpleNamespace(  # type: ignore[arg-type]
            refusal=lambda template, **_: template_refusal,
            definition=lambda name, language: SimpleNamespace(category=category) if category else None,
        ),
        rate=StubRate(),  # type: ignore[arg-type]
    )
    if start:  # as the batch does, on the handler's thread
        sender.start_invocation(may_name_bucket_objects=True)
    return sender


def document(key: str = "k1", *, to: str = CUSTOMER, message: dict[str, Any] | None = None, **envelope: Any) -> str:
    body = message or {"type": "text", "text": {"body": "hello"}}
    return json.dumps({"idempotency_key": key, **envelope, "message": {"to": to, **body}})


def stored(key: str) -> Any:
    record = Store().outbound.get(key)
    assert record is not None, f"no outbound record {key}"
    return record


def idempotency_items(aws: Any) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"]).scan()["Items"]


@pytest.fixture(autouse=True)
def customer_in_their_window(aws):
    customers_wrote(CUSTOMER)


def test_an_accepted_send_is_recorded_with_its_message():
    graph = StubGraph(accepted("wamid.A"))
    deadline = Deadline(LocalContext(function_name="sender", timeout_seconds=60))
    sender = make(graph)

    outcome = sender.send(document(client_reference="c1"), message_id="m", deadline=deadline)

    assert outcome == SendOutcome.accepted("wamid.A")
    assert [(number, body["to"]) for number, body, _ in graph.sent] == [(PHONE_NUMBER_ID, CUSTOMER)]
    assert graph.sent[0][2] is deadline  # no Graph call may outlive the invocation
    # Its statuses will name it, with a marker only the sender can make.
    assert confirmed_key(graph.sent[0][1]["biz_opaque_callback_data"], credential("app_secret")) == "k1"
    assert sender.rate.numbers == [PHONE_NUMBER_ID]  # the send took its turn in the number's rate
    assert (stored("k1").state, stored("k1").wamid, stored("k1").client_ref) == ("accepted", "wamid.A", "c1")
    message = Store().messages.get("wamid.A")
    assert message is not None and message.idempotency_key == "k1"


def test_the_documents_own_sending_number_and_callback_data_are_kept():
    graph = StubGraph()
    own = {"type": "text", "text": {"body": "x"}, "biz_opaque_callback_data": "campaign-7"}
    sender = make(graph, settings=NO_NUMBER, numbers=StubNumbers(NumberEntry("999", window_policy="off")))
    sender.send(document(phone_number_id="999", message=own), message_id="m")
    callback = graph.sent[0][1]["biz_opaque_callback_data"]
    assert (graph.sent[0][0], split(callback)[0]) == ("999", "campaign-7")  # the producer's data first
    assert confirmed_key(callback, credential("app_secret")) == "k1"  # and the send still confirmable
    assert stored("k1").phone_number_id == "999"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param(document("bad-to", to="nobody"), "bad-to", id="under-its-key"),
        pytest.param(json.dumps({"idempotency_key": "has space", "message": {}}), "sqs:m7", id="unusable-key"),
        pytest.param(json.dumps({"idempotency_key": 7, "message": {}}), "sqs:m7", id="key-not-a-string"),
        pytest.param(json.dumps([{"idempotency_key": "k"}]), "sqs:m7", id="not-an-object"),
        pytest.param("[" * 100_000 + "]" * 100_000, "sqs:m7", id="hostile-nesting"),
    ],
)
def test_an_invalid_document_is_recorded_as_rejected_and_not_sent(body, key):
    graph = StubGraph()
    outcome = make(graph).send(body, message_id="m7")
    assert outcome.state == "rejected" and (outcome.reason or "").startswith("invalid document: ")
    assert (stored(key).state, stored(key).reason) == ("rejected", outcome.reason)
    assert graph.sent == []


ALMOST_OVER = {"timeout_seconds": 5}  # less than one Graph call needs


@pytest.mark.parametrize(
    ("settings", "context", "error", "attempt", "state"),
    [
        pytest.param(NO_NUMBER, {}, ConfigurationError, 1, "retrying", id="no-sending-number"),
        pytest.param(NO_NUMBER, {}, ConfigurationError, 5, "dead_lettered", id="no-sending-number-last-attempt"),
        pytest.param(None, ALMOST_OVER, NotEnoughTimeError, 1, "retrying", id="too-little-time"),
        pytest.param(None, ALMOST_OVER, NotEnoughTimeError, 5, "dead_lettered", id="too-little-time-last-attempt"),
    ],
)
def test_what_stops_a_send_before_graph_is_recorded_with_the_reason_then_raised(
    settings, context, error, attempt, state
):
    graph = StubGraph()
    deadline = Deadline(LocalContext(function_name="sender", **context))
    with pytest.raises(error):
        make(graph, settings=settings).send(document(), message_id="m", attempt=attempt, deadline=deadline)
    record = stored("k1")
    assert (record.state, record.error.title) == (state, error.__name__)
    assert record.error.details and graph.sent == []


def test_no_send_keeps_an_idempotency_record(aws):
    graph = StubGraph(SendResponse(success=True))
    sender = make(graph)
    assert sender.send(RECEIPT, message_id="m1").state == "accepted"
    assert sender.send(document(), message_id="m2").state == "accepted"
    assert idempotency_items(aws) == []  # the outbound record is the lock (calls: tests/faults/test_send_once.py)
    assert "biz_opaque_callback_data" not in graph.sent[0][1]  # a receipt has no statuses to carry it


@pytest.mark.parametrize(
    ("outcome", "sent"),
    [
        pytest.param(SendOutcome.accepted("wamid.OLD"), False, id="accepted"),
        pytest.param(SendOutcome.failed(ErrorInfo(code=131026)), False, id="failed"),
        pytest.param(SendOutcome.rejected("opted out"), False, id="rejected"),
        pytest.param(SendOutcome.unconfirmed(ErrorInfo(title="transport error")), False, id="unconfirmed"),
        pytest.param(SendOutcome.retrying(ErrorInfo(code=2), last_attempt=False), True, id="retrying-is-sent"),
        pytest.param(SendOutcome.retrying(ErrorInfo(code=2), last_attempt=True), True, id="dead-lettered-is-sent"),
    ],
)
@pytest.mark.parametrize("body", [document(), RECEIPT], ids=["message", "read-receipt"])
def test_a_settled_record_answers_a_redelivery_without_a_graph_call_and_an_open_one_is_sent(outcome, sent, body):
    key = parse_document(body).idempotency_key
    Store().outbound.record(parse_document(body), outcome, PHONE_NUMBER_ID)
    graph = StubGraph(SendResponse(success=True) if body == RECEIPT else accepted("wamid.NOW"))
    answer = make(graph).send(body, message_id="m")
    assert len(graph.sent) == int(sent)
    assert answer == (SendOutcome.accepted(None if body == RECEIPT else "wamid.NOW") if sent else outcome)
    assert (stored(key).state, stored(key).attempts) == (answer.state, 2 if sent else 1)


@pytest.mark.parametrize(
    ("body", "template_refusal", "reason"),
    [
        pytest.param(document(to="+447700900123"), None, "has not written to this number", id="window-never-opened"),
        pytest.param(document(), "opted-out", "opted out", id="opted-out"),
        pytest.param(
            document(message={"type": "template", "template": {"name": "t", "language": {"code": "en"}}}),
            "template t is paused",
            "template t is paused",
            id="template-definition",
        ),
    ],
)
def test_a_document_the_rules_refuse_is_rejected_with_the_reason_before_any_graph_call(body, template_refusal, reason):
    if template_refusal == "opted-out":
        Store().customers.set_opt_out(CUSTOMER.lstrip("+"), True, at=1, keyword="STOP")
        template_refusal = None
    graph = StubGraph()
    outcome = make(graph, template_refusal=template_refusal).send(body, message_id="m")
    key = parse_document(body).idempotency_key
    assert outcome.state == "rejected" and reason in (outcome.reason or "")
    assert (stored(key).state, stored(key).reason) == ("rejected", outcome.reason)
    assert graph.sent == []


@pytest.mark.parametrize(
    ("body", "maybe_sent", "state"),
    [
        pytest.param(document(), True, "unconfirmed", id="message-graph-may-have"),
        pytest.param(document(), False, "retrying", id="message-that-never-reached-graph"),
        pytest.param(RECEIPT, True, "retrying", id="read-receipt-harmless-to-repeat"),
    ],
)
def test_a_transport_error_is_retried_only_when_a_repeat_cannot_deliver_twice(body, maybe_sent, state):
    graph = StubGraph(GraphTransportError("read timeout", maybe_sent=maybe_sent))
    sender = make(graph)
    if state == "unconfirmed":
        outcome = sender.send(body, message_id="m")
        assert outcome == SendOutcome.unconfirmed(ErrorInfo(title="transport error", details="read timeout"))
    else:
        with pytest.raises(SendRetryableError):
            sender.send(body, message_id="m")
    record = stored(parse_document(body).idempotency_key)
    assert (record.state, record.error.title) == (state, "transport error")


@pytest.mark.parametrize(
    ("code", "attempt", "state"),
    [
        pytest.param(131026, 1, "failed", id="permanent"),
        pytest.param(130429, 1, "retrying", id="transient"),
        pytest.param(130429, 4, "retrying", id="transient-fourth-attempt"),
        pytest.param(130429, 5, "dead_lettered", id="transient-last-attempt"),
    ],
)
def test_graphs_error_decides_failed_for_good_or_retried_by_sqs(code, attempt, state):
    graph = StubGraph(meta_error(code))
    if state == "failed":
        outcome = make(graph).send(document(), message_id="m", attempt=attempt)
        assert outcome.state == "failed" and outcome.error is not None and outcome.error.code == code
    else:
        with pytest.raises(SendRetryableError) as caught:
            make(graph).send(document(), message_id="m", attempt=attempt)
        assert caught.value.code == code
    error = stored("k1").error
    assert (stored("k1").state, error.code, error.fbtrace_id, error.http_status) == (state, code, "TRACE", 400)


IMAGE = {"type": "image", "image": {"s3_key": "promo/banner.jpg"}}


@pytest.mark.parametrize(
    ("stub", "answers", "reuploads", "ids", "state"),
    [
        pytest.param(
            {},
            [meta_error(131053)],
            [False, True],
            ["media.OLD", "media.NEW"],
            "accepted",
            id="reused-refused-then-sent",
        ),
        pytest.param(
            {}, [meta_error(100)] * 2, [False, True], ["media.OLD", "media.NEW"], "failed", id="refused-again"
        ),
        pytest.param(
            {"sticky": True},
            [meta_error(131009)] * 3,
            [False, True],
            ["media.OLD", "media.NEW"],
            "failed",
            id="one-re-upload-only",
        ),
        pytest.param({}, [meta_error(131026)], [False], ["media.OLD"], "failed", id="another-error"),
        pytest.param({"reused": False}, [meta_error(131053)], [False], ["media.NEW"], "failed", id="fresh-upload"),
    ],
)
def test_a_reused_media_id_graph_refuses_is_uploaded_again_once(stub, answers, reuploads, ids, state):
    graph, media = StubGraph(*answers), StubMedia(**stub)
    sender = make(graph, media=media)
    outcome = sender.send(document(message=IMAGE), message_id="m")
    assert media.reuploads == reuploads
    assert [body["image"]["id"] for _, body, _ in graph.sent] == ids
    assert len(sender.rate.numbers) == len(ids)  # every send takes its turn
    assert outcome.state == state == stored("k1").state


def test_media_that_cannot_be_sent_is_rejected_with_the_reason():
    graph = StubGraph()
    media = StubMedia(error=MediaRejectedError("s3://b/promo/banner.jpg does not exist"))
    outcome = make(graph, media=media).send(document(message=IMAGE), message_id="m")
    assert (outcome.state, stored("k1").reason) == ("rejected", "s3://b/promo/banner.jpg does not exist")
    assert graph.sent == []


@pytest.mark.parametrize(
    ("body", "attempt", "state"),
    [
        pytest.param(document(), 2, "retrying", id="retrying"),
        pytest.param(document(), 5, "dead_lettered", id="last-attempt"),
        pytest.param(document(to="nobody"), 1, None, id="invalid-left-for-its-own-turn"),
    ],
)
def test_a_document_held_back_is_recorded_with_why(body, attempt, state):
    make(StubGraph()).record_held_back(body, attempt)
    record = Store().outbound.get("k1")
    found = (record.state, record.error.title) if record is not None and record.error is not None else None
    assert found == ((state, "held back") if state else None)


class CountingBucket:
    clients = 0

    @property
    def client(self) -> object:
        self.clients += 1
        return object()


@pytest.mark.parametrize("may_name_bucket_objects", [False, True], ids=["text-only", "may-name-objects"])
def test_an_invocation_starts_without_failing_on_the_secret_and_makes_s3_only_when_needed(may_name_bucket_objects):
    graph = StubGraph(token_error=WacloudError("secret unreadable"))  # each document records it when sent
    media = StubMedia()
    media.bucket = CountingBucket()
    make(graph, media=media, start=False).start_invocation(may_name_bucket_objects=may_name_bucket_objects)
    assert media.bucket.clients == int(may_name_bucket_objects)


def test_build_sender_wires_both_transports_on_one_graph_client_from_the_settings():
    settings = dataclasses.replace(get_settings(), media_bucket="media", send_rate_per_second=7)
    sender = build_sender(settings, Store())
    cloud, eum = sender.transports["cloud_api"], sender.transports["eum"]
    assert isinstance(cloud, GraphTransport) and isinstance(eum, EumTransport)
    graph = cloud.clients.default
    assert sender.templates.graph is graph
    assert (graph.base_url, graph.api_version) == (settings.graph_base_url, settings.graph_api_version)
    assert sender.media.bucket is not None and sender.media.bucket.name == "media"
    assert (sender.rate.rate, sender.settings) == (7, settings)
    assert sender.rate_for is not None and sender.rate_for(7) is sender.rate and sender.rate_for(2).rate == 2
    assert build_sender(dataclasses.replace(settings, media_bucket=""), Store()).media.bucket is None
    assert get_sender() is get_sender() and get_sender().settings == get_settings()  # one per environment


def test_a_send_made_again_with_a_fresh_token_takes_its_turn_in_the_send_rate_again() -> None:
    # GIVEN Graph refuses the cached token once (the client reads a fresh one and calls again)
    graph = StubGraph(refused_tokens=1)
    sender = make(graph)

    # WHEN a document is sent
    outcome = sender.send(document("fresh-token"), message_id="m")

    # THEN both calls took a turn in the number's shared rate: the retry is a send of its own
    assert outcome.state == "accepted"
    assert sender.rate.numbers == [PHONE_NUMBER_ID, PHONE_NUMBER_ID]  # type: ignore[attr-defined]


def test_no_call_is_made_again_with_a_fresh_token_without_the_time_for_it(monkeypatch) -> None:
    # GIVEN time for the first call only: the deadline is checked again before the second
    context = LocalContext(function_name="sender", timeout_seconds=60)
    left = iter([60_000, 60_000, 1_000])
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: next(left, 1_000))
    sender = make(StubGraph(refused_tokens=1))

    with pytest.raises(NotEnoughTimeError):
        sender.send(document("late-retry"), message_id="m", deadline=Deadline(context))
    assert stored("late-retry").state == "retrying"


def test_a_marketing_messages_document_is_posted_to_the_marketing_messages_api():
    graph = StubGraph()
    template = {"type": "template", "template": {"name": "winter_sale", "language": {"code": "en_US"}}}
    make(graph).send(document("mm", message=template, marketing_messages=True), message_id="m1")
    make(graph).send(document("plain", message=template), message_id="m2")
    assert graph.endpoints == ["marketing_messages", "messages"]
    assert "marketing_messages" not in graph.sent[0][1]  # our envelope's option, not Graph's


@pytest.mark.parametrize(
    ("category", "envelope", "refused"),
    [
        ("MARKETING", {}, True),
        (None, {"marketing_messages": True}, True),
        ("UTILITY", {}, False),
        (None, {}, False),  # category not known: Meta decides (131050 is classified permanent)
    ],
    ids=["marketing", "marketing-messages-api", "utility", "unknown"],
)
def test_a_customer_who_stopped_marketing_gets_no_marketing_template(category, envelope, refused):
    Store().customers.set_marketing(CustomerIdentity(phone=CUSTOMER), stopped=True, at=1)
    graph = StubGraph()
    template = {"type": "template", "template": {"name": "winter_sale", "language": {"code": "en_US"}}}

    outcome = make(graph, category=category).send(document("t", message=template, **envelope), message_id="m")

    assert (outcome.state == "rejected") is refused
    if refused:
        assert "stopped marketing messages" in (outcome.reason or "") and graph.sent == []
    else:
        assert len(graph.sent) == 1


def test_a_message_to_a_group_is_not_held_to_a_customers_choices_even_if_the_ids_look_alike():
    group = "120363025246125486"  # digits, as a phone number would be
    Store().customers.set_opt_out(group, True, at=1, keyword="STOP")
    graph = StubGraph()
    body = json.dumps(
        {
            "idempotency_key": "g",
            "message": {"recipient_type": "group", "to": group, "type": "text", "text": {"body": "hi"}},
        }
    )
    assert make(graph).send(body, message_id="m").state == "accepted"
    assert graph.sent[0][1]["to"] == group


def test_with_metrics_disabled_as_in_the_local_run_every_send_makes_one_graph_call(monkeypatch):
    """Powertools never clears a disabled run's metrics and published them (raising: no namespace)
    at the 100th value, after Graph had accepted: the send was released and made again."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setattr(runtime_metrics.powertools_metrics(), "namespace", None)
    graph = StubGraph()
    sender = make(graph)
    for i in range(120):
        body = document(f"k{i}")
        try:
            sender.send(body, message_id=f"m{i}")
        except Exception:  # as SQS would: the document comes back
            sender.send(body, message_id=f"m{i}")

    assert len(graph.sent) == 120
    assert all(stored(f"k{i}").state == "accepted" for i in range(120))


def test_producer_data_that_leaves_no_room_for_the_marker_is_refused_with_the_reason():
    graph = StubGraph()
    own = {"type": "text", "text": {"body": "x"}, "biz_opaque_callback_data": "c" * 512}
    outcome = make(graph).send(document("long-cb", message=own), message_id="m")
    assert outcome.state == "rejected" and "at most 476 fit Meta's 512" in (outcome.reason or "")
    assert graph.sent == []
