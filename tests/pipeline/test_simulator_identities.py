"""Customers as Meta names them in late 2026, through the whole pipeline: one known only by a username
and business-scoped user id is answered through `recipient`, and the statuses of that answer (no phone
number in them) reach the answer's record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from wacloud.local.meta.addressing import user_id_for
from wacloud.local.pipeline import LocalPipeline, PipelineOptions


@pytest.fixture
def pipeline() -> Iterator[LocalPipeline]:
    with mock_aws():
        local = LocalPipeline(PipelineOptions(background=False, retry_delay=0)).start()
        try:
            yield local
        finally:
            local.stop()


def test_a_customer_with_only_a_username_is_answered_by_business_scoped_user_id(pipeline):
    body, status, _ = pipeline.simulator.customer_sends("@bob.k", {"type": "text", "text": {"body": "hi"}})
    assert status == 200 and body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] == ""
    for _ in range(6):
        pipeline.drain()
    (reply,) = pipeline.graph.messages()
    assert reply.body["recipient"] == user_id_for("@bob.k") and "to" not in reply.body
    (shown,) = pipeline.simulator.state()["customers"]
    assert shown["label"] == "@bob.k"
    assert [(b["direction"], b["status"]) for b in shown["bubbles"]] == [("in", "read"), ("out", "read")]
