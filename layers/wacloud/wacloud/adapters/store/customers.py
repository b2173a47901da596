"""`CONTACT#<customer id>`: a customer, in five kinds of item of one partition.

  PROFILE    who they are (phone, BSUID, parent BSUID, username) and when they last wrote or called
             (drives the 24-hour window)
  OPT        their opt-out choice (no TTL: it outlives the profile)
  MARKETING  whether they stopped marketing messages (Meta's `user_preferences`; no TTL either)
  HANDOVER   with a human until a time: no automatic replies
  HIST#<at>#<in|out>#<wamid>#<n>   their conversation history (TTL: WACLOUD_HISTORY_DAYS)

A customer is found by any of their addresses (`identities.py`: phone digits in any format, BSUID,
parent BSUID, `@username`): one person is one window, one opt-out, one handover, one history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wacloud.adapters.store.identities import CUSTOMER_SKS, Identities, lookup_keys, partition
from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Item, Table, Update
from wacloud.models.identity import CustomerIdentity
from wacloud.models.keys import is_user_id
from wacloud.models.records import ContactRecord, HistoryEntry

if TYPE_CHECKING:
    from wacloud.models.events import MessageEvent

__all__ = ["CustomerRecords", "lookup_keys"]

_CHOICE_FIELDS = {
    "OPT": ("opted_out", "opt_changed_at", "opt_keyword"),
    "MARKETING": ("marketing_stopped", "marketing_changed_at"),
    "HANDOVER": ("handover_until", "handover_at", "handover_wamid"),
}


class CustomerRecords(Repository):
    def __init__(self, table: Table, *, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(table, ttl_seconds=ttl_seconds, clock=clock)
        self.identities = Identities(table, ttl_seconds=ttl_seconds, clock=clock)

    def get(self, address: str) -> ContactRecord | None:
        """The customer an address names (any of theirs): profile, choices and handover."""
        return self.record(*self.identities.find(address))

    def found(self, address: str, items: list[Item]) -> ContactRecord | None:
        """The customer an address names, from the items `lookup_keys(address)` read."""
        return self.record(*self.identities.resolve(address, items))

    @staticmethod
    def record(customer: str | None, items: list[Item]) -> ContactRecord | None:
        """A customer from their PROFILE, OPT, MARKETING and HANDOVER items (any may be missing)."""
        if customer is None:
            return None
        pk = partition(customer)
        by_sk = {item["sk"]: item for item in items if item["pk"] == pk and item["sk"] in CUSTOMER_SKS}
        if not by_sk:
            return None
        merged = dict(by_sk.get("PROFILE", {}))
        for sk, fields in _CHOICE_FIELDS.items():
            merged.update({k: by_sk[sk][k] for k in fields if k in by_sk.get(sk, {})})
        merged.pop("pk", None)
        merged.pop("sk", None)
        phone = "" if is_user_id(customer) or "~" in customer else customer
        return ContactRecord.model_validate({"wa_id": phone, **merged, "customer_id": customer})

    def upsert(self, event: MessageEvent) -> str | None:
        """Remember who wrote and when (an older message arriving late does not move time back);
        the customer's id (None when the message names no sender at all). A message written in a
        group names its member, but opens no one-to-one window with them."""
        message, contact = event.message, event.contact
        identity = CustomerIdentity.from_message(message, contact)
        if not identity:
            return None
        now, at = self._now(), message.timestamp or self._now()
        customer = self.identities.link(identity, at=at)
        values: dict[str, Any] = {":now": now, ":exp": now + self.ttl_seconds}
        sets = ["updated_at = :now", "created_at = if_not_exists(created_at, :now)", "expires_at = :exp"]
        condition = None
        if not message.is_group:
            sets += [
                "last_inbound_at = :at",
                "last_inbound_wamid = :wamid",
                "first_inbound_wamid = if_not_exists(first_inbound_wamid, :wamid)",
            ]
            values |= {":at": at, ":wamid": message.id}
            condition = "attribute_not_exists(last_inbound_at) OR last_inbound_at <= :at"
        _set_names(identity, sets, values, profile_name=contact.profile.name if contact and contact.profile else None)
        self.table.update(
            {"pk": partition(customer), "sk": "PROFILE"}, Update("SET " + ", ".join(sets), values, condition=condition)
        )
        return customer

    def touch(self, identity: CustomerIdentity, *, at: int, ref: str) -> str:
        """The customer reached the business some other way than a message (a call): the 24-hour
        window opens as it does for a message. `ref`: what it was (a call id)."""
        customer = self.identities.link(identity, at=at or None)
        now = self._now()
        sets = [
            "last_inbound_at = :at",
            "last_inbound_ref = :ref",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = :exp",
        ]
        values: dict[str, Any] = {":at": at or now, ":ref": ref, ":now": now, ":exp": now + self.ttl_seconds}
        _set_names(identity, sets, values)
        self.table.update(
            {"pk": partition(customer), "sk": "PROFILE"},
            Update(
                "SET " + ", ".join(sets),
                values,
                condition="attribute_not_exists(last_inbound_at) OR last_inbound_at <= :at",
            ),
        )
        return customer

    def change_identity(self, old: CustomerIdentity, new: CustomerIdentity, *, at: int) -> str:
        """A customer's number or BSUID changed at `at`: the new names the same customer
        (`Identities.change`)."""
        return self.identities.change(old, new, at=at or self._now())

    def set_opt_out(self, customer: str, opted_out: bool, *, at: int, keyword: str) -> bool:
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
        return self.table.update({"pk": partition(customer), "sk": "OPT"}, update) is not None

    def set_marketing(self, identity: CustomerIdentity, *, stopped: bool, at: int) -> bool:
        """Record that the customer stopped (or resumed) marketing messages at Meta; a later choice is
        never undone by an earlier one. False when a newer choice was already recorded."""
        customer = self.identities.link(identity)
        now = self._now()
        update = Update(
            "SET marketing_stopped = :stopped, marketing_changed_at = :at, updated_at = :now",
            {":stopped": stopped, ":at": at or now, ":now": now},
            condition="attribute_not_exists(marketing_changed_at) OR marketing_changed_at <= :at",
        )
        return self.table.update({"pk": partition(customer), "sk": "MARKETING"}, update) is not None

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

    def release_handover(self, address: str) -> None:
        """The human is done: automatic replies resume with the customer's next message."""
        customer, _ = self.identities.find(address)
        if customer is not None:
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


def _set_names(
    identity: CustomerIdentity, sets: list[str], values: dict[str, Any], profile_name: str | None = None
) -> None:
    """Add the names the identity gives to a PROFILE update (those it lacks are left as stored)."""
    names = {
        "wa_id": identity.phone_key,
        "user_id": identity.user_id,
        "parent_user_id": identity.parent_user_id,
        "profile_name": profile_name,
        "username": identity.username,
    }
    for name, value in names.items():
        if value:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = value
