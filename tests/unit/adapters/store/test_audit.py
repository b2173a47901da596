"""wacloud.adapters.store.audit: rejections and other webhook changes, each kept once (moto)."""

from __future__ import annotations

import pytest

from wacloud.adapters.store import Store
from wacloud.adapters.store.repository import MAX_STORED_RAW_CHARS
from wacloud.models.events import ChangeEvent

pytestmark = pytest.mark.usefixtures("aws")


def test_a_rejection_is_kept_once_with_its_reason_and_its_raw_data_truncated():
    rejections = Store().rejections
    rejections.record("webhook", "abc", "message is malformed: id: Field required", "x" * (MAX_STORED_RAW_CHARS + 10))
    rejections.record("webhook", "abc", "a second reason for the same data", "y")

    record = rejections.get("webhook", "abc")
    assert record is not None
    assert record.reason == "message is malformed: id: Field required"
    assert record.raw is not None and record.raw.endswith("...(truncated)")
    assert rejections.get("webhook", "other") is None


def test_a_change_is_recorded_once():
    changes = Store().changes
    event = ChangeEvent(waba_id="1", field="account_update", value={"event": "ACCOUNT_VIOLATION"})
    assert changes.record(event) is True
    assert changes.record(event) is False
