"""wacloud.models.templates: what tests/unit/models/test_interactive.py leaves out of template bodies
(named parameters' rules, button sub_type/index rules, header limits, components passed on)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from wacloud.models.templates import (
    BodyComponent,
    ButtonComponent,
    OtherComponent,
    TemplateBody,
    TextParameter,
)
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import parse_document


def body(*components: dict[str, Any], **template: Any) -> dict[str, Any]:
    return {"name": "order_update", "language": {"code": "en_US"}, "components": list(components), **template}


def text(value: str = "Ana", name: str | None = None) -> dict[str, Any]:
    return {"type": "text", "text": value, **({"parameter_name": name} if name else {})}


def button(sub_type: str, index: Any = 0, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "button", "sub_type": sub_type, "index": index, "parameters": list(parameters)}


def refused(template: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        TemplateBody.model_validate(template)
    return describe(caught.value)


def test_named_parameters_keep_their_names_for_graph():
    parsed = TemplateBody.model_validate(
        body(
            {
                "type": "body",
                "parameters": [
                    text(name="first_name"),
                    {"type": "date_time", "parameter_name": "due", "date_time": {"fallback_value": "May 1"}},
                ],
            }
        )
    )
    component = parsed.components[0]
    assert isinstance(component, BodyComponent)
    assert [p.parameter_name for p in component.parameters] == ["first_name", "due"]
    sent = parsed.model_dump(mode="json", exclude_none=True)["components"][0]["parameters"]
    assert sent[0] == {"type": "text", "parameter_name": "first_name", "text": "Ana"}


def test_positional_parameters_go_to_graph_without_a_name():
    parsed = TemplateBody.model_validate(body({"type": "body", "parameters": [text("a"), text("b")]}))
    sent = parsed.model_dump(mode="json", exclude_none=True)["components"][0]["parameters"]
    assert sent == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        pytest.param([text(name="x"), text(name="x")], "parameter_name values must be unique", id="same-name-twice"),
        pytest.param([text(name="First_Name")], "parameter_name", id="uppercase-name"),
        pytest.param([text(name="x" * 65)], "parameter_name", id="name-over-64"),
        pytest.param([text(name="a"), text()], "every body parameter a parameter_name", id="mixed"),
    ],
)
def test_named_parameters_follow_metas_rules(parameters, reason):
    assert reason in refused(body({"type": "body", "parameters": parameters}))


def test_the_longest_parameter_name_passes():
    TemplateBody.model_validate(body({"type": "body", "parameters": [text(name="x" * 64)]}))


@pytest.mark.parametrize(
    "component",
    [
        pytest.param(button("url", 0, text("order/1234")), id="url-text"),
        pytest.param(button("quick_reply", 1, {"type": "payload", "payload": "STOP"}), id="quick-reply-payload"),
        pytest.param(button("copy_code", 2, {"type": "coupon_code", "coupon_code": "SAVE15"}), id="copy-code"),
        pytest.param(button("flow", 3, {"type": "action", "action": {"flow_token": "t"}}), id="flow-action"),
        pytest.param(button("catalog", 4, {"type": "action", "action": {}}), id="catalog-action"),
        pytest.param(button("mpm", 5, {"type": "action", "action": {"sections": []}}), id="mpm-action"),
        pytest.param(button("voice_call", 6), id="voice-call-no-parameters"),
        pytest.param(button("url", "9", text("x")), id="index-as-string"),
    ],
)
def test_each_button_sub_type_takes_its_parameter(component):
    parsed = TemplateBody.model_validate(body(component))
    assert isinstance(parsed.components[0], ButtonComponent)
    assert parsed.model_dump(mode="json", exclude_none=True)["components"] == [component]


@pytest.mark.parametrize(
    ("component", "reason"),
    [
        pytest.param(button("copy_code", 0, text("SAVE15")), "takes a 'coupon_code' parameter", id="copy-code-text"),
        pytest.param(button("flow", 0, text("x")), "takes a 'action' parameter", id="flow-text"),
        pytest.param(button("url", 0, text("a"), text("b")), "at most 1 item", id="two-parameters"),
        pytest.param(button("call_me", 0), "button.sub_type", id="unknown-sub-type"),
        pytest.param(button("url", -1), "button.index", id="negative-index"),
        pytest.param(button("url", "10"), "button.index", id="index-string-10"),
        pytest.param(button("url", "a"), "button.index", id="index-not-a-digit"),
        pytest.param({"type": "button", "sub_type": "url"}, "button.index: Field required", id="no-index"),
        pytest.param(
            button("copy_code", 0, {"type": "coupon_code", "coupon_code": "x" * 16}), "coupon_code", id="coupon-16"
        ),
    ],
)
def test_a_button_breaking_its_rules_is_refused(component, reason):
    assert reason in refused(body(component))


def test_a_quick_reply_button_takes_only_a_payload():
    assert "'payload' parameter" in refused(body(button("quick_reply", 0, text("yes"))))


@pytest.mark.parametrize(
    "indexes",
    [pytest.param((0, 0), id="same-int"), pytest.param((1, "1"), id="int-and-string-alike")],
)
def test_each_button_index_appears_once(indexes):
    first, second = indexes
    payload = {"type": "payload", "payload": "p"}
    reason = refused(body(button("quick_reply", first, payload), button("quick_reply", second, payload)))
    assert "each button index appears once" in reason


def test_a_strict_document_does_not_take_a_boolean_as_a_button_index():
    document = {
        "idempotency_key": "k",
        "message": {"to": "+16505551234", "type": "template", "template": body(button("voice_call", False))},
    }
    with pytest.raises(ValidationError):
        parse_document(json.dumps(document))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        pytest.param({"type": "header", "parameters": []}, "at least 1 item", id="no-parameter"),
        pytest.param({"type": "header", "parameters": [text("a"), text("b")]}, "at most 1 item", id="two-parameters"),
        pytest.param(
            {"type": "header", "parameters": [{"type": "currency", "currency": {}}]},
            "does not match any of the expected tags",
            id="currency-in-header",
        ),
        pytest.param(
            {"type": "header", "parameters": [{"type": "location", "location": {"latitude": 91, "longitude": 0}}]},
            "latitude",
            id="latitude-91",
        ),
        pytest.param(
            {"type": "header", "parameters": [{"type": "image", "image": {}}]}, "exactly one of", id="image-no-source"
        ),
    ],
)
def test_a_header_takes_exactly_one_fitting_parameter(header, reason):
    # A malformed header is refused, not passed on as an unmodelled component.
    assert reason in refused(body(header))


def test_a_header_text_of_60_characters_and_a_location_header_pass():
    TemplateBody.model_validate(body({"type": "header", "parameters": [text("x" * 60)]}))
    location = {"type": "location", "location": {"latitude": -90, "longitude": 180, "name": "Store 42"}}
    TemplateBody.model_validate(body({"type": "header", "parameters": [location]}))


def test_a_header_and_a_body_together_pass_but_not_two_headers():
    header = {"type": "header", "parameters": [text("Hi")]}
    TemplateBody.model_validate(body(header, {"type": "body", "parameters": [text()]}))
    assert "at most one header and one body" in refused(body(header, header))


def test_unmodelled_components_are_passed_on_with_every_field():
    offer = {"type": "limited_time_offer", "parameters": [{"type": "limited_time_offer", "expiration_time_ms": 1}]}
    parsed = TemplateBody.model_validate(body(offer))
    assert isinstance(parsed.components[0], OtherComponent)
    assert parsed.model_dump(mode="json", exclude_none=True)["components"] == [offer]


@pytest.mark.parametrize(
    ("component", "reason"),
    [
        pytest.param({"type": "body", "parameters": [], "text": "x"}, "Extra inputs", id="extra-field-in-body"),
        pytest.param({"type": "", "x": 1}, "other.type", id="empty-type"),
        pytest.param({"x": 1}, "other.type: Field required", id="no-type"),
    ],
)
def test_components_are_checked_strictly_where_modelled_and_need_a_type(component, reason):
    assert reason in refused(body(component))


@pytest.mark.parametrize(
    ("language", "valid"),
    [
        pytest.param({"code": "en_US"}, True, id="en_US"),
        pytest.param({"code": "es_419"}, True, id="es_419"),
        pytest.param({"code": "fr", "policy": "deterministic"}, True, id="deterministic-policy"),
        pytest.param({"code": "EN"}, False, id="uppercase"),
        pytest.param({"code": "en-US"}, False, id="dash"),
        pytest.param({"code": "en", "policy": "fallback"}, False, id="fallback-policy"),
    ],
)
def test_the_language_code_and_policy(language, valid):
    template = body(language=language)
    if valid:
        assert TemplateBody.model_validate(template).language.code == language["code"]
    else:
        assert "language." in refused(template)


def test_a_currency_amount_is_not_negative_and_a_text_parameter_not_empty():
    currency = {"type": "currency", "currency": {"fallback_value": "$1", "code": "USD", "amount_1000": -1}}
    assert "amount_1000" in refused(body({"type": "body", "parameters": [currency]}))
    with pytest.raises(ValidationError):
        TextParameter.model_validate({"type": "text", "text": ""})
