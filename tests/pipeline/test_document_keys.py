"""A key refused as invalid is free again, through the queue (issue 18, point 3): within SQS's
five-minute deduplication window, the corrected document under the same key reaches the sender and
is sent, because the contract's deduplication id is the body's digest, not the key."""

from __future__ import annotations

import json

from wacloud.adapters.store import Store
from wacloud.local.pipeline import LocalPipeline

CUSTOMER = "16505551234"


def sent_under(pipeline: LocalPipeline, key: str) -> list[dict]:
    return [r.body for r in pipeline.graph.messages() if key in json.dumps(r.body.get("biz_opaque_callback_data"))]


def test_a_corrected_document_reusing_a_key_refused_as_invalid_is_sent(pipeline):
    pipeline.customer_says("hi", sender=CUSTOMER)  # the customer service window is open
    pipeline.drain()
    broken = {"idempotency_key": "order-7", "message": {"type": "text", "to": f"+{CUSTOMER}", "text": {}}}
    pipeline.send_outbound(broken)
    pipeline.drain()
    record = Store().outbound.get("order-7")
    assert record is not None and record.invalid and (record.reason or "").startswith("invalid document: ")

    corrected = {**broken, "message": {**broken["message"], "text": {"body": "Your order shipped"}}}
    pipeline.send_outbound(corrected)  # seconds later: well within SQS's deduplication window
    pipeline.send_outbound(corrected)  # and an exact repeat, which SQS drops
    pipeline.drain()

    (sent,) = sent_under(pipeline, "order-7")
    assert sent["text"]["body"] == "Your order shipped"
    record = Store().outbound.get("order-7")
    assert record is not None and (record.state, record.invalid, record.reason) == ("accepted", False, None)


def test_another_document_under_a_used_key_is_refused_and_the_first_stands(pipeline):
    pipeline.customer_says("hi", sender=CUSTOMER)
    pipeline.drain()
    first = {"idempotency_key": "order-8", "message": {"type": "text", "to": f"+{CUSTOMER}", "text": {"body": "A"}}}
    pipeline.send_outbound(first)
    pipeline.drain()
    other = {**first, "message": {**first["message"], "text": {"body": "B"}}}
    pipeline.send_outbound(other)
    pipeline.drain()

    assert [body["text"]["body"] for body in sent_under(pipeline, "order-8")] == ["A"]
    record = Store().outbound.get("order-8")
    assert record is not None and record.state == "accepted" and record.reason is None
