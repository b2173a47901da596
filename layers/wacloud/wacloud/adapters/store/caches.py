"""Caches kept in the table: Graph media ids of uploaded bucket objects (`MEDIA#`), and message
template definitions (`TEMPLATE#`)."""

from __future__ import annotations

from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Key, Update
from wacloud.models.graph import TemplateDefinition
from wacloud.models.keys import digest

# Graph keeps an uploaded media id for 30 days; reuse it for one day less.
UPLOAD_REUSE_SECONDS = 29 * 86400


def upload_key(source: str) -> Key:
    return {"pk": f"MEDIA#{digest(source)}", "sk": "UPLOAD"}


def template_key(name: str, language: str) -> Key:
    return {"pk": f"TEMPLATE#{name}", "sk": f"LANG#{language}"}


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


class TemplateDefinitions(Repository):
    """`TEMPLATE#<name>` / `LANG#<code>`: a template's definition as Graph describes it, and when it
    was fetched (the sender checks template documents against it)."""

    def get(self, name: str, language: str) -> tuple[TemplateDefinition, int] | None:
        """A cached definition and when it was fetched."""
        item = self.table.get(template_key(name, language))
        if item is None:
            return None
        return TemplateDefinition.model_validate_json(str(item["definition"])), int(item.get("fetched_at", 0))

    def put(self, definition: TemplateDefinition, *, ttl_seconds: int) -> None:
        now = self._now()
        self.table.update(
            template_key(definition.name, definition.language),
            Update(
                "SET #definition = :definition, fetched_at = :now, expires_at = :exp",
                {":definition": definition.model_dump_json(exclude_none=True), ":now": now, ":exp": now + ttl_seconds},
                {"#definition": "definition"},  # a reserved word
            ),
        )

    def forget(self, name: str, language: str | None = None) -> None:
        """Drop cached definitions of a template (one language, or all): it changed at Meta."""
        if language:
            keys = [template_key(name, language)]
        else:
            items = self.table.query("pk = :pk", {":pk": f"TEMPLATE#{name}"})
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
        for found in keys:
            self.table.delete(found)
