"""Masking for logs: phone numbers and message text never appear in full."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """'+16505551234' -> '+1650*****34'; short or empty values are masked whole."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:5] + "*" * (len(value) - 7) + value[-2:]


def mask_text(value: str | None) -> str:
    """Message text is reduced to its length."""
    return f"<{len(value)} chars>" if value else ""
