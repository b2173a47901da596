"""wacloud.adapters.store.rate_counters: one atomic counter per number and 100 ms slot (moto)."""

from __future__ import annotations

import pytest

from wacloud.adapters.store import Store

pytestmark = pytest.mark.usefixtures("aws")


def test_add_answers_what_the_slot_had_counted_before():
    counters = Store().rate_counters
    assert counters.add("100", slot=7, sends=3) == 0
    assert counters.add("100", slot=7, sends=2) == 3
    assert counters.add("100", slot=8, sends=1) == 0  # another slot
    assert counters.add("200", slot=7, sends=1) == 0  # another number
