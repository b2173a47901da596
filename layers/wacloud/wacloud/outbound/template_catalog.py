"""Message template definitions, where the sender's check (`template_check`) finds them.

When a template's definition is known, the sender checks a template document against it first and
records the reason Meta would give instead of spending a call.

Definitions come from `GET /{waba-id}/message_templates`: the sender fetches a template the first
time it sends it (when the stack knows its account, `WabaId`), and `wacloud templates list --sync`
fills the cache for a whole account. They are kept in the messages table for
`TemplateCacheSeconds` and in each function's memory for a few minutes.

Meta's template webhooks (status, quality, category, components updates) of the stack's WABA drop
the cached definition and are counted, with the status or category they give, on the template's
`CHANGES` item; another WABA's are not (its template of the same name is not ours). The sender
reads that item in the batch it reads before every send anyway (`Store.send_context`): a PAUSED,
DISABLED or re-categorised template is refused by the next send of every warm sender, and a
changed count makes it forget its copy of the definition. With no change, a send costs no request
more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from wacloud.adapters.graph import GraphClient, GraphError, GraphTransportError
from wacloud.adapters.store.caches import CachedDefinition, TemplateChanges, TemplateDefinitions
from wacloud.config import Settings
from wacloud.outbound.template_check import refusal
from wacloud.runtime.logs import child_logger

if TYPE_CHECKING:
    # Only the processor hands it changes (the sender never builds the event models); Graph's
    # template models are built by the first template call (the processor's first event makes none).
    from wacloud.models.events import ChangeEvent
    from wacloud.models.graph import TemplateDefinition
    from wacloud.models.templates import TemplateBody

logger = child_logger(__name__)
MEMORY_SECONDS = 300
REFETCH_SECONDS = 60
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
    """The definitions the sender checks template documents against. Thread-safe enough for the
    sender's recipient threads: memory is replaced a template at a time, never iterated."""

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
        # name -> language -> (definition or None: not known, when remembered)
        self._memory: dict[str, dict[str, tuple[CachedDefinition | None, float]]] = {}
        self._versions: dict[str, int] = {}  # name -> the change count memory holds it at

    def refusal(
        self, template: TemplateBody, *, recipient: str | None = None, changes: TemplateChanges | None = None
    ) -> str | None:
        """Why this template document would be refused, from what is known of its template; else None.
        `changes`: the template's changes as the sender read them with the send (read here if not).

        A refusal is final, so a definition from a cache is fetched afresh before it refuses anything
        (the template may have been edited or resumed since), unless it was fetched in the last
        `REFETCH_SECONDS`: a campaign to a paused template costs one Graph call, not one per send."""
        if self.settings.template_cache_seconds <= 0:
            return None  # the check is switched off
        name, language = template.name, template.language.code
        changes = self._follow(changes if changes is not None else self.definitions.changes(name))
        cached, fresh = self._lookup(name, language, changes.version)
        reason = _reason(template, cached, changes, recipient)
        stale = cached is None or self._clock() - cached.fetched_at >= REFETCH_SECONDS
        if reason is not None and not fresh and stale and self.settings.waba_id:
            cached = self._fetch(name, language, version=changes.version, now=self._clock())
            reason = _reason(template, cached, changes, recipient)
        return reason

    def definition(self, name: str, language: str) -> TemplateDefinition | None:
        """The template's definition from memory, the table or Graph; None when it is not known."""
        if self.settings.template_cache_seconds <= 0:
            return None
        cached = self._lookup(name, language, self._follow(self.definitions.changes(name)).version)[0]
        return cached.definition if cached is not None else None

    def _follow(self, changes: TemplateChanges) -> TemplateChanges:
        """Forget what memory holds of a template Meta changed since it was remembered."""
        if self._versions.get(changes.name) != changes.version:
            self._memory.pop(changes.name, None)
            self._versions[changes.name] = changes.version
        return changes

    def _lookup(self, name: str, language: str, version: int) -> tuple[CachedDefinition | None, bool]:
        """(definition, fetched from Graph just now)."""
        ttl = self.settings.template_cache_seconds
        now = self._clock()
        remembered = self._memory.get(name, {}).get(language)
        if remembered is not None and now - remembered[1] < min(MEMORY_SECONDS, ttl):
            return remembered[0], False
        cached = self.definitions.get(name, language)
        if cached is not None and now - cached.fetched_at < ttl:
            return self._remember(name, language, cached, now), False
        if not self.settings.waba_id:
            return self._remember(name, language, None, now), False
        return self._fetch(name, language, version=version, now=now), True

    def _fetch(self, name: str, language: str, *, version: int, now: float) -> CachedDefinition | None:
        """Graph's definitions of the template; `version`: its change count read before the call."""
        try:
            definitions = fetch_templates(self.graph, self.settings.waba_id, name=name)
        except (GraphError, GraphTransportError) as exc:
            # Not knowing a definition only skips the check; Meta still checks the send.
            logger.warning("Could not fetch the template definition", extra={"template": name, "error": str(exc)})
            return self._remember(name, language, None, now)
        ttl, found = self.settings.template_cache_seconds, None
        for definition in definitions:
            stored = self.definitions.put(definition, ttl_seconds=ttl, version=version)
            self._remember(name, definition.language, stored, now)
            found = stored if definition.language == language else found
        return self._remember(name, language, found, now)

    def on_change(self, event: ChangeEvent) -> bool:
        """Record a change Meta announced to a template of the stack's WABA (with the status or
        category it gives) and drop its cached definition; True when it was one."""
        value = event.value
        if event.field not in TEMPLATE_FIELDS or not isinstance(value, dict):
            return False
        name = value.get("message_template_name")
        if not isinstance(name, str) or not name:
            return False
        own = self.settings.waba_id
        if own and event.waba_id and event.waba_id != own:
            # The catalog holds the stack's own WABA's templates: another account's template of the
            # same name pausing must not refuse ours (the change is still recorded as a change).
            logger.info("Template change of another WABA not applied", extra={"template": name})
            return False
        language = _text(value.get("message_template_language"))
        status = _text(value.get("event")) if event.field == "message_template_status_update" else None
        category = _text(value.get("new_category")) if event.field == "template_category_update" else None
        # Counted first: a definition fetched meanwhile carries the old count, so what this change
        # says outranks it.
        self.definitions.record_change(name, language, status=status, category=category)
        self.definitions.forget(name, language)
        self._memory.pop(name, None)
        logger.info(
            "Template change recorded",
            extra={"template": name, "language": language, "status": status, "category": category},
        )
        return True

    def _remember(
        self, name: str, language: str, cached: CachedDefinition | None, now: float
    ) -> CachedDefinition | None:
        self._memory.setdefault(name, {})[language] = (cached, now)
        return cached


def _reason(
    template: TemplateBody, cached: CachedDefinition | None, changes: TemplateChanges, recipient: str | None
) -> str | None:
    """The refusal, from the definition and whatever Meta's webhooks announced after its fetch."""
    definition, since = (cached.definition, cached.version) if cached is not None else (None, -1)
    language = template.language.code
    status = changes.newer("status", language, than=since)
    category = changes.newer("category", language, than=since)
    return refusal(
        template,
        definition,
        announced_status=status.value if status is not None else None,
        category=category.value if category is not None else definition.category if definition else None,
        recipient=recipient,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
