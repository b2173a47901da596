"""Audit records: input we could not use, with the reason (`REJECT#`), and webhook changes other
than messages and statuses (`CHANGE#`: template, quality and account updates)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from wacloud.adapters.store.repository import Repository, truncate
from wacloud.adapters.table import Key
from wacloud.models.keys import digest
from wacloud.models.records import RejectionRecord

if TYPE_CHECKING:
    from wacloud.models.events import ChangeEvent


def rejection_key(source: str, ref: str) -> Key:
    return {"pk": f"REJECT#{source}#{ref}", "sk": "REJECTION"}


def change_key(event_key: str) -> Key:
    return {"pk": f"CHANGE#{digest(event_key)}", "sk": "CHANGE"}


class Rejections(Repository):
    """`REJECT#<source>#<ref>` / `REJECTION`: input that is not a document or event we can name
    (a poison inbound event, an unparsed part of a signed webhook), kept once with the reason."""

    def record(self, source: str, ref: str, reason: str, raw: str | None) -> None:
        now = self._now()
        self.table.put_new(
            {
                **rejection_key(source, ref),
                "source": source,
                "ref": ref,
                "reason": reason,
                "raw": truncate(raw or ""),
                "created_at": now,
                "expires_at": now + self.ttl_seconds,
            }
        )

    def get(self, source: str, ref: str) -> RejectionRecord | None:
        item = self.table.get(rejection_key(source, ref))
        return RejectionRecord.model_validate(item) if item else None


class Changes(Repository):
    """`CHANGE#<digest of the event key>` / `CHANGE`: another webhook change, kept once."""

    def record(self, event: ChangeEvent) -> bool:
        """False when this change was recorded already."""
        now = self._now()
        return self.table.put_new(
            {
                **change_key(event.key),
                "field": event.field,
                "waba_id": event.waba_id,
                "value": truncate(json.dumps(event.value, default=str)),
                "created_at": now,
                "expires_at": now + self.ttl_seconds,
            }
        )
