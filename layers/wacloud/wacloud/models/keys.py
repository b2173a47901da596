"""Keys: customer addresses in canonical form, stable digests (events, media objects, changes) and
FIFO group ids.

Apart from the models so that modules which only need a key (the sender's) never build the
webhook models: that is about 25 ms of a cold start."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# SQS MessageGroupId: at most 128 characters of ASCII letters, digits and punctuation.
_GROUP_ID_OK = re.compile(r"^[\x21-\x7e]{1,128}$")
# A business-scoped user id: a country code, a dot, then letters and digits (`US.13491208655302741918`;
# a parent id has an `ENT.` part: `US.ENT.1349...`).
USER_ID_PATTERN = r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,250}$"
_USER_ID = re.compile(USER_ID_PATTERN)


def digest(value: Any) -> str:
    """A stable SHA-256 hex digest of a JSON value (keys sorted) or of bytes/str."""
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
    else:
        data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return hashlib.sha256(data).hexdigest()


def group_id(value: str, *, fallback: str) -> str:
    """A valid FIFO group id for `value` (hashed when SQS would refuse it as is)."""
    if not value:
        return fallback
    return value if _GROUP_ID_OK.match(value) else "h-" + digest(value)[:40]


def customer_key(address: str) -> str:
    """The canonical form used for keys and groups: digits of a phone number, a BSUID as is.

    Webhooks give `16505551234`, producers write `+1 650-555-1234`: both are one customer.
    """
    address = address.strip()
    if address[:1] in "+0123456789(":
        digits = re.sub(r"[^0-9]", "", address)
        if digits:
            return digits
    return address


def is_user_id(address: str) -> bool:
    """Whether an address is a business-scoped user id (BSUID or parent BSUID), not a phone number
    or a group id."""
    return bool(_USER_ID.match(address.strip()))
