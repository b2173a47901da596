"""The messages table: one repository per record kind, all over one table adapter (`Table`), which
makes every DynamoDB call and turns its errors into `StoreError`.

| repository          | items                                        | module            |
| ------------------- | -------------------------------------------- | ----------------- |
| `messages`          | `MSG#<wamid>` / `MESSAGE`                    | `messages.py`     |
| `outbound`          | `OUT#<idempotency key>` / `OUTBOUND`         | `outbound.py`     |
| `customers`         | `CONTACT#<customer id>` / PROFILE, OPT[#<n>], MARKETING, HANDOVER[#<n>], HIST# | customers.py |
| `customers.identities` | `ALIAS#<address>` / `ALIAS`               | `identities.py`   |
| `media_uploads`     | `MEDIA#<digest>` / `UPLOAD`                  | `caches.py`       |
| `templates`         | `TEMPLATE#<name>` / `LANG#<code>`, `CHANGES` | `caches.py`       |
| `rejections`        | `REJECT#<source>#<ref>` / `REJECTION`        | `audit.py`        |
| `changes`           | `CHANGE#<digest>` / `CHANGE`                 | `audit.py`        |
| `groups`            | `GROUP#<group id>` / EVENT#<at>#<digest>, STATE, MEMBER#<address> | `groups.py` |
| `calls`             | `CALL#<call id>` / `CALL`                    | `calls.py`        |
| `rate_counters`     | `RATE#<number id>#<slot>` / `RATE`           | `rate_counters.py`|

Customers are each business portfolio's: another business than `default` keeps its customers' and
aliases' items under `BUSINESS#<business>#CONTACT#...` and `BUSINESS#<business>#ALIAS#...`
(`customer_keys.py`, the one place those keys are made); the default business's are as above.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from wacloud.adapters.store.audit import Changes, Rejections
from wacloud.adapters.store.caches import TemplateChanges, TemplateDefinitions, UploadedMedia, changes_key
from wacloud.adapters.store.calls import CallRecords
from wacloud.adapters.store.customers import CustomerRecords, lookup_keys
from wacloud.adapters.store.groups import GroupRecords
from wacloud.adapters.store.messages import MessageRecords
from wacloud.adapters.store.outbound import OutboundRecords
from wacloud.adapters.store.outbound import key as outbound_key
from wacloud.adapters.store.rate_counters import RateCounters
from wacloud.adapters.table import StoreError, Table, shared_table
from wacloud.config import get_settings
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound_state import OutboundRecord
from wacloud.models.records import ContactRecord, MessageRecord
from wacloud.runtime.singletons import singleton

__all__ = ["Store", "StoreError", "find_outbound", "get_message", "get_outbound", "get_store"]


class Store:
    """The table's repositories. Records expire after `ttl_days` (`RecordRetentionDays`)."""

    def __init__(
        self, table: Table | None = None, *, ttl_days: int | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        settings = get_settings()
        self.table = table or shared_table(settings.table_name)
        ttl = (ttl_days or settings.record_ttl_days) * 86400
        self.messages = MessageRecords(self.table, ttl_seconds=ttl, clock=clock)
        self.outbound = OutboundRecords(self.table, ttl_seconds=ttl, clock=clock)
        self.customers = CustomerRecords(self.table, ttl_seconds=ttl, clock=clock)
        self.media_uploads = UploadedMedia(self.table, ttl_seconds=ttl, clock=clock)
        self.templates = TemplateDefinitions(self.table, ttl_seconds=ttl, clock=clock)
        self.rejections = Rejections(self.table, ttl_seconds=ttl, clock=clock)
        self.changes = Changes(self.table, ttl_seconds=ttl, clock=clock)
        self.groups = GroupRecords(self.table, ttl_seconds=ttl, clock=clock)
        self.calls = CallRecords(self.table, ttl_seconds=ttl, clock=clock)
        self.rate_counters = RateCounters(self.table, ttl_seconds=ttl, clock=clock)

    def send_context(
        self,
        idempotency_key: str,
        recipient: str | None,
        template: str | None = None,
        entry: NumberEntry | None = None,
    ) -> tuple[OutboundRecord | None, ContactRecord | None, TemplateChanges | None]:
        """What the sender checks before a send, in one round trip: the document's outbound record
        and its recipient's contact as the sending number `entry` sees them, among its business's
        customers (a second round trip when the recipient is an alias of another id)."""
        # A template's changes (`TemplateCatalog` follows them), a number's own opt-out and handover:
        # keys more, not a round trip more.
        keys = [changes_key(template)] if template else []
        items = self.table.batch_get(
            [outbound_key(idempotency_key), *keys, *(lookup_keys(recipient, entry) if recipient else [])]
        )
        contact = self.customers.found(recipient, items, entry) if recipient else None
        changes = TemplateChanges.from_items(template, items) if template else None
        return OutboundRecords.from_items(idempotency_key, items), contact, changes


@singleton
def get_store() -> Store:
    """The store of this process, on the table the settings name."""
    return Store()


def _store(table_name: str | None) -> Store:
    return Store(shared_table(table_name)) if table_name else get_store()


def get_outbound(idempotency_key: str, *, table_name: str | None = None) -> OutboundRecord | None:
    """What happened to an outbound document, by its idempotency key (in the stack's messages table,
    `MessagesTableName`; by default the one `WACLOUD_TABLE_NAME` names)."""
    return _store(table_name).outbound.get(idempotency_key)


def find_outbound(client_reference: str, *, table_name: str | None = None) -> list[OutboundRecord]:
    """The outbound documents that carry a client reference (eventually consistent)."""
    return _store(table_name).outbound.find_by_client_reference(client_reference)


def get_message(wamid: str, *, table_name: str | None = None) -> MessageRecord | None:
    """A message, either direction, with its status history, by its wamid."""
    return _store(table_name).messages.get(wamid)
