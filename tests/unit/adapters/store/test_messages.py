"""wacloud.adapters.store.messages: an inbound message stored once, statuses forward only in any
order, inbound media recorded (moto)."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import message_event, status_event
from wacloud.adapters.store import Store
from wacloud.adapters.store.messages import StatusChange
from wacloud.adapters.table import StoreError
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import status_update
from wacloud.models.events import StatusEvent
from wacloud.models.records import ErrorInfo, StoredMedia

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
FAILED_ERROR = {"code": 131026, "title": "Message undeliverable", "error_data": {"details": "not on WhatsApp"}}
STATUSES = [("sent", 10), ("delivered", 20), ("read", 30)]


@pytest.fixture
def messages():
    return Store().messages


def test_inbound_message_is_stored_once_and_then_known_as_received(messages):
    event = message_event(wamid="wamid.IN", timestamp=100)
    assert messages.was_received("wamid.IN") is False
    messages.record_inbound(event)
    messages.record_inbound(event)
    assert messages.was_received("wamid.IN") is True
    record = messages.get("wamid.IN")
    assert record is not None
    assert (record.direction, record.status, record.customer, record.status_history) == (
        "in",
        "received",
        CUSTOMER,
        {"received": 100},
    )


@pytest.mark.parametrize("order", list(itertools.permutations(STATUSES)), ids=lambda o: "-".join(s for s, _ in o))
def test_statuses_in_any_order_end_at_read_with_full_history(messages, order):
    for status, ts in order:
        messages.apply_status(status_event(status, ts))
    record = messages.get("wamid.OUT")
    assert record is not None
    assert record.status == "read"
    assert record.status_history == {"sent": 10, "delivered": 20, "read": 30}


def test_statuses_of_the_same_second_are_listed_in_the_order_a_message_goes_through_them(messages):
    # Meta's timestamps are whole seconds and its webhooks race: `wacloud status` shows this order.
    for status in ("read", "delivered", "sent"):
        messages.apply_status(status_event(status, 10))
    record = messages.get("wamid.OUT")
    assert record is not None and [status for status, _ in record.timeline()] == ["sent", "delivered", "read"]


def test_duplicate_and_late_statuses_do_not_move_a_record_back(messages):
    assert messages.apply_status(status_event("delivered", 20)).change is StatusChange.ADVANCED
    assert messages.apply_status(status_event("delivered", 20)).change is StatusChange.RECORDED
    assert messages.apply_status(status_event("sent", 10)).change is StatusChange.RECORDED
    record = messages.get("wamid.OUT")
    assert record is not None and record.status == "delivered" and record.status_rank == 2


def test_failed_after_sent_is_kept_with_its_error_and_never_overtaken(messages):
    messages.apply_status(status_event("sent", 10))
    assert messages.apply_status(status_event("failed", 15, error=FAILED_ERROR)).change is StatusChange.ADVANCED
    assert messages.apply_status(status_event("delivered", 20)).change is StatusChange.RECORDED
    record = messages.get("wamid.OUT")
    assert record is not None and record.status == "failed"
    assert record.error is not None
    assert (record.error.code, record.error.title, record.error.details) == (
        131026,
        "Message undeliverable",
        "not on WhatsApp",
    )


def test_a_late_failed_does_not_undo_a_delivery(messages):
    messages.apply_status(status_event("delivered", 20))
    assert messages.apply_status(status_event("failed", 25, error=FAILED_ERROR)).change is StatusChange.RECORDED
    record = messages.get("wamid.OUT")
    assert record is not None and record.status == "delivered" and record.error is None
    assert "failed" in record.status_history


def test_unknown_status_is_kept_in_history_only(messages):
    messages.apply_status(status_event("sent", 10))
    assert messages.apply_status(status_event("deleted", 12)).change is StatusChange.RECORDED
    record = messages.get("wamid.OUT")
    assert record is not None and record.status == "sent" and record.status_history["deleted"] == 12


def test_a_repeated_older_status_does_not_overwrite_the_newer_ones_pricing(messages):
    def with_category(status: str, timestamp: int, category: str) -> StatusEvent:
        body = status_update("wamid.P", status, phone_number_id="1", recipient=CUSTOMER, timestamp=timestamp)
        body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]["category"] = category
        (event,) = parse_webhook(body)
        assert isinstance(event, StatusEvent)
        return event

    messages.apply_status(with_category("sent", 10, "utility"))
    messages.apply_status(with_category("delivered", 20, "marketing"))
    messages.apply_status(with_category("sent", 10, "utility"))  # Meta delivers the older one again
    record = messages.get("wamid.P")
    assert record is not None and record.status == "delivered" and record.pricing["category"] == "marketing"


def test_records_expire_after_the_configured_days():
    messages = Store(ttl_days=2, clock=lambda: 1000.0).messages
    messages.record_inbound(message_event(wamid="wamid.TTL"))
    record = messages.get("wamid.TTL")
    assert record is not None and record.expires_at == 1000 + 2 * 86400


def test_dynamodb_failure_is_a_store_error(messages, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(**kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
        )

    monkeypatch.setattr(messages.table.client, "update_item", throttled)
    with pytest.raises(StoreError, match="ProvisionedThroughputExceededException"):
        messages.apply_status(status_event("sent", 10))


def test_archived_media_is_kept_on_the_message_and_a_later_error_does_not_hide_it(messages):
    event = message_event()
    messages.record_inbound(event)
    messages.record_media_error(event.message.id, ErrorInfo(code=131000, title="Something went wrong"))
    media = StoredMedia(bucket="b", key="inbound/1/2025/12/01/9.jpg", mime_type="image/jpeg", size=10, sha256="ab")

    messages.record_media(event.message.id, media)
    messages.record_media_error(event.message.id, ErrorInfo(code=100, title="Object does not exist"))  # a late replay

    record = messages.get(event.message.id)
    assert record is not None
    assert (record.media, record.media_error) == (media, None)
    assert record.type == "text" and record.direction == "in"


def test_an_outbound_message_starts_at_accepted_and_a_status_that_came_first_keeps_its_place(messages):
    from tests.conftest import outbound_document

    messages.apply_status(status_event("delivered", 20, wamid="wamid.M"))
    messages.record_outbound(outbound_document("k1", client_reference="order-1"), "wamid.M", "1", mark=True)

    record = messages.get("wamid.M")
    assert record is not None
    assert (record.status, record.direction, record.idempotency_key, record.client_ref) == (
        "delivered",
        "out",
        "k1",
        "order-1",
    )
    assert set(record.status_history) == {"accepted", "delivered"}


# --- a group message: each participant's status of its own, the message's never moved back by one ---

GROUP = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"


def group_status(status: str, at: int, participant: str | None, *, key: str = "recipient_participant_id", **more):
    body = status_update("wamid.GRP", status, phone_number_id="1", recipient=GROUP, timestamp=at)
    item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update({"recipient_type": "group", **more})
    if participant is not None:
        item[key] = participant
    (event,) = parse_webhook(body)
    assert isinstance(event, StatusEvent)
    return event


def by_participant(messages) -> dict[str, tuple[str | None, dict[str, int]]]:
    return {p.participant: (p.status, p.status_history) for p in messages.participants("wamid.GRP")}


def test_each_participants_status_moves_only_forward_in_any_order(messages):
    applied = [
        messages.apply_status(group_status("read", 30, "111")),
        messages.apply_status(group_status("delivered", 20, "111")),  # late: history only
        messages.apply_status(group_status("delivered", 25, "US.222", key="recipient_participant_user_id")),
        messages.apply_status(group_status("sent", 10, "333", key="participant_recipient_id")),
    ]
    assert [a.participant_change for a in applied] == ["advanced", "recorded", "advanced", "advanced"]
    assert by_participant(messages) == {
        "111": ("read", {"read": 30, "delivered": 20}),
        "US.222": ("delivered", {"delivered": 25}),
        "333": ("sent", {"sent": 10}),
    }


def test_the_group_messages_own_status_never_moves_back_because_of_one_participant(messages):
    messages.apply_status(group_status("read", 30, "111"))
    assert messages.apply_status(group_status("delivered", 31, "222")).change is StatusChange.RECORDED
    record = messages.get("wamid.GRP")
    assert record is not None and record.status == "read" and record.customer == GROUP
    assert record.status_history == {"read": 30, "delivered": 31}


def test_one_participants_failure_is_theirs_and_does_not_fail_the_message(messages):
    messages.apply_status(group_status("sent", 10, None))  # the group message as a whole
    failed = messages.apply_status(group_status("failed", 20, "111", errors=[FAILED_ERROR]))
    assert (failed.change, failed.participant_change) == (StatusChange.RECORDED, StatusChange.ADVANCED)
    messages.apply_status(group_status("delivered", 30, "222"))
    record = messages.get("wamid.GRP")
    assert record is not None and record.status == "delivered" and record.error is None
    (first, second) = sorted(messages.participants("wamid.GRP"), key=lambda p: p.participant)
    assert (first.status, first.error and first.error["code"]) == ("failed", 131026)
    assert second.status == "delivered"
    # a participant's failure is never overtaken, and comes too late after their delivery
    assert messages.apply_status(group_status("read", 40, "111")).participant_change is StatusChange.RECORDED
    assert messages.apply_status(group_status("failed", 50, "222")).participant_change is StatusChange.RECORDED
    assert by_participant(messages)["111"][0] == "failed" and by_participant(messages)["222"][0] == "delivered"


def test_a_group_status_without_participant_follows_todays_rules(messages):
    messages.apply_status(group_status("sent", 10, None))
    applied = messages.apply_status(group_status("failed", 20, None, errors=[FAILED_ERROR]))
    assert (applied.change, applied.participant_change) == (StatusChange.ADVANCED, None)
    record = messages.get("wamid.GRP")
    assert record is not None and record.status == "failed" and messages.participants("wamid.GRP") == []


def test_a_one_to_one_status_writes_no_participant_item(messages):
    applied = messages.apply_status(status_event("read", 30, wamid="wamid.GRP"))
    assert applied.participant_change is None and messages.participants("wamid.GRP") == []


def test_media_archived_before_its_message_is_stored_is_kept_and_the_message_not_yet_received(messages):
    # The media event is queued before the message's record is written (the record comes last).
    event = message_event()
    media = StoredMedia(bucket="b", key="inbound/1/2025/12/01/9.jpg", mime_type="image/jpeg", size=10, sha256="ab")
    messages.record_media(event.message.id, media)
    assert messages.was_received(event.message.id) is False

    messages.record_inbound(event)

    record = messages.get(event.message.id)
    assert record is not None and messages.was_received(event.message.id) is True
    assert (record.media, record.direction, record.status) == (media, "in", "received")
