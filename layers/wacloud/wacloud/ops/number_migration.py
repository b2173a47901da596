"""Carry what a stack kept before it served several numbers over to the number each record belongs
to (`wacloud migrate numbers`, once after upgrading; safe to run again).

The stack's own number keeps the keys of the single-number version (`last_inbound_at`, `HANDOVER`,
`HIST#<at>`), and every opt-out kept (`OPT`) stays business-wide, binding every number: a stack that
served one number has nothing to carry over, and this changes none of its customers' items. What
can need carrying: before, nothing checked the number a webhook named, so messages to another
number of the same app were kept as the stack's own number's (one window, handover and history for
both). The message records (`MSG#<wamid>`, kept `RecordRetentionDays`) name the number each message
was written to; from them, for every other number of the default business (a number of another
business portfolio has customers of its own, never the default business's: its messages are
counted and left alone):

- its window: `last_inbound_at#<n>`, `last_inbound_wamid#<n>` (only forward) and
  `first_inbound_wamid#<n>` on the customer's profile;
- a live handover started by a message to it: copied to `HANDOVER#<n>`, once: the `HANDOVER` item
  copied from is marked (`copied_wamid`), so a second run leaves a copy released since released;
- history lines of messages to it: copied to `HIST#<n>#...`.

The items copied from stay as they are (the stack's own number sees what it saw before; a handover
gains its mark). Never written: `OPT`, `MARKETING`, `ALIAS#`, `MERGED`. The registry: the stack's own
number is stored in it, marked as keeping the unsuffixed keys (`unsuffixed_keys`), unless a stored
entry is marked so already: changing `PhoneNumberId` later, or moving the default, hands them to no
other number.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from wacloud.adapters.store import Store
from wacloud.adapters.store.customers import DEFAULT_HISTORY_PREFIX
from wacloud.adapters.store.identities import partition
from wacloud.adapters.table import Item, Update
from wacloud.errors import ConfigurationError
from wacloud.models.number_entry import DEFAULT_BUSINESS, NumberEntry

# On a `HANDOVER` item: the wamid of the handover that was copied to its number's `HANDOVER#<n>`.
COPIED = "copied_wamid"


class Registry(Protocol):
    """What the migration needs of `adapters.registry.NumberRegistry`."""

    def default(self) -> NumberEntry | None: ...

    def unsuffixed(self) -> NumberEntry | None: ...

    def stored(self) -> dict[str, NumberEntry]: ...

    def put(self, entry: NumberEntry) -> None: ...


@dataclass
class NumberMigrationReport:
    default_number: str = ""  # the number that sends documents naming none
    unsuffixed_number: str = ""  # the number that keeps the unsuffixed keys (the stack's own)
    pinned: bool = False  # that number was stored in the registry, marked so, by this run
    customers: int = 0  # customer profiles read
    opt_outs: int = 0  # business-wide opt-outs kept as they are (each binds every number)
    messages: int = 0  # inbound message records read
    other_business: int = 0  # of those, messages to a number of another business: not carried over
    other_numbers: list[str] = field(default_factory=list)  # numbers other than the stack's own written to
    windows: int = 0  # another number's window set on a profile
    handovers: int = 0  # handovers copied to their number
    history: int = 0  # history lines copied to their number


_Message = tuple[str, str, int]  # a kept inbound message's number, its sender's address, its time
_NONE: _Message = ("", "", 0)


@dataclass
class _Written:
    """A customer's first and last message to one number, from the message records."""

    first_wamid: str
    last_wamid: str
    last_at: int


def migrate_numbers(
    store: Store, registry: Registry, *, clock: Callable[[], float] = time.time
) -> NumberMigrationReport:
    own = registry.unsuffixed()
    if own is None:
        raise ConfigurationError("the stack has no number of its own (PhoneNumberId) to keep the unsuffixed keys")
    default = registry.default()
    report = NumberMigrationReport(
        default_number=default.phone_number_id if default else "", unsuffixed_number=own.phone_number_id
    )
    stored = registry.stored()
    report.pinned = _pin(registry, own, stored)
    elsewhere = {n for n, entry in stored.items() if entry.business != DEFAULT_BUSINESS and n != own.phone_number_id}
    numbers = _numbers_of_messages(store, own.phone_number_id, elsewhere, report)
    report.other_numbers = sorted({number for number, _, _ in numbers.values()})
    _set_windows(store, numbers, report)
    now = int(clock())
    history: list[Item] = []
    for item in store.table.scan("begins_with(pk, :contact)", {":contact": "CONTACT#"}):
        sk = str(item["sk"])
        if sk == "PROFILE":
            report.customers += 1
        elif sk == "OPT" and item.get("opted_out"):
            report.opt_outs += 1
        elif sk == "HANDOVER" and int(item.get("handover_until") or 0) > now:
            report.handovers += _copy_handover(store, item, numbers)
        elif sk.startswith(DEFAULT_HISTORY_PREFIX):
            number = numbers.get(str(item.get("wamid") or ""), _NONE)[0]
            if number:
                history.append({**item, "sk": f"HIST#{number}#" + sk.removeprefix("HIST#")})
    # The same lines, written again by a second run, are the same items.
    store.table.batch_put(history)
    report.history = len(history)
    return report


def _pin(registry: Registry, own: NumberEntry, stored: dict[str, NumberEntry]) -> bool:
    """Store the number keeping the unsuffixed keys, marked so, unless a stored entry is marked."""
    if any(entry.unsuffixed_keys for entry in stored.values()):
        return False
    registry.put(dataclasses.replace(own, unsuffixed_keys=True))
    return True


def _copy_handover(store: Store, item: Item, numbers: dict[str, _Message]) -> int:
    """Copy a live `HANDOVER` started by a message to another number to that number, once: 1 if a
    copy was written. The source is marked with the handover's wamid after the copy, only while it
    still holds that handover; a marked source is not copied again, so a copy released (deleted)
    since stays released. A run stopped in between copies again, as the first run would."""
    wamid = str(item.get("handover_wamid") or "")
    number = numbers.get(wamid, _NONE)[0]
    if not number or item.get(COPIED) == wamid:
        return 0
    copy = {name: value for name, value in item.items() if name != COPIED}
    written = store.table.put_new({**copy, "sk": f"HANDOVER#{number}"})
    store.table.update(
        {"pk": item["pk"], "sk": "HANDOVER"},
        Update("SET #copied = :wamid", {":wamid": wamid}, {"#copied": COPIED}, condition="handover_wamid = :wamid"),
    )
    return int(written)


def _numbers_of_messages(
    store: Store, own_number: str, elsewhere: set[str], report: NumberMigrationReport
) -> dict[str, _Message]:
    """wamid -> (number, sender's address, time) of every kept inbound message to another number of
    the default business; `elsewhere`: the numbers of other businesses."""
    found: dict[str, _Message] = {}
    for item in store.table.scan("begins_with(pk, :msg)", {":msg": "MSG#"}):
        if item.get("sk") != "MESSAGE" or item.get("direction") != "in":
            continue
        report.messages += 1
        number, sender = str(item.get("phone_number_id") or ""), str(item.get("customer") or "")
        if number in elsewhere:
            # Its sender is that business's customer: the default business's of the same address is
            # someone else, whose profile must not gain this number's window.
            report.other_business += 1
        elif number and sender and number != own_number:
            found[str(item["wamid"])] = (number, sender, int(item.get("at_received") or 0))
    return found


def _set_windows(store: Store, numbers: dict[str, _Message], report: NumberMigrationReport) -> None:
    """Each other number's window on the profile of the customer who wrote to it."""
    written: dict[tuple[str, str], _Written] = {}
    for wamid, (number, sender, at) in sorted(numbers.items(), key=lambda pair: pair[1][2]):
        known = written.get((sender, number))
        if known is None:
            written[sender, number] = _Written(first_wamid=wamid, last_wamid=wamid, last_at=at)
        else:
            known.last_at, known.last_wamid = at, wamid  # sorted by time: the later one
    customers: dict[str, str | None] = {}
    for (sender, number), messages in written.items():
        if sender not in customers:
            customers[sender] = store.customers.identities.find(sender)[0]
        customer = customers[sender]
        if customer is None:
            continue  # their profile expired since: nothing to keep a window on
        update = Update(
            "SET #at = :at, #wamid = :wamid, #first = if_not_exists(#first, :first)",
            {":at": messages.last_at, ":wamid": messages.last_wamid, ":first": messages.first_wamid},
            {
                "#at": f"last_inbound_at#{number}",
                "#wamid": f"last_inbound_wamid#{number}",
                "#first": f"first_inbound_wamid#{number}",
            },
            # Only forward, and only on a profile that exists (a new one would never expire).
            condition="attribute_exists(pk) AND (attribute_not_exists(#at) OR #at < :at)",
        )
        if store.table.update({"pk": partition(customer), "sk": "PROFILE"}, update) is not None:
            report.windows += 1
