"""Carry what a stack kept before it served several numbers over to the number each record belongs
to (`wacloud migrate numbers`, once after upgrading; safe to run again).

The default number keeps the keys of the single-number version (`last_inbound_at`, `HANDOVER`,
`HIST#<at>`), and every opt-out kept (`OPT`) stays business-wide, binding every number: a stack that
served one number has nothing to carry over, and this changes none of its customers' items. What
can need carrying: before, nothing checked the number a webhook named, so messages to another
number of the same app were kept as the default number's (one window, handover and history for
both). The message records (`MSG#<wamid>`, kept `RecordRetentionDays`) name the number each message
was written to; from them, for every number but the default:

- its window: `last_inbound_at#<n>`, `last_inbound_wamid#<n>` (only forward) and
  `first_inbound_wamid#<n>` on the customer's profile;
- a live handover started by a message to it: copied to `HANDOVER#<n>`;
- history lines of messages to it: copied to `HIST#<n>#...`.

The items copied from stay as they are (the default number sees what it saw before). Never written:
`OPT`, `MARKETING`, `ALIAS#`, `MERGED`. The registry: the default number is stored in it when no
stored entry is the default, so that changing `PhoneNumberId` later does not hand the default
number's keys to another number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from wacloud.adapters.store import Store
from wacloud.adapters.store.customers import DEFAULT_HISTORY_PREFIX
from wacloud.adapters.store.identities import partition
from wacloud.adapters.table import Item, Update
from wacloud.errors import ConfigurationError
from wacloud.models.number_entry import NumberEntry


class Registry(Protocol):
    """What the migration needs of `adapters.registry.NumberRegistry`."""

    def default(self) -> NumberEntry | None: ...

    def stored(self) -> dict[str, NumberEntry]: ...

    def put(self, entry: NumberEntry) -> None: ...


@dataclass
class NumberMigrationReport:
    default_number: str = ""
    pinned: bool = False  # the default number was stored in the registry by this run
    customers: int = 0  # customer profiles read
    opt_outs: int = 0  # business-wide opt-outs kept as they are (each binds every number)
    messages: int = 0  # inbound message records read
    other_numbers: list[str] = field(default_factory=list)  # numbers other than the default written to
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
    default = registry.default()
    if default is None:
        raise ConfigurationError("the stack has no default number (PhoneNumberId, or a registry entry marked default)")
    report = NumberMigrationReport(default_number=default.phone_number_id)
    report.pinned = _pin(registry, default)
    numbers = _numbers_of_messages(store, default.phone_number_id, report)
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
            number = numbers.get(str(item.get("handover_wamid") or ""), _NONE)[0]
            if number and store.table.put_new({**item, "sk": f"HANDOVER#{number}"}):
                report.handovers += 1
        elif sk.startswith(DEFAULT_HISTORY_PREFIX):
            number = numbers.get(str(item.get("wamid") or ""), _NONE)[0]
            if number:
                history.append({**item, "sk": f"HIST#{number}#" + sk.removeprefix("HIST#")})
    # The same lines, written again by a second run, are the same items.
    store.table.batch_put(history)
    report.history = len(history)
    return report


def _pin(registry: Registry, default: NumberEntry) -> bool:
    """Store the default number unless a stored entry is the default already."""
    if any(entry.default for entry in registry.stored().values()):
        return False
    registry.put(default)
    return True


def _numbers_of_messages(store: Store, default_number: str, report: NumberMigrationReport) -> dict[str, _Message]:
    """wamid -> (number, sender's address, time) of every kept inbound message to another number."""
    found: dict[str, _Message] = {}
    for item in store.table.scan("begins_with(pk, :msg)", {":msg": "MSG#"}):
        if item.get("sk") != "MESSAGE" or item.get("direction") != "in":
            continue
        report.messages += 1
        number, sender = str(item.get("phone_number_id") or ""), str(item.get("customer") or "")
        if number and sender and number != default_number:
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
