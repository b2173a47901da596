"""Numbers of every size and precision in every numeric position of a signed webhook: Meta's JSON
text, split as the webhook splits it, each part through the processor (moto).

No number makes a poison event: nothing raises, and each part is stored, with the number as Meta
sent it (a DynamoDB number, or its JSON text where DynamoDB cannot hold it), or recorded as
unparsed with the reason (a message's or status's time out of range)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import PHONE_NUMBER_ID, ROOT
from wacloud.adapters.store import Store
from wacloud.adapters.store.audit import change_key
from wacloud.config import get_settings
from wacloud.inbound.parse import event_from
from wacloud.inbound.processor import InboundProcessor, build_processor
from wacloud.inbound.split import queue_document, split_webhook
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.webhooks import DEFAULT_WABA_ID, customer_message, status_update
from wacloud.models.events import ChangeEvent, MessageEvent, StatusEvent, UnparsedEvent

pytestmark = pytest.mark.usefixtures("aws")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
NOW = 1_750_000_000
CUSTOMER = "16505551234"

numbers = st.one_of(
    st.integers(min_value=-(10**60), max_value=10**60),
    st.integers(min_value=0, max_value=2 * NOW),  # plausible times, in and beyond the replay window
    st.floats(allow_nan=False, allow_infinity=False),  # every size, subnormals, -0.0
    st.decimals(allow_nan=False, allow_infinity=False, places=30).map(float),  # many decimals
    st.sampled_from([10**44, -(10**44), 1e308, -1e308, 1e-320, 5e-324, -0.0, 0.1 + 0.2, 1 / 3, 10**38 - 1]),
)


# --- where a number goes: (which part, how a body carries it, the path to it in that part) -------------


def _message(number: Any, path: tuple[str, ...]) -> dict[str, Any]:
    extra = {"location": {"latitude": 1.0, "longitude": 2.0}, "order": {"product_items": [{}]}}
    message: dict[str, Any] = {"type": "text", "text": {"body": "hi"}, **extra}
    body = customer_message(message, phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER, timestamp=NOW)
    _place(body["entry"][0]["changes"][0]["value"]["messages"][0], path, number)
    return body


def _status(number: Any, path: tuple[str, ...]) -> dict[str, Any]:
    status = "failed" if path[0] == "errors" else "sent"
    error = {"code": 131026, "title": "Message undeliverable"} if status == "failed" else None
    body = status_update(
        f"wamid.{uuid.uuid4().hex}",
        status,
        phone_number_id=PHONE_NUMBER_ID,
        recipient=CUSTOMER,
        timestamp=NOW,
        error=error,
    )
    item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    item["conversation"] = {"id": "CONV", "expiration_timestamp": NOW, "origin": {"type": "service"}}
    _place(item, path, number)
    return body


def _change(field: str, value: dict[str, Any]) -> Callable[[Any, tuple[str, ...]], dict[str, Any]]:
    def body(number: Any, path: tuple[str, ...]) -> dict[str, Any]:
        copy = json.loads(json.dumps(value))
        _place(copy, path, number)
        change = {"field": field, "value": copy}
        return {"object": "whatsapp_business_account", "entry": [{"id": DEFAULT_WABA_ID, "changes": [change]}]}

    return body


METADATA = {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}
CALL = {"id": "wacid.1", "from": CUSTOMER, "to": "15550783881", "event": "terminate", "direction": "USER_INITIATED"}
GROUP = {"group_id": "G1", "type": "group_participants_add", "added_participants": [{"wa_id": CUSTOMER}]}
PREFERENCE = {"wa_id": CUSTOMER, "category": "marketing_messages", "value": "stop"}
POSITIONS: dict[str, tuple[Callable[[Any, tuple[str, ...]], dict[str, Any]], tuple[str, ...]]] = {
    "message timestamp": (_message, ("timestamp",)),
    "message field Meta may add": (_message, ("new_number",)),
    "location latitude": (_message, ("location", "latitude")),
    "order item price": (_message, ("order", "product_items", "0", "item_price")),
    "order item quantity": (_message, ("order", "product_items", "0", "quantity")),
    "status timestamp": (_status, ("timestamp",)),
    "pricing field Meta may add": (_status, ("pricing", "x")),
    "conversation expiration": (_status, ("conversation", "expiration_timestamp")),
    "conversation origin": (_status, ("conversation", "origin", "n")),
    "status error code": (_status, ("errors", "0", "code")),
    "template id": (
        _change("message_template_status_update", {"event": "APPROVED", "message_template_id": 1}),
        ("message_template_id",),
    ),
    "change value": (_change("account_update", {"event": "X", "violation_info": {}}), ("violation_info", "n")),
    "group timestamp": (_change("group_participants_update", {"groups": [GROUP]}), ("groups", "0", "timestamp")),
    "call timestamp": (_change("calls", {"metadata": METADATA, "calls": [CALL]}), ("calls", "0", "timestamp")),
    "call start time": (_change("calls", {"metadata": METADATA, "calls": [CALL]}), ("calls", "0", "start_time")),
    "call duration": (_change("calls", {"metadata": METADATA, "calls": [CALL]}), ("calls", "0", "duration")),
    "marketing preference time": (
        _change("user_preferences", {"metadata": METADATA, "user_preferences": [PREFERENCE]}),
        ("user_preferences", "0", "timestamp"),
    ),
}


def _place(document: Any, path: tuple[str, ...], number: Any) -> None:
    for step in path[:-1]:
        document = document[int(step)] if isinstance(document, list) else document[step]
    document[path[-1]] = number


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        document = document[int(step)] if isinstance(document, list) else document[step]
    return document


def same_number(stored: Any, sent: Any) -> bool:
    """The stored value is the number Meta sent: as a DynamoDB number, a JSON number or its JSON text."""
    if isinstance(stored, str):
        stored = json.loads(stored)
    if isinstance(stored, Decimal):
        return stored == (Decimal(repr(sent)) if isinstance(sent, float) else Decimal(sent))
    return bool(stored == sent) and type(stored) is not bool


# --- the processor ------------------------------------------------------------------------------------


@pytest.fixture
def processor() -> InboundProcessor:
    processor = build_processor(get_settings(), Store(), base=ROOT / "functions" / "processor")
    processor.idempotency.register_lambda_context(LocalContext(function_name="processor", timeout_seconds=900))
    return processor


def deliver(processor: InboundProcessor, body: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Meta's JSON text through the webhook's split and the processor (never raising, or the test
    fails): each part's typed event and the processor's answer."""
    handled = []
    for part in split_webhook(json.dumps(body).encode()):
        _, document = queue_document(part)
        handled.append((event_from(document), processor.process(document, message_id=str(uuid.uuid4()))))
    return handled


def stored_or_rejected(store: Store, event: Any, path: tuple[str, ...], sent: Any) -> None:
    """The part is stored with the number Meta sent, or recorded as unparsed with the reason."""
    if isinstance(event, UnparsedEvent):
        rejection = store.rejections.get("webhook", event.raw_sha256)
        assert rejection is not None and rejection.reason == event.reason and "malformed" in rejection.reason
        assert rejection.raw is not None and same_number(_at(json.loads(rejection.raw), path), sent)
    elif isinstance(event, MessageEvent):
        record = store.messages.get(event.message.id)
        assert record is not None and record.payload is not None
        assert same_number(_at(json.loads(record.payload), path), sent)
        if path == ("timestamp",) and sent:  # 0: no time, so the time it was received
            assert record.status_history["received"] == sent
    elif isinstance(event, StatusEvent):
        record = store.messages.get(event.status.id)
        assert record is not None
        if path == ("timestamp",):
            assert record.status_history[event.status.status] == (sent or record.updated_at)
        elif path[0] == "errors":
            assert record.error is not None and same_number(record.error.code, sent)
        else:
            assert same_number(_at(record.model_dump(), path), sent)
    else:
        assert isinstance(event, ChangeEvent)
        item = store.changes.table.get(change_key(event.key))
        assert item is not None and same_number(_at(json.loads(item["value"]), path), sent)


@FUZZ
@given(position=st.sampled_from(sorted(POSITIONS)), number=numbers, as_text=st.booleans())
@example(position="message timestamp", number=10**44, as_text=True)
@example(position="pricing field Meta may add", number=10**44, as_text=False)
def test_no_number_in_any_position_makes_a_poison_event(
    processor: InboundProcessor, position: str, number: int | float, as_text: bool
) -> None:
    build, path = POSITIONS[position]
    # Meta writes times as numeric strings; other numbers as numbers.
    sent: Any = str(number) if as_text and path[-1] == "timestamp" and isinstance(number, int) else number
    handled = deliver(processor, build(sent, path))
    assert handled
    for event, answer in handled:
        assert answer.get("outcome")
        stored_or_rejected(processor.store, event, path, int(sent) if isinstance(sent, str) else sent)


# --- the two bodies of issue 18 --------------------------------------------------------------------------


def test_a_message_with_a_45_digit_timestamp_is_recorded_as_unparsed_with_the_reason(processor) -> None:
    body = customer_message({"type": "text", "text": {"body": "hi"}}, phone_number_id=PHONE_NUMBER_ID)
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(10**44)
    ((event, answer),) = deliver(processor, body)
    assert isinstance(event, UnparsedEvent) and answer == {"outcome": "rejected"}
    rejection = processor.store.rejections.get("webhook", event.raw_sha256)
    assert rejection is not None and "timestamp" in rejection.reason and "not a unix time" in rejection.reason
    assert json.loads(rejection.raw or "")["timestamp"] == str(10**44)


@pytest.mark.parametrize("number", [10**44, 1e300, 1e-320], ids=repr)
def test_a_status_whose_pricing_carries_a_number_dynamodb_cannot_hold_is_stored(processor, number) -> None:
    wamid = f"wamid.{uuid.uuid4().hex}"
    body = status_update(wamid, "delivered", phone_number_id=PHONE_NUMBER_ID, recipient=CUSTOMER, timestamp=NOW)
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]["x"] = number
    ((event, answer),) = deliver(processor, body)
    assert isinstance(event, StatusEvent) and answer == {"outcome": "advanced"}
    record = processor.store.messages.get(wamid)
    assert record is not None and record.status == "delivered" and record.pricing is not None
    text = record.pricing["x"]
    assert isinstance(text, str) and json.loads(text) == number  # its JSON text
    assert record.pricing["billable"] is False and record.status_history == {"delivered": NOW}
