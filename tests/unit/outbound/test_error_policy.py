"""wacloud.outbound.error_policy.action_for: what the sender does about a failed send."""

from __future__ import annotations

import pytest

from wacloud.adapters.graph import GraphError, GraphTransportError
from wacloud.adapters.social_messaging import ServiceError
from wacloud.models.graph import GraphErrorBody
from wacloud.outbound import error_policy
from wacloud.outbound.error_policy import ERROR_RULES, Action, action_for, count_error, markdown_table, rule_for


def graph_error(code: int | None, http_status: int = 400) -> GraphError:
    body = GraphErrorBody(code=code, message=f"error {code}") if code is not None else None
    return GraphError(http_status, body, "" if body else "<html>gateway</html>")


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(131056, id="131056-pair-rate-limit"),
        pytest.param(130429, id="130429-throughput"),
        pytest.param(131000, id="131000-something-went-wrong"),
        pytest.param(2, id="2-service-unavailable"),
        pytest.param(4, id="4-app-rate-limit"),
        pytest.param(80007, id="80007-waba-rate-limit"),
        pytest.param(131016, id="131016-service-overloaded"),
    ],
)
def test_transient_codes_are_retried(code: int) -> None:
    assert action_for(graph_error(code)) is Action.RETRY


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(131047, id="131047-re-engagement"),
        pytest.param(131026, id="131026-undeliverable"),
        pytest.param(100, id="100-invalid-parameter"),
        pytest.param(131008, id="131008-required-parameter-missing"),
        pytest.param(131009, id="131009-parameter-value-invalid"),
        pytest.param(131021, id="131021-recipient-is-sender"),
        pytest.param(132001, id="132001-template-does-not-exist"),
        pytest.param(368, id="368-policy-block"),
    ],
)
def test_permanent_codes_fail(code: int) -> None:
    assert action_for(graph_error(code)) is Action.FAIL


@pytest.mark.parametrize(
    ("code", "http_status", "action"),
    [
        pytest.param(190, 401, Action.REFRESH_TOKEN, id="190-expired-token"),
        pytest.param(190, 400, Action.REFRESH_TOKEN, id="190-any-status"),
        pytest.param(None, 401, Action.REFRESH_TOKEN, id="no-code-401"),
        pytest.param(None, 500, Action.RETRY, id="no-code-500"),
        pytest.param(None, 502, Action.RETRY, id="no-code-502"),
        pytest.param(None, 503, Action.RETRY, id="no-code-503"),
        pytest.param(None, 429, Action.RETRY, id="no-code-429"),
        pytest.param(None, 400, Action.FAIL, id="no-code-400"),
        pytest.param(None, 404, Action.FAIL, id="no-code-404"),
    ],
)
def test_token_and_status_only_errors(code: int | None, http_status: int, action: Action) -> None:
    assert action_for(graph_error(code, http_status)) is action


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        pytest.param(131026, 500, id="permanent-code-on-500"),
        pytest.param(100, 429, id="permanent-code-on-429"),
    ],
)
def test_code_wins_over_http_status(code: int, http_status: int) -> None:
    # Meta says to branch on the code; the status only matters when there is no code.
    assert action_for(graph_error(code, http_status)) is Action.FAIL


def test_retryable_code_on_a_4xx_is_still_retried() -> None:
    assert action_for(graph_error(130429, 400)) is Action.RETRY


@pytest.mark.parametrize("maybe_sent", [True, False], ids=["maybe-sent", "not-sent"])
def test_transport_errors_are_retried(maybe_sent: bool) -> None:
    assert action_for(GraphTransportError("read timeout", maybe_sent=maybe_sent)) is Action.RETRY


def test_action_values_are_stable_strings() -> None:
    # The values end up in records and metrics.
    assert [a.value for a in Action] == ["retry", "fail", "refresh_token"]


@pytest.mark.parametrize(
    ("code", "meaning", "remedy"),
    [
        pytest.param(131062, "user id", "phone number", id="131062-user-id-recipient"),
        pytest.param(131063, "Marketing messages are disabled", "Marketing Messages API", id="131063-marketing-off"),
        pytest.param(131050, "stopped marketing", "until they resume", id="131050-marketing-stopped"),
        pytest.param(132000, "parameters", "parameters the template takes", id="132000-parameter-count"),
        pytest.param(132001, "does not exist", "APPROVED", id="132001-no-template"),
        pytest.param(132012, "format", "type and form", id="132012-parameter-format"),
        pytest.param(132015, "paused", "another template", id="132015-paused"),
        pytest.param(132016, "disabled", "another template", id="132016-disabled"),
    ],
)
def test_permanent_template_and_recipient_codes_fail_with_their_own_meaning_and_a_remedy(code, meaning, remedy):
    rule = rule_for(graph_error(code))

    assert rule.action is Action.FAIL
    assert rule is ERROR_RULES[code]  # listed, not only caught by a range
    assert meaning in rule.meaning and remedy in rule.remedy


def test_the_generated_table_shows_the_remedy():
    row = next(line for line in markdown_table().splitlines() if line.startswith("| 132015 |"))

    assert row.endswith(f"| {ERROR_RULES[132015].remedy} |")


@pytest.mark.parametrize(
    ("error", "value", "attention"),
    [
        pytest.param(graph_error(131026), "131026", False, id="metas-code"),
        pytest.param(graph_error(None, 502), "502", False, id="http-status"),
        pytest.param(ServiceError("AccessDeniedException", 403, "denied"), "AccessDeniedException", True, id="aws"),
        pytest.param(ServiceError("ValidationException", 400, "(#131047) late"), "131047", False, id="meta-via-aws"),
    ],
)
def test_refused_sends_are_counted_by_metas_code_else_awss_else_the_status(monkeypatch, error, value, attention):
    counted: list[tuple[str, str]] = []
    monkeypatch.setattr(error_policy, "count", lambda name: counted.append((name, "")))
    monkeypatch.setattr(error_policy, "count_by", lambda name, *, dimension, value: counted.append((name, value)))
    count_error(error)
    assert counted == [("SendNeedsAttention", "")] * attention + [("GraphError", value)]
