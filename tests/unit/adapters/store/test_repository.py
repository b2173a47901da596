"""wacloud.adapters.store.repository: what every repository shares (the table, the clock, the TTL),
floats made DynamoDB numbers, and raw input cut to what an item may hold."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from wacloud.adapters.store.repository import MAX_STORED_RAW_CHARS, Repository, dynamo_value, truncate
from wacloud.adapters.table import Table


def test_floats_become_decimals_at_any_depth() -> None:
    value = {"price": 1.5, "items": [{"weight": 0.25}, [2.75]], "location": {"lat": 40.4168, "lng": -3.7038}}

    assert dynamo_value(value) == {
        "price": Decimal("1.5"),
        "items": [{"weight": Decimal("0.25")}, [Decimal("2.75")]],
        "location": {"lat": Decimal("40.4168"), "lng": Decimal("-3.7038")},
    }


def test_a_float_becomes_the_decimal_it_prints_as_not_its_binary_expansion() -> None:
    converted = dynamo_value(0.1)

    assert isinstance(converted, Decimal) and converted == Decimal("0.1")


@pytest.mark.parametrize(
    "value",
    [3, "text", True, None, {"n": 1, "s": "x", "b": False, "none": None, "list": [1, "a"]}],
    ids=["int", "str", "bool", "none", "nested"],
)
def test_everything_but_floats_keeps_its_type(value: object) -> None:
    converted = dynamo_value(value)

    assert converted == value and type(converted) is type(value)
    if isinstance(value, dict):
        assert {k: type(v) for k, v in converted.items()} == {k: type(v) for k, v in value.items()}


@pytest.mark.parametrize("length", [0, 10, MAX_STORED_RAW_CHARS], ids=["empty", "short", "at-the-limit"])
def test_text_within_the_limit_is_kept_whole(length: int) -> None:
    text = "x" * length

    assert truncate(text) == text


def test_longer_text_is_cut_at_the_limit_and_says_so() -> None:
    text = "a" * MAX_STORED_RAW_CHARS + "tail that is lost"

    cut = truncate(text)

    assert cut == "a" * MAX_STORED_RAW_CHARS + "...(truncated)"
    assert "tail" not in cut


def test_a_repository_keeps_its_table_and_ttl_and_reads_time_from_its_clock() -> None:
    table = Table("messages")
    now = [1_700_000_000.9]
    repository = Repository(table, ttl_seconds=86400, clock=lambda: now[0])

    assert repository.table is table and repository.ttl_seconds == 86400
    assert repository._now() == 1_700_000_000  # whole seconds
    now[0] += 60
    assert repository._now() == 1_700_000_060


def test_a_repository_without_a_clock_uses_the_time_now() -> None:
    before = int(time.time())
    now = Repository(Table("messages"), ttl_seconds=1)._now()

    assert before <= now <= int(time.time())
