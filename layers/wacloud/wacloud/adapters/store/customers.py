"""`CONTACT#<customer>`: a customer, in four kinds of item of one partition.

  PROFILE    who they are and when they last wrote (drives the 24-hour window)
  OPT        their opt-out choice (no TTL: it outlives the profile)
  HANDOVER   with a human until a time: no automatic replies
  HIST#<at>#<in|out>#<wamid>#<n>   their conversation history (TTL: WACLOUD_HISTORY_DAYS)

A customer is keyed by phone digits (`+1 650-555-1234` and `16505551234` are one customer) and,
when Meta gives one, also by the business-scoped user id: the profile and the opt-out are written
under both, so a producer addressing either finds the same window and opt-out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Item, Key, Update
from wacloud.models.keys import customer_key
from wacloud.models.records import ContactRecord, HistoryEntry

if TYPE_CHECKING:
    from wacloud.models.events import MessageEvent

_OPT_FIELDS = ("opted_out", "opt_changed_at", "opt_keyword")
_HANDOVER_FIELDS = ("handover_until", "handover_at", "handover_wamid")


def partition(customer: str) -> str:
    return f"CONTACT#{customer_key(customer)}"


def item_keys(customer: str) -> list[Key]:
    """The keys of the items a `ContactRecord` is read from."""
    return [{"pk": partition(customer), "sk": sk} for sk in ("PROFILE", "OPT", "HANDOVER")]


def contact_keys(*addresses: str | None) -> list[str]:
    """The distinct keys of a customer's addresses (phone digits, business-scoped user id)."""
    keys: list[str] = []
    for address in addresses:
        found = customer_key(address) if address else ""
        if found and found not in keys:
            keys.append(found)
    return keys


class CustomerRecords(Repository):
    def get(self, customer: str) -> ContactRecord | None:
        """The contact's profile, opt-out choice and handover (three items, one round trip)."""
        return self.from_items(customer, self.table.batch_get(item_keys(customer)))

    @staticmethod
    def from_items(customer: str, items: list[Item]) -> ContactRecord | None:
        """A contact from its PROFILE, OPT and HANDOVER items (any may be missing; others ignored)."""
        pk = partition(customer)
        by_sk = {item["sk"]: item for item in items if item["pk"] == pk}
        if not by_sk:
            return None
        merged = dict(by_sk.get("PROFILE", {}))
        for sk, fields in (("OPT", _OPT_FIELDS), ("HANDOVER", _HANDOVER_FIELDS)):
            merged.update({k: by_sk[sk][k] for k in fields if k in by_sk.get(sk, {})})
        return ContactRecord.model_validate({"wa_id": customer_key(customer), **merged})

    def upsert(self, event: MessageEvent) -> None:
        """Remember who wrote and when; an older message arriving late does not move time back."""
        message, contact = event.message, event.contact
        now, at = self._now(), message.timestamp or self._now()
        user_id = message.from_user_id or (contact.user_id if contact else None)
        values: dict[str, Any] = {":at": at, ":wamid": message.id, ":now": now, ":exp": now + self.ttl_seconds}
        sets = [
            "last_inbound_at = :at",
            "last_inbound_wamid = :wamid",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "first_inbound_wamid = if_not_exists(first_inbound_wamid, :wamid)",
            "expires_at = :exp",
        ]
        optional = {
            "wa_id": message.from_ or None,
            "user_id": user_id,
            "profile_name": contact.profile.name if contact and contact.profile else None,
            "username": contact.profile.username if contact and contact.profile else None,
        }
        for name, value in optional.items():
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        update = Update(
            "SET " + ", ".join(sets),
            values,
            condition="attribute_not_exists(last_inbound_at) OR last_inbound_at <= :at",
        )
        for customer in contact_keys(message.from_, user_id):
            self.table.update({"pk": partition(customer), "sk": "PROFILE"}, update)

    def set_opt_out(self, addresses: list[str], opted_out: bool, *, at: int, keyword: str) -> bool:
        """Record a customer's opt-out (or opt-in) keyword; a later choice is never undone by an
        earlier one arriving late. False when a newer choice was already recorded.

        Kept in its own item, without a TTL: an opt-out must outlive the contact's profile.
        """
        now = self._now()
        at = at or now  # a message without a timestamp counts as sent now
        update = Update(
            "SET opted_out = :out, opt_changed_at = :at, opt_keyword = :kw, updated_at = :now",
            {":out": opted_out, ":at": at, ":kw": keyword, ":now": now},
            condition="attribute_not_exists(opt_changed_at) OR opt_changed_at <= :at",
        )
        written = [
            self.table.update({"pk": partition(customer), "sk": "OPT"}, update) is not None
            for customer in contact_keys(*addresses)
        ]
        return any(written)

    def set_handover(self, customer: str, *, until: int, at: int, wamid: str) -> None:
        """Hand the customer to a human until `until` (`wamid`: the message that asked for one):
        no automatic replies meanwhile."""
        self.table.update(
            {"pk": partition(customer), "sk": "HANDOVER"},
            Update(
                "SET handover_until = :until, handover_at = :at, handover_wamid = :wamid, expires_at = :until",
                {":until": until, ":at": at, ":wamid": wamid},
            ),
        )

    def release_handover(self, customer: str) -> None:
        """The human is done: automatic replies resume with the customer's next message."""
        self.table.delete({"pk": partition(customer), "sk": "HANDOVER"})

    def append_history(self, customer: str, entries: list[HistoryEntry], *, ttl_seconds: int) -> None:
        """Add lines to the customer's conversation history (idempotent: a line's key derives from
        its message, so a redelivered event rewrites the same items)."""
        if not entries:
            return
        pk, expires = partition(customer), self._now() + ttl_seconds
        self.table.batch_put(
            {
                "pk": pk,
                "sk": f"HIST#{entry.at:011d}#{entry.direction.value}#{entry.wamid or ''}#{index:02d}",
                "expires_at": expires,
                **entry.model_dump(mode="json", exclude_none=True),
            }
            for index, entry in enumerate(entries)
        )

    def history(self, customer: str, *, limit: int = 20) -> list[HistoryEntry]:
        """The customer's latest `limit` lines, oldest first."""
        if limit <= 0:
            return []
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :history)",
            {":pk": partition(customer), ":history": "HIST#"},
            newest_first=True,
            limit=limit,
        )
        return [HistoryEntry.model_validate(item) for item in reversed(items)]
