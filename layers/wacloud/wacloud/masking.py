"""Masking for logs: phone numbers never appear in full, directly or inside a wamid, and
customers' text never appears at all."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

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


# --- The log formatter: a safety net under the call sites' own masking -------------------------
# Whatever reaches a log line (an exception's text, a traceback, an event logged whole) goes through
# `mask_log`: customer text by key, phone numbers and wamids wherever they appear in a string.
_TEXT_KEYS = frozenset({"body", "text", "caption", "profile_name", "input"})
_PHONE_KEYS = frozenset({"to", "from", "wa_id", "phone", "recipient_id", "customer", "sender"})
# A run of 8 to 15 digits standing alone (E.164 is at most 15), with or without its "+".
_PHONE_RUN = re.compile(r"(?<![\w.])\+?\d{8,15}(?!\w)")
_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]{8,}")
# A text field inside a dict's repr or a JSON string: `'body': '...'`, `"caption":"..."`.
_QUOTED_TEXT = re.compile(r"""(["'])(body|text|caption|name)\1(\s*:\s*)(["'])(?:(?!\4)[^\\]|\\.)*\4""")
# Pydantic quotes the offending input in its error text: `input_value='+16505551234'`.
_PYDANTIC_INPUT = re.compile(r"input_value=(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\{.*?\}|\[.*?\]|[^,\]\s]*)")


def mask_text(value: str) -> str:
    """Customer text, phone numbers and wamids inside free text (messages, errors, tracebacks) masked."""
    value = _PYDANTIC_INPUT.sub("input_value=<masked>", value)
    value = _QUOTED_TEXT.sub(r"\1\2\1\3<masked>", value)
    value = _WAMID.sub(lambda match: mask_wamid(match.group()), value)
    return _PHONE_RUN.sub(lambda match: mask_phone(match.group()), value)


def mask_log(value: Any, key: str | None = None) -> Any:
    """A log record (or any part of one) with customer data masked."""
    if isinstance(value, dict):
        # A contact's profile holds the customer's name.
        inner = {"name": "text"} if key == "profile" else {}
        return {k: mask_log(v, inner.get(str(k), str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_log(item, key) for item in value]
    if value is None or isinstance(value, bool) or (isinstance(value, int | float) and key not in _PHONE_KEYS):
        return value
    # Anything else is written as its str() (an exception object, in Powertools' stack_trace).
    value = str(value)
    if key in _TEXT_KEYS:
        return f"<{len(value)} characters>"
    if key in _PHONE_KEYS and not value.startswith("wamid~"):
        return mask_phone(value)
    return mask_text(value)


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log formatter, with `mask_log` applied to every record."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(mask_log(log))
