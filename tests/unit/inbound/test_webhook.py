"""wacloud.inbound.webhook.Webhook: the subscription check, and a POST verified, split and queued (a fake
queue; the secret in moto). The Lambda handler's answers: tests/functions/test_webhook.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from tests.conftest import APP_SECRET, PHONE_NUMBER_ID, SECRET, VERIFY_TOKEN, rotate_secret
from wacloud.adapters.queues import QueueEntry, QueueError
from wacloud.adapters.store import Store
from wacloud.config import Settings, get_settings
from wacloud.errors import SignatureError
from wacloud.inbound import webhook as module
from wacloud.inbound.refusals import UNSERVED
from wacloud.inbound.signature import sign
from wacloud.inbound.split import queue_document, split_webhook
from wacloud.inbound.webhook import (
    SECRET_RECHECK_SECONDS,
    BadRequestError,
    ForbiddenError,
    PayloadTooLargeError,
    UnknownAppError,
    Webhook,
    get_webhook,
)
from wacloud.local.account import REGION
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.models.keys import digest
from wacloud.models.number_entry import NumberEntry

pytestmark = pytest.mark.usefixtures("aws")
FORGED = "sha256=" + "0" * 64


class FakeQueue:
    def __init__(self, error: Exception | None = None) -> None:
        self.sends: list[list[QueueEntry]] = []
        self.error = error

    def send(self, entries: Sequence[QueueEntry]) -> None:
        if self.error is not None:
            raise self.error
        self.sends.append(list(entries))


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


@pytest.fixture
def hook(queue: FakeQueue) -> Webhook:
    return Webhook(queue=queue, settings=get_settings())  # type: ignore[arg-type]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every credential the webhook reads: (field, forced past the cache)."""
    seen: list[tuple[str, bool]] = []
    real = module.credential

    def spy(field: Any, *, force_fetch: bool = False, secret_name: str | None = None) -> str:
        seen.append((field, force_fetch))
        return real(field, force_fetch=force_fetch, secret_name=secret_name)

    monkeypatch.setattr(module, "credential", spy)
    return seen


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The webhook's monotonic clock, set by the test."""
    now = [1000.0]
    monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def batch() -> bytes:
    first = text_message("one", phone_number_id=PHONE_NUMBER_ID, sender="111111", wamid="wamid.ONE")
    second = text_message("olá 👋", phone_number_id=PHONE_NUMBER_ID, sender="222222", wamid="wamid.TWO")
    status = status_update("wamid.OUT", "read", phone_number_id=PHONE_NUMBER_ID, recipient="111111", timestamp=5)
    change = {"id": "W", "changes": [{"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}}]}
    entries = first["entry"] + second["entry"] + status["entry"] + [change]
    return json.dumps({"object": "whatsapp_business_account", "entry": entries}).encode()


# --- the subscription check ------------------------------------------------------------------------------


def test_the_subscription_check_echoes_the_challenge(hook: Webhook) -> None:
    assert hook.subscribe("subscribe", VERIFY_TOKEN, "1158201444") == "1158201444"


@pytest.mark.parametrize(
    ("mode", "token", "challenge", "error"),
    [
        pytest.param(None, VERIFY_TOKEN, "1", BadRequestError, id="no-mode"),
        pytest.param("", VERIFY_TOKEN, "1", BadRequestError, id="empty-mode"),
        pytest.param("subscribe", None, "1", BadRequestError, id="no-token"),
        pytest.param("subscribe", VERIFY_TOKEN, None, BadRequestError, id="no-challenge"),
        pytest.param("unsubscribe", VERIFY_TOKEN, "1", ForbiddenError, id="wrong-mode"),
        pytest.param("subscribe", "", "1", ForbiddenError, id="empty-token"),
        pytest.param("subscribe", VERIFY_TOKEN + "x", "1", ForbiddenError, id="longer-token"),
        pytest.param("subscribe", "tökén ✓", "1", ForbiddenError, id="non-ascii-token"),
    ],
)
def test_the_subscription_check_refuses(hook: Webhook, mode, token, challenge, error) -> None:
    with pytest.raises(error):
        hook.subscribe(mode, token, challenge)


@pytest.mark.parametrize(
    "challenge",
    [
        pytest.param("", id="empty"),
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param("12 34", id="space"),
        pytest.param("-1", id="sign"),
        pytest.param("١٢٣", id="non-ascii-digits"),
        pytest.param("1" * 65, id="too-long"),
    ],
)
def test_a_challenge_that_is_not_what_meta_sends_is_refused_with_the_reason(hook: Webhook, challenge: str) -> None:
    with pytest.raises(BadRequestError, match=r"hub\.challenge must be 1 to 64 digits"):
        hook.subscribe("subscribe", VERIFY_TOKEN, challenge)


def test_a_wrong_token_is_refused_before_the_challenge_is_looked_at(hook: Webhook) -> None:
    with pytest.raises(ForbiddenError):
        hook.subscribe("subscribe", "wrong", "<script>")


def test_the_longest_challenge_taken_is_echoed(hook: Webhook) -> None:
    assert hook.subscribe("subscribe", VERIFY_TOKEN, "9" * 64) == "9" * 64


# --- a POST: verified, split, queued ---------------------------------------------------------------------


def test_every_event_is_queued_in_one_send_with_its_group_and_deduplication_id(hook: Webhook, queue) -> None:
    body = batch()

    events = hook.receive(body, sign(body, APP_SECRET)).events

    expected = split_webhook(body)
    assert events == expected
    assert [e.kind for e in events] == ["message", "message", "status", "change"]
    (entries,) = queue.sends  # all or nothing: one call
    assert entries == [QueueEntry(body=e.body(), group_id=e.group, deduplication_id=digest(e.key)) for e in expected]
    assert [entry.group_id for entry in entries] == ["111111", "222222", "111111", "change-W"]


def test_the_same_body_twice_is_queued_with_the_same_deduplication_ids(hook: Webhook, queue) -> None:
    body = batch()

    hook.receive(body, sign(body, APP_SECRET))
    hook.receive(body, sign(body, APP_SECRET))

    first, again = queue.sends
    assert [e.deduplication_id for e in first] == [e.deduplication_id for e in again]
    assert len({e.deduplication_id for e in first}) == 4


def test_an_event_too_large_to_queue_goes_as_its_stand_in(hook: Webhook, queue) -> None:
    body = json.dumps({"entry": [{"id": "W", "changes": [{"field": "history", "value": "y" * 300_000}]}]}).encode()

    (event,) = hook.receive(body, sign(body, APP_SECRET)).events

    stand_in, document = queue_document(split_webhook(body)[0])
    assert event == stand_in and event.kind == "unparsed"
    assert queue.sends == [[QueueEntry(body=document, group_id="unparsed", deduplication_id=digest(stand_in.key))]]


@pytest.mark.parametrize(("size", "accepted"), [(100, True), (101, False)], ids=["at-the-limit", "one-byte-over"])
def test_a_body_over_the_limit_is_refused_before_its_signature_is_checked(queue, reads, size, accepted) -> None:
    hook = Webhook(queue=queue, settings=Settings(max_webhook_bytes=100))
    body = json.dumps({"entry": [], "pad": "x" * (size - 24)}).encode()
    assert len(body) == size

    if accepted:
        assert hook.receive(body, sign(body, APP_SECRET)).events == []
    else:
        with pytest.raises(PayloadTooLargeError):
            hook.receive(body, FORGED)
        assert reads == []  # not even the secret was read
    assert len(queue.sends) == int(accepted)


def test_a_queue_failure_reaches_the_caller(hook: Webhook) -> None:
    # Answered 5xx, so Meta delivers the body again.
    hook.queue = FakeQueue(QueueError("SendMessageBatch failed"))  # type: ignore[assignment]
    body = batch()

    with pytest.raises(QueueError):
        hook.receive(body, sign(body, APP_SECRET))


# --- the app secret, re-read at most once per SECRET_RECHECK_SECONDS ---------------------------------------


def test_a_reset_app_secret_is_read_again_at_the_first_mismatch(hook: Webhook, queue, reads, clock) -> None:
    body = batch()
    hook.receive(body, sign(body, APP_SECRET))
    rotate_secret(app_secret="new-app-secret")

    events = hook.receive(body, sign(body, "new-app-secret")).events

    assert len(events) == 4 and len(queue.sends) == 2
    assert reads == [("app_secret", False), ("app_secret", False), ("app_secret", True)]


@pytest.mark.parametrize(
    ("later", "reread"),
    [(1, False), (SECRET_RECHECK_SECONDS - 0.001, False), (SECRET_RECHECK_SECONDS, True)],
    ids=["a-second-later", "just-inside-the-window", "once-the-window-passed"],
)
def test_forged_signatures_read_the_secret_again_at_most_once_per_window(hook, queue, reads, clock, later, reread):
    body = batch()
    with pytest.raises(SignatureError):
        hook.receive(body, FORGED)
    assert reads.count(("app_secret", True)) == 1
    clock[0] += later

    with pytest.raises(SignatureError):
        hook.receive(body, FORGED)

    assert reads.count(("app_secret", True)) == 1 + int(reread)
    assert queue.sends == []


@pytest.mark.parametrize("signature", [None, "", "md5=abc"], ids=["missing", "empty", "not-sha256"])
def test_a_missing_signature_never_reads_the_secret_again(hook: Webhook, queue, reads, clock, signature) -> None:
    body = batch()

    with pytest.raises(SignatureError) as refused:
        hook.receive(body, signature)

    assert refused.value.missing
    assert ("app_secret", True) not in reads
    assert queue.sends == []


def test_the_environments_webhook_queues_on_the_inbound_queue(aws) -> None:
    webhook = get_webhook()

    assert webhook is get_webhook()
    assert webhook.queue.url == aws.queue_urls["InboundQueue"]  # type: ignore[attr-defined]


# --- apps: each its own secret, its own numbers --------------------------------------------------------


class Numbers:
    """Two apps: the stack's (default) and `sales`, whose secret is another."""

    def __init__(self) -> None:
        self.by_id = {
            PHONE_NUMBER_ID: NumberEntry(PHONE_NUMBER_ID, default=True),
            "222": NumberEntry("222", waba_id="902", app="sales", secret_name="whatsapp/cloud-api/sales"),
        }

    def get(self, phone_number_id: str) -> NumberEntry | None:
        return self.by_id.get(phone_number_id)

    def entries(self) -> list[NumberEntry]:
        return list(self.by_id.values())

    def secret_for_app(self, app: str) -> str | None:
        return {"default": "whatsapp/cloud-api", "sales": "whatsapp/cloud-api/sales"}.get(app)


@pytest.fixture
def apps(queue: FakeQueue) -> Webhook:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="whatsapp/cloud-api/sales", SecretString=json.dumps({**SECRET, "app_secret": "sales-secret"})
    )
    return Webhook(queue=queue, settings=get_settings(), numbers=Numbers())  # type: ignore[arg-type]


def test_an_unknown_app_is_refused_before_its_body_or_any_secret_is_looked_at(apps: Webhook, queue, reads) -> None:
    with pytest.raises(UnknownAppError):
        apps.receive(b"{}", FORGED, app="nobody")
    with pytest.raises(UnknownAppError):
        apps.subscribe("subscribe", VERIFY_TOKEN, "1", app="nobody")
    assert reads == [] and queue.sends == []


def test_each_apps_secret_is_read_again_in_its_own_window(apps: Webhook, reads, clock) -> None:
    body = json.dumps(text_message("hi", phone_number_id="222")).encode()
    with pytest.raises(SignatureError):
        apps.receive(body, FORGED)  # the default app's secret, re-read once
    # A forgery on one app's path does not spend another app's re-read.
    assert apps.receive(body, sign(body, "sales-secret"), app="sales").events[0].kind == "message"
    with pytest.raises(SignatureError):
        apps.receive(body, FORGED, app="sales")
    assert reads.count(("app_secret", True)) == 2


def test_a_number_of_another_app_is_refused_and_recorded_not_queued(apps: Webhook, queue) -> None:
    body = json.dumps(text_message("hi", phone_number_id="222")).encode()

    received = apps.receive(body, sign(body, APP_SECRET))

    assert (received.events, received.refused) == ([], 1)
    assert queue.sends == [[]]
    (event,) = split_webhook(body)
    record = Store().rejections.get(UNSERVED, digest(event.key))
    assert record is not None and "belongs to app 'sales', not 'default'" in record.reason
