"""A template document checked against what is known of its template, as Meta would check it.

Meta refuses a template message whose parameters do not fit the approved template (132000), a
template that is not approved (132001), paused (132015) or disabled (132016), and an authentication
template to a business-scoped user id (131062: it needs a phone number). `refusal` says why, in
Meta's terms, before any call is spent; `expected_parameters` says what a template takes
(`wacloud templates list`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wacloud.models.keys import is_user_id
from wacloud.models.templates import ButtonComponent, TemplateBody

if TYPE_CHECKING:  # Graph's models are built by the first Graph call, not at a cold start
    from wacloud.models.graph import TemplateDefinition

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
# Buttons that need a parameter at send time, and the parameter's type.
_BUTTON_PARAMETER = {"URL": "text", "COPY_CODE": "coupon_code", "OTP": "text"}
# Statuses Meta refuses a send in with a code of their own, and what to do instead.
STOPPED = {
    "PAUSED": "Meta would answer 132015: it was paused for low quality; send another template, or wait "
    "until it is resumed (its status webhook says APPROVED again)",
    "DISABLED": "Meta would answer 132016: it was disabled after repeated pauses; send another template",
}


def placeholders(text: str | None) -> list[str]:
    """The distinct placeholders of a template text, in order: ['1', '2'] or ['first_name']."""
    found: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in found:
            found.append(name)
    return found


@dataclass(frozen=True)
class ExpectedParameters:
    """What a send of a template must give."""

    header: str | None = None  # None, "text", "image", "video", "document" or "location"
    header_text: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    named: bool = False
    buttons: dict[int, str] = field(default_factory=dict)  # index -> parameter type
    button_count: int = 0

    def describe(self) -> str:
        """'header: image; body: {{1}}, {{2}}; buttons: 0 (url text)' for the command line."""
        parts = []
        if self.header == "text" and self.header_text:
            parts.append("header: " + _braces(self.header_text))
        elif self.header not in (None, "text"):
            parts.append(f"header: {self.header}")
        if self.body:
            parts.append("body: " + _braces(self.body))
        if self.buttons:
            parts.append("buttons: " + ", ".join(f"{i} ({kind})" for i, kind in sorted(self.buttons.items())))
        return "; ".join(parts) or "none"


def expected_parameters(definition: TemplateDefinition) -> ExpectedParameters:
    header: str | None = None
    header_text: list[str] = []
    body: list[str] = []
    buttons: dict[int, str] = {}
    button_count = 0
    for component in definition.components:
        kind = component.type.upper()
        if kind == "HEADER":
            header = (component.format or "TEXT").lower()
            header_text = placeholders(component.text) if header == "text" else []
        elif kind == "BODY":
            body = placeholders(component.text)
        elif kind == "BUTTONS":
            button_count = len(component.buttons or [])
            for index, button in enumerate(component.buttons or []):
                needs = _BUTTON_PARAMETER.get(button.type.upper())
                if needs and (button.type.upper() != "URL" or placeholders(button.url)):
                    buttons[index] = needs
    named = (definition.parameter_format or "").upper() == "NAMED"
    return ExpectedParameters(header, header_text, body, named, buttons, button_count)


def refusal(
    template: TemplateBody,
    definition: TemplateDefinition | None,
    *,
    announced_status: str | None = None,
    category: str | None = None,
    recipient: str | None = None,
) -> str | None:
    """Why Meta would refuse this template document, or None. `definition`: Graph's, when known;
    `announced_status`: a status Meta's webhook gave after it (it replaces the definition's);
    `category`: the newest known; `recipient`: the document's address."""
    if announced_status is not None and announced_status.upper() not in STOPPED:
        # Newer news (approved again, flagged...) outdates the definition's status; its parameters stand.
        announced_status = None
        definition = definition.model_copy(update={"status": None}) if definition is not None else None
    status = announced_status or (definition.status if definition is not None else None)
    if status and (reason := stopped(template, status)):
        return reason
    if (category or "").upper() == "AUTHENTICATION" and is_user_id(recipient or ""):
        return (
            f"{_label(template)} is an AUTHENTICATION template, which Meta sends only to a phone number, and "
            "the recipient is a business-scoped user id: Meta would answer 131062; send it to the customer's "
            "phone number"
        )
    return mismatch(template, definition) if definition is not None else None


def stopped(template: TemplateBody, status: str) -> str | None:
    """Why Meta refuses a template in this status (any but APPROVED), or None."""
    status = status.upper()
    if status == "APPROVED":
        return None
    if status in STOPPED:
        return f"{_label(template)} is {status} at Meta: {STOPPED[status]}"
    return f"{_label(template)} is {status} at Meta, not APPROVED: Meta would answer 132001"


def mismatch(template: TemplateBody, definition: TemplateDefinition) -> str | None:
    """Why Meta would refuse this template document given the template's definition, or None."""
    not_approved = stopped(template, definition.status or "APPROVED")
    if not_approved is not None:
        return not_approved
    label = _label(template)
    expected = expected_parameters(definition)
    problems = _header_problems(template, expected) + _body_problems(template, expected)
    problems += _button_problems(template, expected)
    if not problems:
        return None
    return f"{label}: " + "; ".join(problems) + " (Meta would answer 132000)"


def _label(template: TemplateBody) -> str:
    return f"template {template.name!r} ({template.language.code})"


def _component(template: TemplateBody, kind: str) -> Any:
    return next((c for c in template.components if c.type == kind), None)


def _header_problems(template: TemplateBody, expected: ExpectedParameters) -> list[str]:
    header = _component(template, "header")
    given = list(header.parameters) if header is not None else []
    if expected.header is None or (expected.header == "text" and not expected.header_text):
        return ["the template's header takes no parameter, the document gives one"] if given else []
    if expected.header == "text":
        return [] if len(given) == 1 and given[0].type == "text" else ["the header takes 1 text parameter"]
    if not given:
        return [f"the header takes a {expected.header} parameter, the document gives none"]
    if given[0].type != expected.header:
        return [f"the header takes a {expected.header} parameter, not {given[0].type}"]
    return []


def _body_problems(template: TemplateBody, expected: ExpectedParameters) -> list[str]:
    body = _component(template, "body")
    given = list(body.parameters) if body is not None else []
    if not expected.named:
        if any(p.parameter_name for p in given):
            return [f"the body's parameters are positional ({_braces(expected.body)}), the document names them"]
        if len(given) != len(expected.body):
            return [f"the body takes {len(expected.body)} parameter(s), the document gives {len(given)}"]
        return []
    names = [p.parameter_name for p in given]
    if None in names:
        return [f"the body's parameters are named ({_braces(expected.body)}), the document gives positional ones"]
    missing = [name for name in expected.body if name not in names]
    extra = [str(name) for name in names if name not in expected.body]
    if not missing and not extra:
        return []
    problem = f"the body takes the named parameters {_braces(expected.body) or '(none)'}"
    if missing:
        problem += f"; missing: {', '.join(missing)}"
    if extra:
        problem += f"; not in the template: {', '.join(extra)}"
    return [problem]


def _button_problems(template: TemplateBody, expected: ExpectedParameters) -> list[str]:
    given = {int(c.index): c for c in template.components if isinstance(c, ButtonComponent)}
    problems = [
        f"button {index} takes a {kind} parameter, the document gives none"
        for index, kind in sorted(expected.buttons.items())
        if index not in given or not given[index].parameters
    ]
    problems += [f"the template has no button {index}" for index in sorted(given) if index >= expected.button_count]
    return problems


def _braces(names: list[str]) -> str:
    return ", ".join("{{" + name + "}}" for name in names)
