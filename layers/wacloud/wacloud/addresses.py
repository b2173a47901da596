"""Customer addresses: a phone number in any format, or a business-scoped user id (BSUID)."""

from __future__ import annotations

import re


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
