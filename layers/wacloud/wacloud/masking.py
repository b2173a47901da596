"""Masking for logs: phone numbers never appear in full, directly or inside a wamid."""

from __future__ import annotations

import hashlib

# Keys the processor derives from an inbound wamid (`read:<wamid>`, `reply:<wamid>`).
_WAMID_KEY_PREFIXES = ("read:", "reply:")


def mask_phone(value: str | None) -> str:
    """'+16505551234' -> '+165******34': at most a third of the characters and never all stay visible."""
    if not value:
        return ""
    head = min(4, len(value) // 3)
    tail = 2 if len(value) >= 8 else 0
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_wamid(wamid: str | None) -> str:
    """A wamid is base64 of data that includes the customer's number: log a short digest instead.

    The digest is stable, so log lines can still be matched: `mask_wamid(<wamid from the table>)`.
    """
    if not wamid:
        return ""
    return "wamid~" + hashlib.sha256(wamid.encode("utf-8")).hexdigest()[:16]


def mask_key(key: str) -> str:
    """An idempotency key for logs: producers' keys as they are, keys made of a wamid masked."""
    for prefix in _WAMID_KEY_PREFIXES:
        if key.startswith(prefix):
            return prefix + mask_wamid(key.removeprefix(prefix))
    return key
