"""wacloud.outbound.unconfirmed_check: every send recorded `unconfirmed` gets a delayed check, the
check counts the ones still unconfirmed, and a check that cannot be scheduled never fails the send
(moto, with the template's check queue)."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from tests.conftest import outbound_document, queue_bodies, sqs_batch
from wacloud.adapters.queues import QueueError
from wacloud.adapters.store import Store
from wacloud.adapters.table import StoreError
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack
from wacloud.models.outbound import OutboundMessage
from wacloud.models.outbound_state import SendOutcome
from wacloud.models.records import ErrorInfo
from wacloud.outbound import unconfirmed_check
from wacloud.outbound.outcomes import confirm_send, record_outcome
from wacloud.outbound.unconfirmed_check import check, check_batch, check_body, schedule_check

pytestmark = pytest.mark.usefixtures("aws")
QUEUE = "UnconfirmedCheckQueue"
LOST = ErrorInfo(title="transport error")


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The metrics the module counts, by name."""
    names: list[str] = []
    monkeypatch.setattr(unconfirmed_check, "count", lambda name, value=1: names.append(name))
    return names


@pytest.fixture
def no_delay(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks visible at once, so that the test can read them off the queue."""
    monkeypatch.setenv("WACLOUD_UNCONFIRMED_CHECK_SECONDS", "0")
    from wacloud.runtime import singletons

    singletons.reset()


def queue_attribute(stack: Stack, name: str) -> int:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_urls[QUEUE], AttributeNames=[name])["Attributes"]
    return int(attributes[name])


def test_an_unconfirmed_send_gets_a_check_delayed_by_the_alarm_seconds(aws, store, counted):
    # GIVEN the sender's environment from the template: the check queue, 900 s (the default)
    record_outcome(store, outbound_document("lost-1"), SendOutcome.unconfirmed(LOST), "1")
    # THEN one check waits on the queue, not yet visible
    assert queue_attribute(aws, "ApproximateNumberOfMessagesDelayed") == 1
    assert queue_bodies(aws, QUEUE) == []
    assert counted == []


@pytest.mark.usefixtures("no_delay")
def test_the_check_names_the_send_by_its_idempotency_key(aws, store):
    record_outcome(store, outbound_document("lost-2"), SendOutcome.unconfirmed(LOST), "1")
    assert [m["body"] for m in queue_bodies(aws, QUEUE)] == [{"idempotency_key": "lost-2"}]


@pytest.mark.usefixtures("no_delay")
@pytest.mark.parametrize(
    "outcome",
    [
        SendOutcome.accepted("wamid.OK"),
        SendOutcome.accepted(None),  # Graph's 200 whose body could not be read: Meta has it
        SendOutcome.failed(ErrorInfo(code=131047)),
        SendOutcome.retrying(ErrorInfo(code=131000), last_attempt=False),
        SendOutcome.rejected("invalid"),
    ],
    ids=lambda o: o.state.value,
)
def test_other_outcomes_schedule_no_check(aws, store, outcome):
    record_outcome(store, outbound_document("settled"), outcome, "1")
    assert queue_bodies(aws, QUEUE) == []


EUM_SENT = SendOutcome.accepted(None, transport="eum", transport_message_id="aws-1")


@pytest.mark.usefixtures("no_delay")
def test_an_eum_send_accepted_without_its_wamid_gets_a_check(aws, store):
    record_outcome(store, outbound_document("eum-1"), EUM_SENT, "2")
    assert [m["body"] for m in queue_bodies(aws, QUEUE)] == [{"idempotency_key": "eum-1"}]


@pytest.mark.usefixtures("no_delay")
def test_an_eum_read_receipt_schedules_no_check(aws, store):
    # No status ever follows a read receipt: AWS's answer is all there is to it.
    receipt = {"idempotency_key": "read:wamid.IN", "message": {"status": "read", "message_id": "wamid.IN"}}
    record_outcome(store, OutboundMessage.model_validate(receipt), EUM_SENT, "2")
    assert store.outbound.get("read:wamid.IN").state == "accepted"
    assert queue_bodies(aws, QUEUE) == []


@pytest.mark.usefixtures("no_delay")
def test_an_eum_send_its_status_confirmed_first_schedules_no_check(aws, store):
    doc = outbound_document("eum-raced")
    store.outbound.mark_sending(doc, "2", owner="attempt", digest=None)
    confirm_send(store, "eum-raced", "wamid.RACE")
    record_outcome(store, doc, EUM_SENT, "2")
    assert queue_bodies(aws, QUEUE) == []


def test_an_eum_send_still_without_its_wamid_at_its_check_is_counted_and_logged(store, counted, caplog):
    record_outcome(store, outbound_document("eum-silent"), EUM_SENT, "2")
    with caplog.at_level(logging.WARNING):
        assert check(check_body("eum-silent")) is True
    assert counted == ["SendStillUnconfirmed"]
    (line,) = [r for r in caplog.records if r.getMessage() == "EUM send still without its wamid (no status came)"]
    logged = {k: line.__dict__.get(k) for k in ("state", "phone_number_id", "transport", "transport_message_id")}
    assert logged == {"state": "accepted", "phone_number_id": "2", "transport": "eum", "transport_message_id": "aws-1"}


def test_an_eum_send_its_status_confirmed_in_between_counts_nothing(store, counted):
    record_outcome(store, outbound_document("eum-late"), EUM_SENT, "2")
    assert confirm_send(store, "eum-late", "wamid.LATE") is True
    assert check(check_body("eum-late")) is False
    assert counted == []


def test_an_eum_send_made_unconfirmed_by_awss_5xx_is_counted_with_awss_code(store, counted, caplog):
    error = ErrorInfo(title="Internal service error", details="End User Messaging Social: InternalServiceException")
    record_outcome(store, outbound_document("eum-5xx"), SendOutcome.unconfirmed(error), "2")
    with caplog.at_level(logging.WARNING):
        assert check(check_body("eum-5xx")) is True
    assert counted == ["SendStillUnconfirmed"]
    (line,) = [r for r in caplog.records if r.getMessage() == "Send still unconfirmed"]
    assert "InternalServiceException" in line.__dict__["error"]


@pytest.mark.usefixtures("no_delay")
def test_an_unconfirmed_outcome_the_status_already_confirmed_schedules_no_check(aws, store):
    # The status webhook won the race: the send is recorded accepted, nothing to check.
    confirm_send(store, "raced", "wamid.RACE")
    record_outcome(store, outbound_document("raced"), SendOutcome.unconfirmed(LOST), "1")
    assert store.outbound.get("raced").state == "accepted"
    assert queue_bodies(aws, QUEUE) == []


def test_a_send_still_unconfirmed_at_its_check_is_counted(store, counted):
    record_outcome(store, outbound_document("still"), SendOutcome.unconfirmed(LOST), "1")
    assert check(check_body("still")) is True
    assert counted == ["SendStillUnconfirmed"]


def test_a_send_confirmed_in_between_counts_nothing(store, counted):
    record_outcome(store, outbound_document("late"), SendOutcome.unconfirmed(LOST), "1")
    assert confirm_send(store, "late", "wamid.LATE") is True
    assert check(check_body("late")) is False
    assert counted == []


def test_a_check_of_a_send_with_no_record_counts_nothing(counted):
    assert check(check_body("never-recorded")) is False
    assert counted == []


def test_the_log_line_of_a_send_still_unconfirmed_masks_a_key_made_of_a_wamid(store, counted, caplog):
    key = "reply:wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
    record_outcome(store, outbound_document(key), SendOutcome.unconfirmed(LOST), "1")
    with caplog.at_level(logging.WARNING):
        assert check(check_body(key)) is True
    (line,) = [r for r in caplog.records if r.getMessage() == "Send still unconfirmed"]
    logged = line.__dict__["idempotency_key"]
    assert logged.startswith("reply:wamid~") and "16505551234" not in logged


@pytest.mark.parametrize("body", ["not json", "[]", '{"idempotency_key": 5}', "{}", '{"idempotency_key": ""}'])
def test_a_check_naming_no_send_is_dropped(body, counted):
    assert check(body) is False
    assert counted == []


def test_the_consumer_reports_only_checks_whose_record_could_not_be_read(store, counted, monkeypatch):
    record_outcome(store, outbound_document("a"), SendOutcome.unconfirmed(LOST), "1")
    record_outcome(store, outbound_document("b"), SendOutcome.unconfirmed(LOST), "1")
    real_get = store.outbound.get

    def get(key: str) -> Any:
        if key == "b":
            raise StoreError("GetItem failed: throttled")
        return real_get(key)

    monkeypatch.setattr(unconfirmed_check, "get_store", lambda: store)
    monkeypatch.setattr(store.outbound, "get", get)
    event = sqs_batch(check_body("a"), check_body("b"), "garbage", queue="unconfirmed-check")
    answer = check_batch(event, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert counted == ["SendStillUnconfirmed"]


def test_no_queue_url_schedules_nothing_and_counts_nothing(aws, monkeypatch, counted):
    monkeypatch.setenv("WACLOUD_UNCONFIRMED_CHECK_QUEUE_URL", "")
    from wacloud.runtime import singletons

    singletons.reset()
    calls: list[Any] = []
    monkeypatch.setattr(unconfirmed_check, "send_delayed", lambda *args: calls.append(args))
    assert schedule_check("k") is False
    assert (calls, counted) == ([], [])


def test_a_failing_put_neither_fails_the_send_nor_goes_unnoticed(store, counted, monkeypatch):
    def refused(*args: Any) -> None:
        raise QueueError("SendMessage failed: AccessDenied")

    monkeypatch.setattr(unconfirmed_check, "send_delayed", refused)
    record_outcome(store, outbound_document("unchecked"), SendOutcome.unconfirmed(LOST), "1")
    assert store.outbound.get("unchecked").state == "unconfirmed"
    assert counted == ["UnconfirmedCheckNotScheduled"]


def test_even_an_unexpected_error_while_scheduling_is_only_counted(counted, monkeypatch):
    def broken(*args: Any) -> None:
        raise RuntimeError("settings unreadable")

    monkeypatch.setattr(unconfirmed_check, "get_settings", broken)
    assert schedule_check("k") is False
    assert counted == ["UnconfirmedCheckNotScheduled"]


def test_a_missing_queue_is_a_failed_put(aws, store, counted, monkeypatch):
    # Real SQS (moto) refusing the put: a queue that does not exist.
    missing = aws.queue_urls[QUEUE] + "-gone"
    monkeypatch.setenv("WACLOUD_UNCONFIRMED_CHECK_QUEUE_URL", missing)
    from wacloud.runtime import singletons

    singletons.reset()
    assert schedule_check("k") is False
    assert counted == ["UnconfirmedCheckNotScheduled"]
    assert json.loads(check_body("k")) == {"idempotency_key": "k"}
