"""A template document against its template's definition: what Meta would refuse with 132000 (or as
not approved) is found before the send, with a reason that names the part."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.local.meta.fake_graph import DEFAULT_TEMPLATES
from wacloud.models.graph import TemplateDefinition
from wacloud.models.templates import TemplateBody
from wacloud.outbound.template_check import expected_parameters, mismatch, placeholders, refusal

DEFINITIONS = {d["name"]: TemplateDefinition.model_validate(d) for d in DEFAULT_TEMPLATES}


def template(name: str, *components: dict[str, Any], language: str = "en_US") -> TemplateBody:
    return TemplateBody.model_validate({"name": name, "language": {"code": language}, "components": list(components)})


def body(*values: str, names: tuple[str, ...] = ()) -> dict[str, Any]:
    parameters = [{"type": "text", "text": v} for v in values]
    for parameter, name in zip(parameters, names, strict=False):
        parameter["parameter_name"] = name
    return {"type": "body", "parameters": parameters}


def url_button(index: int = 0, suffix: str | None = "1234") -> dict[str, Any]:
    parameters = [{"type": "text", "text": suffix}] if suffix else []
    return {"type": "button", "sub_type": "url", "index": str(index), "parameters": parameters}


IMAGE_HEADER = {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://e.com/a.png"}}]}


def test_placeholders_are_distinct_and_in_order():
    assert placeholders("Hi {{1}}, {{2}} and {{1}} again; {{ first_name }}") == ["1", "2", "first_name"]
    assert placeholders(None) == []


def test_what_each_sample_template_expects():
    described = {name: expected_parameters(d).describe() for name, d in DEFINITIONS.items()}
    assert described == {
        "hello_world": "none",
        "order_update": "body: {{order_id}}, {{total}}; buttons: 0 (text)",
        "appointment_reminder": "header: image; body: {{1}}, {{2}}",
        "spring_sale": "body: {{1}}",
    }


@pytest.mark.parametrize(
    "document",
    [
        template("hello_world"),
        template("order_update", body("1234", "$12", names=("order_id", "total")), url_button()),
        template("order_update", body("$12", "1234", names=("total", "order_id")), url_button()),
        template("appointment_reminder", IMAGE_HEADER, body("Ana", "Monday")),
    ],
    ids=["no-parameters", "named", "named-any-order", "image-header-positional"],
)
def test_documents_that_fit_their_template_pass(document):
    assert mismatch(document, DEFINITIONS[document.name]) is None


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (template("hello_world", body("x")), "the body takes 0 parameter(s), the document gives 1"),
        (
            template("appointment_reminder", IMAGE_HEADER, body("Ana")),
            "the body takes 2 parameter(s), the document gives 1",
        ),
        (
            template("appointment_reminder", body("Ana", "Monday")),
            "the header takes a image parameter, the document gives none",
        ),
        (
            template(
                "appointment_reminder",
                {"type": "header", "parameters": [{"type": "video", "video": {"id": "1"}}]},
                body("Ana", "Monday"),
            ),
            "the header takes a image parameter, not video",
        ),
        (
            template("order_update", body("1234", names=("order_id",)), url_button()),
            "the body takes the named parameters {{order_id}}, {{total}}; missing: total",
        ),
        (
            template("order_update", body("1", "2", names=("order_id", "amount")), url_button()),
            "missing: total; not in the template: amount",
        ),
        (
            template("order_update", body("1234", "$12"), url_button()),
            "the body's parameters are named ({{order_id}}, {{total}}), the document gives positional ones",
        ),
        (
            template("order_update", body("1234", "$12", names=("order_id", "total"))),
            "button 0 takes a text parameter, the document gives none",
        ),
        (
            template("order_update", body("1", "2", names=("order_id", "total")), url_button(), url_button(3)),
            "the template has no button 3",
        ),
        (
            template("appointment_reminder", IMAGE_HEADER, body("Ana", "Monday", names=("name", "day"))),
            "the body's parameters are positional ({{1}}, {{2}}), the document names them",
        ),
        (template("hello_world", IMAGE_HEADER), "the template's header takes no parameter, the document gives one"),
        (
            template("spring_sale", body("20%")),
            "template 'spring_sale' (en_US) is PAUSED at Meta: Meta would answer 132015",
        ),
    ],
    ids=[
        "extra-body",
        "too-few-positional",
        "missing-media-header",
        "wrong-media-header",
        "missing-named",
        "wrong-name",
        "positional-for-named",
        "missing-url-button",
        "unknown-button",
        "named-for-positional",
        "header-not-expected",
        "paused",
    ],
)
def test_documents_meta_would_refuse_are_found_with_the_reason(document, reason):
    found = mismatch(document, DEFINITIONS[document.name])
    assert found is not None and reason in found, found
    if " at Meta" not in reason:
        assert found.startswith(f"template '{document.name}' (en_US): ") and found.endswith(
            "(Meta would answer 132000)"
        )


def test_a_copy_code_button_needs_its_coupon():
    definition = TemplateDefinition.model_validate(
        {
            "name": "coupon",
            "language": "en_US",
            "status": "APPROVED",
            "components": [
                {"type": "BODY", "text": "Use this code"},
                {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": ["SAVE10"]}]},
            ],
        }
    )
    without = template("coupon")
    with_code = template(
        "coupon",
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": 0,
            "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
        },
    )
    assert "button 0 takes a coupon_code parameter" in (mismatch(without, definition) or "")
    assert mismatch(with_code, definition) is None


# -- status and category: what Graph lists, and what Meta's webhooks announced since -------------------

BSUID = "US.13491208655302741918"
ORDER = template("order_update", body("1", "2", names=("order_id", "total")), url_button())


def definition(name: str = "order_update", **changes: Any) -> TemplateDefinition:
    return DEFINITIONS[name].model_copy(update=changes)


@pytest.mark.parametrize(
    ("status", "code"),
    [("PAUSED", "132015"), ("DISABLED", "132016"), ("REJECTED", "132001"), ("PENDING", "132001")],
)
def test_a_template_meta_does_not_send_in_its_listed_status_is_refused_with_meta_s_code(status, code):
    found = refusal(ORDER, definition(status=status))

    assert found is not None and f"is {status} at Meta" in found and f"Meta would answer {code}" in found


def test_paused_and_disabled_say_what_to_do_instead():
    paused, disabled = (refusal(ORDER, definition(status=s)) or "" for s in ("PAUSED", "DISABLED"))

    assert "send another template, or wait until it is resumed" in paused
    assert disabled.endswith("disabled after repeated pauses; send another template")


@pytest.mark.parametrize("announced", ["PAUSED", "DISABLED"])
def test_a_pause_meta_announced_after_the_fetch_outranks_the_listed_status(announced):
    assert f"is {announced} at Meta" in (
        refusal(ORDER, definition(status="APPROVED"), announced_status=announced) or ""
    )
    # Known from the webhook alone (no definition cached): refused all the same.
    assert f"is {announced} at Meta" in (refusal(ORDER, None, announced_status=announced) or "")


@pytest.mark.parametrize("announced", ["APPROVED", "FLAGGED", "REINSTATED"])
def test_news_after_a_pause_lets_the_template_go_but_its_parameters_are_still_checked(announced):
    assert refusal(ORDER, definition(status="PAUSED"), announced_status=announced) is None
    wrong = template("order_update", body("1", names=("order_id",)), url_button())
    found = refusal(wrong, definition(status="PAUSED"), announced_status=announced)
    assert found is not None and found.endswith("(Meta would answer 132000)")


def test_an_authentication_template_to_a_user_id_is_refused_with_the_remedy():
    found = refusal(ORDER, definition(category="AUTHENTICATION"), category="AUTHENTICATION", recipient=BSUID)

    assert found == (
        "template 'order_update' (en_US) is an AUTHENTICATION template, which Meta sends only to a phone number, "
        "and the recipient is a business-scoped user id: Meta would answer 131062; send it to the customer's "
        "phone number"
    )
    # The category may come from the webhook alone.
    assert "131062" in (refusal(ORDER, None, category="authentication", recipient=BSUID) or "")


@pytest.mark.parametrize(
    ("category", "recipient"),
    [
        ("AUTHENTICATION", "+16505551234"),  # a phone number: fine
        ("UTILITY", BSUID),  # other categories may go to a user id
        (None, BSUID),  # category not known: Meta decides (131062 is classified permanent)
    ],
    ids=["auth-to-phone", "utility-to-user-id", "unknown-category"],
)
def test_only_an_authentication_template_to_a_user_id_is_refused_for_its_address(category, recipient):
    assert refusal(ORDER, definition(), category=category, recipient=recipient) is None


def test_the_status_is_told_before_the_category():
    found = refusal(ORDER, definition(status="DISABLED"), category="AUTHENTICATION", recipient=BSUID)

    assert found is not None and "132016" in found
