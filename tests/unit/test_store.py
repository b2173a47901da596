"""The DynamoDB store: inbound once, statuses forward only in any order, outbound outcomes."""

from __future__ import annotations

import itertools

import pytest

from wacloud.adapters.store import MessageStore, StatusChange, StoreError
from wacloud.inbound.split import parse_webhook
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.models.events import MessageEvent, StatusEvent
from wacloud.models.records import ErrorInfo, HistoryEntry
from wacloud.outbound.contract import OutboundMessage

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
FAILED_ERROR = {"code": 131026, "title": "Message undeliverable", "error_data": {"details": "not on WhatsApp"}}


def message_event(text: str = "hi", **kwargs) -> MessageEvent:
    (event,) = parse_webhook(text_message(text, phone_number_id="1", sender=CUSTOMER, **kwargs))
    assert isinstance(event, MessageEvent)
    return event


def status_event(status: str, timestamp: int, wamid: str = "wamid.OUT", **kwargs) -> StatusEvent:
    body = status_update(wamid, status, phone_number_id="1", recipient=CUSTOMER, timestamp=timestamp, **kwargs)
    (event,) = parse_webhook(body)
    assert isinstance(event, StatusEvent)
    return event


def document(key: str = "k1", **envelope) -> OutboundMessage:
    return OutboundMessage.model_validate(
        {
            "idempotency_key": key,
            **envelope,
            "message": {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "hello"}},
        }
    )


def test_inbound_message_is_stored_once():
    store, event = MessageStore(), message_event(wamid="wamid.IN", timestamp=100)
    assert store.record_inbound(event) is True
    assert store.record_inbound(event) is False
    record = store.get_message("wamid.IN")
    assert record is not None
    assert (record.direction, record.status, record.customer, record.status_history) == (
        "in",
        "received",
        CUSTOMER,
        {"received": 100},
    )


def test_contact_keeps_the_latest_inbound_time_even_when_an_older_message_arrives_late():
    store = MessageStore()
    store.upsert_contact(message_event(wamid="wamid.NEW", timestamp=200, name="Ana B."))
    store.upsert_contact(message_event(wamid="wamid.OLD", timestamp=100, name="Ana"))
    contact = store.get_contact(CUSTOMER)
    assert contact is not None
    assert (contact.last_inbound_at, contact.last_inbound_wamid, contact.profile_name) == (200, "wamid.NEW", "Ana B.")


STATUSES = [("sent", 10), ("delivered", 20), ("read", 30)]


@pytest.mark.parametrize("order", list(itertools.permutations(STATUSES)), ids=lambda o: "-".join(s for s, _ in o))
def test_statuses_in_any_order_end_at_read_with_full_history(order):
    store = MessageStore()
    for status, ts in order:
        store.apply_status(status_event(status, ts))
    record = store.get_message("wamid.OUT")
    assert record is not None
    assert record.status == "read"
    assert record.status_history == {"sent": 10, "delivered": 20, "read": 30}


def test_statuses_of_the_same_second_are_listed_in_the_order_a_message_goes_through_them():
    # Meta's timestamps are whole seconds and its webhooks race: `wacloud status` shows this order.
    store = MessageStore()
    for status in ("read", "delivered", "sent"):
        store.apply_status(status_event(status, 10))
    record = store.get_message("wamid.OUT")
    assert record is not None and [status for status, _ in record.timeline()] == ["sent", "delivered", "read"]


def test_duplicate_and_late_statuses_do_not_move_a_record_back():
    store = MessageStore()
    assert store.apply_status(status_event("delivered", 20)).change is StatusChange.ADVANCED
    assert store.apply_status(status_event("delivered", 20)).change is StatusChange.RECORDED
    assert store.apply_status(status_event("sent", 10)).change is StatusChange.RECORDED
    record = store.get_message("wamid.OUT")
    assert record is not None and record.status == "delivered" and record.status_rank == 2


def test_failed_after_sent_is_kept_with_its_error_and_never_overtaken():
    store = MessageStore()
    store.apply_status(status_event("sent", 10))
    assert store.apply_status(status_event("failed", 15, error=FAILED_ERROR)).change is StatusChange.ADVANCED
    assert store.apply_status(status_event("delivered", 20)).change is StatusChange.RECORDED
    record = store.get_message("wamid.OUT")
    assert record is not None and record.status == "failed"
    assert record.error is not None
    assert (record.error.code, record.error.title, record.error.details) == (
        131026,
        "Message undeliverable",
        "not on WhatsApp",
    )


def test_a_late_failed_does_not_undo_a_delivery():
    store = MessageStore()
    store.apply_status(status_event("delivered", 20))
    assert store.apply_status(status_event("failed", 25, error=FAILED_ERROR)).change is StatusChange.RECORDED
    record = store.get_message("wamid.OUT")
    assert record is not None and record.status == "delivered" and record.error is None
    assert "failed" in record.status_history


def test_unknown_status_is_kept_in_history_only():
    store = MessageStore()
    store.apply_status(status_event("sent", 10))
    assert store.apply_status(status_event("deleted", 12)).change is StatusChange.RECORDED
    record = store.get_message("wamid.OUT")
    assert record is not None and record.status == "sent" and record.status_history["deleted"] == 12


def test_a_status_says_whether_the_sender_had_recorded_its_message():
    # The processor confirms an outbound record only for a message the sender has not recorded.
    store = MessageStore()
    assert store.apply_status(status_event("sent", 10, wamid="wamid.LOST")).send_recorded is False
    assert store.apply_status(status_event("delivered", 20, wamid="wamid.LOST")).send_recorded is False

    store.record_accepted(document("known"), "wamid.KNOWN", "1")
    assert store.apply_status(status_event("sent", 10, wamid="wamid.KNOWN")).send_recorded is True
    assert store.apply_status(status_event("sent", 10, wamid="wamid.KNOWN")).send_recorded is True  # a repeat


def test_a_message_accepted_over_a_final_outbound_state_is_not_marked_and_its_status_still_confirms():
    # record_accepted after record_unconfirmed (no path does this today): the outbound record keeps
    # its final state, so its statuses must still be allowed to confirm it.
    store, doc = MessageStore(), document("late-answer")
    store.record_unconfirmed(doc, ErrorInfo(title="transport error"), "1")
    store.record_accepted(doc, "wamid.W", "1")
    assert store.get_outbound("late-answer").state == "unconfirmed"
    assert store.apply_status(status_event("sent", 10, wamid="wamid.W")).send_recorded is False
    assert store.confirm_outbound("late-answer", "wamid.W") is True
    assert store.apply_status(status_event("delivered", 20, wamid="wamid.W")).send_recorded is True


def test_a_confirmation_whose_message_write_failed_marks_the_message_when_its_status_comes_again(monkeypatch):
    store, doc = MessageStore(), document("lost-answer")
    store.record_unconfirmed(doc, ErrorInfo(title="transport error"), "1")
    mark = store._mark_outbound_accepted

    def failing(*args, **kwargs):
        raise StoreError("UpdateItem failed: throttled")

    monkeypatch.setattr(store, "_mark_outbound_accepted", failing)
    with pytest.raises(StoreError):
        store.confirm_outbound("lost-answer", "wamid.L")
    monkeypatch.setattr(store, "_mark_outbound_accepted", mark)

    # The status is delivered again (SQS): the record is already accepted, the message gets marked.
    assert store.apply_status(status_event("sent", 10, wamid="wamid.L")).send_recorded is False
    assert store.confirm_outbound("lost-answer", "wamid.L") is False
    assert store.apply_status(status_event("delivered", 20, wamid="wamid.L")).send_recorded is True
    assert store.get_outbound("lost-answer").state == "accepted"


def test_a_repeated_older_status_does_not_overwrite_the_newer_ones_pricing():
    def with_category(status: str, timestamp: int, category: str) -> StatusEvent:
        body = status_update("wamid.P", status, phone_number_id="1", recipient=CUSTOMER, timestamp=timestamp)
        body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]["category"] = category
        (event,) = parse_webhook(body)
        return event

    store = MessageStore()
    store.apply_status(with_category("sent", 10, "utility"))
    store.apply_status(with_category("delivered", 20, "marketing"))
    store.apply_status(with_category("sent", 10, "utility"))  # Meta delivers the older one again
    record = store.get_message("wamid.P")
    assert record is not None and record.status == "delivered" and record.pricing["category"] == "marketing"


@pytest.mark.parametrize("status_first", [False, True], ids=["send-then-status", "status-then-send"])
def test_send_record_and_status_webhook_merge_in_either_order(status_first):
    store, doc = MessageStore(), document("k1", client_reference="order-1")
    steps = [
        lambda: store.record_accepted(doc, "wamid.M", "1"),
        lambda: store.apply_status(status_event("sent", 10, wamid="wamid.M")),
    ]
    for step in reversed(steps) if status_first else steps:
        step()
    record = store.get_message("wamid.M")
    assert record is not None
    assert (record.status, record.direction, record.idempotency_key, record.client_ref, record.customer) == (
        "sent",
        "out",
        "k1",
        "order-1",
        CUSTOMER,
    )
    assert set(record.status_history) == {"accepted", "sent"}
    outbound = store.get_outbound("k1")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.M")


def test_final_outbound_state_is_not_overwritten_by_a_late_retry_report():
    store, doc = MessageStore(), document("k2")
    store.record_retrying(doc, ErrorInfo(code=131000), "1")
    store.record_accepted(doc, "wamid.A", "1")
    store.record_retrying(doc, ErrorInfo(code=131000), "1")  # a slow duplicate reporting late
    outbound = store.get_outbound("k2")
    assert outbound is not None and outbound.state == "accepted" and outbound.attempts == 2


def test_rejection_is_recorded_with_reason_and_raw_document():
    store = MessageStore()
    store.record_rejected("bad-1", "invalid document: message: Field required", raw='{"idempotency_key":"bad-1"}')
    outbound = store.get_outbound("bad-1")
    assert outbound is not None
    assert (outbound.state, outbound.reason) == ("rejected", "invalid document: message: Field required")


def test_records_expire_after_the_configured_days():
    store = MessageStore(ttl_days=2, clock=lambda: 1000.0)
    store.record_inbound(message_event(wamid="wamid.TTL"))
    record = store.get_message("wamid.TTL")
    assert record is not None and record.expires_at == 1000 + 2 * 86400


def test_dynamodb_failure_is_a_store_error(monkeypatch):
    from botocore.exceptions import ClientError

    store = MessageStore()

    def throttled(**kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
        )

    monkeypatch.setattr(store.table, "update_item", throttled)
    with pytest.raises(StoreError, match="ProvisionedThroughputExceededException"):
        store.apply_status(status_event("sent", 10))


@pytest.mark.parametrize("status_first", [False, True], ids=["unconfirmed-then-status", "status-then-unconfirmed"])
def test_an_unconfirmed_send_is_confirmed_by_its_status_in_either_order(status_first):
    store, doc = MessageStore(), document("maybe")
    steps = [
        lambda: store.record_unconfirmed(doc, ErrorInfo(title="transport error"), "1"),
        lambda: store.confirm_outbound("maybe", "wamid.LATE"),
    ]
    for step in reversed(steps) if status_first else steps:
        step()
    outbound = store.get_outbound("maybe")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.LATE")


def test_a_status_never_confirms_a_document_that_failed():
    store, doc = MessageStore(), document("refused")
    store.record_failed(doc, ErrorInfo(code=131047), "1")
    assert store.confirm_outbound("refused", "wamid.X") is False
    outbound = store.get_outbound("refused")
    assert outbound is not None and outbound.state == "failed"


def test_an_opt_out_outlives_the_contact_profile(aws):
    import boto3

    store = MessageStore()
    store.upsert_contact(message_event(wamid="wamid.P", timestamp=100))
    assert store.set_opt_out([CUSTOMER], True, at=100, keyword="STOP") is True
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    assert "expires_at" not in table.get_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "OPT"})["Item"]

    # The profile expires (TTL); the opt-out is still there.
    table.delete_item(Key={"pk": f"CONTACT#{CUSTOMER}", "sk": "PROFILE"})
    contact = store.get_contact(f"+{CUSTOMER}")
    assert contact is not None and contact.opted_out is True and contact.opt_keyword == "STOP"


@pytest.mark.parametrize("last_attempt", [False, True], ids=["retrying", "dead_lettered"])
def test_a_status_proves_a_send_that_reported_an_error_went_out(last_attempt):
    store, doc = MessageStore(), document("took-it")
    store.record_retrying(doc, ErrorInfo(code=131000), "1", last_attempt=last_attempt)
    assert store.confirm_outbound("took-it", "wamid.YES") is True
    outbound = store.get_outbound("took-it")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", "wamid.YES")


def test_a_status_fills_in_the_wamid_of_an_acceptance_without_one():
    store, doc = MessageStore(), document("no-wamid")
    store.record_accepted(doc, None, "1")
    assert store.confirm_outbound("no-wamid", "wamid.LATER") is True
    outbound = store.get_outbound("no-wamid")
    assert outbound is not None and outbound.wamid == "wamid.LATER"


# --- media -----------------------------------------------------------------------------------------


def test_an_upload_is_reused_for_29_days_and_not_a_second_longer():
    clock = [1_800_000_000]
    store = MessageStore(clock=lambda: clock[0])
    store.put_uploaded_media("pnid|bucket|key|etag", "1013859600285441")

    clock[0] += 29 * 86400
    assert store.get_uploaded_media("pnid|bucket|key|etag") == "1013859600285441"
    assert store.get_uploaded_media("pnid|bucket|key|other-etag") is None
    clock[0] += 1
    assert store.get_uploaded_media("pnid|bucket|key|etag") is None


def test_archived_media_is_kept_on_the_message_and_a_later_error_does_not_hide_it():
    from wacloud.models.records import StoredMedia

    event = message_event()
    store = MessageStore()
    store.record_inbound(event)
    store.record_media_error(event.message.id, ErrorInfo(code=131000, title="Something went wrong"))
    media = StoredMedia(bucket="b", key="inbound/1/2025/12/01/9.jpg", mime_type="image/jpeg", size=10, sha256="ab")

    store.record_media(event.message.id, media)
    store.record_media_error(event.message.id, ErrorInfo(code=100, title="Object does not exist"))  # a late replay

    record = store.get_message(event.message.id)
    assert (record.media, record.media_error) == (media, None)
    assert record.type == "text" and record.direction == "in"


def test_the_store_makes_no_boto3_resource(monkeypatch):
    # A resource is not thread-safe (the sender's recipient threads share the store) and costs a cold
    # start about 20 ms: the store works on the low-level client.
    import boto3

    from wacloud.adapters import store as store_module

    def refuse(*args, **kwargs):
        raise AssertionError("a boto3 resource was created")

    monkeypatch.setattr(boto3.session.Session, "resource", refuse)
    store_module._table.cache_clear()
    store = MessageStore()
    store.record_accepted(document("no-resource"), "wamid.NR", "1")  # update_item
    store.record_inbound(message_event("hello"))  # put_item
    entry = HistoryEntry(at=1_700_000_000, direction="in", type="text", text="hello", wamid="wamid.IN")
    store.append_history(CUSTOMER, [entry], ttl_seconds=60)  # batch_put

    assert store.get_outbound("no-resource") is not None  # get_item
    assert [line.text for line in store.get_history(CUSTOMER)] == ["hello"]  # query
    previous, _ = store.get_send_context("no-resource", CUSTOMER)  # batch_get, with the contact's keys
    assert previous is not None and previous.wamid == "wamid.NR"
