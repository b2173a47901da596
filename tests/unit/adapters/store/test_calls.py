"""wacloud.adapters.store.calls: one item per call, its events' first times, its facts, and a state
that only moves forward whatever the order (moto)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data import meta_webhooks as meta
from wacloud.adapters.store import Store
from wacloud.inbound.parse import parse_webhook
from wacloud.models.calls import CallsUpdate

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def calls():
    return Store().calls


def typed(body: dict[str, Any]) -> CallsUpdate:
    (event,) = parse_webhook(body)
    value = event.typed() if event.kind == "change" else None  # type: ignore[union-attr]
    assert isinstance(value, CallsUpdate)
    return value


def test_a_customers_call_from_connect_to_terminate_in_any_order(calls):
    (ended,) = typed(meta.CALL_FROM_CUSTOMER_ENDED).calls or []
    (connect,) = typed(meta.CALL_FROM_CUSTOMER).calls or []
    assert calls.record_call(ended, customer=meta.BSUID, phone_number_id="1") is True
    assert calls.record_call(connect, customer=meta.BSUID, phone_number_id="1") is False  # late: history only
    assert calls.record_call(connect, customer=meta.BSUID, phone_number_id="1") is False
    record = calls.get(meta.CALL_ID)
    assert record is not None
    assert (record.state, record.direction, record.customer, record.outcome, record.duration) == (
        "terminate",
        "USER_INITIATED",
        meta.BSUID,
        "COMPLETED",
        480,
    )
    assert record.history == {"connect": 1749197000, "terminate": 1749197480}
    assert (record.sdp_type, record.start_time, record.end_time, record.biz_opaque_callback_data) == (
        "offer",
        1749197000,
        1749197480,
        "ticket-42",
    )
    assert record.sdp and record.sdp.startswith("v=0")


def test_a_business_calls_statuses_and_answer(calls):
    (ringing,) = typed(meta.BUSINESS_CALL_RINGING).statuses or []
    (answered,) = typed(meta.BUSINESS_CALL_ANSWERED).calls or []
    assert calls.record_call(answered, customer=meta.BSUID, phone_number_id="1") is True
    assert calls.record_status(ringing, customer=meta.BSUID) is True
    record = calls.get("wacid.BUSINESS1")
    assert record is not None and (record.state, record.sdp_type, record.biz_opaque_callback_data) == (
        "ringing",
        "answer",
        "campaign-7",
    )
    assert record.history == {"connect": 1752582933, "ringing": 1752582930}
    assert calls.get("wacid.unknown") is None


def test_an_unknown_event_is_kept_in_history_only(calls):
    (call,) = typed(meta.CALL_FROM_CUSTOMER).calls or []
    assert calls.record_call(call.model_copy(update={"event": "transfer"}), customer="", phone_number_id="") is False
    record = calls.get(meta.CALL_ID)
    assert record is not None and record.state is None and record.history == {"transfer": 1749197000}
