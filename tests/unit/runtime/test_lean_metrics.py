"""wacloud.runtime.lean_metrics: the webhook's counts as the EMF lines Powertools' Metrics prints,
published when its handler ends (however it ends), never failing it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wacloud.local.lambda_context import LocalContext
from wacloud.runtime import metrics as metrics_module
from wacloud.runtime.lean_metrics import MAX_VALUES, LeanMetrics
from wacloud.runtime.metrics import count, count_by


@pytest.fixture
def lean(monkeypatch: pytest.MonkeyPatch) -> LeanMetrics:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "webhook")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Wacloud")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    return LeanMetrics()


@pytest.fixture
def warnings_logged(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    logged: list[dict[str, Any]] = []
    monkeypatch.setattr(metrics_module, "_warned", set())
    monkeypatch.setattr(metrics_module.logger, "warning", lambda message, *, extra: logged.append(extra))
    return logged


def published(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_counts_inside_the_handler_are_one_emf_line_when_it_ends_with_the_cold_start_first(
    lean: LeanMetrics, capsys: pytest.CaptureFixture[str]
) -> None:
    @lean.log_metrics
    def handler(event: dict, context: LocalContext) -> str:
        count("WebhookEventsQueued", 2)
        count("WebhookEventsQueued")
        count("SubscriptionRefused")
        assert lean.metric_set == {"WebhookEventsQueued": [2.0, 1.0], "SubscriptionRefused": [1.0]}  # not yet out
        return "answer"

    assert handler({}, LocalContext(function_name="fn")) == "answer"
    assert handler({}, LocalContext(function_name="fn")) == "answer"

    cold, first, second = published(capsys)
    assert cold["ColdStart"] == [1.0] and cold["function_name"] == "fn" and cold["service"] == "webhook"
    assert cold["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["function_name", "service"]]
    assert first["WebhookEventsQueued"] == [2.0, 1.0] and first["SubscriptionRefused"] == [1.0]
    definition = first["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == "Wacloud" and definition["Dimensions"] == [["service"]]
    assert {m["Name"]: m["Unit"] for m in definition["Metrics"]} == {
        "WebhookEventsQueued": "Count",
        "SubscriptionRefused": "Count",
    }
    assert second["WebhookEventsQueued"] == [2.0, 1.0] and "ColdStart" not in second


def test_the_counts_are_published_when_the_handler_raises(lean: LeanMetrics, capsys) -> None:
    @lean.log_metrics
    def handler(event: dict, context: LocalContext) -> None:
        count("Counted")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler({}, LocalContext(function_name="fn"))
    assert [line.get("Counted") for line in published(capsys)] == [None, [1.0]]


def test_counts_outside_its_handler_do_not_go_to_it(lean: LeanMetrics) -> None:
    count("Elsewhere")
    assert lean.metric_set == {}
    assert "Elsewhere" in metrics_module.powertools_metrics().metric_set


def test_a_full_metric_is_published_and_counting_goes_on(lean: LeanMetrics, capsys) -> None:
    for _ in range(MAX_VALUES + 5):
        lean.add("Many", 1)
    (line,) = published(capsys)
    assert len(line["Many"]) == MAX_VALUES and len(lean.metric_set["Many"]) == 5


def test_a_refused_name_is_dropped_with_one_warning_and_the_handler_goes_on(
    lean: LeanMetrics, warnings_logged: list[dict[str, Any]], capsys
) -> None:
    @lean.log_metrics
    def handler(event: dict, context: LocalContext) -> str:
        count("")
        count("")
        count("M" * 256)
        count("Kept")
        return "answer"

    assert handler({}, LocalContext(function_name="fn")) == "answer"
    assert [line.get("Kept") for line in published(capsys)] == [None, [1.0]]
    assert [w["metric"] for w in warnings_logged] == ["", "M" * 256]


def test_without_a_namespace_nothing_is_published_and_the_handler_answers(
    lean: LeanMetrics, warnings_logged: list[dict[str, Any]], capsys
) -> None:
    lean.namespace = None

    @lean.log_metrics
    def handler(event: dict, context: LocalContext) -> str:
        count("Counted")
        return "answer"

    assert handler({}, LocalContext(function_name="fn")) == "answer"
    assert capsys.readouterr().out == ""
    assert [w["reason"] for w in warnings_logged] == ["ValueError", "ValueError"]  # cold start, invocation
    assert lean.metric_set == {}


@pytest.mark.parametrize(
    ("variables", "disabled"),
    [
        ({"POWERTOOLS_METRICS_DISABLED": "true"}, True),
        ({"POWERTOOLS_DEV": "true"}, True),
        ({"POWERTOOLS_DEV": "true", "POWERTOOLS_METRICS_DISABLED": "false"}, False),
    ],
)
def test_nothing_is_printed_when_metrics_are_disabled_as_powertools_decides(
    lean: LeanMetrics, capsys, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], disabled: bool
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    @lean.log_metrics
    def handler(event: dict, context: LocalContext) -> None:
        count("Counted")
        count_by("GraphError", dimension="error_code", value="131030")

    handler({}, LocalContext(function_name="fn"))
    assert (capsys.readouterr().out == "") is disabled


def test_a_dimensioned_count_is_its_own_line_at_once(lean: LeanMetrics, capsys) -> None:
    with metrics_module.counting_into(lean):
        count_by("GraphError", dimension="error_code", value="131030")
        (line,) = published(capsys)
    assert line["GraphError"] == [1.0] and line["error_code"] == "131030" and line["service"] == "webhook"
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["error_code", "service"]]
