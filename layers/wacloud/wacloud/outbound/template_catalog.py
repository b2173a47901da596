"""Message template definitions, and the check of a template document against its definition.

Meta refuses a template message whose parameters do not fit the approved template (132000) or a
template that is not approved (132001, 132015, 132016). When the template's definition is known,
the sender checks the document first and records the reason instead of spending a call.

Definitions come from `GET /{waba-id}/message_templates`: the sender fetches a template the first
time it sends it (when the stack knows its account, `WabaId`), and `wacloud templates list --sync`
fills the cache for a whole account. They are kept in the messages table for
`TemplateCacheSeconds` and in each function's memory for a few minutes; Meta's template webhooks
(status, quality, category, components updates) drop the cached definition at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.adapters.graph import GraphClient, GraphError, GraphTransportError
from wacloud.adapters.store import MessageStore
from wacloud.config import Settings
from wacloud.models.graph import TemplateDefinition
from wacloud.models.templates import ButtonComponent, TemplateBody

if TYPE_CHECKING:  # only the processor hands it changes; the sender never builds the event models
    from wacloud.models.events import ChangeEvent

logger = Logger(child=True)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEMORY_SECONDS = 300
MAX_PAGES = 50
# Webhook fields that say a template changed at Meta.
TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "message_template_components_update",
        "template_category_update",
    }
)
# Buttons that need a parameter at send time, and the parameter's type.
_BUTTON_PARAMETER = {"URL": "text", "COPY_CODE": "coupon_code", "OTP": "text"}


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


def mismatch(template: TemplateBody, definition: TemplateDefinition) -> str | None:
    """Why Meta would refuse this template document given the template's definition, or None."""
    label = f"template {template.name!r} ({template.language.code})"
    status = (definition.status or "APPROVED").upper()
    if status != "APPROVED":
        return f"{label} is {status} at Meta, not APPROVED: Meta would refuse it"
    expected = expected_parameters(definition)
    problems = _header_problems(template, expected) + _body_problems(template, expected)
    problems += _button_problems(template, expected)
    if not problems:
        return None
    return f"{label}: " + "; ".join(problems) + " (Meta would answer 132000)"


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


def fetch_templates(
    graph: GraphClient, waba_id: str, *, token: str, name: str | None = None
) -> list[TemplateDefinition]:
    """Every template of the account (or those named `name`), following Graph's pages."""
    found: list[TemplateDefinition] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = graph.message_templates(waba_id, token=token, name=name, after=after)
        found.extend(d for d in page.data if name is None or d.name == name)
        after = page.after
        if after is None:
            break
    return found


class TemplateCatalog:
    """The definitions the sender checks template documents against."""

    def __init__(
        self,
        *,
        store: MessageStore,
        graph: GraphClient,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.graph = graph
        self.settings = settings
        self._clock = clock
        self._memory: dict[tuple[str, str], tuple[TemplateDefinition | None, float]] = {}

    def refusal(self, template: TemplateBody, *, token: Callable[[], str]) -> str | None:
        """Why this template document would be refused, when its definition is known; else None.

        A refusal is final, so a definition from a cache is fetched afresh before it refuses anything
        (the template may have been edited or resumed since)."""
        name, language = template.name, template.language.code
        definition, fresh = self._lookup(name, language, token=token)
        reason = mismatch(template, definition) if definition is not None else None
        if reason is not None and not fresh and self.settings.waba_id:
            definition = self._fetch(name, language, token=token, now=self._clock())
            reason = mismatch(template, definition) if definition is not None else None
        return reason

    def definition(self, name: str, language: str, *, token: Callable[[], str]) -> TemplateDefinition | None:
        """The template's definition from memory, the table or Graph; None when it is not known."""
        return self._lookup(name, language, token=token)[0]

    def _lookup(self, name: str, language: str, *, token: Callable[[], str]) -> tuple[TemplateDefinition | None, bool]:
        """(definition, fetched from Graph just now)."""
        ttl = self.settings.template_cache_seconds
        if ttl <= 0:
            return None, False  # the check is switched off
        now = self._clock()
        remembered = self._memory.get((name, language))
        if remembered is not None and now - remembered[1] < min(MEMORY_SECONDS, ttl):
            return remembered[0], False
        cached = self.store.get_template(name, language)
        if cached is not None and now - cached[1] < ttl:
            return self._remember(name, language, cached[0], now), False
        if not self.settings.waba_id:
            return self._remember(name, language, None, now), False
        return self._fetch(name, language, token=token, now=now), True

    def _fetch(self, name: str, language: str, *, token: Callable[[], str], now: float) -> TemplateDefinition | None:
        try:
            definitions = fetch_templates(self.graph, self.settings.waba_id, token=token(), name=name)
        except (GraphError, GraphTransportError) as exc:
            # Not knowing a definition only skips the check; Meta still checks the send.
            logger.warning("Could not fetch the template definition", extra={"template": name, "error": str(exc)})
            return self._remember(name, language, None, now)
        for definition in definitions:
            self.store.put_template(definition, ttl_seconds=self.settings.template_cache_seconds)
            self._remember(definition.name, definition.language, definition, now)
        found = next((d for d in definitions if d.language == language), None)
        return self._remember(name, language, found, now)

    def on_change(self, event: ChangeEvent) -> bool:
        """Drop the cached definition of a template Meta says changed; True when it was one."""
        if event.field not in TEMPLATE_FIELDS or not isinstance(event.value, dict):
            return False
        name = event.value.get("message_template_name")
        if not isinstance(name, str) or not name:
            return False
        language = event.value.get("message_template_language")
        language = language if isinstance(language, str) and language else None
        self.store.forget_template(name, language)
        for key in [key for key in self._memory if key[0] == name and language in (None, key[1])]:
            del self._memory[key]
        logger.info("Cached template definition dropped", extra={"template": name, "language": language})
        return True

    def _remember(
        self, name: str, language: str, definition: TemplateDefinition | None, now: float
    ) -> TemplateDefinition | None:
        self._memory[(name, language)] = (definition, now)
        return definition
