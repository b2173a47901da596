"""Who a customer is, in every name Meta gives them: phone number, business-scoped user id (BSUID),
parent BSUID (linked business portfolios) and username. A webhook may carry any subset; since
mid-2026 a customer with a username may come without a phone number at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wacloud.models.keys import customer_key, is_user_id

if TYPE_CHECKING:
    from wacloud.models.webhook import Contact, InboundMessage

USERNAME_PREFIX = "@"


@dataclass(frozen=True)
class CustomerIdentity:
    phone: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None

    @classmethod
    def of(cls, address: str) -> CustomerIdentity:
        """The identity an address names on its own (a BSUID, a username or a phone number)."""
        address = address.strip()
        if address.startswith(USERNAME_PREFIX):
            return cls(username=address.removeprefix(USERNAME_PREFIX) or None)
        if is_user_id(address):
            return cls(parent_user_id=address) if ".ENT." in address else cls(user_id=address)
        return cls(phone=customer_key(address) or None)

    @classmethod
    def from_message(cls, message: InboundMessage, contact: Contact | None) -> CustomerIdentity:
        """The sender of an inbound message, with what the webhook's contact adds."""
        profile = contact.profile if contact else None
        return cls(
            phone=_clean(message.from_) or _clean(contact.wa_id if contact else None),
            user_id=_clean(message.from_user_id) or _clean(contact.user_id if contact else None),
            parent_user_id=_clean(contact.parent_user_id if contact else None),
            username=_clean(profile.username.lstrip(USERNAME_PREFIX) if profile and profile.username else None),
        )

    @property
    def primary(self) -> str:
        """The id this customer is ordered and addressed by: the BSUID (every webhook since April 2026
        carries it), else the phone digits, else the parent BSUID; "" when there is none."""
        return self.user_id or self.phone_key or self.parent_user_id or ""

    @property
    def phone_key(self) -> str:
        """The phone number's digits ("" when there is none)."""
        return customer_key(self.phone) if self.phone else ""

    def addresses(self) -> list[str]:
        """Every key this customer can be found by, in canonical form, most specific first."""
        found = [
            self.user_id,
            self.phone_key,
            self.parent_user_id,
            USERNAME_PREFIX + self.username.lstrip(USERNAME_PREFIX).lower() if self.username else None,
        ]
        return list(dict.fromkeys(address for address in found if address))

    def __bool__(self) -> bool:
        return bool(self.addresses())


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None
