"""wacloud.models.times: a message's or status's time out of range makes it unparsed, with the
reason; the newer payloads' times out of range are no time; no number makes a model raise anything
but a validation error."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.models.calls import Call
from wacloud.models.changes import UserPreference
from wacloud.models.events import MessageEvent, StatusEvent, UnparsedEvent
from wacloud.models.groups import GroupUpdate
from wacloud.models.times import MAX_UNIX_TIME
from wacloud.models.webhook import CallPermissionReply, InboundMessage, Status

PNID = "106540352242922"
OUT_OF_RANGE = [10**44, -1, MAX_UNIX_TIME, 1e300, -1e308, float("inf"), float("nan"), "1" * 45, "9" * 5000]
IN_RANGE = [0, 1, 1744344496, "1744344496", 1744344496.0, MAX_UNIX_TIME - 1]


@pytest.mark.parametrize("timestamp", IN_RANGE, ids=repr)
def test_a_time_in_range_is_taken(timestamp: Any) -> None:
    assert InboundMessage.model_validate({"id": "w", "timestamp": timestamp}).timestamp == int(timestamp)
    assert Status.model_validate({"id": "w", "status": "sent", "timestamp": timestamp}).timestamp == int(timestamp)
    assert GroupUpdate.model_validate({"timestamp": timestamp}).timestamp == int(timestamp)
    assert Call.model_validate({"id": "c", "start_time": timestamp}).start_time == int(timestamp)
    assert UserPreference.model_validate({"timestamp": timestamp}).timestamp == int(timestamp)
    reply = CallPermissionReply.model_validate({"expiration_timestamp": timestamp})
    assert reply.expiration_timestamp == int(timestamp)


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE, ids=lambda t: repr(t)[:24])
def test_a_message_or_status_time_out_of_range_is_a_validation_error(timestamp: Any) -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        InboundMessage.model_validate({"id": "w", "timestamp": timestamp})
    with pytest.raises(ValidationError, match="timestamp"):
        Status.model_validate({"id": "w", "status": "sent", "timestamp": timestamp})


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE, ids=lambda t: repr(t)[:24])
def test_a_newer_payloads_time_out_of_range_is_no_time(timestamp: Any) -> None:
    assert GroupUpdate.model_validate({"timestamp": timestamp, "group_id": "G"}).timestamp is None
    assert Call.model_validate({"id": "c", "timestamp": timestamp, "start_time": timestamp}).start_time is None
    assert UserPreference.model_validate({"timestamp": timestamp}).timestamp is None
    reply = CallPermissionReply.model_validate({"response": "accept", "expiration_timestamp": timestamp})
    assert reply.expiration_timestamp is None


def test_a_message_with_a_45_digit_timestamp_is_unparsed_with_the_reason() -> None:
    (event,) = parse_webhook(text_message("hi", phone_number_id=PNID, timestamp=10**44))
    assert isinstance(event, UnparsedEvent)
    assert event.reason.startswith("message is malformed: timestamp: ") and "not a unix time" in event.reason
    assert event.raw["timestamp"] == str(10**44)  # kept as Meta sent it


def test_a_status_with_a_45_digit_timestamp_is_unparsed_and_one_in_range_is_a_status() -> None:
    (event,) = parse_webhook(status_update("wamid.X", "sent", phone_number_id=PNID, recipient="1", timestamp=10**44))
    assert isinstance(event, UnparsedEvent) and "status is malformed: timestamp" in event.reason
    (event,) = parse_webhook(status_update("wamid.X", "sent", phone_number_id=PNID, recipient="1", timestamp=5))
    assert isinstance(event, StatusEvent) and event.status.timestamp == 5
    (event,) = parse_webhook(text_message("hi", phone_number_id=PNID, timestamp=5))
    assert isinstance(event, MessageEvent) and event.message.timestamp == 5
