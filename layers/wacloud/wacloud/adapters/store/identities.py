"""`ALIAS#<address>`: which customer an address names, so one person is one customer whatever Meta
calls them (phone digits, business-scoped user id, parent BSUID, `@username`).

A customer's items live under `CONTACT#<customer id>` (`customers.py`). The id is the phone digits
when the customer was first seen with a phone number (producers address by phone: a send then reads
its customer in one round trip), else the BSUID. Every other address of the customer is an alias
pointing at the id. An address without an alias names the customer whose id it is, if any: the
items written before aliases existed are found as they are.

When one webhook shows that two customers are one person (a phone number and a BSUID together), the
second is absorbed into the first: its opt-out, marketing choice, handover, profile and history are
carried over (the latest choice wins; at the same second, an opt-out), and a `MERGED` item in its
partition leads every later lookup to the first. Nothing of the second is deleted. Usernames can
be given up and taken by someone else: they are aliases that follow the latest owner, never a reason
to join two customers.

All of it within one business portfolio (`Identities.of`): an alias, a join or a changed name in one
business never touches another's customers (`customer_keys.py`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from wacloud.adapters.store.customer_keys import (
    CUSTOMER_SKS,
    MERGED,
    alias_key,
    canonical,
    item_keys,
    lookup_keys,
    partition,
    scope,
)
from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Item, Key, Table, Update
from wacloud.models.identity import USERNAME_PREFIX, CustomerIdentity
from wacloud.models.number_entry import DEFAULT_BUSINESS, NumberEntry

# The key functions are `customer_keys.py`'s; named here too for the modules that import them from here.
__all__ = ["CHANGE_SLACK_SECONDS", "RETIRED", "Identities", "canonical", "latest_inbound", "lookup_keys", "partition"]

RETIRED = ""  # an alias naming nobody: the address left its customer (a changed number or BSUID)
_MAX_HOPS = 4
# A customer the new name of a changed number or BSUID already names is the same person when it
# began at most this long before the change (Meta may deliver the news after the new name wrote).
CHANGE_SLACK_SECONDS = 24 * 3600


def _by_key(items: list[Item]) -> dict[tuple[str, str], Item]:
    return {(item["pk"], item["sk"]): item for item in items}


def _alias_item(items: dict[tuple[str, str], Item], business: str, address: str) -> Item | None:
    return items.get((alias_key(address, business)["pk"], "ALIAS"))


def _alias(items: dict[tuple[str, str], Item], business: str, address: str) -> str | None:
    """Where the alias of `address` points: a customer id, RETIRED, or None when it has none."""
    item = _alias_item(items, business, address)
    return None if item is None else str(item.get("customer") or RETIRED)


def _exists(items: dict[tuple[str, str], Item], business: str, customer_id: str) -> bool:
    return any((partition(customer_id, business), sk) in items for sk in (*CUSTOMER_SKS, MERGED))


def _former(items: dict[tuple[str, str], Item], business: str, address: str) -> str | None:
    """The customer a retired address was the name of (None: not retired, or not recorded)."""
    item = _alias_item(items, business, address)
    return str(item["former"]) if item and not item.get("customer") and item.get("former") else None


def _merged_into(items: dict[tuple[str, str], Item], business: str, customer_id: str) -> str | None:
    item = items.get((partition(customer_id, business), MERGED))
    return str(item["into"]) if item else None


class Identities(Repository):
    """The identities of one business portfolio's customers (`of` gives another business's)."""

    def __init__(
        self,
        table: Table,
        *,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        business: str = DEFAULT_BUSINESS,
    ) -> None:
        super().__init__(table, ttl_seconds=ttl_seconds, clock=clock)
        scope(business)  # a name that cannot make a key is refused here, not at the first write
        self.business = business

    def of(self, business: str) -> Identities:
        """The identities of `business`'s customers (this one's when it is the same)."""
        if business == self.business:
            return self
        return Identities(self.table, ttl_seconds=self.ttl_seconds, clock=self._clock, business=business)

    def _pk(self, customer_id: str) -> str:
        return partition(customer_id, self.business)

    def _alias_key(self, address: str) -> Key:
        return alias_key(address, self.business)

    def _keys(self, customer_id: str, entry: NumberEntry | None = None) -> list[Key]:
        return item_keys(customer_id, entry, self.business)

    def resolve(
        self, address: str, items: list[Item], entry: NumberEntry | None = None
    ) -> tuple[str | None, list[Item]]:
        """The customer id an address names and that customer's items, from what `lookup_keys` read
        (one more read when the address is an alias, or the customer was absorbed); (None, []) when
        the address names nobody."""
        found = canonical(address)
        by_key = _by_key(items)
        target = _alias(by_key, self.business, found)
        if target == RETIRED:
            return None, []
        if target is not None and target != found:
            found, items = target, self.table.batch_get(self._keys(target, entry))
            by_key = _by_key(items)
        for _ in range(_MAX_HOPS):
            if not _exists(by_key, self.business, found):
                return None, []
            onward = _merged_into(by_key, self.business, found)
            if onward is None:
                return found, items
            found, items = onward, self.table.batch_get(self._keys(onward, entry))
            by_key = _by_key(items)
        raise RuntimeError(f"customers merged into each other past {_MAX_HOPS} hops")

    def find(self, address: str, entry: NumberEntry | None = None) -> tuple[str | None, list[Item]]:
        """The customer an address names, with their items (as the number `entry` sees them)."""
        keys = lookup_keys(address, entry, self.business)
        return self.resolve(address, self.table.batch_get(keys), entry) if keys else (None, [])

    def link(self, identity: CustomerIdentity, *, at: int | None = None) -> str:
        """The customer this identity is (created when new), every address of it now naming them.
        Two customers it shows to be one person are joined.

        The BSUID decides who someone is (it is per person): a known one names its customer; one
        its customer left (a late message) names them still and moves nothing; a new one with a
        number whose customer has another BSUID is a new person (the number changed hands); the
        number then names whoever used it last (`at`: when this identity wrote, by Meta's clock)."""
        addresses = identity.addresses()
        if not addresses:
            raise ValueError("a customer needs a phone number, a user id or a username")
        keys = [key for address in addresses for key in (self._alias_key(address), *self._keys(address))]
        by_key = _by_key(self.table.batch_get(keys))
        person = identity.user_id or identity.parent_user_id
        if person is not None:
            former = _former(by_key, self.business, person)
            if former is not None:
                return self._final(former)  # a late message under a BSUID its customer has left
        ids, keep_number = self._owners(identity, by_key, at)
        customer = ids[0] if ids else self._fresh_id(identity, by_key)
        for other in ids[1:]:
            self.absorb(other, into=customer)
        for address in addresses:
            current = _alias(by_key, self.business, address)
            if keep_number and address == identity.phone_key:
                continue
            # An id's own address needs no alias, unless one points elsewhere (the number came back).
            if current != customer and (address != customer or current is not None):
                self.point(address, customer)
        return customer

    def _owners(
        self, identity: CustomerIdentity, by_key: dict[tuple[str, str], Item], at: int | None
    ) -> tuple[list[str], bool]:
        """The customers this identity's names lead to, the phone number's first (producers address
        by phone); and whether the number stays with another customer who used it later."""
        ids: list[str] = []
        keep_number = False
        if identity.phone_key:
            owner, profile = self._owner(identity.phone_key, by_key)
            known = profile.get("user_id") if profile else None
            # A number whose customer has another BSUID was given up and now is someone else's.
            if owner is not None and not (identity.user_id and known and known != identity.user_id):
                ids.append(owner)
            elif owner is not None and at is not None:
                keep_number = latest_inbound(profile) > at
        for address in (identity.user_id, identity.parent_user_id):
            owner = self._owner(address, by_key)[0] if address else None
            if owner is not None:
                ids.append(owner)
        return list(dict.fromkeys(ids)), keep_number

    def change(self, old: CustomerIdentity, new: CustomerIdentity, *, at: int) -> str:
        """A customer's number or BSUID changed (`user_changed_number`, `user_changed_user_id`,
        `user_id_update`; `at`: when, by Meta's clock): the new addresses name them, the old ones of
        the same kind nobody (a late message under them still reaches them); their choices stay
        theirs. A customer the new address already names is joined only if it began around the
        change (the new name wrote before the news arrived); an older one is someone else, whose
        number this now is."""
        # Run again (a failure after the change), the old names are retired already: they still
        # lead to their customer, where `link` would take a retired number for someone new.
        customer = self._former_customer(old) or self.link(old)
        for address in new.addresses():
            owner, items = self.find(address)
            if owner is not None and owner != customer:
                profile = _by_key(items).get((self._pk(owner), "PROFILE")) or {}
                if int(profile.get("created_at") or 0) >= at - CHANGE_SLACK_SECONDS:
                    self.absorb(owner, into=customer)
            self.point(address, customer)
        leaving = [
            before
            for before, after in ((old.phone_key, new.phone_key), (old.user_id, new.user_id))
            if before and after and before != after
        ]
        for address in leaving:
            self.retire(address, customer)
        sets, removes = ["updated_at = :now"], []
        values: dict[str, Any] = {":now": self._now()}
        if new.phone_key:
            sets.append("wa_id = :phone")
            values[":phone"] = new.phone_key
            if not new.user_id:
                removes.append("user_id")  # Meta makes a new BSUID with a new number: the old one is stale
        if new.user_id:
            sets.append("user_id = :user_id")
            values[":user_id"] = new.user_id
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self.table.update({"pk": self._pk(customer), "sk": "PROFILE"}, Update(expression, values))
        return customer

    def _former_customer(self, identity: CustomerIdentity) -> str | None:
        """The customer whose retired name this identity's phone number or BSUID is, if any."""
        names = [address for address in (identity.phone_key, identity.user_id) if address]
        by_key = _by_key(self.table.batch_get([self._alias_key(address) for address in names])) if names else {}
        for address in names:
            former = _former(by_key, self.business, address)
            if former is not None:
                return self._final(former)
        return None

    def retire(self, address: str, customer: str) -> None:
        """`address` names nobody any more; it was `customer`'s (a late message under it is theirs)."""
        self.table.update(
            self._alias_key(address),
            Update(
                "SET customer = :none, former = :customer, updated_at = :now",
                {":none": RETIRED, ":customer": customer, ":now": self._now()},
            ),
        )

    def _final(self, customer: str) -> str:
        """The customer an id leads to (following joins)."""
        found, _ = self.resolve(customer, self.table.batch_get(self._keys(customer)))
        return found or customer

    def point(self, address: str, customer: str) -> None:
        """Make `address` name `customer` (RETIRED: name nobody)."""
        self.table.update(
            self._alias_key(address),
            Update("SET customer = :customer, updated_at = :now", {":customer": customer, ":now": self._now()}),
        )

    def _fresh_id(self, identity: CustomerIdentity, by_key: dict[tuple[str, str], Item]) -> str:
        # Phone digits first: producers address customers by phone, and find them in one read. An
        # id whose partition is taken (a number that changed hands) is not reused.
        for candidate in (identity.phone_key, *identity.addresses()):
            if (
                candidate
                and not candidate.startswith(USERNAME_PREFIX)
                and not _exists(by_key, self.business, candidate)
            ):
                return candidate
        return f"{identity.addresses()[0]}~{uuid.uuid4().hex[:12]}"

    def _owner(self, address: str, by_key: dict[tuple[str, str], Item]) -> tuple[str | None, Item | None]:
        """The customer an address names and their profile, from what `link` read."""
        if _alias(by_key, self.business, address) is None and _merged_into(by_key, self.business, address) is None:
            found = address if _exists(by_key, self.business, address) else None
            return found, by_key.get((self._pk(address), "PROFILE"))
        mine = [item for key, item in by_key.items() if key[0] in (self._alias_key(address)["pk"], self._pk(address))]
        owner, items = self.resolve(address, mine)
        return owner, _by_key(items).get((self._pk(owner), "PROFILE")) if owner else None

    def absorb(self, other: str, *, into: str) -> None:
        """Carry another customer's choices (every number's), windows and history over; a MERGED
        item in their partition then leads every lookup of them to `into`."""
        everything = self.table.query("pk = :pk", {":pk": self._pk(other)})
        theirs = {item["sk"]: item for item in everything if not item["sk"].startswith("HIST#")}
        own = [sk for sk in theirs if sk.startswith(("OPT#", "HANDOVER#"))]
        ours = _by_key(self.table.batch_get([*self._keys(into), *({"pk": self._pk(into), "sk": sk} for sk in own)]))
        for sk, item in theirs.items():
            kind = sk.partition("#")[0]
            if kind in _CHOICES and _later(item, ours.get((self._pk(into), sk)), *_CHOICES[kind]):
                self._copy(item, into)
        if "PROFILE" in theirs:
            self._merge_profile(theirs["PROFILE"], into)
        self.table.batch_put({**item, "pk": self._pk(into)} for item in everything if item["sk"].startswith("HIST#"))
        self.table.update(
            {"pk": self._pk(other), "sk": MERGED},
            Update(
                "SET #into = :into, merged_at = :now", {":into": into, ":now": self._now()}, names={"#into": "into"}
            ),
        )

    def _copy(self, item: Item | None, into: str) -> None:
        if item is not None:
            self.table.batch_put([{**item, "pk": self._pk(into)}])

    def _merge_profile(self, theirs: Item, into: str) -> None:
        sets = ["updated_at = :now"]
        values: dict[str, Any] = {":now": self._now()}
        names: dict[str, str] = {}
        firsts = [name for name in theirs if name == "first_inbound_wamid" or name.startswith("first_inbound_wamid#")]
        for index, name in enumerate(("created_at", *firsts)):
            if name in theirs:
                names[f"#f{index}"] = name
                sets.append(f"#f{index} = if_not_exists(#f{index}, :f{index})")
                values[f":f{index}"] = theirs[name]
        for name in ("wa_id", "user_id", "parent_user_id", "username", "profile_name"):
            if theirs.get(name):
                sets.append(f"{name} = if_not_exists({name}, :{name})")
                values[f":{name}"] = theirs[name]
        key = {"pk": self._pk(into), "sk": "PROFILE"}
        self.table.update(key, Update("SET " + ", ".join(sets), values, names))
        # Each number's window: theirs where it is the later (one update each: its own condition).
        for window in (name for name in theirs if name.partition("#")[0] == "last_inbound_at"):
            suffix = window.removeprefix("last_inbound_at")
            self.table.update(
                key,
                Update(
                    "SET #at = :at, #wamid = :wamid",
                    {":at": theirs[window], ":wamid": theirs.get("last_inbound_wamid" + suffix, "")},
                    {"#at": window, "#wamid": "last_inbound_wamid" + suffix},
                    condition="attribute_not_exists(#at) OR #at < :at",
                ),
            )


# Which of a customer's items are choices, and how the later one is told (`_later`).
_CHOICES = {
    "OPT": ("opt_changed_at", "opted_out"),
    "MARKETING": ("marketing_changed_at", None),
    "HANDOVER": ("handover_until", None),
}


def latest_inbound(profile: Item | None) -> int:
    """When the customer last wrote or called any number (0: never)."""
    found = [int(value or 0) for name, value in (profile or {}).items() if name.partition("#")[0] == "last_inbound_at"]
    return max(found, default=0)


def _later(theirs: Item | None, ours: Item | None, stamp: str, flag: str | None) -> bool:
    """Whether their choice is the one to keep: the later one; at the same second, an opt-out."""
    if theirs is None:
        return False
    if ours is None:
        return True
    mine, their_at = ours.get(stamp) or 0, theirs.get(stamp) or 0
    if their_at != mine:
        return bool(their_at > mine)
    return flag is not None and bool(theirs.get(flag)) and not ours.get(flag)
