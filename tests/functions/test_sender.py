"""The sender function: outbound documents in, Graph calls out, every outcome recorded."""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

import boto3
import pytest
import requests
import responses

from tests.conftest import ACCESS_TOKEN, GRAPH_URL, PHONE_NUMBER_ID, customers_wrote, load_event, rotate_secret
from wacloud.adapters.credentials import credential
from wacloud.adapters.store import Store
from wacloud.config import get_settings
from wacloud.local.pollers import lambda_record
from wacloud.models.confirmation_marker import confirmed_key, split
from wacloud.models.outbound_state import ANSWER_NOT_RECORDED, SendOutcome
from wacloud.outbound.outcomes import confirm_send

pytestmark = pytest.mark.usefixtures("aws")
SEND_URL = f"{GRAPH_URL}/v26.0/{PHONE_NUMBER_ID}/messages"
CUSTOMER = "+16505551234"


@pytest.fixture(autouse=True)
def customers_in_their_service_window(aws):
    customers_wrote(CUSTOMER, "+111111", "+222222")


@pytest.fixture
def sender():
    from functions.sender import app

    return app


@pytest.fixture
def graph():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def ok(wamid: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": CUSTOMER, "wa_id": "16505551234"}],
        "messages": [{"id": wamid}],
    }


def meta_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "TRACE",
        }
    }


def document(key: str, text: str = "hello", to: str = CUSTOMER, **envelope: Any) -> str:
    return json.dumps(
        {"idempotency_key": key, **envelope, "message": {"to": to, "type": "text", "text": {"body": text}}}
    )


def sqs_event(*bodies: str, groups: list[str] | None = None) -> dict:
    return {
        "Records": [
            lambda_record(
                {
                    "MessageId": f"m{i}",
                    "ReceiptHandle": f"r{i}",
                    "Body": body,
                    "Attributes": {
                        "MessageGroupId": (groups or ["g"] * len(bodies))[i],
                        "ApproximateReceiveCount": "1",
                    },
                },
                "arn:aws:sqs:us-east-1:123456789012:outbound.fifo",
            )
            for i, body in enumerate(bodies)
        ]
    }


def test_sample_documents_are_sent_and_recorded(sender, lambda_context, graph):
    for i in range(3):
        graph.add(responses.POST, SEND_URL, json=ok(f"wamid.S{i}"))
    graph.add(responses.POST, SEND_URL, json={"success": True})

    response = sender.lambda_handler(load_event("sender-sqs-messages.json"), lambda_context)

    assert response == {"batchItemFailures": []}
    sent = [json.loads(call.request.body) for call in graph.calls]
    # Two recipients side by side; each one's messages in the order queued.
    first = [body.get("type", "read") for body in sent if body.get("to", "+16505551234") == "+16505551234"]
    assert first == ["text", "document", "read"]
    assert [body["type"] for body in sent if body.get("to") == "+447700900123"] == ["template"]
    assert all(call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for call in graph.calls)
    store = Store()
    outbound = store.outbound.get("order-1234-shipped")
    assert outbound is not None and outbound.wamid is not None
    assert (outbound.state, outbound.client_ref) == ("accepted", "order-1234")
    record = store.messages.get(outbound.wamid)
    assert record is not None
    assert (record.direction, record.status, record.customer, record.idempotency_key) == (
        "out",
        "accepted",
        "16505551234",
        "order-1234-shipped",
    )
    found = store.outbound.find_by_client_reference("order-1234")
    assert sorted(r.idempotency_key for r in found) == ["order-1234-shipped", "order-1234-template"]


def test_redelivered_document_is_not_sent_again(sender, lambda_context, graph):
    graph.add(responses.POST, SEND_URL, json=ok("wamid.ONCE"))
    body = document("once")
    sender.lambda_handler(sqs_event(body), lambda_context)
    response = sender.lambda_handler(sqs_event(body), lambda_context)
    assert response == {"batchItemFailures": []}
    assert len(graph.calls) == 1


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        pytest.param(400, 131047, "Re-engagement message", id="131047-outside-24h"),
        pytest.param(400, 131026, "Message undeliverable", id="131026-undeliverable"),
        pytest.param(400, 100, "Invalid parameter", id="100-invalid-parameter"),
    ],
)
def test_permanent_graph_error_is_recorded_and_not_retried(sender, lambda_context, graph, status, code, title):
    graph.add(responses.POST, SEND_URL, status=status, json=meta_error(code, title, "details here"))
    response = sender.lambda_handler(sqs_event(document("perm")), lambda_context)
    assert response == {"batchItemFailures": []}
    record = Store().outbound.get("perm")
    assert record is not None and record.state == "failed"
    assert record.error is not None
    assert (record.error.code, record.error.title, record.error.details, record.error.fbtrace_id) == (
        code,
        title,
        "details here",
        "TRACE",
    )
    sender.lambda_handler(sqs_event(document("perm")), lambda_context)
    assert len(graph.calls) == 1  # a failed send is final: a redelivery does not call Graph again


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"status": 500, "body": "<html>Internal error</html>"}, id="500-html"),
        pytest.param({"status": 503, "json": meta_error(2, "Service temporarily unavailable")}, id="503-code-2"),
        pytest.param({"status": 429, "json": meta_error(130429, "Rate limit hit")}, id="130429-throughput"),
        pytest.param({"status": 400, "json": meta_error(131056, "Pair rate limit hit")}, id="131056-pair-rate"),
        pytest.param({"body": requests.ConnectTimeout("connect timed out")}, id="connect-timeout"),
    ],
)
def test_transient_failure_is_retried_then_sent_once(sender, lambda_context, graph, answer):
    graph.add(responses.POST, SEND_URL, **answer)
    graph.add(responses.POST, SEND_URL, json=ok("wamid.LATER"))
    body = document("transient")

    first = sender.lambda_handler(sqs_event(body), lambda_context)
    record = Store().outbound.get("transient")
    assert first == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert record is not None and record.state == "retrying" and record.error is not None

    second = sender.lambda_handler(sqs_event(body), lambda_context)
    assert second == {"batchItemFailures": []}
    record = Store().outbound.get("transient")
    assert record is not None
    assert (record.state, record.wamid, record.attempts) == ("accepted", "wamid.LATER", 2)


def test_expired_token_rereads_the_secret_once_and_sends(sender, lambda_context, graph):
    # GIVEN the token was rotated in Secrets Manager after the sender cached the old one
    graph.add(responses.POST, SEND_URL, json=ok("wamid.WARM"))
    sender.lambda_handler(sqs_event(document("warm-cache")), lambda_context)
    rotate_secret(access_token="rotated")
    graph.add(responses.POST, SEND_URL, status=401, json=meta_error(190, "Error validating access token"))
    graph.add(responses.POST, SEND_URL, json=ok("wamid.NEW"))

    # WHEN a document is sent with the stale cached token
    response = sender.lambda_handler(sqs_event(document("after-rotation")), lambda_context)

    # THEN Graph's 190 makes the sender re-read the secret and the send succeeds with the new token
    assert response == {"batchItemFailures": []}
    assert graph.calls[-2].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert graph.calls[-1].request.headers["Authorization"] == "Bearer rotated"
    record = Store().outbound.get("after-rotation")
    assert record is not None and record.wamid == "wamid.NEW"


def test_a_rotated_token_is_picked_up_once_the_cache_ttl_passes_without_any_190(
    sender, lambda_context, graph, monkeypatch
):
    import time

    from wacloud.adapters.credentials import secrets_provider
    from wacloud.runtime import singletons

    # GIVEN the sender cached the token (POWERTOOLS_PARAMETERS_MAX_AGE, the template's SecretCacheSeconds)
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "300")
    singletons.reset()
    graph.add(responses.POST, SEND_URL, json=ok("wamid.ANY"))
    sender.lambda_handler(sqs_event(document("before-rotation")), lambda_context)
    rotate_secret(access_token="rotated")

    # WHEN it sends within the TTL, and again after it (Graph takes both tokens: no 190 to force it)
    sender.lambda_handler(sqs_event(document("within-ttl")), lambda_context)
    reader = secrets_provider()
    assert reader.max_age == 300
    monkeypatch.setattr(reader, "_clock", lambda: time.monotonic() + 301)
    sender.lambda_handler(sqs_event(document("after-ttl")), lambda_context)

    # THEN the old token until the TTL passed, the new version from then on
    tokens = [call.request.headers["Authorization"] for call in graph.calls]
    assert tokens == [f"Bearer {ACCESS_TOKEN}", f"Bearer {ACCESS_TOKEN}", "Bearer rotated"]


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        pytest.param(document("too-long", text="x" * 4097), "too-long", "message.text.body", id="text-too-long"),
        pytest.param(
            json.dumps({"idempotency_key": "no-message"}), "no-message", "message: Field required", id="no-message"
        ),
        pytest.param("{not json", "sqs:m0", "Invalid JSON", id="not-json"),
        pytest.param(json.dumps({"message": {}}), "sqs:m0", "idempotency_key", id="no-key"),
    ],
)
def test_invalid_document_is_rejected_with_the_reason_and_not_sent(sender, lambda_context, graph, body, key, reason):
    response = sender.lambda_handler(sqs_event(body), lambda_context)
    assert response == {"batchItemFailures": []}
    assert len(graph.calls) == 0
    record = Store().outbound.get(key)
    assert record is not None and record.state == "rejected"
    assert record.reason is not None and reason in record.reason


def test_a_failing_recipient_holds_back_only_their_own_messages(sender, lambda_context, graph):
    def answer(request):  # recipients are sent to side by side: answer by recipient, not by order
        if json.loads(request.body)["to"] == "+111111":
            return 503, {}, json.dumps(meta_error(2, "Service unavailable"))
        return 200, {}, json.dumps(ok("wamid.B"))

    graph.add_callback(responses.POST, SEND_URL, callback=answer, content_type="application/json")
    event = sqs_event(
        document("a1", to="+111111"),
        document("a2", to="+111111"),
        document("b1", to="+222222"),
        groups=["111111", "111111", "222222"],
    )

    response = sender.lambda_handler(event, lambda_context)

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["m0", "m1"]
    assert len(graph.calls) == 2  # a2 was never attempted: it waits behind a1, in order
    record = Store().outbound.get("b1")
    assert record is not None and record.state == "accepted"
    waiting = Store().outbound.get("a2")
    assert waiting is not None and waiting.state == "retrying"
    assert waiting.error is not None and waiting.error.title == "held back"


def test_store_failure_after_an_accepted_send_does_not_send_twice(sender, lambda_context, graph, monkeypatch):
    # GIVEN Graph accepts the message but DynamoDB refuses the record once
    from wacloud.adapters.store.outbound import OutboundRecords
    from wacloud.adapters.table import StoreError

    graph.add(responses.POST, SEND_URL, json=ok("wamid.KEEP"))
    original, calls = OutboundRecords.record, []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("throttled")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(OutboundRecords, "record", flaky)
    body = document("store-flaky")

    # WHEN the document is handled, fails on the write, and is delivered again
    first = sender.lambda_handler(sqs_event(body), lambda_context)
    second = sender.lambda_handler(sqs_event(body), lambda_context)

    # THEN Graph was called once; the second delivery found `sending` (the answer was lost) and
    # recorded `unconfirmed`, and the first status (carrying the marker) makes it `accepted`
    assert first == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert second == {"batchItemFailures": []}
    assert len(graph.calls) == 1
    record = Store().outbound.get("store-flaky")
    assert record is not None and record.state == "unconfirmed"
    assert confirm_send(Store(), "store-flaky", "wamid.KEEP")
    record = Store().outbound.get("store-flaky")
    assert record is not None and (record.state, record.wamid) == ("accepted", "wamid.KEEP")


def test_documents_wait_for_the_next_invocation_when_time_runs_out(sender, graph):
    from wacloud.local.lambda_context import LocalContext

    graph.add(responses.POST, SEND_URL, json=ok("wamid.T"))
    almost_over = LocalContext(function_name="sender", timeout_seconds=5)  # less than one Graph call needs
    response = sender.lambda_handler(sqs_event(document("late")), almost_over)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert len(graph.calls) == 0


def test_a_key_sent_before_is_answered_from_its_record(sender, lambda_context, graph):
    # GIVEN a document recorded as accepted (its record is the only lock: nothing else to expire)
    graph.add(responses.POST, SEND_URL, json=ok("wamid.FIRST"))
    body = document("reused-key")
    sender.lambda_handler(sqs_event(body), lambda_context)

    # WHEN the same key arrives again
    response = sender.lambda_handler(sqs_event(body), lambda_context)

    # THEN the stored outcome answers it: no second Graph call
    assert response == {"batchItemFailures": []}
    assert len(graph.calls) == 1
    record = Store().outbound.get("reused-key")
    assert record is not None and record.wamid == "wamid.FIRST"


def test_secret_outage_leaves_a_retrying_record_with_the_reason(sender, lambda_context, graph, monkeypatch):
    monkeypatch.setenv("WACLOUD_SECRET_NAME", "no/such/secret")
    from wacloud.runtime import singletons

    singletons.reset()
    response = sender.lambda_handler(sqs_event(document("no-secret")), lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert len(graph.calls) == 0
    record = Store().outbound.get("no-secret")
    assert record is not None and record.state == "retrying"
    assert record.error is not None and record.error.title == "SecretUnavailableError"


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(requests.ReadTimeout("read timed out"), id="read-timeout"),
        pytest.param(requests.ConnectionError("connection reset by peer"), id="connection-reset"),
    ],
)
def test_a_send_graph_may_have_received_is_not_repeated_but_recorded_unconfirmed(
    sender, lambda_context, graph, failure
):
    graph.add(responses.POST, SEND_URL, body=failure)
    graph.add(responses.POST, SEND_URL, json=ok("wamid.SECOND"))
    body = document("maybe-sent")

    first = sender.lambda_handler(sqs_event(body), lambda_context)
    again = sender.lambda_handler(sqs_event(body), lambda_context)

    assert first == again == {"batchItemFailures": []}
    assert len(graph.calls) == 1  # a retry could have delivered it twice
    sent = json.loads(graph.calls[0].request.body)
    # Comes back in its statuses, with a marker only the sender can make.
    assert confirmed_key(sent["biz_opaque_callback_data"], credential("app_secret")) == "maybe-sent"
    record = Store().outbound.get("maybe-sent")
    assert record is not None and record.state == "unconfirmed"
    assert record.error is not None and record.error.title == "transport error"
    assert str(failure) in (record.error.details or "")


def test_read_receipts_are_retried_even_when_graph_may_have_them(sender, lambda_context, graph):
    graph.add(responses.POST, SEND_URL, body=requests.ReadTimeout("read timed out"))
    graph.add(responses.POST, SEND_URL, json={"success": True})
    receipt = json.dumps({"idempotency_key": "read:wamid.X", "message": {"status": "read", "message_id": "wamid.X"}})
    assert sender.lambda_handler(sqs_event(receipt), lambda_context) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    assert sender.lambda_handler(sqs_event(receipt), lambda_context) == {"batchItemFailures": []}
    assert "biz_opaque_callback_data" not in json.loads(graph.calls[0].request.body)


def test_read_receipts_keep_no_idempotency_record_and_are_not_sent_again(sender, lambda_context, graph, aws):
    # Marking a message read twice is harmless: the two writes of an idempotency record would buy
    # nothing. The stored outcome still answers a redelivered receipt without a Graph call.
    graph.add(responses.POST, SEND_URL, json={"success": True})
    receipt = json.dumps({"idempotency_key": "read:wamid.R", "message": {"status": "read", "message_id": "wamid.R"}})

    assert sender.lambda_handler(sqs_event(receipt), lambda_context) == {"batchItemFailures": []}
    assert sender.lambda_handler(sqs_event(receipt), lambda_context) == {"batchItemFailures": []}

    assert len(graph.calls) == 1
    record = Store().outbound.get("read:wamid.R")
    assert record is not None and record.state == "accepted"
    idempotency = boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"])
    assert idempotency.scan()["Items"] == []


def test_producers_callback_data_goes_first_and_the_send_stays_confirmable(sender, lambda_context, graph):
    graph.add(responses.POST, SEND_URL, json=ok("wamid.CB"))
    body = json.dumps(
        {
            "idempotency_key": "cb",
            "message": {
                "to": CUSTOMER,
                "type": "text",
                "text": {"body": "x"},
                "biz_opaque_callback_data": "campaign-7",
            },
        }
    )
    sender.lambda_handler(sqs_event(body), lambda_context)
    callback = json.loads(graph.calls[0].request.body)["biz_opaque_callback_data"]
    assert split(callback)[0] == "campaign-7"
    assert confirmed_key(callback, credential("app_secret")) == "cb"


def test_the_last_attempt_is_recorded_as_dead_lettered(sender, lambda_context, graph):
    graph.add(responses.POST, SEND_URL, status=503, json=meta_error(2, "Service unavailable"))
    event = sqs_event(document("last-try"))
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"  # the template's MaxReceiveCount
    assert sender.lambda_handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    record = Store().outbound.get("last-try")
    assert record is not None and record.state == "dead_lettered"
    assert record.error is not None and record.error.code == 2


def test_a_document_a_status_webhook_already_named_is_not_sent_again(sender, lambda_context, graph):
    # GIVEN a status webhook named this document (its send's answer was lost) before any record existed
    confirm_send(Store(), "taken", "wamid.TAKEN")

    # WHEN the document is delivered again (a retry or a redrive)
    response = sender.lambda_handler(sqs_event(document("taken")), lambda_context)

    # THEN Graph is not called and the document is recorded as accepted with that wamid
    assert response == {"batchItemFailures": []}
    assert len(graph.calls) == 0
    record = Store().outbound.get("taken")
    assert record is not None and (record.state, record.wamid) == ("accepted", "wamid.TAKEN")


def test_two_copies_processed_at_the_same_time_make_one_graph_call(graph, monkeypatch):
    import threading
    import time as clock

    from moto.dynamodb.models import DynamoDBBackend

    from wacloud.outbound.sender import build_sender

    # DynamoDB checks a condition and writes atomically; moto, called from two threads, may not
    # (both copies then passed `mark_sending`'s condition on a busy machine).
    atomic = threading.Lock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def one_at_a_time(self, *args, _original=original, **kwargs):
            with atomic:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, one_at_a_time)

    # GIVEN a slow Graph and two sender instances (two Lambda environments) with the same document
    def slow_ok(request):
        clock.sleep(0.5)
        return 200, {}, json.dumps(ok("wamid.ONE"))

    graph.add_callback(responses.POST, SEND_URL, callback=slow_ok)
    senders = [build_sender(get_settings(), Store()) for _ in range(2)]
    for one in senders:
        one.start_invocation(may_name_bucket_objects=False)
    results: list[object] = []

    def run(sender):
        try:
            results.append(sender.send(document("concurrent"), message_id="m"))
        except Exception as exc:
            results.append(exc)

    # WHEN both run at once
    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN Graph was called once: the other copy lost `mark_sending` and was told to come back
    # later (SQS retries it), or (read a moment later) found `sending` and made no call
    assert len(graph.calls) == 1
    others = [r for r in results if not (isinstance(r, SendOutcome) and r.state == "accepted")]
    assert len(others) == 1, results
    assert type(others[0]).__name__ == "SendRetryableError" or others[0] == SendOutcome.unconfirmed(ANSWER_NOT_RECORDED)
    # AND its retry is answered from the record, without a second call
    assert senders[1].send(document("concurrent"), message_id="m").state in ("accepted", "unconfirmed")
    assert len(graph.calls) == 1


def test_shared_clients_are_created_on_the_handlers_thread_before_the_recipients_threads(lambda_context):
    # boto3 sessions are not thread-safe: the recipients' threads must find them already made.
    from wacloud.adapters.credentials import secrets_provider
    from wacloud.outbound.sender import get_sender

    sender = get_sender()
    secrets_provider.cache_clear()
    sender.start_invocation(may_name_bucket_objects=False)

    assert secrets_provider.cache_info().currsize == 1
    assert sender.store.table._client is not None
    assert sender.transports["cloud_api"].clients.default._session is not None  # type: ignore[attr-defined]


def test_a_cold_batch_to_many_recipients_reads_the_secret_once(sender, lambda_context, graph, monkeypatch):
    # The recipients' threads start together: each would find the cache empty and read the secret.
    import time

    from wacloud.adapters.credentials import secrets_provider
    from wacloud.runtime import singletons

    monkeypatch.setenv("WACLOUD_SEND_CONCURRENCY", "10")
    singletons.reset()
    provider = secrets_provider()
    reads: list[str] = []
    real_get = provider.client.get_secret_value

    def slow_get(**kwargs):
        reads.append(kwargs["SecretId"])
        time.sleep(0.05)  # a real call's latency: the other threads would arrive while it is in flight
        return real_get(**kwargs)

    monkeypatch.setattr(provider.client, "get_secret_value", slow_get)
    recipients = [f"+1650555{i:04d}" for i in range(10)]
    customers_wrote(*recipients)
    for i in range(10):
        graph.add(responses.POST, SEND_URL, json=ok(f"wamid.C{i}"))

    event = sqs_event(*(document(f"cold-{i}", to=to) for i, to in enumerate(recipients)), groups=recipients)
    assert sender.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    assert len(graph.calls) == 10
    assert sorted(reads) == sorted({get_settings().secret_name, f"{get_settings().secret_name}/numbers"})


def test_the_s3_client_is_made_only_for_a_batch_that_names_a_bucket_object(sender, lambda_context, graph, monkeypatch):
    # Creating it costs a cold start about 25 ms: a text-only batch never needs it, and a batch
    # with media gets it on the handler's thread, before the recipients' threads.
    from wacloud.adapters import s3

    made_on: list[str] = []

    @functools.cache
    def s3_client() -> Any:
        made_on.append(threading.current_thread().name)
        return boto3.client("s3")

    monkeypatch.setattr(s3, "s3_client", s3_client)
    graph.add(responses.POST, SEND_URL, json=ok("wamid.S3"))

    sender.lambda_handler(
        sqs_event(document("text-only-1"), document("text-only-2", to="+111111"), groups=["a", "b"]), lambda_context
    )
    assert made_on == []

    media = json.dumps(
        {
            "idempotency_key": "with-media",
            "message": {"to": CUSTOMER, "type": "image", "image": {"s3_key": "promo/banner.jpg"}},
        }
    )
    sender.lambda_handler(sqs_event(document("text-only-3"), media, groups=["a", "b"]), lambda_context)
    assert made_on and made_on[0] == threading.main_thread().name


def test_sends_take_their_turn_in_the_numbers_shared_rate(sender, lambda_context, graph, monkeypatch):
    # GIVEN a throughput tier of 10 messages/s (one send per 100 ms slot, shared by every sender),
    # on a clock that moves only while the sender waits for the rate
    from wacloud.outbound import send_rate as rate_limit
    from wacloud.outbound.sender import get_sender
    from wacloud.runtime import singletons

    monkeypatch.setenv("WACLOUD_SEND_RATE_PER_SECOND", "10")
    singletons.reset()
    limiter = get_sender().rate
    now = [1_800_000_000.0]
    monkeypatch.setattr(limiter, "_clock", lambda: now[0])
    monkeypatch.setattr(limiter, "_sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    waits: list[str] = []
    monkeypatch.setattr(rate_limit, "count", waits.append)
    sent_at: list[float] = []
    graph_client = get_sender().transports["cloud_api"].clients.default  # type: ignore[attr-defined]
    send_message = graph_client.send_message
    monkeypatch.setattr(
        graph_client, "send_message", lambda *a, **k: (sent_at.append(now[0]), send_message(*a, **k))[1]
    )
    for i in range(3):
        graph.add(responses.POST, SEND_URL, json=ok(f"wamid.R{i}"))
    # WHEN one batch sends three documents
    response = sender.lambda_handler(sqs_event(*(document(f"rate-{i}") for i in range(3))), lambda_context)
    # THEN all three went out, each in its own slot (the second and third waited for theirs)
    assert response == {"batchItemFailures": []}
    assert len(graph.calls) == 3
    assert len({int(at // rate_limit.SLOT_SECONDS) for at in sent_at}) == 3, sent_at
    assert waits == ["SendRateWaited", "SendRateWaited"]


def test_a_send_waiting_for_the_rate_goes_back_to_the_queue_when_time_runs_out(sender, graph, monkeypatch):
    # GIVEN a number whose budget is spent for good (another sender took it all) and an invocation
    # with just enough time for one Graph call
    from wacloud.errors import TransientError
    from wacloud.local.lambda_context import LocalContext
    from wacloud.outbound.sender import get_sender
    from wacloud.runtime.deadline import NotEnoughTimeError

    sent = get_sender()
    monkeypatch.setattr(sent.rate, "_reserve", lambda *args: 0)
    clock = {"left_ms": 60_000}
    context = LocalContext(function_name="sender", timeout_seconds=60)
    monkeypatch.setattr(context, "get_remaining_time_in_millis", lambda: clock["left_ms"])
    monkeypatch.setattr(sent.rate, "_sleep", lambda seconds: clock.update(left_ms=clock["left_ms"] - 20_000))
    graph.add(responses.POST, SEND_URL, json=ok("wamid.NEVER"))
    # WHEN the sender waits for the rate
    response = sender.lambda_handler(sqs_event(document("rate-late")), context)
    # THEN it gives the document back before the invocation ends, sends nothing, and says why
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert len(graph.calls) == 0
    record = Store().outbound.get("rate-late")
    assert record is not None and record.state == "retrying"
    assert record.error is not None and record.error.title == NotEnoughTimeError.__name__
    assert issubclass(NotEnoughTimeError, TransientError)
