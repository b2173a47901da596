"""Property: whatever the interleaving of duplicates, transient failures, lost replies and shuffled
statuses, every document ends in one state that says what happened, Graph (or End User Messaging
Social) accepted each key at most once, each recipient's messages went out in order, and no status
moved backwards: on both ways out, the statuses coming back each number's way in."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.faults.conftest import start_pipeline
from wacloud.adapters.store import Store
from wacloud.local.meta.fake_graph import ScriptedAnswer, graph_error, lost_reply
from wacloud.local.meta.webhooks import status_update

RECIPIENTS = ("+16505550001", "+16505550002", "+16505550003")
FAULTS = {
    "ok": None,
    "503": graph_error(2, "Service temporarily unavailable", status=503),
    "130429": graph_error(130429, "Rate limit hit", status=429),
    "131056": graph_error(131056, "Pair rate limit hit"),
    "500-html": ScriptedAnswer(status=500, body={}),
    "lost-reply": lost_reply(),
    "131047": graph_error(131047, "Re-engagement message"),
}
# `unconfirmed`: the send may have gone and nothing confirmed it (the alarm's case); never sent twice.
FINAL_STATES = {"accepted", "failed", "dead_lettered", "unconfirmed"}


@st.composite
def scenarios(draw):
    recipients = draw(st.lists(st.sampled_from(RECIPIENTS), min_size=1, max_size=6))
    duplicates = draw(st.lists(st.integers(0, len(recipients) - 1), max_size=4))
    faults = draw(st.lists(st.sampled_from(sorted(FAULTS)), max_size=10))
    seed = draw(st.integers(0, 2**32 - 1))
    return recipients, duplicates, faults, seed


# Five interleavings per transport in `make test` (CI's time); `make soak` is the place for more.
@pytest.mark.parametrize("transport", ["cloud_api", "eum"])
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_under_any_interleaving(transport, scenario):
    recipients, duplicates, faults, seed = scenario
    keys = [f"k{i}" for i in range(len(recipients))]
    with mock_aws():
        pipeline = start_pipeline(transport, EnforceCustomerServiceWindow="false")
        pipeline.simulator.status_webhooks = False  # the test delivers statuses itself, shuffled
        try:
            pipeline.graph.script(*(FAULTS[name] for name in faults))
            for key, to in zip(keys, recipients, strict=True):
                pipeline.send_outbound(
                    {"idempotency_key": key, "message": {"to": to, "type": "text", "text": {"body": key}}}
                )
            for n, index in enumerate(duplicates):  # another system sends the same document again
                pipeline.send_outbound(
                    {
                        "idempotency_key": keys[index],
                        "message": {"to": recipients[index], "type": "text", "text": {"body": keys[index]}},
                    },
                    deduplication_id=f"again-{n}",
                )
            pipeline.drain()
            pipeline.drain()  # documents whose last attempt failed move to the DLQ on the next receive

            taken = pipeline.graph.messages()  # accepted by Meta, answered or not
            statuses = [
                status_update(
                    r.wamid,
                    name,
                    phone_number_id=pipeline.phone_number_id,
                    recipient=r.body["to"].lstrip("+"),
                    timestamp=1_700_000_000 + rank,
                    callback_data=r.body.get("biz_opaque_callback_data"),
                )
                for r in taken
                for rank, name in enumerate(("sent", "delivered", "read"))
            ]
            statuses = statuses + random.Random(seed).sample(statuses, k=len(statuses) // 2)
            random.Random(seed).shuffle(statuses)
            for body in statuses:
                assert pipeline.deliver(body)[0] == 200
            pipeline.drain()

            store = Store()
            sent_keys = [r.body["text"]["body"] for r in taken]
            # Graph accepted each idempotency key at most once.
            assert len(sent_keys) == len(set(sent_keys)), sent_keys
            for key in keys:
                record = store.outbound.get(key)
                # Every document ends in exactly one state that says what happened.
                assert record is not None and record.state.value in FINAL_STATES, (key, record)
                if record.state.value == "accepted":
                    assert key in sent_keys and record.wamid is not None
                    assert record.transport == (None if transport == "cloud_api" else transport), record
                    message = store.messages.get(record.wamid)
                    # Statuses never regress: all three were delivered, in any order.
                    assert message is not None and message.status == "read" and message.status_rank == 3
                else:
                    assert key not in sent_keys
                    assert record.error is not None
            # Each recipient's messages went out in the order they were queued.
            for to in RECIPIENTS:
                order = [int(r.body["text"]["body"][1:]) for r in taken if r.body["to"] == to]
                assert order == sorted(order), (to, order)
        finally:
            pipeline.stop()
