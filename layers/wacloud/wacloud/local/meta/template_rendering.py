"""A template message as the customer's phone shows it: the definition's texts with the document's
parameters filled in, and its buttons (the chat view's rendering of what the business sent)."""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def render_template(template: dict[str, Any], definitions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A template message's text as the customer's phone shows it: the definition's texts with the
    document's parameters filled in (positional or named), and its buttons."""
    language = (template.get("language") or {}).get("code")
    definition = next(
        (d for d in definitions if d.get("name") == template.get("name") and d.get("language") == language), None
    )
    if definition is None:
        return None
    given = {c.get("type"): c.get("parameters") or [] for c in template.get("components") or []}
    rendered: dict[str, Any] = {"buttons": []}
    for component in definition.get("components") or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format") or "TEXT").upper()
            parameters = given.get("header", [])
            if fmt == "TEXT":
                rendered["header"] = _fill(component.get("text", ""), parameters)
            else:
                media = parameters[0].get(fmt.lower(), {}) if parameters else {}
                rendered["header_media"] = {"type": fmt.lower(), **media}
        elif kind in ("BODY", "FOOTER"):
            rendered[kind.lower()] = _fill(component.get("text", ""), given.get(kind.lower(), []))
        elif kind == "BUTTONS":
            suffixes = {
                str(c.get("index")): c.get("parameters") or []
                for c in template.get("components") or []
                if c.get("type") == "button"
            }
            rendered["buttons"] = [
                {
                    "type": b.get("type"),
                    "text": b.get("text"),
                    "url": _fill(b.get("url") or "", suffixes.get(str(i), [])) or None,
                }
                for i, b in enumerate(component.get("buttons") or [])
            ]
    return rendered


def _fill(text: str, parameters: list[dict[str, Any]]) -> str:
    values: dict[str, str] = {}
    for position, parameter in enumerate(parameters, start=1):
        kind = parameter.get("type")
        value = parameter.get(kind) if kind in ("currency", "date_time") else parameter.get("text")
        if isinstance(value, dict):
            value = value.get("fallback_value")
        values[str(parameter.get("parameter_name") or position)] = str(value)
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)
