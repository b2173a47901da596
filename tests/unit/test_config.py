"""wacloud.config: the settings read and validated from the WACLOUD_* environment variables, the
keyword lists, and the per-process settings singleton."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from typing import Any

import pytest

from tests.conftest import ROOT, TEMPLATE
from wacloud.config import (
    DEFAULT_GRAPH_API_VERSION,
    DEFAULT_GRAPH_BASE_URL,
    Settings,
    get_settings,
    keywords,
    normalise_keyword,
)
from wacloud.errors import ConfigurationError
from wacloud.runtime.singletons import reset

DAY = 86400


@pytest.fixture(autouse=True)
def no_wacloud_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("WACLOUD_")]:
        monkeypatch.delenv(name)
    reset()


def test_settings_are_read_from_wacloud_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_TABLE_NAME", "messages")
    monkeypatch.setenv("WACLOUD_SEND_CONCURRENCY", "4")
    monkeypatch.setenv("WACLOUD_MARK_READ", "false")
    monkeypatch.setenv("WACLOUD_SEND_RATE_PER_SECOND", "12.5")
    monkeypatch.setenv("WACLOUD_NOT_A_SETTING", "ignored")  # unknown: ignored, not an error
    monkeypatch.setenv("TABLE_NAME", "not-ours")  # the field's name without the prefix: not read
    monkeypatch.setenv("table_name", "not-ours")

    settings = get_settings()

    assert (settings.table_name, settings.send_concurrency, settings.mark_read) == ("messages", 4, False)
    assert settings.send_rate_per_second == 12.5


def test_defaults_when_nothing_is_set() -> None:
    settings = get_settings()

    assert settings == Settings.from_env({})
    assert settings.secret_name == "whatsapp/cloud-api"
    assert (settings.graph_api_version, settings.graph_base_url) == ("v26.0", DEFAULT_GRAPH_BASE_URL)
    assert (settings.table_name, settings.media_bucket, settings.rules, settings.bot) == ("", "", "", "")
    assert (settings.archive_media, settings.mark_read, settings.enforce_service_window) == (True, True, True)
    assert (settings.send_concurrency, settings.send_rate_per_second, settings.max_receive_count) == (1, 80, 5)
    assert (settings.retry_base_seconds, settings.retry_max_seconds) == (30, 900)
    assert settings.idempotency_ttl_seconds == 8 * DAY and settings.max_event_age_seconds == 7 * DAY
    assert (settings.record_ttl_days, settings.history_size, settings.history_days) == (90, 20, 7)
    assert settings.max_webhook_bytes == 3 * 1024 * 1024 and settings.tracing == "PassThrough"


def test_settings_are_frozen_and_also_take_field_names() -> None:
    settings = Settings(table_name="t")

    assert settings.table_name == "t"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.table_name = "other"  # type: ignore[misc]


def test_settings_made_by_field_name_or_copied_are_checked_too() -> None:
    with pytest.raises(ConfigurationError, match="WACLOUD_SEND_CONCURRENCY: 0 must be at least 1"):
        Settings(send_concurrency=0)
    with pytest.raises(ConfigurationError, match="WACLOUD_SEND_CONCURRENCY: '4' is not a valid int"):
        Settings(send_concurrency="4")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="WACLOUD_SEND_RATE_PER_SECOND"):
        dataclasses.replace(Settings(), send_rate_per_second=float("nan"))
    assert dataclasses.replace(Settings(), send_rate_per_second=5).send_rate_per_second == 5


@pytest.mark.parametrize(("raw", "value"), [("5", 5), (" 5 ", 5), ("5.0", 5), ("+5", 5)])
def test_an_integer_may_come_as_cloudformation_writes_a_number(raw: str, value: int) -> None:
    assert Settings.from_env({"WACLOUD_MAX_RECEIVE_COUNT": raw}).max_receive_count == value


@pytest.mark.parametrize("raw", ["5.5", "five", "", "inf", "nan"])
def test_an_integer_that_is_not_one_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="WACLOUD_MAX_RECEIVE_COUNT"):
        Settings.from_env({"WACLOUD_MAX_RECEIVE_COUNT": raw})


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        (" false ", False),
        ("0", False),
        ("off", False),
    ],
)
def test_booleans_read_as_the_template_and_pydantic_wrote_them(raw: str, value: bool) -> None:
    assert Settings.from_env({"WACLOUD_MARK_READ": raw}).mark_read is value


@pytest.mark.parametrize("version", ["v26.0", "v3.10"], ids=["current", "two-digit-minor"])
def test_a_graph_version_looks_like_v_major_minor(version: str) -> None:
    assert Settings.from_env({"WACLOUD_GRAPH_API_VERSION": version}).graph_api_version == version


def test_the_graph_version_defaults_agree_template_samconfig_and_code() -> None:
    # A stack deployed without the parameter, the samconfig environments and the `wacloud` command
    # (which falls back on the code's default) all call the same version.
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = [
        entry
        for section in samconfig.values()
        if isinstance(section, dict)  # not `version`
        for entry in section.get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
        if entry.startswith("GraphApiVersion=")
    ]
    assert TEMPLATE["Parameters"]["GraphApiVersion"]["Default"] == DEFAULT_GRAPH_API_VERSION
    assert overrides == [f"GraphApiVersion={DEFAULT_GRAPH_API_VERSION}"] * 2  # default and prod


@pytest.mark.parametrize("version", ["25.0", "v25", "V25.0", "v25.0.1", "latest", "v25.0/"], ids=str)
def test_any_other_graph_version_is_refused(version: str) -> None:
    with pytest.raises(ConfigurationError, match="WACLOUD_GRAPH_API_VERSION"):
        Settings.from_env({"WACLOUD_GRAPH_API_VERSION": version})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WACLOUD_SEND_CONCURRENCY", 0),
        ("WACLOUD_SEND_CONCURRENCY", 11),
        ("WACLOUD_SEND_RATE_PER_SECOND", -1),
        ("WACLOUD_SEND_RATE_PER_SECOND", 1001),
        ("WACLOUD_HISTORY_SIZE", 101),
        ("WACLOUD_HISTORY_DAYS", 0),
        ("WACLOUD_HANDOVER_HOURS", 0),
        ("WACLOUD_RETRY_MAX_SECONDS", 43_201),
        ("WACLOUD_RETRY_BASE_SECONDS", -1),
        ("WACLOUD_MAX_RECEIVE_COUNT", 0),
        ("WACLOUD_RECORD_TTL_DAYS", 0),
        ("WACLOUD_MAX_WEBHOOK_BYTES", 0),
        ("WACLOUD_TEMPLATE_CACHE_SECONDS", -1),
        ("WACLOUD_IDEMPOTENCY_TTL_SECONDS", 0),
        ("WACLOUD_MAX_EVENT_AGE_SECONDS", 0),
        ("WACLOUD_WABA_ID", "waba-1"),
        ("WACLOUD_TRACING", "On"),
        ("WACLOUD_AUTO_REPLY_TEXT", "x" * 4097),
        ("WACLOUD_MARK_READ", "maybe"),
        ("WACLOUD_SEND_RATE_PER_SECOND", "nan"),
        ("WACLOUD_SEND_RATE_PER_SECOND", "inf"),
        ("WACLOUD_GRAPH_API_VERSION", "v25.0\n"),
    ],
    ids=lambda value: str(value)[:20],
)
def test_values_out_of_range_are_refused_naming_the_variable(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WACLOUD_SEND_CONCURRENCY", 10),
        ("WACLOUD_SEND_RATE_PER_SECOND", 0),
        ("WACLOUD_SEND_RATE_PER_SECOND", 1000),
        ("WACLOUD_HISTORY_SIZE", 0),
        ("WACLOUD_RETRY_MAX_SECONDS", 43_200),
        ("WACLOUD_WABA_ID", ""),
        ("WACLOUD_TRACING", "Active"),
        ("WACLOUD_AUTO_REPLY_TEXT", "x" * 4096),
    ],
    ids=lambda value: str(value)[:20],
)
def test_values_at_the_limits_are_accepted(name: str, value: Any) -> None:
    Settings.from_env({name: value})


def test_the_replay_window_may_not_exceed_the_idempotency_ttl() -> None:
    # an event is either still remembered by idempotency or too old to act on: never acted on twice
    with pytest.raises(ConfigurationError, match="MAX_EVENT_AGE_SECONDS must not exceed"):
        Settings.from_env({"WACLOUD_IDEMPOTENCY_TTL_SECONDS": DAY, "WACLOUD_MAX_EVENT_AGE_SECONDS": DAY + 1})
    with pytest.raises(ConfigurationError, match="MAX_EVENT_AGE_SECONDS must not exceed"):
        Settings.from_env({"WACLOUD_IDEMPOTENCY_TTL_SECONDS": 6 * DAY})  # below the default replay window of 7 days

    equal = Settings.from_env({"WACLOUD_IDEMPOTENCY_TTL_SECONDS": DAY, "WACLOUD_MAX_EVENT_AGE_SECONDS": DAY})
    assert equal.max_event_age_seconds == equal.idempotency_ttl_seconds == DAY


def test_the_replay_window_may_not_outlast_the_message_records() -> None:
    # a customer message is remembered by its own record: once that is gone, only the window stops a replay
    with pytest.raises(ConfigurationError, match="must not exceed WACLOUD_RECORD_TTL_DAYS"):
        Settings.from_env({"WACLOUD_RECORD_TTL_DAYS": 6})  # below the default replay window of 7 days
    assert Settings.from_env({"WACLOUD_RECORD_TTL_DAYS": 7}).record_ttl_days == 7


def test_an_invalid_environment_fails_the_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_SEND_CONCURRENCY", "many")

    with pytest.raises(ConfigurationError, match="WACLOUD_SEND_CONCURRENCY"):
        get_settings()


def test_keyword_lists_are_split_on_commas_and_normalised() -> None:
    assert keywords("stop, Unsubscribe ,,  stop   all!,") == frozenset({"STOP", "UNSUBSCRIBE", "STOP ALL"})
    assert keywords("") == frozenset() and keywords(" , ") == frozenset()


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("stop", "STOP"),
        ("  Stop  ALL ", "STOP ALL"),
        ("stop\n\tall", "STOP ALL"),
        ("Stop.", "STOP"),
        ("stop!!", "STOP"),
        ("stop?", "STOP?"),  # only a final . or ! is ignored
        ("s.t.o.p", "S.T.O.P"),
    ],
    ids=["lower", "spacing", "newlines", "full-stop", "exclamations", "question", "inner-dots"],
)
def test_a_keyword_ignores_case_spacing_and_final_punctuation(text: str, normalised: str) -> None:
    assert normalise_keyword(text) == normalised


def test_a_keyword_ignores_a_space_before_the_final_punctuation() -> None:
    assert normalise_keyword("stop !") == "STOP"
    assert keywords("STOP") >= {normalise_keyword("Stop .")}


def test_the_settings_are_read_once_per_process_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_TABLE_NAME", "first")
    settings = get_settings()

    monkeypatch.setenv("WACLOUD_TABLE_NAME", "second")
    assert get_settings() is settings and settings.table_name == "first"

    reset()
    assert get_settings() is not settings and get_settings().table_name == "second"


def test_the_template_keeps_message_records_longer_than_any_replay_window() -> None:
    parameters = TEMPLATE["Parameters"]
    longest_window = parameters["ReplayWindowSeconds"]["MaxValue"]
    assert parameters["RecordRetentionDays"]["MinValue"] * DAY >= longest_window


def test_eum_topics_are_a_comma_separated_list_of_sns_arns() -> None:
    one = "arn:aws:sns:eu-west-1:123456789012:wacloud-eum"
    two = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:Other_Topic"

    assert Settings().eum_topics == frozenset()
    assert Settings(eum_topic_arns=one).eum_topics == {one}
    assert Settings(eum_topic_arns=f"{one}, {two}").eum_topics == {one, two}
    for wrong in ("wacloud-eum", f"{one},", "arn:aws:sqs:eu-west-1:123456789012:q", f"{one};{two}"):
        with pytest.raises(ConfigurationError, match="WACLOUD_EUM_TOPIC_ARNS"):
            Settings(eum_topic_arns=wrong)
