"""What Graph refuses a template message for, checked against the account's templates as Meta does:

- 132001: no template of that name in that language (or one not approved);
- 132015 / 132016: the template is PAUSED / DISABLED;
- 131062: an authentication template to a business-scoped user id (they need a phone number);
- 131063: a MARKETING template through `/messages` while the account's
  `disable_marketing_messages_on_cloud_api` is on (they go through `/marketing_messages`);
- 132000: the number of parameters (or the named parameters) differs from the template's;
- 132012: a parameter of the wrong type or format: a malformed currency or date_time, a text that is
  empty or has a new line, a tab or more than 4 spaces in a row, a media header without its media.

Written from Meta's rules, not from the app's own check (`wacloud.outbound.template_check`), so the
two can disagree and a local run shows it. Reference: ../shared/reference/whatsapp-cloud-api.md 2.4.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wacloud.local.meta.graph_errors import Refusal, refusal

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
# Meta refuses these in header and body text parameters.
_BAD_TEXT = re.compile(r"[\n\t]| {5,}")
_MEDIA = ("image", "video", "document")
# Buttons whose definition needs a parameter at send time.
_BUTTON_NEEDS = {"URL": "text", "COPY_CODE": "coupon_code", "OTP": "text"}


def find_template(catalog: list[dict[str, Any]], name: Any, language: Any) -> dict[str, Any] | None:
    return next((t for t in catalog if t.get("name") == name and t.get("language") == language), None)


def template_refusal(
    template: Any, catalog: list[dict[str, Any]], *, to_user_id: bool, via_messages: bool, marketing_disabled: bool
) -> Refusal | None:
    """Graph's answer to a template message it would refuse, or None. A body too malformed to read
    (no name, no language) is left to the body's own check (100)."""
    if not isinstance(template, dict) or not isinstance(template.get("language"), dict):
        return None
    name, language = template.get("name"), template["language"].get("code")
    definition = find_template(catalog, name, language)
    status = str((definition or {}).get("status", "")).upper()
    if definition is None or status not in ("APPROVED", "PAUSED", "DISABLED"):
        return refusal(
            132001,
            "(#132001) Template name does not exist in the translation",
            f"template name ({name}) does not exist in {language}",
        )
    category = str(definition.get("category", "")).upper()
    if status != "APPROVED":
        problem: tuple[int, str, str] | None = _NOT_APPROVED[status]
    elif category == "AUTHENTICATION" and to_user_id:
        problem = _AUTHENTICATION_TO_USER_ID
    elif category == "MARKETING" and via_messages and marketing_disabled:
        problem = _MARKETING_ON_CLOUD_API
    else:
        problem = None
    return refusal(*problem) if problem else _parameters(template, definition)


_NOT_APPROVED = {
    "PAUSED": (
        132015,
        "(#132015) Template is Paused",
        "Cannot send message as the template has been paused due to low quality.",
    ),
    "DISABLED": (
        132016,
        "(#132016) Template is disabled",
        "Template has been paused too many times due to low quality and is now permanently disabled.",
    ),
}
_AUTHENTICATION_TO_USER_ID = (
    131062,
    "(#131062) Business-scoped User ID (BSUID) recipients are not supported for this message.",
    "Authentication templates can only be sent to a phone number.",
)
_MARKETING_ON_CLOUD_API = (
    131063,
    "(#131063) Marketing templates are disabled for Cloud API",
    "Send marketing templates with POST /{phone-number-id}/marketing_messages, or turn off "
    "disable_marketing_messages_on_cloud_api.",
)


def _parameters(template: dict[str, Any], definition: dict[str, Any]) -> Refusal | None:
    given: dict[str, list[Any]] = {}
    buttons: dict[str, list[Any]] = {}
    for component in template.get("components") or []:
        if not isinstance(component, dict):
            return _format("a component is not an object")
        parameters = component.get("parameters") or []
        if not isinstance(parameters, list):
            return _format(f"{component.get('type')}: parameters is not a list")
        if component.get("type") == "button":
            buttons[str(component.get("index"))] = parameters
        else:
            given[str(component.get("type"))] = parameters
    count, fmt = _counts(given, buttons, definition), _formats(given, definition)
    return count or fmt


def _counts(given: dict[str, list[Any]], buttons: dict[str, list[Any]], definition: dict[str, Any]) -> Refusal | None:
    named = str(definition.get("parameter_format", "")).upper() == "NAMED"
    for component in definition.get("components") or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            media = str(component.get("format") or "TEXT").upper() != "TEXT"
            expected = 1 if media else len(_names(component.get("text")))
            problem = _count("header", given.get("header", []), expected)
        elif kind == "BODY":
            expected_names = _names(component.get("text"))
            problem = _count("body", given.get("body", []), len(expected_names))
            if problem is None and named:
                names = sorted(str(p.get("parameter_name")) for p in given.get("body", []) if isinstance(p, dict))
                if names != sorted(expected_names):
                    problem = f"body: the named parameters ({', '.join(names)}) are not the template's"
        else:
            continue
        if problem:
            return _mismatch(problem)
    defined = next(
        (c.get("buttons") or [] for c in definition.get("components") or [] if c.get("type") == "BUTTONS"), []
    )
    problem = _button_count(defined, buttons)
    return _mismatch(problem) if problem else None


def _mismatch(details: str) -> Refusal:
    return refusal(132000, "(#132000) Number of parameters does not match the expected number of params", details)


def _count(part: str, parameters: list[Any], expected: int) -> str | None:
    if len(parameters) == expected:
        return None
    given = len(parameters)
    return f"{part}: number of localizable_params ({given}) does not match the expected number of params ({expected})"


def _button_count(defined: list[dict[str, Any]], given: dict[str, list[Any]]) -> str | None:
    for index, button in enumerate(defined):
        needs = _BUTTON_NEEDS.get(str(button.get("type", "")).upper())
        static_url = str(button.get("type", "")).upper() == "URL" and not _names(button.get("url"))
        if needs and not static_url and len(given.get(str(index), [])) != 1:
            return _count(f"button {index}", given.get(str(index), []), 1)
    extra = [i for i in given if not i.isdigit() or int(i) >= len(defined)]
    return f"the template has no button {extra[0]}" if extra else None


def _formats(given: dict[str, list[Any]], definition: dict[str, Any]) -> Refusal | None:
    components: list[dict[str, Any]] = definition.get("components") or []
    header = next((c for c in components if str(c.get("type")).upper() == "HEADER"), {})
    header_format = str(header.get("format") or "TEXT").lower()
    for part, parameters in given.items():
        for position, parameter in enumerate(parameters, start=1):
            expected = header_format if part == "header" else None
            problem = _parameter_problem(parameter, expected)
            if problem:
                return _format(f"{part}: parameter {position}: {problem}")
    return None


def _parameter_problem(parameter: Any, header_format: str | None) -> str | None:
    if not isinstance(parameter, dict):
        return "not an object"
    kind = parameter.get("type")
    if header_format in _MEDIA:
        media = parameter.get(str(header_format))
        if kind != header_format:
            return f"the header takes a {header_format}, not {kind}"
        return None if isinstance(media, dict) and (media.get("id") or media.get("link")) else f"no {kind} id or link"
    check = _VALUE_CHECKS.get(str(kind))
    return check(parameter.get(str(kind))) if check else f"a parameter of type {kind!r} does not fit here"


def _text_problem(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return "text is empty"
    if _BAD_TEXT.search(text):
        return "text cannot have new-line/tab characters or more than 4 consecutive spaces"
    return None


def _currency_problem(currency: Any) -> str | None:
    fields = currency if isinstance(currency, dict) else {}
    ok = isinstance(fields.get("amount_1000"), int) and bool(fields.get("fallback_value"))
    if ok and re.fullmatch(r"[A-Z]{3}", str(fields.get("code"))):
        return None
    return "currency takes fallback_value, a 3-letter code and an integer amount_1000"


def _date_time_problem(date_time: Any) -> str | None:
    ok = isinstance(date_time, dict) and bool(date_time.get("fallback_value"))
    return None if ok else "date_time takes a fallback_value"


_VALUE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "text": _text_problem,
    "currency": _currency_problem,
    "date_time": _date_time_problem,
}


def _format(details: str) -> Refusal:
    return refusal(132012, "(#132012) Parameter format does not match format in the created template", details)


def _names(text: Any) -> list[str]:
    found: list[str] = []
    for name in _PLACEHOLDER.findall(str(text or "")):
        if name not in found:
            found.append(name)
    return found
