"""Meta (or End User Messaging Social) delivers the same event again and again, and statuses out of
order: the records end exactly as after a clean run, on both ways in and out."""

from __future__ import annotations

import random
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.faults.conftest import start_pipeline
from wacloud.local.meta.webhooks import status_update, text_message

CUSTOMERS = ("16505550001", "16505550002")
# Recent enough to be inside the replay window; the same for both runs.
BASE = int(time.time()) - 3600
VOLATILE = {"created_at", "updated_at", "expires_at", "at_accepted", "attempts", "last_inbound_at"}
VOLATILE |= {"transport_message_id"}  # AWS's message ids, drawn afresh each run


def snapshot(pipeline) -> dict[str, dict[str, Any]]:
    """The table, without the fields that depend on when things ran, with wamids made positional."""
    table = boto3.resource("dynamodb").Table(pipeline.stack.table_names["MessagesTable"])
    items = table.scan()["Items"]
    names = {}
    for item in sorted(items, key=lambda i: (i["sk"], str(i.get("idempotency_key")), i["pk"])):
        if item["sk"] == "MESSAGE" and item.get("direction") == "out":
            names[item["wamid"]] = f"<out:{item['idempotency_key']}>"
    result = {}
    for item in items:
        if item["sk"] == "RATE":
            continue  # the shared send-rate counters: time slots, not outcomes
        clean = {k: v for k, v in item.items() if k not in VOLATILE}
        text = repr(sorted(clean.items()))
        for wamid, name in names.items():
            text = text.replace(wamid, name)
        pk = item["pk"]
        for wamid, name in names.items():
            pk = pk.replace(wamid, name)
        result[pk] = text
    return result


def run(transport: str, *, replay: bool) -> dict[str, dict[str, Any]]:
    with mock_aws():
        pipeline = start_pipeline(transport)
        pipeline.simulator.status_webhooks = False  # statuses are posted by the test, in its order
        try:
            bodies = [
                text_message(
                    f"hello {i}",
                    phone_number_id=pipeline.phone_number_id,
                    sender=customer,
                    wamid=f"wamid.IN{i}",
                    timestamp=BASE + i,
                    name=f"Customer {i}",
                )
                for i, customer in enumerate(CUSTOMERS)
            ]
            for body in bodies * (3 if replay else 1):
                assert pipeline.deliver(body)[0] == 200
                if replay:
                    pipeline.drain()
            pipeline.drain()
            statuses = []
            for request in pipeline.graph.messages():
                for rank, name in enumerate(("sent", "delivered", "read")):
                    statuses.append(
                        status_update(
                            request.wamid,
                            name,
                            phone_number_id=pipeline.phone_number_id,
                            recipient=request.body["to"].lstrip("+"),
                            timestamp=BASE + 100 + rank,
                            callback_data=request.body.get("biz_opaque_callback_data"),
                        )
                    )
            if replay:
                statuses = statuses * 2
                random.Random(7).shuffle(statuses)
            for body in statuses:
                assert pipeline.deliver(body)[0] == 200
            pipeline.drain()
            return snapshot(pipeline)
        finally:
            pipeline.stop()


@pytest.mark.parametrize("transport", ["cloud_api", "eum"])
def test_three_deliveries_and_shuffled_duplicated_statuses_end_like_a_clean_run(transport):
    clean, replayed = run(transport, replay=False), run(transport, replay=True)
    assert replayed == clean
    replies = [text for pk, text in clean.items() if pk.startswith("OUT#reply:")]
    assert replies  # the runs did answer and record
    # ...through the transport under test.
    assert all(("('transport', 'eum')" in text) == (transport == "eum") for text in replies)
