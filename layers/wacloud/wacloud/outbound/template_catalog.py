"""Message template definitions, where the sender's check (`template_check`) finds them.

When a template's definition is known, the sender checks a template document against it first and
records the reason Meta would give instead of spending a call.

Definitions come from `GET /{waba-id}/message_templates`: the sender fetches a template the first
time it sends it (when the stack knows its account, `WabaId`), and `wacloud templates list --sync`
fills the cache for a whole account. They are kept in the messages table for
`TemplateCacheSeconds` and in each function's memory for a few minutes; Meta's template webhooks
(status, quality, category, components updates) drop the cached definition at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from wacloud.adapters.graph import GraphClient, GraphError, GraphTransportError
from wacloud.adapters.store.caches import TemplateDefinitions
from wacloud.config import Settings
from wacloud.models.graph import TemplateDefinition
from wacloud.models.templates import TemplateBody
from wacloud.outbound.template_check import mismatch

if TYPE_CHECKING:  # only the processor hands it changes; the sender never builds the event models
    from wacloud.models.events import ChangeEvent

logger = Logger(child=True)
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


def fetch_templates(graph: GraphClient, waba_id: str, *, name: str | None = None) -> list[TemplateDefinition]:
    """Every template of the account (or those named `name`), following Graph's pages."""
    found: list[TemplateDefinition] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = graph.message_templates(waba_id, name=name, after=after)
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
        definitions: TemplateDefinitions,
        graph: GraphClient,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.definitions = definitions
        self.graph = graph
        self.settings = settings
        self._clock = clock
        self._memory: dict[tuple[str, str], tuple[TemplateDefinition | None, float]] = {}

    def refusal(self, template: TemplateBody) -> str | None:
        """Why this template document would be refused, when its definition is known; else None.

        A refusal is final, so a definition from a cache is fetched afresh before it refuses anything
        (the template may have been edited or resumed since)."""
        name, language = template.name, template.language.code
        definition, fresh = self._lookup(name, language)
        reason = mismatch(template, definition) if definition is not None else None
        if reason is not None and not fresh and self.settings.waba_id:
            definition = self._fetch(name, language, now=self._clock())
            reason = mismatch(template, definition) if definition is not None else None
        return reason

    def definition(self, name: str, language: str) -> TemplateDefinition | None:
        """The template's definition from memory, the table or Graph; None when it is not known."""
        return self._lookup(name, language)[0]

    def _lookup(self, name: str, language: str) -> tuple[TemplateDefinition | None, bool]:
        """(definition, fetched from Graph just now)."""
        ttl = self.settings.template_cache_seconds
        if ttl <= 0:
            return None, False  # the check is switched off
        now = self._clock()
        remembered = self._memory.get((name, language))
        if remembered is not None and now - remembered[1] < min(MEMORY_SECONDS, ttl):
            return remembered[0], False
        cached = self.definitions.get(name, language)
        if cached is not None and now - cached[1] < ttl:
            return self._remember(name, language, cached[0], now), False
        if not self.settings.waba_id:
            return self._remember(name, language, None, now), False
        return self._fetch(name, language, now=now), True

    def _fetch(self, name: str, language: str, *, now: float) -> TemplateDefinition | None:
        try:
            definitions = fetch_templates(self.graph, self.settings.waba_id, name=name)
        except (GraphError, GraphTransportError) as exc:
            # Not knowing a definition only skips the check; Meta still checks the send.
            logger.warning("Could not fetch the template definition", extra={"template": name, "error": str(exc)})
            return self._remember(name, language, None, now)
        for definition in definitions:
            self.definitions.put(definition, ttl_seconds=self.settings.template_cache_seconds)
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
        self.definitions.forget(name, language)
        for key in [key for key in self._memory if key[0] == name and language in (None, key[1])]:
            del self._memory[key]
        logger.info("Cached template definition dropped", extra={"template": name, "language": language})
        return True

    def _remember(
        self, name: str, language: str, definition: TemplateDefinition | None, now: float
    ) -> TemplateDefinition | None:
        self._memory[(name, language)] = (definition, now)
        return definition
