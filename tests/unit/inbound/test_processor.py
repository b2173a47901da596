"""wacloud.inbound.processor.InboundProcessor: each inbound queue document rejected, recorded, applied or
handled once (moto; fakes for the customer's messages and the media archive). The Lambda handler:
tests/functions/test_processor.py."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT, message_event, outbound_document, sqs_batch, status_event
from wacloud.adapters.credentials import credential
from wacloud.adapters.store import Store
from wacloud.adapters.store.audit import change_key
from wacloud.adapters.store.messages import OUTBOUND_ACCEPTED
from wacloud.adapters.store.messages import key as message_key
from wacloud.config import get_settings
from wacloud.inbound import processor as module
from wacloud.inbound.processor import ARCHIVE_MIN_SECONDS, InboundProcessor, build_processor, get_processor
from wacloud.local.lambda_context import LocalContext
from wacloud.models.confirmation_marker import marker, stamp
from wacloud.models.events import ChangeEvent, MediaEvent, UnparsedEvent, dump_event
from wacloud.models.graph import TemplateDefinition
from wacloud.models.outbound_state import SendOutcome
from wacloud.models.records import ErrorInfo, StoredMedia
from wacloud.outbound.outcomes import confirm_send, record_outcome
from wacloud.runtime.deadline import Deadline, NotEnoughTimeError

pytestmark = pytest.mark.usefixtures("aws")
IMAGE = {"from": "16505551234", "id": "wamid.IMG", "type": "image", "image": {"id": "MEDIA1", "mime_type": "image/png"}}
MEDIA = dump_event(MediaEvent.model_validate({"waba_id": "W", "phone_number_id": "1", "message": IMAGE}))


class FakeMessages:
    def __init__(self, error: Exception | None = None) -> None:
        self.handled: list[str] = []
        self.error = error

    def handle(self, event: Any) -> dict[str, Any]:
        self.handled.append(event.key)
        if self.error is not None:
            error, self.error = self.error, None  # fails once
            raise error
        return {"outcome": "stored", "queued": len(self.handled)}


STORED = StoredMedia(bucket="b", key="k")


class FakeArchive:
    def __init__(self, stored: StoredMedia | None = STORED) -> None:
        self.archived: list[str] = []
        self.stored = stored

    def archive(self, event: MediaEvent) -> StoredMedia | None:
        self.archived.append(event.message.id)
        return self.stored


def in_invocation(processor: InboundProcessor) -> InboundProcessor:
    """As `process_batch` leaves it: idempotency knows the invocation's deadline."""
    processor.idempotency.register_lambda_context(LocalContext(function_name="processor", timeout_seconds=900))
    return processor


def fake_processor(**parts: Any) -> InboundProcessor:
    return in_invocation(InboundProcessor(store=Store(), **{"messages": FakeMessages(), **parts}))


def idempotency_records(aws) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"]).scan()["Items"]


@pytest.fixture
def processor() -> InboundProcessor:
    return in_invocation(build_processor(get_settings(), Store(), base=ROOT / "functions" / "processor"))


# --- documents that are no event, and data that is not Meta's --------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[1, 2]", id="not-an-object"),
        pytest.param('{"kind": "telepathy"}', id="unknown-kind"),
        pytest.param('{"kind": "message"}', id="message-without-message"),
        pytest.param('{"kind": "change", "field": "x", "feild": 1}', id="extra-field"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="too-deep-to-parse"),
    ],
)
def test_a_document_that_is_no_event_is_recorded_as_rejected_and_acknowledged(body: str, aws) -> None:
    messages = FakeMessages()

    answer = fake_processor(messages=messages).process(body, message_id="sqs-1")

    assert answer == {"outcome": "rejected"}
    rejection = Store().rejections.get("inbound-queue", "sqs-1")
    assert rejection is not None and rejection.reason.startswith("not an inbound event: ")
    assert rejection.raw[:20] == body[:20]
    assert messages.handled == [] and idempotency_records(aws) == []


@pytest.mark.parametrize(
    ("raw", "raw_sha256", "stored"),
    [
        pytest.param("{broken", "abc", "{broken", id="text"),
        pytest.param({"id": "W"}, "def", '{"id": "W"}', id="json-kept-as-text"),
        pytest.param([1], "", "[1]", id="no-digest-named-by-its-key"),
    ],
)
def test_unparsed_webhook_data_is_recorded_with_its_reason(raw: Any, raw_sha256: str, stored: str) -> None:
    event = UnparsedEvent(reason="body is not JSON", raw=raw, raw_sha256=raw_sha256)
    ref = raw_sha256 or event.key

    answer = fake_processor().process(dump_event(event), message_id="sqs-1")

    rejection = Store().rejections.get("webhook", ref)
    assert answer == {"outcome": "rejected"}
    assert rejection is not None and (rejection.reason, rejection.raw) == ("body is not JSON", stored)


# --- statuses: applied forward, without an idempotency record ----------------------------------------------


def test_statuses_are_applied_without_an_idempotency_record(aws) -> None:
    processor = fake_processor()
    sent, read = (dump_event(status_event(name, at, "wamid.S")) for name, at in (("sent", 10), ("read", 30)))

    outcomes = [processor.process(body, message_id="m")["outcome"] for body in (read, sent, read)]

    assert outcomes == ["advanced", "recorded", "recorded"]
    record = Store().messages.get("wamid.S")
    assert record is not None and (record.status, record.status_history) == ("read", {"sent": 10, "read": 30})
    assert idempotency_records(aws) == []


def test_a_status_confirms_a_send_only_while_its_message_is_not_marked(monkeypatch) -> None:
    # GIVEN a send whose answer was lost (unconfirmed), and a spy on the confirmation
    store = Store()
    record_outcome(store, outbound_document("lost"), SendOutcome.unconfirmed(ErrorInfo(title="timeout")), "1")
    confirmations: list[tuple[str, str]] = []

    def spy(store: Store, key: str, wamid: str) -> bool:
        confirmations.append((key, wamid))
        return confirm_send(store, key, wamid)

    monkeypatch.setattr(module, "confirm_send", spy)
    processor = fake_processor()

    # WHEN its statuses come, naming it in their callback data
    for name, at in (("sent", 10), ("delivered", 20)):
        status = status_event(name, at, "wamid.LATE", callback_data=marker("lost", credential("app_secret")))
        processor.process(dump_event(status), message_id="m")

    # THEN the first confirms the send and marks its message; the second has nothing to confirm
    assert confirmations == [("lost", "wamid.LATE")]
    outbound = store.outbound.get("lost")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.LATE")
    assert store.table.get(message_key("wamid.LATE"))[OUTBOUND_ACCEPTED] is True  # type: ignore[index]


def test_a_status_is_confirmed_with_the_marker_key_when_the_secret_has_one() -> None:
    # GIVEN a stack whose secret holds a marker key (every stack without a Meta app needs one)
    secrets = boto3.client("secretsmanager")
    name = get_settings().secret_name
    kept = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({**kept, "marker_key": "the-marker-key"}))
    store = Store()
    record_outcome(store, outbound_document("eum"), SendOutcome.unconfirmed(ErrorInfo(title="timeout")), "1")

    # WHEN a status comes marked with it (not with the app secret)
    status = status_event("sent", 10, "wamid.EUM", callback_data=marker("eum", "the-marker-key"))
    fake_processor().process(dump_event(status), message_id="m")

    # THEN it confirms the send
    outbound = store.outbound.get("eum")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.EUM")


@pytest.mark.parametrize("callback", [None, "order-42", "wacloud-ke:lost"], ids=["none", "clients-own", "near-miss"])
def test_a_status_without_our_callback_prefix_confirms_nothing(monkeypatch, callback: str | None) -> None:
    monkeypatch.setattr(module, "confirm_send", lambda *args: pytest.fail("confirm_send called"))
    status = status_event("sent", 10, "wamid.X", callback_data=callback)

    assert fake_processor().process(dump_event(status), message_id="m") == {"outcome": "advanced"}


# --- other changes ------------------------------------------------------------------------------------------


def template(name: str, language: str) -> TemplateDefinition:
    return TemplateDefinition(name=name, language=language, status="APPROVED")


@pytest.mark.parametrize(
    ("field", "dropped"),
    [("message_template_status_update", True), ("account_update", False)],
    ids=["template-change", "other-change"],
)
def test_a_change_is_recorded_and_a_template_change_drops_the_cached_definition(processor, field, dropped) -> None:
    store = Store()
    for language in ("en_US", "es"):
        store.templates.put(template("order_update", language), ttl_seconds=3600)
    value = {"event": "PAUSED", "message_template_name": "order_update", "message_template_language": "en_US"}
    event = ChangeEvent(waba_id="W", field=field, value=value)

    assert processor.process(dump_event(event), message_id="m") == {"outcome": "recorded"}

    item = store.table.get(change_key(event.key))
    assert item is not None and (item["field"], json.loads(item["value"])) == (field, value)
    assert (store.templates.get("order_update", "en_US") is None) is dropped
    assert store.templates.get("order_update", "es") is not None


def test_a_group_event_is_recorded_and_kept_by_group_once(processor) -> None:
    from tests.data import meta_webhooks as meta
    from wacloud.inbound.parse import parse_webhook

    (event,) = parse_webhook(meta.GROUP_CREATED)
    document = dump_event(event)

    assert processor.process(document, message_id="m") == {"outcome": "recorded", "applied": "group events recorded"}
    processor.process(document, message_id="m2")  # Meta's retry: handled once (idempotency)

    store = Store()
    assert store.table.get(change_key(event.key)) is not None
    assert [e.type for e in store.groups.events(meta.GROUP_ID)] == ["group_create"]


def test_a_customers_call_is_kept_and_its_window_touched() -> None:
    from tests.data import meta_webhooks as meta
    from wacloud.inbound.changes import AccountChanges
    from wacloud.inbound.parse import parse_webhook

    touched: list[str] = []

    class Customers:
        def touch(self, identity: Any, *, at: int, ref: str, entry: Any = None) -> str:
            touched.append(ref)
            return "c"

        def set_marketing(self, identity: Any, *, stopped: bool, at: int) -> bool:
            return True

    store = Store()
    changes = AccountChanges(groups=store.groups, calls=store.calls, customers=Customers())
    (event,) = parse_webhook(meta.CALL_FROM_CUSTOMER)

    result = fake_processor(changes=changes).process(dump_event(event), message_id="m")

    assert result == {"outcome": "recorded", "applied": "calls recorded"}
    assert touched == [meta.CALL_ID]
    record = store.calls.get(meta.CALL_ID)
    assert record is not None and record.state == "connect"


# --- media to archive -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env", [{"WACLOUD_ARCHIVE_MEDIA": "false"}, {"WACLOUD_MEDIA_BUCKET": ""}], ids=["switched-off", "no-bucket"]
)
def test_without_archiving_no_media_is_queued_and_a_media_event_is_skipped(monkeypatch, env: dict[str, str]) -> None:
    from wacloud.runtime import singletons

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    singletons.reset()

    processor = in_invocation(build_processor(get_settings(), Store(), base=ROOT))

    assert processor.media is None and processor.messages.inbound is None
    assert processor.process(MEDIA, message_id="m") == {"outcome": "skipped"}


def test_archiving_is_on_with_a_bucket(processor: InboundProcessor) -> None:
    assert processor.media is not None and processor.messages.inbound is not None


@pytest.mark.parametrize(
    ("seconds_left", "archived"),
    [(ARCHIVE_MIN_SECONDS - 1, False), (ARCHIVE_MIN_SECONDS + 1, True)],
    ids=["too-little-time", "enough-time"],
)
def test_no_download_starts_without_enough_time_left(seconds_left: float, archived: bool, aws) -> None:
    media = FakeArchive()
    deadline = Deadline(LocalContext(function_name="processor", timeout_seconds=seconds_left))

    if archived:
        assert fake_processor(media=media).process(MEDIA, message_id="m", deadline=deadline) == {"outcome": "archived"}
    else:
        with pytest.raises(NotEnoughTimeError):
            fake_processor(media=media).process(MEDIA, message_id="m", deadline=deadline)
        assert idempotency_records(aws) == []  # forgotten: the next delivery archives it
    assert media.archived == (["wamid.IMG"] if archived else [])


def test_the_batchs_context_is_each_records_deadline() -> None:
    media = FakeArchive(stored=None)
    processor = fake_processor(media=media)
    batch = sqs_batch(MEDIA, MEDIA.replace("wamid.IMG", "wamid.IMG2"), queue="inbound", group="media-1")

    short = processor.process_batch(batch, LocalContext(function_name="p", timeout_seconds=ARCHIVE_MIN_SECONDS - 1))
    assert short == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert media.archived == []

    assert processor.process_batch(batch, LocalContext(function_name="p", timeout_seconds=60)) == {
        "batchItemFailures": []
    }
    assert media.archived == ["wamid.IMG", "wamid.IMG2"]


# --- idempotency --------------------------------------------------------------------------------------------


def test_a_duplicate_change_is_answered_without_running_twice(aws) -> None:
    processor = in_invocation(fake_processor(messages=FakeMessages()))
    body = dump_event(ChangeEvent(waba_id="W", field="account_update", value={"event": "VERIFIED_ACCOUNT"}))
    calls: list[str] = []
    original = processor._on_change
    processor._on_change = lambda event, key: calls.append(key) or original(event, key)  # type: ignore[method-assign]

    first = processor.process(body, message_id="m0")
    again = processor.process(body, message_id="m1")

    assert first == again and len(calls) == 1
    assert len(idempotency_records(aws)) == 1


def test_a_message_keeps_no_idempotency_record_its_own_record_is_one(aws) -> None:
    # The customer's messages see every delivery and skip one whose record is stored
    # (inbound/customer_message.py): a record of Powertools' beside it would be two writes more.
    messages = FakeMessages()
    processor = fake_processor(messages=messages)
    body = dump_event(message_event("hi", wamid="wamid.ONCE"))

    processor.process(body, message_id="m0")
    processor.process(body, message_id="m1")

    assert messages.handled == ["message:wamid.ONCE"] * 2
    assert idempotency_records(aws) == []


def test_an_event_whose_run_failed_runs_again_on_its_next_delivery() -> None:
    messages = FakeMessages(error=RuntimeError("DynamoDB throttled"))
    processor = fake_processor(messages=messages)
    body = dump_event(message_event("hi", wamid="wamid.RETRY"))

    with pytest.raises(RuntimeError):
        processor.process(body, message_id="m0")
    assert processor.process(body, message_id="m0") == {"outcome": "stored", "queued": 2}

    assert messages.handled == ["message:wamid.RETRY"] * 2


def test_the_environments_processor_is_built_once(aws) -> None:
    processor = get_processor()

    assert processor is get_processor()
    assert processor.messages.outbound.url == aws.queue_urls["OutboundQueue"]


@pytest.mark.parametrize(
    "callback",
    ["wacloud-key:victim", "wck1.AAAAAAAAAAAAAAAAAAAAAA.victim", "mine wck1.AAAAAAAAAAAAAAAAAAAAAA.victim"],
    ids=["old-unsigned", "made-up-mac", "after-producer-data"],
)
def test_a_status_naming_a_document_with_a_marker_the_sender_did_not_make_confirms_nothing(callback: str) -> None:
    store = Store()
    record_outcome(store, outbound_document("victim"), SendOutcome.unconfirmed(ErrorInfo(title="timeout")), "1")

    fake_processor().process(
        dump_event(status_event("sent", 10, "wamid.SPOOF", callback_data=callback)), message_id="m"
    )

    outbound = store.outbound.get("victim")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("unconfirmed", None)


def test_a_send_with_the_producers_own_callback_data_is_confirmable_and_shows_their_data_only() -> None:
    store = Store()
    record_outcome(store, outbound_document("theirs"), SendOutcome.unconfirmed(ErrorInfo(title="timeout")), "1")
    callback = stamp("campaign-7", "theirs", credential("app_secret"))

    fake_processor().process(dump_event(status_event("sent", 10, "wamid.OK", callback_data=callback)), message_id="m")

    outbound = store.outbound.get("theirs")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.OK")
    message = store.messages.get("wamid.OK")
    assert message is not None and message.biz_opaque_callback_data == "campaign-7"
