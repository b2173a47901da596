"""Caches kept in the table: Graph media ids of uploaded bucket objects (`MEDIA#`), message template
definitions (`TEMPLATE#<name>` / `LANG#<code>`) and what Meta's template webhooks said about a
template (`TEMPLATE#<name>` / `CHANGES`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Item, Key, Update
from wacloud.models.keys import digest

if TYPE_CHECKING:  # Graph's models are imported by the first template read, not at a cold start
    from wacloud.models.graph import TemplateDefinition

# Graph keeps an uploaded media id for 30 days; reuse it for one day less.
UPLOAD_REUSE_SECONDS = 29 * 86400
# A webhook that names no language speaks for every language of the template.
EVERY_LANGUAGE = "*"
Said = Literal["status", "category"]


def upload_key(source: str) -> Key:
    return {"pk": f"MEDIA#{digest(source)}", "sk": "UPLOAD"}


def template_key(name: str, language: str) -> Key:
    return {"pk": f"TEMPLATE#{name}", "sk": f"LANG#{language}"}


def changes_key(name: str) -> Key:
    return {"pk": f"TEMPLATE#{name}", "sk": "CHANGES"}


class UploadedMedia(Repository):
    """`MEDIA#<digest of the source>` / `UPLOAD`: a bucket object uploaded to Graph, reused 29 days."""

    def get(self, source: str) -> str | None:
        """The Graph media id of an object uploaded within the last 29 days (`source` names the
        object's version and the number it was uploaded for)."""
        item = self.table.get(upload_key(source))
        if item is None or int(item.get("uploaded_at", 0)) < self._now() - UPLOAD_REUSE_SECONDS:
            return None
        return str(item["media_id"])

    def put(self, source: str, media_id: str) -> None:
        now = self._now()
        self.table.update(
            upload_key(source),
            Update(
                "SET media_id = :id, uploaded_at = :now, expires_at = :exp",
                {":id": media_id, ":now": now, ":exp": now + UPLOAD_REUSE_SECONDS},
            ),
        )


class CachedDefinition(NamedTuple):
    definition: TemplateDefinition
    fetched_at: int
    # How many of Meta's changes to the template were recorded when it was fetched: a webhook's
    # status or category recorded later is newer than the definition's.
    version: int


@dataclass(frozen=True)
class Announced:
    """A status or category a template webhook gave, and the change (version) that gave it."""

    value: str
    version: int


@dataclass(frozen=True)
class TemplateChanges:
    """What Meta's template webhooks said about a template. `version` counts them: the stamp a warm
    sender compares its memory with, read in the batch it reads anyway (`Store.send_context`)."""

    name: str
    version: int = 0
    announced: dict[str, Announced] = field(default_factory=dict)  # "status:<language>" -> ...

    def newer(self, what: Said, language: str, than: int) -> Announced | None:
        """The latest status or category announced for `language` after change `than`, or None."""
        found = [self.announced.get(f"{what}:{lang}") for lang in (language, EVERY_LANGUAGE)]
        latest = max((a for a in found if a is not None), key=lambda a: a.version, default=None)
        return latest if latest is not None and latest.version > than else None

    @staticmethod
    def from_items(name: str, items: list[Item]) -> TemplateChanges:
        """The template's changes among items read together with others (none recorded: version 0)."""
        wanted = changes_key(name)
        item = next((i for i in items if i["pk"] == wanted["pk"] and i["sk"] == wanted["sk"]), {})
        announced = {
            attribute: Announced(str(value), int(item.get(attribute.replace(":", "_version:", 1), 0)))
            for attribute, value in item.items()
            if attribute.startswith(("status:", "category:"))
        }
        return TemplateChanges(name, int(item.get("version", 0)), announced)


class TemplateDefinitions(Repository):
    """`TEMPLATE#<name>` / `LANG#<code>`: a template's definition as Graph describes it, when it was
    fetched (the sender checks template documents against it); `TEMPLATE#<name>` / `CHANGES`: the
    statuses and categories Meta's webhooks announced since."""

    def get(self, name: str, language: str) -> CachedDefinition | None:
        """A cached definition, when it was fetched, and the change count it reflects."""
        item = self.table.get(template_key(name, language))
        if item is None or "definition" not in item:
            return None
        from wacloud.models.graph import TemplateDefinition

        definition = TemplateDefinition.model_validate_json(str(item["definition"]))
        return CachedDefinition(definition, int(item.get("fetched_at", 0)), int(item.get("version", 0)))

    def put(self, definition: TemplateDefinition, *, ttl_seconds: int, version: int | None = None) -> CachedDefinition:
        """Keep a definition Graph gave; `version`: the template's change count read before the fetch
        (by default the current one)."""
        now = self._now()
        if version is None:
            version = self.changes(definition.name).version
        self.table.update(
            template_key(definition.name, definition.language),
            Update(
                "SET #definition = :definition, fetched_at = :now, version = :version, expires_at = :exp",
                {
                    ":definition": definition.model_dump_json(exclude_none=True),
                    ":now": now,
                    ":version": version,
                    ":exp": now + ttl_seconds,
                },
                {"#definition": "definition"},  # a reserved word
            ),
        )
        return CachedDefinition(definition, now, version)

    def forget(self, name: str, language: str | None = None) -> None:
        """Drop cached definitions of a template (one language, or all): it changed at Meta."""
        if language:
            keys = [template_key(name, language)]
        else:
            items = self.table.query(
                "pk = :pk AND begins_with(sk, :lang)", {":pk": f"TEMPLATE#{name}", ":lang": "LANG#"}
            )
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
        for found in keys:
            self.table.delete(found)

    def changes(self, name: str) -> TemplateChanges:
        """What Meta's webhooks announced about a template (one read)."""
        item = self.table.get(changes_key(name))
        return TemplateChanges.from_items(name, [item] if item is not None else [])

    def record_change(
        self, name: str, language: str | None, *, status: str | None = None, category: str | None = None
    ) -> None:
        """Count a change Meta announced (the stamp warm senders follow), with the status or
        category it gave. Never expires: a count that started again would look older than the
        definitions fetched before."""
        language = language or EVERY_LANGUAGE
        # Every operand reads the item as it was: `if_not_exists(...) + 1` is the new count everywhere.
        count = "if_not_exists(version, :zero) + :one"
        actions = [f"version = {count}", "changed_at = :now"]
        values: dict[str, object] = {":zero": 0, ":one": 1, ":now": self._now()}
        names: dict[str, str] = {}
        for what, value in (("status", status), ("category", category)):
            if value:
                names |= {f"#{what}": f"{what}:{language}", f"#{what}_v": f"{what}_version:{language}"}
                values[f":{what}"] = value.upper()
                actions += [f"#{what} = :{what}", f"#{what}_v = {count}"]
        self.table.update(changes_key(name), Update("SET " + ", ".join(actions), values, names))
