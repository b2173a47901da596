"""Template messages the simulated Graph refuses as Meta does: unknown template or language (132001),
wrong number of parameters (132000), wrong parameter type or format (132012), paused (132015) or
disabled (132016) templates, an authentication template to a BSUID (131062), a marketing template
through /messages while the account sends marketing through the Marketing Messages API (131063)."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.local.meta.account_templates import DEFAULT_TEMPLATES, LOCAL_RUN_TEMPLATES
from wacloud.local.meta.graph_rules import GraphRules, RuleSettings

PNID = "100000000000001"
CATALOG = DEFAULT_TEMPLATES + LOCAL_RUN_TEMPLATES
BSUID = "US.13491208655302741918"


def send(name: str, *components: dict[str, Any], language: str = "en_US", **address: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        **(address or {"to": "+16505551234"}),
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": list(components)},
    }


def text(value: str, name: str | None = None) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"parameter_name": name} if name else {})}


def body(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "body", "parameters": list(parameters)}


def button(index: int, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "button", "sub_type": "url", "index": str(index), "parameters": list(parameters)}


def image_header(image: dict[str, Any]) -> dict[str, Any]:
    return {"type": "header", "parameters": [{"type": "image", "image": image}]}


IMAGE = image_header({"link": "https://example.com/a.png"})
CURRENCY = {"type": "currency", "currency": {"fallback_value": "$12.50", "code": "USD", "amount_1000": 12500}}
DATE = {"type": "date_time", "date_time": {"fallback_value": "May 1, 2026"}}


def check(document: dict[str, Any], **options: Any) -> tuple[int, dict[str, Any]] | None:
    rules = GraphRules(RuleSettings(enforce_window=False, **options.pop("settings", {})))
    return rules.check(PNID, document, templates=CATALOG, **options)


def refused(document: dict[str, Any], **options: Any) -> tuple[int, str]:
    answer = check(document, **options)
    assert answer is not None, "Graph would refuse this"
    error = answer[1]["error"]
    assert answer[0] == 400 and error["type"] == "OAuthException" and error["fbtrace_id"]
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["message"].startswith(f"(#{error['code']})")
    return error["code"], error["error_data"]["details"]


@pytest.mark.parametrize(
    "document",
    [
        send("hello_world"),
        send("order_update", body(text("1234", "order_id"), text("$12", "total")), button(0, text("1234"))),
        send("appointment_reminder", IMAGE, body(text("Ana"), text("Monday"))),
        send("payment_due", body(CURRENCY, DATE)),
        send("login_code", body(text("123456")), button(0, text("123456"))),
    ],
    ids=["no-parameters", "named", "image-header", "currency-and-date", "authentication-to-a-phone"],
)
def test_a_template_message_that_fits_is_taken(document):
    assert check(document) is None


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (send("no_such_template"), "no_such_template"),
        (send("hello_world", language="fr"), "does not exist in fr"),
    ],
    ids=["unknown-name", "language-it-lacks"],
)
def test_an_unknown_template_or_language_is_132001(document, detail):
    code, details = refused(document)
    assert code == 132001 and detail in details


def test_paused_and_disabled_templates_are_132015_and_132016():
    assert refused(send("spring_sale", body(text("20%"))))[0] == 132015
    assert refused(send("winter_sale", body(text("20%"))))[0] == 132016


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (send("appointment_reminder", IMAGE, body(text("Ana"))), "body: number of localizable_params (1)"),
        (send("appointment_reminder", body(text("Ana"), text("Monday"))), "header"),
        (send("hello_world", body(text("extra"))), "body"),
        (send("order_update", body(text("1", "order_id"), text("2", "totl")), button(0, text("x"))), "named"),
        (send("order_update", body(text("1", "order_id"), text("2", "total"))), "button 0"),
        (send("hello_world", button(3, text("x"))), "no button 3"),
    ],
    ids=["too-few", "header-missing", "too-many", "wrong-names", "button-parameter-missing", "no-such-button"],
)
def test_the_wrong_number_of_parameters_is_132000(document, detail):
    code, details = refused(document)
    assert code == 132000 and detail in details


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (send("appointment_reminder", image_header({}), body(text("Ana"), text("Mon"))), "no image id or link"),
        (
            send("appointment_reminder", {"type": "header", "parameters": [text("x")]}, body(text("A"), text("M"))),
            "takes a image",
        ),
        (
            send("payment_due", body({**CURRENCY, "currency": {"fallback_value": "$1", "code": "usd"}}, DATE)),
            "3-letter",
        ),
        (send("payment_due", body({**CURRENCY, "currency": {"code": "USD", "amount_1000": 1}}, DATE)), "currency"),
        (send("payment_due", body(CURRENCY, {"type": "date_time", "date_time": {}})), "date_time"),
        (send("weekly_deals", body(text(" "))), "empty"),
        (send("weekly_deals", body(text("two\nlines"))), "new-line"),
        (send("weekly_deals", body(text("a\ttab"))), "new-line/tab"),
        (send("weekly_deals", body(text("five     spaces"))), "4 consecutive spaces"),
        (send("weekly_deals", body({"type": "image", "image": {"link": "https://e.com/a.png"}})), "'image'"),
    ],
    ids=[
        "media-header-without-media",
        "text-for-an-image-header",
        "currency-code",
        "currency-amount-missing",
        "date-time-without-fallback",
        "empty-text",
        "new-line",
        "tab",
        "five-spaces",
        "image-in-the-body",
    ],
)
def test_a_parameter_of_the_wrong_type_or_format_is_132012(document, detail):
    code, details = refused(document)
    assert code == 132012 and detail in details


def test_four_spaces_in_a_row_are_still_fine():
    assert check(send("weekly_deals", body(text("four    spaces")))) is None


def test_an_authentication_template_cannot_go_to_a_business_scoped_user_id():
    document = send("login_code", body(text("123456")), button(0, text("123456")), recipient=BSUID)
    code, details = refused(document)
    assert code == 131062 and "phone number" in details
    assert check(send("weekly_deals", body(text("x")), recipient=BSUID)) is None  # other templates may


def test_marketing_templates_through_messages_are_131063_when_the_account_disables_them():
    deals = send("weekly_deals", body(text("2 for 1")))
    assert check(deals) is None  # the setting is off by default
    disabled = {"disable_marketing_messages_on_cloud_api": True}
    assert refused(deals, settings=disabled)[0] == 131063
    assert check(deals, settings=disabled, endpoint="marketing_messages") is None
    assert check(send("hello_world"), settings=disabled) is None  # utility templates still go


def test_without_the_accounts_templates_template_messages_are_not_checked_against_them():
    rules = GraphRules(RuleSettings(enforce_window=False))
    assert rules.check(PNID, send("no_such_template")) is None
