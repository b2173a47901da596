"""wacloud.models.keys: customer keys, digests and FIFO group ids."""

from __future__ import annotations

import pytest

from wacloud.models.keys import customer_key

# --- customer_key -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "key"),
    [
        pytest.param("16505551234", "16505551234", id="webhook-digits"),
        pytest.param("+16505551234", "16505551234", id="e164"),
        pytest.param("+1 (650) 555-1234", "16505551234", id="formatted"),
        pytest.param("+1 650-555-1234", "16505551234", id="dashes"),
        pytest.param("(650) 555-1234", "6505551234", id="parenthesis-first"),
        pytest.param("  +16505551234  ", "16505551234", id="whitespace"),
        pytest.param("US.13491208655302741918", "US.13491208655302741918", id="bsuid"),
        pytest.param(" US.134912 ", "US.134912", id="bsuid-whitespace"),
        pytest.param("", "", id="empty"),
    ],
)
def test_customer_key(address: str, key: str) -> None:
    assert customer_key(address) == key


def test_customer_key_unifies_formats_of_one_number() -> None:
    forms = ["16505551234", "+16505551234", "+1 (650) 555-1234", "+1-650-555-1234", "+1 650 555 1234"]

    assert {customer_key(f) for f in forms} == {"16505551234"}
