"""The keys of a customer's items (`CONTACT#<customer id>`) and aliases (`ALIAS#<address>`): the one
place they are made.

Customers are a business portfolio's, as Meta's business-scoped user ids are: the same person
writing to numbers of two businesses is two customers, each with their own profile, aliases,
opt-outs, marketing choice, handovers and history. The default business keeps the keys of a
single-business stack, so such a stack reads and writes exactly what it always did; another
business's keys begin with `BUSINESS#<business>#` (`scope`), which no key of the default's can
(those begin with `CONTACT#` or `ALIAS#`, whatever address a producer gives).
"""

from __future__ import annotations

from wacloud.adapters.table import Key
from wacloud.models.identity import CustomerIdentity
from wacloud.models.number_entry import DEFAULT_BUSINESS, NumberEntry
from wacloud.models.records import number_scope

CUSTOMER_SKS = ("PROFILE", "OPT", "HANDOVER", "MARKETING")
MERGED = "MERGED"  # in an absorbed customer's partition: the customer they are now part of


def scope(business: str) -> str:
    """What the keys of a business's customers begin with: nothing for the default business (a
    single-business stack keeps the keys it always had), else `BUSINESS#<business>#`."""
    if business == DEFAULT_BUSINESS:
        return ""
    if not business or "#" in business:
        raise ValueError(f"not a business portfolio's name: {business!r}")
    return f"BUSINESS#{business}#"


def business_of(entry: NumberEntry | None, business: str | None = None) -> str:
    """The business whose customers the number `entry` serves (None: the default number's), or the
    one named when there is no number."""
    if entry is None:
        return business or DEFAULT_BUSINESS
    if business is not None and business != entry.business:
        raise ValueError(f"number {entry.phone_number_id} serves business {entry.business!r}, not {business!r}")
    return entry.business


def partition(customer_id: str, business: str = DEFAULT_BUSINESS) -> str:
    """The partition of a business's customer: the one place its key is made."""
    return f"{scope(business)}CONTACT#{customer_id}"


def opt_sk(entry: NumberEntry | None) -> str:
    """Where an opt-out said to this number is kept: `OPT` (business-wide, the default) or, for a
    number whose opt-outs are its own, `OPT#<number>`."""
    return f"OPT#{entry.phone_number_id}" if entry is not None and entry.opt_out_scope == "number" else "OPT"


def handover_sk(entry: NumberEntry | None) -> str:
    """A handover on this number: `HANDOVER` for the stack's own number (`number_scope`),
    `HANDOVER#<number>` for others."""
    number = number_scope(entry)
    return f"HANDOVER#{number}" if number else "HANDOVER"


def number_sks(entry: NumberEntry | None) -> tuple[str, ...]:
    """The items a number keeps of its own beside `CUSTOMER_SKS` (none for the default number with
    business-wide opt-outs: a single-number stack reads what it always read)."""
    return tuple(sk for sk in dict.fromkeys((opt_sk(entry), handover_sk(entry))) if sk not in CUSTOMER_SKS)


def item_keys(customer_id: str, entry: NumberEntry | None = None, business: str | None = None) -> list[Key]:
    """The keys of the items a customer's record is read from, as a number sees them (and of the
    mark of a customer who was absorbed into another); the number's business, else `business`."""
    pk = partition(customer_id, business_of(entry, business))
    return [{"pk": pk, "sk": sk} for sk in (*CUSTOMER_SKS, *number_sks(entry), MERGED)]


def alias_key(address: str, business: str = DEFAULT_BUSINESS) -> Key:
    return {"pk": f"{scope(business)}ALIAS#{address}", "sk": "ALIAS"}


def canonical(address: str) -> str:
    """An address in the form it is stored under ("" when it names nobody)."""
    addresses = CustomerIdentity.of(address).addresses()
    return addresses[0] if addresses else ""


def lookup_keys(address: str, entry: NumberEntry | None = None, business: str | None = None) -> list[Key]:
    """What to read to find the customer an address names, as the number `entry` sees them (among
    its business's customers; without a number, `business`'s), in one round trip (usually the only
    one)."""
    found, business = canonical(address), business_of(entry, business)
    return [alias_key(found, business), *item_keys(found, entry, business)] if found else []
