"""The simulated customers and groups, and their conversations with the business as the chat view
draws them (a customer's bubbles each name the business number: one conversation per number).

A customer is known by a phone number, or (having chosen a username and no recent contact) only by
their business-scoped user id; either way they have a BSUID, derived from the phone number or the
username so it is the same every run. A group has an id, participants (customers) and the business
number it belongs to (the one that made it): its webhooks name that number, its messages go from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wacloud.local.meta.addressing import address_key, is_user_id, user_id_for


@dataclass
class Bubble:
    """One message in a conversation, as the chat view draws it."""

    id: str
    direction: str  # "in": a customer wrote it; "out": the business sent it
    type: str
    message: dict[str, Any]
    at: float
    status: str  # out: accepted, sent, delivered, read or failed; in: sent, delivered (to the webhook), read
    error: dict[str, Any] | None = None
    rendered: dict[str, Any] | None = None  # a template's text with its parameters filled in
    reaction: str | None = None  # the other side's reaction
    phone_number_id: str | None = None  # the business number it went to or out from
    author: str | None = None  # in a group: the participant who wrote it


@dataclass
class Conversation:
    bubbles: list[Bubble] = field(default_factory=list)

    def find(self, wamid: str | None) -> Bubble | None:
        return next((b for b in self.bubbles if b.id == wamid), None) if wamid else None


@dataclass
class Customer(Conversation):
    wa_id: str = ""  # the conversation's key: the phone number's digits, or the BSUID when there is none
    name: str = ""
    phone: str = ""  # "" for a customer known only by BSUID and username
    user_id: str = ""
    username: str | None = None
    typing_until: float = 0.0
    typing_number: str | None = None  # the business number typing to them
    unreachable: int | None = None  # deliveries to this customer fail with this Meta code

    @property
    def label(self) -> str:
        """How the business sees them: +phone, or @username."""
        return f"+{self.phone}" if self.phone else f"@{self.username or self.user_id}"

    def view(self, now: float) -> dict[str, Any]:
        """What the chat view shows of them."""
        shown = ("wa_id", "name", "phone", "user_id", "username", "unreachable")
        return {
            **{name: getattr(self, name) for name in shown},
            "label": self.label,
            "typing": self.typing_until > now,
            "typing_number": self.typing_number,
            "bubbles": [bubble.__dict__ for bubble in self.bubbles],
        }


@dataclass
class Group(Conversation):
    id: str = ""
    subject: str = ""
    participants: list[str] = field(default_factory=list)  # customers' keys
    phone_number_id: str = ""  # the business number whose group it is

    def view(self) -> dict[str, Any]:
        bubbles = [bubble.__dict__ for bubble in self.bubbles]
        shown = {"id": self.id, "subject": self.subject, "participants": self.participants}
        return {**shown, "phone_number_id": self.phone_number_id, "bubbles": bubbles}


class Directory:
    """The customers and groups. Not thread-safe: the simulator calls it with its lock held."""

    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.groups: dict[str, Group] = {}

    def customer(self, address: str, name: str | None = None, username: str | None = None) -> Customer:
        """The customer with this phone number, BSUID or `@username`, made on first use."""
        address = address.strip()
        if address.startswith("@"):
            username = address[1:]
            address = user_id_for(address)
        key = address_key(re.sub(r"[^0-9A-Za-z.+]", "", address))
        customer = self.find(key)
        if customer is None:
            phone = "" if is_user_id(key) else key
            customer = Customer(wa_id=key, phone=phone, user_id=key if not phone else user_id_for(key))
            customer.name = name or (f"Customer {key[-4:]}" if phone else username or f"User {key[-4:]}")
            self.customers[key] = customer
        elif name:
            customer.name = name
        if username:
            customer.username = username
        return customer

    def find(self, address: str) -> Customer | None:
        """By phone number or by BSUID."""
        key = address_key(address)
        return self.customers.get(key) or next((c for c in self.customers.values() if c.user_id == key), None)

    def group(
        self,
        group_id: str,
        subject: str | None = None,
        participants: list[str] | None = None,
        *,
        number: str = "",
        claim: bool = False,
    ) -> Group:
        """The group, made on first use as business number `number`'s: it keeps that number (with
        `claim`, naming another one is a ValueError; without, as Meta names it, it is ignored)."""
        group = self.groups.get(group_id)
        if group is None:
            group = Group(id=group_id, subject=subject or f"Group {group_id[-4:]}", phone_number_id=number)
            self.groups[group_id] = group
        elif claim and number and group.phone_number_id and group.phone_number_id != number:
            raise ValueError(f"group {group_id} is number {group.phone_number_id}'s, not {number}'s")
        if subject:
            group.subject = subject
        for address in participants or []:
            key = self.customer(address).wa_id
            if key not in group.participants:
                group.participants.append(key)
        return group

    def conversation_of(self, wamid: str) -> Conversation | None:
        everyone: list[Conversation] = [*self.customers.values(), *self.groups.values()]
        return next((c for c in everyone if c.find(wamid) is not None), None)
