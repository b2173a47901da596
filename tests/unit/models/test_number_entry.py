"""wacloud.models.number_entry: a registry entry is checked however it is made, round-trips through its
stored form, and inherits what it leaves blank from the stack's settings."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from wacloud.config import Settings
from wacloud.errors import ConfigurationError
from wacloud.models.number_entry import NumberEntry, eum_id_key

EUM_ID = "phone-number-id-0123456789abcdef0123456789abcdef"
EUM_ARN = "arn:aws:social-messaging:eu-west-1:123456789012:phone-number-id/0123456789abcdef0123456789abcdef"


def full_entry() -> NumberEntry:
    return NumberEntry(
        phone_number_id="100000000000002",
        waba_id="200000000000002",
        app="sales",
        transport="eum",
        eum_phone_number_id=EUM_ARN,
        secret_name="whatsapp/cloud-api/sales",
        business="default",
        rules="s3://bucket/config/sales.json",
        bot="bots.sales:bot",
        send_rate_per_second=20,
        window_policy="off",
        opt_out_scope="number",
        meta_api_version="v20.0",
        display_phone_number="+1 555-000-0002",
        label="Sales line",
        default=True,
    )


def test_the_stack_s_own_number_is_the_default_and_inherits_everything_else() -> None:
    settings = Settings(phone_number_id="100000000000001", waba_id="200000000000001", secret_name="wa/app")

    entry = NumberEntry.from_settings(settings)

    assert (entry.phone_number_id, entry.waba_id, entry.app, entry.default, entry.unsuffixed_keys) == (
        "100000000000001",
        "200000000000001",
        "default",
        True,
        True,  # and it keeps the single-number version's keys
    )
    assert entry.transport == "cloud_api"
    # Blank: a stored copy of it still follows the stack's parameters when they change.
    assert (entry.secret_name, entry.send_rate_per_second, entry.window_policy) == ("", None, "")


def test_a_stack_without_a_number_has_no_entry_of_its_own() -> None:
    with pytest.raises(ConfigurationError, match="WACLOUD_PHONE_NUMBER_ID"):
        NumberEntry.from_settings(Settings(phone_number_id=""))


def test_resolved_fills_each_blank_from_the_settings_and_keeps_what_is_set() -> None:
    settings = Settings(
        secret_name="wa/app",
        rules="rules.yaml",
        bot="bots.main:bot",
        send_rate_per_second=80.0,
        enforce_service_window=False,
        graph_api_version="v26.0",
    )

    blank = NumberEntry(phone_number_id="1").resolved(settings)
    own = full_entry().resolved(settings)

    assert (blank.secret_name, blank.rules, blank.bot) == ("wa/app", "rules.yaml", "bots.main:bot")
    assert (blank.send_rate_per_second, blank.window_policy, blank.meta_api_version) == (80.0, "off", "v26.0")
    assert own == full_entry()
    assert NumberEntry(phone_number_id="1", send_rate_per_second=0).resolved(settings).send_rate_per_second == 0
    assert NumberEntry(phone_number_id="1").resolved(Settings()).window_policy == "enforce"


def test_an_entry_round_trips_through_its_stored_form() -> None:
    entry = full_entry()

    assert NumberEntry.from_item(entry.to_item()) == entry


def test_the_stored_form_holds_only_what_differs_from_the_defaults() -> None:
    assert NumberEntry(phone_number_id="1").to_item() == {"phone_number_id": "1"}
    assert NumberEntry(phone_number_id="1", waba_id="2", default=True).to_item() == {
        "phone_number_id": "1",
        "waba_id": "2",
        "default": True,
    }


def test_the_unsuffixed_keys_mark_is_stored_only_when_set_and_only_as_a_bool() -> None:
    assert NumberEntry(phone_number_id="1", unsuffixed_keys=True).to_item() == {
        "phone_number_id": "1",
        "unsuffixed_keys": True,
    }
    assert NumberEntry.from_item({"phone_number_id": "1", "unsuffixed_keys": True}).unsuffixed_keys is True
    with pytest.raises(ConfigurationError, match="unsuffixed_keys must be a bool"):
        NumberEntry.from_item({"phone_number_id": "1", "unsuffixed_keys": "yes"})


def test_a_whole_number_rate_reads_as_the_same_rate() -> None:
    entry = NumberEntry.from_item({"phone_number_id": "1", "send_rate_per_second": 5})

    assert entry.send_rate_per_second == 5.0 and isinstance(entry.send_rate_per_second, float)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param(["1"], "must be a JSON object", id="not-an-object"),
        pytest.param({"waba_id": "2"}, "phone_number_id is missing", id="no-id"),
        pytest.param({"phone_number_id": "1", "bussiness": "x"}, "unknown field", id="typo"),
        pytest.param({"phone_number_id": 1}, "phone_number_id must be a str", id="id-as-number"),
        pytest.param({"phone_number_id": "1", "default": "yes"}, "default must be a bool", id="default-as-text"),
    ],
)
def test_stored_data_that_is_not_an_entry_is_refused_with_the_reason(item: Any, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        NumberEntry.from_item(item)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"phone_number_id": "+15550001"}, "phone_number_id", id="id-not-digits"),
        pytest.param({"phone_number_id": "0123"}, "phone_number_id", id="id-leading-zero"),
        pytest.param({"waba_id": "waba-1"}, "waba_id", id="waba-not-digits"),
        pytest.param({"app": "Sales"}, "app", id="app-upper-case"),
        pytest.param({"app": "a/b"}, "app", id="app-with-slash"),
        pytest.param({"business": ""}, "business", id="business-empty"),
        pytest.param({"transport": "sms"}, "transport 'sms' is not one of", id="transport"),
        pytest.param({"eum_phone_number_id": ""}, "needs eum_phone_number_id", id="eum-without-its-id"),
        pytest.param({"eum_phone_number_id": "1234"}, "eum_phone_number_id", id="eum-id-malformed"),
        pytest.param({"eum_phone_number_id": "phone-number-id-" + "a" * 100}, "longer than 115", id="eum-id-long"),
        pytest.param({"secret_name": "has space"}, "secret_name", id="secret-name"),
        pytest.param({"window_policy": "sometimes"}, "window_policy", id="window"),
        pytest.param({"opt_out_scope": "customer"}, "opt_out_scope", id="opt-out-scope"),
        pytest.param({"send_rate_per_second": 1001}, "0 \\(no limit\\) to 1000", id="rate-too-high"),
        pytest.param({"send_rate_per_second": -1}, "0 \\(no limit\\) to 1000", id="rate-negative"),
        pytest.param({"send_rate_per_second": float("nan")}, "must be a number", id="rate-nan"),
        pytest.param({"send_rate_per_second": True}, "must be a number", id="rate-bool"),
        pytest.param({"send_rate_per_second": "5"}, "must be a number", id="rate-text"),
        pytest.param({"meta_api_version": "20.0"}, "meta_api_version", id="api-version"),
        pytest.param({"bot": "bots.sales"}, "module:attribute", id="bot"),
        pytest.param({"display_phone_number": "call us"}, "display_phone_number", id="display"),
        pytest.param({"label": "two\nlines"}, "label must be printable", id="label-control"),
        pytest.param({"rules": "r" * 1020 + ".json"}, "rules must be printable, at most 1024", id="rules-long"),
    ],
)
def test_an_invalid_field_is_a_configuration_error_naming_it(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        dataclasses.replace(full_entry(), **changes)


def test_a_cloud_api_number_may_carry_its_aws_id_ahead_of_a_move() -> None:
    entry = NumberEntry(phone_number_id="1", eum_phone_number_id=EUM_ID)

    assert entry.transport == "cloud_api" and entry.eum_key == EUM_ID


@pytest.mark.parametrize("aws_id", [EUM_ID, EUM_ARN])
def test_aws_names_a_number_by_its_id_or_its_arn_alike(aws_id: str) -> None:
    assert eum_id_key(aws_id) == EUM_ID
    assert NumberEntry(phone_number_id="1", transport="eum", eum_phone_number_id=aws_id).eum_key == EUM_ID
