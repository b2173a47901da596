"""`CONTACT#<customer id>`: a customer, in five kinds of item of one partition.

  PROFILE    who they are (phone, BSUID, parent BSUID, username) and when they last wrote or called
             each number (drives its 24-hour window)
  OPT        their business-wide opt-out choice (no TTL: it outlives the profile); `OPT#<number>`
             one number's own, for a number whose opt-outs are its own (`opt_out_scope: number`)
  MARKETING  whether they stopped marketing messages (Meta's `user_preferences`; no TTL either)
  HANDOVER   with a human until a time: no automatic replies (`HANDOVER#<number>` on other numbers)
  HIST#<at>#<in|out>#<wamid>#<n>   their conversation history (TTL: WACLOUD_HISTORY_DAYS);
             `HIST#<number>#<at>#...` on other numbers

Windows, handovers and history are per number, as at Meta; the stack's own number (`number_scope`:
the registry entry marked `unsuffixed_keys`, else `PhoneNumberId`) keeps the keys of the
single-number version (`last_inbound_at`, `HANDOVER`, `HIST#<at>`), so a stack with one number
reads and writes exactly what it did, and other numbers add a suffix (`number_scope`). A customer is
found by any of their addresses (`identities.py`: phone digits in any format, BSUID, parent BSUID,
`@username`): one person is one customer, with one window, handover and history per number.

Customers are each business portfolio's (`customer_keys.py`): every method takes the number
(`entry`, whose `business` it is) or, where no number is meant, the `business`; the same person
writing to two businesses' numbers is two customers, and nothing said to one binds the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wacloud.adapters.store.customer_keys import (
    CUSTOMER_SKS,
    business_of,
    handover_sk,
    lookup_keys,
    opt_sk,
    partition,
)
from wacloud.adapters.store.identities import Identities
from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Item, Table, Update
from wacloud.models.identity import CustomerIdentity
from wacloud.models.keys import is_user_id
from wacloud.models.number_entry import DEFAULT_BUSINESS, NumberEntry
from wacloud.models.records import ContactRecord, Handover, HistoryEntry, OptChoice, number_scope

if TYPE_CHECKING:
    from wacloud.models.events import MessageEvent

__all__ = ["CustomerRecords", "history_prefix", "lookup_keys"]

_CHOICE_FIELDS = {
    "OPT": ("opted_out", "opt_changed_at", "opt_keyword"),
    "MARKETING": ("marketing_stopped", "marketing_changed_at"),
    "HANDOVER": ("handover_until", "handover_at", "handover_wamid"),
}
# The stack's own number's history (`number_scope` ""): its time has 11 digits, a leading 0 until the year 2286; another
# number's lines begin with its id (Meta's ids have no leading 0).
DEFAULT_HISTORY_PREFIX = "HIST#0"


def history_prefix(entry: NumberEntry | None) -> str:
    """What the sort keys of a number's history lines begin with."""
    scope = number_scope(entry)
    return f"HIST#{scope}#" if scope else DEFAULT_HISTORY_PREFIX


def _window(entry: NumberEntry | None) -> dict[str, str]:
    """The PROFILE attributes of a number's window (`#at`, `#wamid`, `#first`, `#ref`)."""
    scope = number_scope(entry)
    suffix = f"#{scope}" if scope else ""
    return {
        "#at": "last_inbound_at" + suffix,
        "#wamid": "last_inbound_wamid" + suffix,
        "#first": "first_inbound_wamid" + suffix,
        "#ref": "last_inbound_ref" + suffix,
    }


class CustomerRecords(Repository):
    def __init__(self, table: Table, *, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(table, ttl_seconds=ttl_seconds, clock=clock)
        self.identities = Identities(table, ttl_seconds=ttl_seconds, clock=clock)  # the default business's

    def of(self, entry: NumberEntry | None, business: str | None = None) -> Identities:
        """The identities of the customers of the number's business (no number: of `business`)."""
        return self.identities.of(business_of(entry, business))

    def get(
        self, address: str, entry: NumberEntry | None = None, *, business: str | None = None
    ) -> ContactRecord | None:
        """The customer an address names (any of theirs) among the customers of the number `entry`'s
        business (None: the stack's own number; without a number, `business`'s): profile, choices and
        handover, with what that number keeps of its own."""
        scope = business_of(entry, business)
        return self.record(*self.identities.of(scope).find(address, entry), business=scope)

    def found(self, address: str, items: list[Item], entry: NumberEntry | None = None) -> ContactRecord | None:
        """The customer an address names, from the items `lookup_keys(address, entry)` read."""
        return self.record(*self.of(entry).resolve(address, items, entry), business=business_of(entry))

    @staticmethod
    def record(customer: str | None, items: list[Item], *, business: str = DEFAULT_BUSINESS) -> ContactRecord | None:
        """A customer of `business` from their PROFILE, OPT, MARKETING and HANDOVER items (any may be
        missing), and the `OPT#<number>`, `HANDOVER#<number>` among them."""
        if customer is None:
            return None
        pk = partition(customer, business)
        by_sk = {item["sk"]: item for item in items if item["pk"] == pk and _is_record_item(item["sk"])}
        if not by_sk:
            return None
        merged = dict(by_sk.get("PROFILE", {}))
        for sk, fields in _CHOICE_FIELDS.items():
            merged.update({k: by_sk[sk][k] for k in fields if k in by_sk.get(sk, {})})
        merged |= _per_number(merged, by_sk)
        merged.pop("pk", None)
        merged.pop("sk", None)
        phone = "" if is_user_id(customer) or "~" in customer else customer
        return ContactRecord.model_validate({"wa_id": phone, **merged, "customer_id": customer})

    def upsert(self, event: MessageEvent, entry: NumberEntry | None = None) -> str | None:
        """Remember who wrote to the number `entry` (None: the stack's own number) and when (an older
        message arriving late does not move time back); the customer's id (None when the message
        names no sender at all). A message written in a group names its member, but opens no
        one-to-one window with them."""
        message, contact = event.message, event.contact
        identity = CustomerIdentity.from_message(message, contact)
        if not identity:
            return None
        now, at = self._now(), message.timestamp or self._now()
        customer = self.of(entry).link(identity, at=at)
        values: dict[str, Any] = {":now": now, ":exp": now + self.ttl_seconds}
        sets = ["updated_at = :now", "created_at = if_not_exists(created_at, :now)", "expires_at = :exp"]
        names: dict[str, str] = {}
        condition = None
        if not message.is_group:
            names = {name: attribute for name, attribute in _window(entry).items() if name != "#ref"}
            sets += ["#at = :at", "#wamid = :wamid", "#first = if_not_exists(#first, :wamid)"]
            values |= {":at": at, ":wamid": message.id}
            condition = "attribute_not_exists(#at) OR #at <= :at"
        _set_names(identity, sets, values, profile_name=contact.profile.name if contact and contact.profile else None)
        self.table.update(
            {"pk": partition(customer, business_of(entry)), "sk": "PROFILE"},
            Update("SET " + ", ".join(sets), values, names, condition=condition),
        )
        return customer

    def touch(self, identity: CustomerIdentity, *, at: int, ref: str, entry: NumberEntry | None = None) -> str:
        """The customer reached the number `entry` some other way than a message (a call): its
        24-hour window opens as it does for a message. `ref`: what it was (a call id)."""
        customer = self.of(entry).link(identity, at=at or None)
        now = self._now()
        sets = [
            "#at = :at",
            "#ref = :ref",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = :exp",
        ]
        values: dict[str, Any] = {":at": at or now, ":ref": ref, ":now": now, ":exp": now + self.ttl_seconds}
        _set_names(identity, sets, values)
        window = _window(entry)
        self.table.update(
            {"pk": partition(customer, business_of(entry)), "sk": "PROFILE"},
            Update(
                "SET " + ", ".join(sets),
                values,
                {"#at": window["#at"], "#ref": window["#ref"]},
                condition="attribute_not_exists(#at) OR #at <= :at",
            ),
        )
        return customer

    def change_identity(
        self, old: CustomerIdentity, new: CustomerIdentity, *, at: int, entry: NumberEntry | None = None
    ) -> str:
        """A customer of the number `entry`'s business changed number or BSUID at `at`: the new names
        the same customer (`Identities.change`); another business's customers are not touched."""
        return self.of(entry).change(old, new, at=at or self._now())

    def set_opt_out(
        self, customer: str, opted_out: bool, *, at: int, keyword: str, entry: NumberEntry | None = None
    ) -> bool:
        """Record a customer's opt-out (or opt-in) keyword said to the number `entry`: business-wide
        (`OPT`), or that number's own when its opt-outs are (`OPT#<number>`). A later choice is never
        undone by an earlier one arriving late. False when a newer choice was already recorded.

        Kept in its own item, without a TTL: an opt-out must outlive the contact's profile.
        """
        now = self._now()
        at = at or now  # a message without a timestamp counts as sent now
        update = Update(
            "SET opted_out = :out, opt_changed_at = :at, opt_keyword = :kw, updated_at = :now",
            {":out": opted_out, ":at": at, ":kw": keyword, ":now": now},
            condition="attribute_not_exists(opt_changed_at) OR opt_changed_at <= :at",
        )
        key = {"pk": partition(customer, business_of(entry)), "sk": opt_sk(entry)}
        return self.table.update(key, update) is not None

    def set_marketing(
        self, identity: CustomerIdentity, *, stopped: bool, at: int, entry: NumberEntry | None = None
    ) -> bool:
        """Record that the customer (of the number `entry`'s business) stopped or resumed marketing
        messages at Meta; a later choice is never undone by an earlier one. False when a newer
        choice was already recorded."""
        customer = self.of(entry).link(identity)
        now = self._now()
        update = Update(
            "SET marketing_stopped = :stopped, marketing_changed_at = :at, updated_at = :now",
            {":stopped": stopped, ":at": at or now, ":now": now},
            condition="attribute_not_exists(marketing_changed_at) OR marketing_changed_at <= :at",
        )
        key = {"pk": partition(customer, business_of(entry)), "sk": "MARKETING"}
        return self.table.update(key, update) is not None

    def set_handover(self, customer: str, *, until: int, at: int, wamid: str, entry: NumberEntry | None = None) -> None:
        """Hand the customer to a human on the number `entry` until `until` (`wamid`: the message that
        asked for one): no automatic replies from that number meanwhile."""
        self.table.update(
            {"pk": partition(customer, business_of(entry)), "sk": handover_sk(entry)},
            Update(
                "SET handover_until = :until, handover_at = :at, handover_wamid = :wamid, expires_at = :until",
                {":until": until, ":at": at, ":wamid": wamid},
            ),
        )

    def release_handover(self, address: str, entry: NumberEntry | None = None, *, business: str | None = None) -> None:
        """The human is done on the number `entry` (None: on every number of `business`): automatic
        replies resume with the customer's next message."""
        scope = business_of(entry, business)
        customer, _ = self.identities.of(scope).find(address)
        if customer is None:
            return
        if entry is not None:
            self.table.delete({"pk": partition(customer, scope), "sk": handover_sk(entry)})
            return
        for item in self._handover_items(customer, scope):
            self.table.delete({"pk": item["pk"], "sk": item["sk"]})

    def handovers(self, customer: str, *, business: str = DEFAULT_BUSINESS) -> dict[str, Handover]:
        """The customer's handovers on every number of `business`, by number ("": the stack's own
        number's, `number_scope`), expired ones included."""
        items = self._handover_items(customer, business)
        return {item["sk"].removeprefix("HANDOVER").lstrip("#"): Handover.model_validate(item) for item in items}

    def _handover_items(self, customer: str, business: str) -> list[Item]:
        return self.table.query(
            "pk = :pk AND begins_with(sk, :handover)", {":pk": partition(customer, business), ":handover": "HANDOVER"}
        )

    def append_history(
        self, customer: str, entries: list[HistoryEntry], *, ttl_seconds: int, entry: NumberEntry | None = None
    ) -> None:
        """Add lines to the customer's conversation history with the number `entry` (idempotent: a
        line's key derives from its message, so a redelivered event rewrites the same items)."""
        if not entries:
            return
        pk, expires = partition(customer, business_of(entry)), self._now() + ttl_seconds
        scope = number_scope(entry)
        prefix = f"HIST#{scope}#" if scope else "HIST#"
        self.table.batch_put(
            {
                "pk": pk,
                "sk": f"{prefix}{line.at:011d}#{line.direction.value}#{line.wamid or ''}#{index:02d}",
                "expires_at": expires,
                **line.model_dump(mode="json", exclude_none=True),
            }
            for index, line in enumerate(entries)
        )

    def history(self, customer: str, *, limit: int = 20, entry: NumberEntry | None = None) -> list[HistoryEntry]:
        """The customer's latest `limit` lines with the number `entry`, oldest first."""
        if limit <= 0:
            return []
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :history)",
            {":pk": partition(customer, business_of(entry)), ":history": history_prefix(entry)},
            newest_first=True,
            limit=limit,
        )
        return [HistoryEntry.model_validate(item) for item in reversed(items)]


# A number's window attributes (suffixed `#<number>`) and the ContactRecord fields they fill.
_WINDOW_FIELDS = {
    "last_inbound_at": "windows",
    "last_inbound_wamid": "last_wamids",
    "first_inbound_wamid": "first_wamids",
}


def _is_record_item(sk: str) -> bool:
    return sk in CUSTOMER_SKS or sk.startswith(("OPT#", "HANDOVER#"))


def _per_number(profile: Item, by_sk: dict[str, Item]) -> dict[str, Any]:
    """What other numbers keep of their own: windows (PROFILE attributes suffixed `#<number>`),
    opt-outs (`OPT#<number>`) and handovers (`HANDOVER#<number>`)."""
    found: dict[str, dict[str, Any]] = {field: {} for field in _WINDOW_FIELDS.values()}
    for name, value in profile.items():
        attribute, _, number = name.partition("#")
        if number and attribute in _WINDOW_FIELDS:
            found[_WINDOW_FIELDS[attribute]][number] = value
    found["number_opts"] = {
        sk.removeprefix("OPT#"): OptChoice.model_validate(item) for sk, item in by_sk.items() if sk.startswith("OPT#")
    }
    found["handovers"] = {
        sk.removeprefix("HANDOVER#"): Handover.model_validate(item)
        for sk, item in by_sk.items()
        if sk.startswith("HANDOVER#")
    }
    return found


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
