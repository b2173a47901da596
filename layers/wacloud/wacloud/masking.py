"""Masking for logs: phone numbers and message text never appear in full."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """'+16505551234' -> '+165******34': at most a third of the characters and never all stay visible."""
    if not value:
        return ""
    head = min(4, len(value) // 3)
    tail = 2 if len(value) >= 8 else 0
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_text(value: str | None) -> str:
    """Message text is reduced to its length."""
    return f"<{len(value)} chars>" if value else ""
