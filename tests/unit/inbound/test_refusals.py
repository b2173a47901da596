"""Refused events are recorded once, with the reason and the event, and counted."""

from __future__ import annotations

import pytest
from aws_lambda_powertools import Metrics

from wacloud.adapters.store import Store
from wacloud.inbound.refusals import UNSERVED, record_refusals
from wacloud.inbound.serving import Refusal
from wacloud.inbound.split import split_webhook
from wacloud.local.meta.webhooks import text_message
from wacloud.models.keys import digest

pytestmark = pytest.mark.usefixtures("aws")


def test_each_refused_event_is_recorded_once_with_its_reason_and_counted():
    (event,) = split_webhook(text_message("hello", phone_number_id="999"))
    refusal = Refusal(event, "phone number id 999 is not served by this stack (webhook of app 'default')")

    record_refusals([refusal])
    record_refusals([refusal])  # Meta delivers the body again: the record stays as it was

    record = Store().rejections.get(UNSERVED, digest(event.key))
    assert record is not None and record.reason == refusal.reason
    assert '"phone_number_id":"999"' in (record.raw or "") and "hello" in (record.raw or "")
    assert Metrics().metric_set["WebhookEventRefused"]["Value"] == [1.0, 1.0]


def test_nothing_refused_writes_nothing_and_counts_nothing(monkeypatch):
    monkeypatch.setattr("wacloud.adapters.store.get_store", lambda: pytest.fail("no store on a plain event"))
    record_refusals([])
    assert "WebhookEventRefused" not in Metrics().metric_set
