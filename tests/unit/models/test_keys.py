"""wacloud.models.keys: customer keys, digests and FIFO group ids."""

from __future__ import annotations

import pytest

from wacloud.models.keys import customer_key, is_user_id

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


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("US.13491208655302741918", True),
        ("US.ENT.11815799212886844830", True),
        (" BR.abcDEF123 ", True),
        ("+16505551234", False),
        ("16505551234", False),
        ("120363025246125486@g.us", False),
        ("us.1234", False),
        ("", False),
    ],
)
def test_is_user_id_tells_a_business_scoped_user_id_from_other_addresses(address: str, expected: bool) -> None:
    assert is_user_id(address) is expected
