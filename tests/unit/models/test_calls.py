"""Meta's documented bodies of the `calls` field become typed `CallsUpdate`s (wacloud.models.calls);
the bodies: tests/data/meta_webhooks.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import meta_webhooks as meta
from wacloud.inbound.parse import parse_webhook
from wacloud.models.calls import CallsUpdate
from wacloud.models.events import ChangeEvent

CALL_BODIES = [
    "CALL_FROM_CUSTOMER",
    "CALL_FROM_CUSTOMER_ENDED",
    "BUSINESS_CALL_ANSWERED",
    "BUSINESS_CALL_ENDED",
    "BUSINESS_CALL_RINGING",
    "CALL_CONNECT_WITHOUT_DIRECTION",
    "CALL_TERMINATE_STATUS_LIST",
]


def typed(body: dict[str, Any]) -> CallsUpdate:
    (event,) = parse_webhook(body)
    assert isinstance(event, ChangeEvent) and event.field == "calls"
    value = event.typed()
    assert isinstance(value, CallsUpdate)
    return value


@pytest.mark.parametrize("name", CALL_BODIES)
def test_every_documented_calls_body_is_typed(name):
    value = typed(getattr(meta, name))
    assert value.calls or value.statuses


def test_a_customer_calls_with_an_sdp_offer():
    value = typed(meta.CALL_FROM_CUSTOMER)
    (call,) = value.calls or []
    assert (call.id, call.event, call.from_, call.from_user_id, call.from_parent_user_id, call.timestamp) == (
        meta.CALL_ID,
        "connect",
        meta.PHONE,
        meta.BSUID,
        meta.PARENT_BSUID,
        1749197000,
    )
    assert call.user_initiated and call.session and call.session.sdp_type == "offer"
    assert call.session.sdp and call.session.sdp.startswith("v=0")
    contact = value.contact_for(call)
    assert contact is not None and contact.user_id == meta.BSUID


def test_a_call_ends_with_its_times_and_outcome():
    (call,) = typed(meta.CALL_FROM_CUSTOMER_ENDED).calls or []
    assert (call.event, call.outcome, call.start_time, call.end_time, call.duration, call.biz_opaque_callback_data) == (
        "terminate",
        "COMPLETED",
        1749197000,
        1749197480,
        480,
        "ticket-42",
    )
    (listed,) = typed(meta.CALL_TERMINATE_STATUS_LIST).calls or []
    assert listed.outcome == "Failed/Completed"


def test_a_business_call_is_not_the_customers():
    value = typed(meta.BUSINESS_CALL_ANSWERED)
    (call,) = value.calls or []
    assert not call.user_initiated and call.to_user_id == meta.BSUID and call.session
    assert call.session.sdp_type == "answer"
    contact = value.contact_for(call)
    assert contact is not None and contact.wa_id == meta.PHONE


def test_a_business_calls_status_is_typed():
    (status,) = typed(meta.BUSINESS_CALL_RINGING).statuses or []
    assert (status.id, status.type, status.status, status.timestamp, status.recipient_user_id) == (
        "wacid.BUSINESS1",
        "call",
        "RINGING",
        1752582930,
        meta.BSUID,
    )


def test_a_connect_without_direction_is_not_taken_for_a_customers_call():
    (call,) = typed(meta.CALL_CONNECT_WITHOUT_DIRECTION).calls or []
    assert call.direction is None and not call.user_initiated
