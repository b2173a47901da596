"""Which events of a verified body this stack serves: the split events (`inbound/split.py`) of one
ingress parted into those to queue and those to refuse, each refusal with its reason.

  event                                       served when
  names a number (document's phone_number_id,  the registry has it, and
    else value.metadata.phone_number_id:        - webhook: the number's app is the ingress's app
    calls, groups)                              - End User Messaging Social: the number's WABA is
                                                  one the envelope names (or the entry has none)
  names no number (template status, quality,   its WABA (the entry's id) is one the ingress serves
    category, account_update)
  unparsed                                     always: the processor records it (as today)

An app's signature proves only that the body came from that Meta app: a number of another app in it
is refused, so one app's leaked secret cannot inject another app's numbers. Plain dicts (no
pydantic): the webhook runs this on every POST.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from wacloud.inbound.split import SplitEvent
from wacloud.models.number_entry import NumberEntry

WEBHOOK = "webhook"
EUM = "eum"


class Numbers(Protocol):
    """What `serving` reads of the registry (`adapters/registry.NumberRegistry`)."""

    def get(self, phone_number_id: str) -> NumberEntry | None: ...

    def entries(self) -> list[NumberEntry]: ...


@dataclass(frozen=True)
class Ingress:
    """How a body came in, and the WABAs whose number-less fields it may carry."""

    source: str  # WEBHOOK or EUM
    app: str = ""  # the webhook's app (its secret verified the body); "" for EUM
    wabas: frozenset[str] = frozenset()
    # An app number without a WABA (a stack that never set WabaId): a number-less field of a WABA
    # that no other app serves is taken as this app's, as before there was a registry.
    open_wabas: bool = False
    others: frozenset[str] = frozenset()  # WABAs of every other app (never taken as this app's)

    @classmethod
    def webhook(cls, app: str, numbers: Numbers) -> Ingress:
        """The webhook path of Meta app `app`."""
        every = numbers.entries()
        own = [entry for entry in every if entry.app == app]
        return cls(
            source=WEBHOOK,
            app=app,
            wabas=frozenset(entry.waba_id for entry in own if entry.waba_id),
            open_wabas=any(not entry.waba_id for entry in own),
            others=frozenset(entry.waba_id for entry in every if entry.waba_id and entry.app != app),
        )

    @classmethod
    def eum(cls, envelope_wabas: Iterable[str], numbers: Numbers) -> Ingress:
        """An End User Messaging Social event: the WABAs its envelope names that the registry serves."""
        served = frozenset(entry.waba_id for entry in numbers.entries() if entry.waba_id)
        return cls(source=EUM, wabas=frozenset(envelope_wabas) & served)

    @property
    def label(self) -> str:
        """Where the events came from, as a refusal's reason says it."""
        return f"webhook of app {self.app!r}" if self.source == WEBHOOK else "End User Messaging Social"


@dataclass(frozen=True)
class Refusal:
    event: SplitEvent
    reason: str


def partition(
    events: Iterable[SplitEvent], ingress: Ingress, numbers: Numbers, *, envelope_wabas: Iterable[str] = ()
) -> tuple[list[SplitEvent], list[Refusal]]:
    """(events to queue, in order; events refused with the reason). `envelope_wabas`: for EUM, every
    WABA the envelope names (a number's WABA is checked against them, served or not)."""
    named = frozenset(envelope_wabas)
    accepted: list[SplitEvent] = []
    refused: list[Refusal] = []
    for event in events:
        reason = _refusal(event, ingress, numbers, named)
        if reason is None:
            accepted.append(event)
        else:
            refused.append(Refusal(event, f"{reason} ({ingress.label})"))
    return accepted, refused


def event_number(document: dict[str, Any]) -> str:
    """The phone number id an event names: its envelope's, else its value's metadata (calls and
    groups come as changes of their own field); "" when it names none."""
    number = document.get("phone_number_id")
    if isinstance(number, str) and number:
        return number
    value = document.get("value")
    metadata = value.get("metadata") if isinstance(value, dict) else None
    number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    return number if isinstance(number, str) else ""


def _refusal(event: SplitEvent, ingress: Ingress, numbers: Numbers, named: frozenset[str]) -> str | None:
    if event.kind == "unparsed":
        return None
    number = event_number(event.document)
    if number:
        return _number_refusal(number, ingress, numbers, named)
    if event.kind in ("message", "status") or _names_a_number(event.document.get("field")):
        # Taken as the default number's downstream: an app's secret must not speak for it.
        return "the event names no phone number id"
    waba = event.document.get("waba_id")
    return _waba_refusal(waba if isinstance(waba, str) else "", ingress)


def _number_refusal(number: str, ingress: Ingress, numbers: Numbers, named: frozenset[str]) -> str | None:
    entry = numbers.get(number)
    if entry is None:
        return f"phone number id {number} is not served by this stack"
    if ingress.source == WEBHOOK and entry.app != ingress.app:
        return f"phone number id {number} belongs to app {entry.app!r}, not {ingress.app!r}"
    if ingress.source == EUM and entry.waba_id and entry.waba_id not in named:
        shown = ", ".join(sorted(named)) or "none"
        return f"phone number id {number} belongs to WABA {entry.waba_id}, not the event's ({shown})"
    return None


def _names_a_number(field: object) -> bool:
    """A change that is about one number's customers (calls, groups): it must say which number."""
    return isinstance(field, str) and (field == "calls" or field.startswith("group_"))


def _waba_refusal(waba: str, ingress: Ingress) -> str | None:
    """A field that names no number (template, quality, account updates): by its WABA."""
    if waba in ingress.wabas or (ingress.open_wabas and waba not in ingress.others):
        return None
    if not waba:
        return "the event names neither a phone number id nor a WABA"
    if ingress.source == WEBHOOK:
        return f"WABA {waba} is not served by app {ingress.app!r}"
    return f"WABA {waba} is not served by this stack"
