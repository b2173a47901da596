"""The messages API: POST /messages queues a document the contract accepts (400 with the reason
otherwise), GET /messages/{id} answers what happened, by idempotency key or wamid."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import queue_bodies
from wacloud.adapters.store import Store
from wacloud.local.front_door import proxy_event
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.contract import deduplication_id
from wacloud.outbound.outcomes import record_outcome

pytestmark = pytest.mark.usefixtures("aws")
DOCUMENT = {
    "idempotency_key": "order-1234-shipped",
    "client_reference": "order-1234",
    "message": {"to": "+16505551234", "type": "text", "text": {"body": "Your order shipped"}},
}


@pytest.fixture
def api():
    from functions.api import app

    return app


def call(api: Any, context: Any, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    event = proxy_event(method, path, {"Content-Type": "application/json"}, raw, "10.0.0.1")
    result = api.lambda_handler(event, context)
    return result["statusCode"], json.loads(result["body"])


def test_a_document_is_queued_for_its_recipient(api, lambda_context, aws):
    status, answer = call(api, lambda_context, "POST", "/messages", DOCUMENT)

    assert (status, answer) == (
        202,
        {"idempotency_key": "order-1234-shipped", "status": "queued", "status_path": "/messages/order-1234-shipped"},
    )
    (queued,) = queue_bodies(aws, "OutboundQueue")
    assert queued["body"]["idempotency_key"] == "order-1234-shipped"
    assert queued["body"]["message"]["text"]["body"] == "Your order shipped"
    assert queued["attributes"]["MessageGroupId"] == "16505551234"
    # SQS drops an exact repeat (the body's digest), never a corrected document under the same key.
    assert queued["attributes"]["MessageDeduplicationId"] == deduplication_id(
        json.dumps(queued["body"], separators=(",", ":"), ensure_ascii=False)
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({**DOCUMENT, "message": {**DOCUMENT["message"], "text": {"body": "x" * 4097}}}, "message.text.body"),
        ({"message": DOCUMENT["message"]}, "idempotency_key: Field required"),
        ({**DOCUMENT, "priority": "high"}, "priority: Extra inputs are not permitted"),
        (b"not json", "Invalid JSON"),
        (b'{"idempotency_key": "k\xff"}', "Invalid JSON"),  # not UTF-8: API Gateway hands it over base64
        # Strict JSON types, as the published schema says: 1 is not a boolean.
        (
            {**DOCUMENT, "message": {**DOCUMENT["message"], "text": {"body": "x", "preview_url": 1}}},
            "message.text.preview_url: Input should be a valid boolean",
        ),
    ],
    ids=["text-too-long", "no-key", "unknown-field", "not-json", "not-utf8", "int-for-bool"],
)
def test_a_document_the_contract_refuses_is_answered_400_with_the_reason(api, lambda_context, aws, body, reason):
    status, answer = call(api, lambda_context, "POST", "/messages", body)

    assert status == 400
    assert answer["error"] == "invalid document" and reason in answer["reason"]
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_document_larger_than_a_queue_message_is_413(api, lambda_context, aws):
    status, _ = call(api, lambda_context, "POST", "/messages", {**DOCUMENT, "padding": "x" * 300_000})

    assert status == 413
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_queue_outage_is_503_so_the_caller_retries(api, lambda_context, monkeypatch):
    from wacloud.adapters.queues import FifoQueue, QueueError

    def down(self, entries):  # type: ignore[no-untyped-def]
        raise QueueError("SendMessageBatch failed: ServiceUnavailable")

    monkeypatch.setattr(FifoQueue, "send", down)

    assert call(api, lambda_context, "POST", "/messages", DOCUMENT) == (503, {"error": "temporarily unavailable"})


def test_status_by_key_and_by_wamid(api, lambda_context):
    from wacloud.outbound.contract import OutboundMessage

    wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVC/0Q0Q0Q2RTY3RTcA=="  # base64: '/', '+' and '=' happen
    store = Store()
    record_outcome(store, OutboundMessage.model_validate(DOCUMENT), SendOutcome.accepted(wamid), "100000000000001")

    by_key = call(api, lambda_context, "GET", "/messages/order-1234-shipped")
    by_wamid = call(api, lambda_context, "GET", f"/messages/{quote(wamid, safe='')}")

    assert by_key[0] == 200 and by_key[1]["outbound"]["state"] == "accepted"
    assert by_key[1]["message"]["wamid"] == wamid and by_key[1]["message"]["status"] == "accepted"
    assert by_wamid == (200, {"id": wamid, "message": by_key[1]["message"]})


def test_an_unknown_id_is_404(api, lambda_context):
    status, answer = call(api, lambda_context, "GET", "/messages/nothing-here")

    assert status == 404 and "no outbound document" in answer["error"]


def test_other_routes_are_404(api, lambda_context):
    assert call(api, lambda_context, "DELETE", "/messages/x")[0] in (404, 405)
    assert call(api, lambda_context, "GET", "/messages")[0] in (404, 405)


def test_the_status_path_works_for_any_key(api, lambda_context):
    from wacloud.outbound.contract import OutboundMessage

    key = "campaign/2026%Q4?x=1"  # printable ASCII: '/', '%', '?' and '=' are allowed in keys
    status, answer = call(api, lambda_context, "POST", "/messages", {**DOCUMENT, "idempotency_key": key})
    assert status == 202 and answer["status_path"] == "/messages/campaign%2F2026%25Q4%3Fx%3D1"
    document = OutboundMessage.model_validate({**DOCUMENT, "idempotency_key": key})
    record_outcome(Store(), document, SendOutcome.accepted("wamid.K"), "100000000000001")

    found = call(api, lambda_context, "GET", answer["status_path"])

    assert found[0] == 200 and found[1]["outbound"]["idempotency_key"] == key
