"""Who a Graph message body is addressed to, as Meta reads it, and the simulated customers' ids.

Since 2026 a body names its recipient one of three ways: `to` with a phone number, `recipient` with a
business-scoped user id (BSUID, `US.13491208655302741918`) when no phone number is known, or
`recipient_type: "group"` with `to` the group's id. Meta refuses a body with both `to` and
`recipient`, and a BSUID in `to` (it goes in `recipient`), with 100.

Reference: ../shared/reference/meta-2026.md 3.2 (BSUIDs), 3.3 (groups).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from wacloud.local.meta.graph_errors import Refusal, refusal

# A BSUID: a country code, a dot, letters and digits; a parent id has an `ENT.` part.
_USER_ID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,250}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,30}$")
# Group ids are opaque to us: printable, no spaces, not a phone number or a BSUID.
_GROUP = re.compile(r"^[\x21-\x7e]{1,128}$")
# Calling codes of a few countries, for the country part of a simulated customer's BSUID.
_COUNTRIES = {"1": "US", "44": "GB", "49": "DE", "33": "FR", "34": "ES", "39": "IT", "55": "BR", "91": "IN"}
_COUNTRIES.update({"52": "MX", "972": "IL", "62": "ID", "234": "NG", "27": "ZA", "81": "JP"})


def is_user_id(address: str) -> bool:
    return bool(_USER_ID.match(address))


def address_key(address: str) -> str:
    """One spelling per customer: a phone number's digits; a BSUID or a group id as is."""
    if is_user_id(address) or not _PHONE.match(address):
        return address
    return re.sub(r"[^0-9]", "", address)


def user_id_for(seed: str) -> str:
    """A customer's BSUID, derived from their phone number (or username): the same every run."""
    digits = re.sub(r"[^0-9]", "", seed)
    country = next((_COUNTRIES[digits[:n]] for n in (3, 2, 1) if digits and digits[:n] in _COUNTRIES), "US")
    number = int.from_bytes(hashlib.sha256(f"wacloud-bsuid:{seed}".encode()).digest()[:8], "big")
    return f"{country}.{number:020d}"


@dataclass(frozen=True)
class Recipient:
    kind: str  # "phone", "user_id" or "group"
    address: str  # as the body gave it

    @property
    def key(self) -> str:
        return address_key(self.address)


def recipient_of(body: dict[str, Any]) -> Recipient | Refusal:
    """Whom a message body goes to, or Graph's 100 for an address it would not take."""
    to, bsuid, kind = body.get("to"), body.get("recipient"), body.get("recipient_type", "individual")
    if kind == "group":
        recipient, problem = Recipient("group", str(to)), _group_problem(to, bsuid)
    elif bsuid is not None:
        recipient, problem = Recipient("user_id", str(bsuid)), _user_id_problem(to, bsuid)
    else:
        recipient, problem = Recipient("phone", str(to)), _phone_problem(to)
    if kind not in ("individual", "group"):
        problem = f"recipient_type must be individual or group, not {kind!r}"
    return refusal(100, "(#100) Invalid parameter", problem) if problem else recipient


_EITHER = "give either to (a phone number or a group id) or recipient (a business-scoped user id)"


def _group_problem(to: Any, bsuid: Any) -> str | None:
    if bsuid is not None:
        return _EITHER
    ok = isinstance(to, str) and bool(_GROUP.match(to)) and not is_user_id(to) and not _PHONE.match(to)
    return None if ok else "a group message goes to the group's id in to"


def _user_id_problem(to: Any, bsuid: Any) -> str | None:
    if to is not None:
        return _EITHER
    if not isinstance(bsuid, str) or not is_user_id(bsuid):
        return f"recipient must be a business-scoped user id such as US.13491208655302741918: {bsuid!r}"
    return None


def _phone_problem(to: Any) -> str | None:
    if not isinstance(to, str) or not to:
        return "to (a phone number) or recipient (a business-scoped user id) is required"
    if is_user_id(to):
        return f"to takes a phone number; the business-scoped user id {to} goes in recipient"
    return None if _PHONE.match(to) else f"to must be a phone number: {to!r}"


def contacts_answer(recipient: Recipient) -> list[dict[str, str]]:
    """The `contacts` of Graph's answer to a send."""
    if recipient.kind == "user_id":
        return [{"input": recipient.address, "wa_id": "", "user_id": recipient.address}]
    return [{"input": recipient.address, "wa_id": recipient.key}]
