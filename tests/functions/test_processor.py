"""The processor function: inbound events in, records and replies out."""

from __future__ import annotations

import json
import os
import time

import boto3
import pytest

from tests.conftest import load_event, queue_bodies, sqs_batch
from wacloud.adapters.credentials import credential
from wacloud.adapters.store import Store
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.models.confirmation_marker import marker
from wacloud.models.events import dump_event
from wacloud.models.keys import digest
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.outcomes import record_outcome

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
INBOUND_WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"


@pytest.fixture
def processor():
    from functions.processor import app

    return app


def sqs_event(*bodies: str, group: str = CUSTOMER) -> dict:
    return sqs_batch(*bodies, queue="inbound", group=group)


def events_of(body: dict) -> list[str]:
    return [dump_event(event) for event in parse_webhook(body)]


def widen_replay_window(monkeypatch) -> None:
    """The sample's message is dated 2025: let it count as recent."""
    from wacloud.runtime import singletons

    monkeypatch.setenv("WACLOUD_MAX_EVENT_AGE_SECONDS", str(100 * 365 * 86400))
    monkeypatch.setenv("WACLOUD_IDEMPOTENCY_TTL_SECONDS", str(100 * 365 * 86400))
    monkeypatch.setenv("WACLOUD_RECORD_TTL_DAYS", str(100 * 365))
    singletons.reset()


def test_sample_event_stores_message_and_contact_and_queues_read_receipt_then_reply(
    processor, lambda_context, aws, monkeypatch
):
    widen_replay_window(monkeypatch)
    response = processor.lambda_handler(load_event("processor-sqs-events.json"), lambda_context)
    assert response == {"batchItemFailures": []}

    store = Store()
    record = store.messages.get(INBOUND_WAMID)
    assert record is not None
    assert (record.direction, record.status, record.customer, record.type) == ("in", "received", CUSTOMER, "text")
    assert json.loads(record.payload)["text"]["body"] == "Hi, is my order on its way?"
    contact = store.customers.get(CUSTOMER)
    assert contact is not None
    assert (contact.profile_name, contact.last_inbound_at, contact.last_inbound_wamid) == (
        "Ana",
        1764000000,
        INBOUND_WAMID,
    )

    queued = queue_bodies(aws, "OutboundQueue")
    assert [q["body"]["idempotency_key"] for q in queued] == [f"read:{INBOUND_WAMID}", f"reply:{INBOUND_WAMID}"]
    assert {q["attributes"]["MessageGroupId"] for q in queued} == {CUSTOMER}
    reply = queued[1]["body"]["message"]
    assert reply["to"] == f"+{CUSTOMER}"
    assert reply["context"] == {"message_id": INBOUND_WAMID}
    assert reply["text"]["body"].startswith("Thanks for your message")


def test_duplicate_delivery_has_no_second_effect(processor, lambda_context, aws):
    body = events_of(text_message("hello", phone_number_id="1", sender=CUSTOMER, wamid="wamid.DUP"))[0]
    processor.lambda_handler(sqs_event(body), lambda_context)
    first = queue_bodies(aws, "OutboundQueue")

    # The same event again (Meta retried after the queue's 5-minute deduplication window).
    response = processor.lambda_handler(sqs_event(body, body), lambda_context)

    assert response == {"batchItemFailures": []}
    assert len(first) == 2
    assert queue_bodies(aws, "OutboundQueue") == []  # idempotency: nothing queued twice


def test_auto_reply_and_read_receipt_can_be_switched_off(processor, lambda_context, aws, monkeypatch):
    monkeypatch.setenv("WACLOUD_AUTO_REPLY_TEXT", "")
    monkeypatch.setenv("WACLOUD_MARK_READ", "false")
    from wacloud.runtime import singletons

    singletons.reset()
    body = events_of(text_message("hello", phone_number_id="1", sender=CUSTOMER))[0]
    assert processor.lambda_handler(sqs_event(body), lambda_context) == {"batchItemFailures": []}
    assert queue_bodies(aws, "OutboundQueue") == []


def test_statuses_out_of_order_end_at_the_highest(processor, lambda_context):
    bodies = [
        events_of(status_update("wamid.OUT", status, phone_number_id="1", recipient=CUSTOMER, timestamp=ts))[0]
        for status, ts in (("read", 30), ("sent", 10), ("delivered", 20), ("sent", 10))
    ]
    response = processor.lambda_handler(sqs_event(*bodies), lambda_context)
    assert response == {"batchItemFailures": []}
    record = Store().messages.get("wamid.OUT")
    assert record is not None
    assert record.status == "read"
    assert record.status_history == {"sent": 10, "delivered": 20, "read": 30}
    assert record.pricing == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }


def test_statuses_keep_no_idempotency_record_and_a_repeat_changes_nothing(processor, lambda_context, aws, capsys):
    # Statuses are applied by conditional writes: two writes of an idempotency record per status
    # would buy nothing. A repeated `failed` still counts once and leaves the record as it was.
    error = {"code": 131026, "title": "Message undeliverable"}
    body = events_of(status_update("wamid.REP", "failed", phone_number_id="1", recipient=CUSTOMER, error=error))[0]
    processor.lambda_handler(sqs_event(body), lambda_context)
    first = Store().messages.get("wamid.REP")
    processor.lambda_handler(sqs_event(body, body), lambda_context)

    again = Store().messages.get("wamid.REP")
    assert first is not None and first.status == "failed"
    assert again is not None and again.model_dump(exclude={"updated_at"}) == first.model_dump(exclude={"updated_at"})
    idempotency = boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"])
    assert idempotency.scan()["Items"] == []
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    assert sum(sum(line.get("MessageFailed", [])) for line in lines) == 1


def test_a_status_of_a_send_already_recorded_leaves_its_outbound_record_alone(processor, lambda_context):
    from wacloud.models.outbound import OutboundMessage

    store = Store()
    document = {"idempotency_key": "known", "message": {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "hi"}}}
    record_outcome(store, OutboundMessage.model_validate(document), SendOutcome.accepted("wamid.KNOWN"), "1")
    before = aws_outbound("known")
    body = status_update(
        "wamid.KNOWN",
        "delivered",
        phone_number_id="1",
        recipient=CUSTOMER,
        callback_data=marker("known", credential("app_secret")),
    )
    processor.lambda_handler(sqs_event(*events_of(body)), lambda_context)

    assert aws_outbound("known") == before  # no confirmation write: the send's own answer recorded it
    record = store.messages.get("wamid.KNOWN")
    assert record is not None and record.status == "delivered"


def test_failed_status_keeps_metas_error(processor, lambda_context):
    error = {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "More than 24 hours have passed"},
    }
    body = events_of(status_update("wamid.F", "failed", phone_number_id="1", recipient=CUSTOMER, error=error))[0]
    processor.lambda_handler(sqs_event(body), lambda_context)
    record = Store().messages.get("wamid.F")
    assert record is not None and record.status == "failed"
    assert record.error is not None
    assert (record.error.code, record.error.title, record.error.details) == (
        131047,
        "Re-engagement message",
        "More than 24 hours have passed",
    )


def test_malformed_document_is_recorded_as_rejected_not_retried(processor, lambda_context):
    response = processor.lambda_handler(sqs_event('{"kind": "message"}', "not json"), lambda_context)
    assert response == {"batchItemFailures": []}
    store = Store()
    for message_id in ("m0", "m1"):
        rejection = store.rejections.get("inbound-queue", message_id)
        assert rejection is not None
        assert rejection.reason.startswith("not an inbound event")


def test_unparsed_webhook_data_is_recorded_with_its_reason(processor, lambda_context):
    (body,) = events_of(b"{broken")
    processor.lambda_handler(sqs_event(body, group="unparsed"), lambda_context)
    event = json.loads(body)
    rejection = Store().rejections.get("webhook", event["raw_sha256"])
    assert rejection is not None
    assert rejection.raw == "{broken"
    assert "not JSON" in rejection.reason


def test_other_changes_are_recorded_once(processor, lambda_context, aws):
    body = {
        "entry": [
            {
                "id": "W",
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_id": 1},
                    }
                ],
            }
        ]
    }
    (document,) = events_of(body)
    processor.lambda_handler(sqs_event(document), lambda_context)
    item = aws_item(aws, f"CHANGE#{digest(parse_webhook(body)[0].key)}")
    assert item["field"] == "message_template_status_update"
    assert json.loads(item["value"]) == {"event": "APPROVED", "message_template_id": 1}


def test_a_failing_customer_holds_back_only_their_own_events(processor, lambda_context, monkeypatch):
    # GIVEN two customers' messages in one batch, and the store failing for the first customer
    from wacloud.adapters.store.messages import MessageRecords
    from wacloud.adapters.table import StoreError

    original = MessageRecords.record_inbound

    def flaky(self, event):
        if event.message.sender == "111111":
            raise StoreError("throttled")
        return original(self, event)

    monkeypatch.setattr(MessageRecords, "record_inbound", flaky)
    a1 = events_of(text_message("a1", phone_number_id="1", sender="111111"))[0]
    a2 = events_of(text_message("a2", phone_number_id="1", sender="111111"))[0]
    b1 = events_of(text_message("b1", phone_number_id="1", sender="222222"))[0]
    event = sqs_event(a1, a2, b1)
    event["Records"][2]["attributes"]["MessageGroupId"] = "222222"
    for record, group in zip(event["Records"][:2], ("111111", "111111"), strict=True):
        record["attributes"]["MessageGroupId"] = group

    # WHEN the batch is processed
    response = processor.lambda_handler(event, lambda_context)

    # THEN both of the first customer's records are retried (in order), the other's is done
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert Store().customers.get("222222") is not None


def aws_outbound(key: str) -> dict:
    table = boto3.resource("dynamodb").Table(os.environ["WACLOUD_TABLE_NAME"])
    return table.get_item(Key={"pk": f"OUT#{key}", "sk": "OUTBOUND"})["Item"]


def aws_item(stack, pk: str) -> dict:
    import boto3

    table = boto3.resource("dynamodb").Table(stack.table_names["MessagesTable"])
    item = table.get_item(Key={"pk": pk, "sk": "CHANGE"}).get("Item")
    assert item is not None, f"no item {pk}"
    return item


def test_duplicates_are_counted_once_as_skipped(processor, lambda_context, capsys):
    body = events_of(text_message("hello", phone_number_id="1", sender=CUSTOMER, wamid="wamid.COUNT"))[0]
    processor.lambda_handler(sqs_event(body), lambda_context)
    first = capsys.readouterr().out
    processor.lambda_handler(sqs_event(body, body), lambda_context)
    second = capsys.readouterr().out

    def metric(out: str, name: str) -> float:
        lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
        return sum(sum(line.get(name, [])) if isinstance(line.get(name), list) else line.get(name, 0) for line in lines)

    assert (metric(first, "MessageReceived"), metric(first, "DuplicateEventSkipped")) == (1, 0)
    assert (metric(second, "MessageReceived"), metric(second, "DuplicateEventSkipped")) == (0, 2)


def test_a_sender_graph_would_not_take_gets_no_auto_reply_and_the_event_is_not_retried(processor, lambda_context, aws):
    # Meta's `from` is digits, but "12" is no number Graph sends to: the reply is left out, not retried forever.
    body = events_of(text_message("hi", phone_number_id="1", sender="12", wamid="wamid.SHORT"))[0]

    assert processor.lambda_handler(sqs_event(body, group="12"), lambda_context) == {"batchItemFailures": []}

    assert [q["body"]["idempotency_key"] for q in queue_bodies(aws, "OutboundQueue")] == ["read:wamid.SHORT"]
    assert Store().messages.get("wamid.SHORT") is not None


# --- The replay window: an old message is recorded but never acted on -------------------------


def test_message_older_than_the_replay_window_is_recorded_without_any_reply(processor, lambda_context, aws):
    response = processor.lambda_handler(load_event("processor-sqs-events.json"), lambda_context)  # dated 2025

    assert response == {"batchItemFailures": []}
    record = Store().messages.get(INBOUND_WAMID)
    assert record is not None
    assert record.direction == "in"
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_replayed_stop_past_the_window_does_not_change_the_opt_out(processor, lambda_context, aws):
    old = int(time.time()) - 8 * 86400
    body = events_of(text_message("STOP", phone_number_id="1", sender=CUSTOMER, wamid="wamid.OLD", timestamp=old))[0]

    processor.lambda_handler(sqs_event(body), lambda_context)

    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and not contact.opted_out
    assert Store().messages.get("wamid.OLD") is not None
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_replay_after_its_idempotency_record_expired_is_not_answered_twice(processor, lambda_context, aws):
    from wacloud.inbound.processor import get_processor

    body = events_of(text_message("hello", phone_number_id="1", sender=CUSTOMER, wamid="wamid.REPLAYED"))[0]
    processor.lambda_handler(sqs_event(body), lambda_context)
    assert len(queue_bodies(aws, "OutboundQueue")) == 2  # read receipt and reply, once

    # Eight days on, the idempotency record has expired and someone posts the same signed body.
    table = boto3.resource("dynamodb").Table(aws.table_names["IdempotencyTable"])
    for item in table.scan()["Items"]:
        table.delete_item(Key={"id": item["id"]})
    get_processor().messages._clock = lambda: time.time() + 8 * 86400
    response = processor.lambda_handler(sqs_event(body), lambda_context)

    assert response == {"batchItemFailures": []}
    assert queue_bodies(aws, "OutboundQueue") == []


def test_the_replay_window_cannot_outlast_idempotency():
    from wacloud.config import Settings
    from wacloud.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="must not exceed"):
        Settings.from_env({"WACLOUD_MAX_EVENT_AGE_SECONDS": "700000", "WACLOUD_IDEMPOTENCY_TTL_SECONDS": "600000"})
