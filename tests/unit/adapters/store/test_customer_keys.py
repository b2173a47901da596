"""wacloud.adapters.store.customer_keys: the default business keeps the exact keys of a
single-business stack; another business's customers are under keys of their own, which no address
given to the default business can reach."""

from __future__ import annotations

import pytest

from wacloud.adapters.store.customer_keys import (
    alias_key,
    business_of,
    item_keys,
    lookup_keys,
    partition,
    scope,
)
from wacloud.models.number_entry import NumberEntry

DEFAULT = NumberEntry(phone_number_id="100000000000001", default=True)
SALES = NumberEntry(phone_number_id="100000000000002")
BRAND_B = NumberEntry(phone_number_id="100000000000004", business="brand-b")
BRAND_B_OWN_OPT_OUTS = NumberEntry(phone_number_id="100000000000005", business="brand-b", opt_out_scope="number")


def test_the_default_business_keeps_the_keys_of_a_single_business_stack() -> None:
    assert partition("16505551234") == "CONTACT#16505551234"
    assert alias_key("US.1349") == {"pk": "ALIAS#US.1349", "sk": "ALIAS"}
    expected = [
        {"pk": "ALIAS#16505551234", "sk": "ALIAS"},
        {"pk": "CONTACT#16505551234", "sk": "PROFILE"},
        {"pk": "CONTACT#16505551234", "sk": "OPT"},
        {"pk": "CONTACT#16505551234", "sk": "HANDOVER"},
        {"pk": "CONTACT#16505551234", "sk": "MARKETING"},
        {"pk": "CONTACT#16505551234", "sk": "MERGED"},
    ]
    for entry in (None, DEFAULT):
        assert lookup_keys("+1 650-555-1234", entry) == expected
    assert lookup_keys("+1 650-555-1234", SALES) == [
        *expected[:-1],
        {"pk": "CONTACT#16505551234", "sk": "HANDOVER#100000000000002"},
        expected[-1],
    ]


def test_another_business_s_customers_have_keys_of_their_own() -> None:
    assert partition("16505551234", "brand-b") == "BUSINESS#brand-b#CONTACT#16505551234"
    assert alias_key("US.1349", "brand-b") == {"pk": "BUSINESS#brand-b#ALIAS#US.1349", "sk": "ALIAS"}
    assert lookup_keys("16505551234", BRAND_B) == [
        {"pk": "BUSINESS#brand-b#ALIAS#16505551234", "sk": "ALIAS"},
        *(
            {"pk": "BUSINESS#brand-b#CONTACT#16505551234", "sk": sk}
            for sk in ("PROFILE", "OPT", "HANDOVER", "MARKETING", "HANDOVER#100000000000004", "MERGED")
        ),
    ]
    without_a_number = lookup_keys("16505551234", business="brand-b")
    assert without_a_number == [
        key for key in lookup_keys("16505551234", BRAND_B) if key["sk"] != "HANDOVER#100000000000004"
    ]
    own = item_keys("16505551234", BRAND_B_OWN_OPT_OUTS)
    assert {"pk": "BUSINESS#brand-b#CONTACT#16505551234", "sk": "OPT#100000000000005"} in own


@pytest.mark.parametrize("address", ["BUSINESS#brand-b#CONTACT#16505551234", "brand-b#16505551234", "x"])
def test_no_address_given_to_the_default_business_reaches_another_business_s_keys(address: str) -> None:
    keys = {key["pk"] for key in lookup_keys(address)}
    assert keys and all(pk.startswith(("CONTACT#", "ALIAS#")) for pk in keys)


def test_a_number_names_its_own_business_and_a_name_that_contradicts_it_is_refused() -> None:
    assert (business_of(None), business_of(BRAND_B), business_of(None, "brand-b")) == ("default", "brand-b", "brand-b")
    with pytest.raises(ValueError, match="serves business 'brand-b', not 'default'"):
        business_of(BRAND_B, "default")
    for name in ("", "a#b"):
        with pytest.raises(ValueError, match="not a business portfolio's name"):
            scope(name)
