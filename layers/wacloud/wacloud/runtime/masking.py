"""Masking for logs: phone numbers never appear in full, directly or inside a wamid, and
customers' text never appears at all."""

from __future__ import annotations

import hashlib
import re
from typing import Any

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
# `mask_log`: credentials and customers' words by key, phone numbers and wamids wherever they appear.
_SECRET_KEYS = frozenset(
    {"access_token", "app_secret", "verify_token", "hub.verify_token", "authorization", "x-amz-security-token"}
    | {"cookie"}
)
_TEXT_KEYS = frozenset(
    {
        "body", "text", "caption", "profile_name", "input", "formatted_name", "first_name", "last_name",
        "middle_name", "email", "address", "street", "latitude", "longitude",
    }
)  # fmt: skip
_PHONE_KEYS = frozenset({"to", "from", "wa_id", "phone", "recipient_id", "customer", "sender"})
# Whose `name` is a person's or a place's (a template's or a file's name is not).
_NAMED = frozenset({"profile", "name", "location"})
# Ids and context Powertools and Meta put on lines: never customer data, and needed to find a line.
_KEEP_KEYS = frozenset(
    {
        "function_arn", "function_request_id", "xray_trace_id", "correlation_id", "timestamp",
        "phone_number_id", "waba_id", "sqs_message_id", "location",
    }
)  # fmt: skip
# A run of 8 to 15 digits standing alone (E.164 is at most 15), with or without its "+". A run that
# starts with 1 is a phone number only at 11 digits (+1 is the only country code starting with 1):
# epoch seconds, 15-digit Meta ids and the like are left alone.
_PHONE_RUN = re.compile(r"(?<![\w.-])\+?(?!1(?:\d{7,9}|\d{11,14})(?![\d]))\d{8,15}(?![\w-])")
# A number written with separators: "+1 (650) 555-1234".
_FORMATTED_PHONE = re.compile(r"\+\d[\d ().-]{6,18}\d")
_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]{8,}")
_ARN = re.compile(r"(arn:aws[\w-]*:[^\s\"',]*)")
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")
# A text field in a dict's or a model's repr, or in JSON (escaped or not): `'body': '...'`,
# `"caption":"..."`, `Text(body='...')`, `\"body\": \"...\"`.
_TEXT_FIELDS = "body|text|caption|formatted_name|first_name|last_name|email|address"
_QUOTED_TEXT = re.compile(rf"""(\\?["'])({_TEXT_FIELDS})\1(\s*:\s*)(\\?["'])(?:(?!\4).)*?(?<!\\)\4""", re.DOTALL)
_REPR_TEXT = re.compile(rf"""\b({_TEXT_FIELDS})=(["'])(?:(?!\2)[^\\]|\\.)*\2""")
_PROFILE_NAME = re.compile(r"""(["']profile["']\s*:\s*\{\s*["']name["']\s*:\s*)(["'])(?:(?!\2)[^\\]|\\.)*\2""")
# Pydantic quotes the offending input in its error text: `input_value='+16505551234', input_type=str`.
_PYDANTIC_INPUT = re.compile(r"input_value=.*?(?=, input_type=)|input_value=\S*", re.DOTALL)


def mask_text(value: str) -> str:
    """Credentials, customers' text, phone numbers and wamids inside free text (messages, errors,
    tracebacks) masked; ARNs (whose account id looks like a number) kept."""
    value = _PYDANTIC_INPUT.sub("input_value=<masked>", value)
    value = _BEARER.sub(r"\1<redacted>", value)
    value = _QUOTED_TEXT.sub(r"\1\2\1\3<masked>", value)
    value = _REPR_TEXT.sub(r"\1=<masked>", value)
    value = _PROFILE_NAME.sub(r"\1<masked>", value)
    value = _WAMID.sub(lambda match: mask_wamid(match.group()), value)
    parts = _ARN.split(value)
    for index in range(0, len(parts), 2):  # odd indexes are the ARNs
        parts[index] = _FORMATTED_PHONE.sub(lambda match: mask_phone(match.group()), parts[index])
        parts[index] = _PHONE_RUN.sub(lambda match: mask_phone(match.group()), parts[index])
    return "".join(parts)


def mask_log(value: Any, key: str | None = None) -> Any:
    """A log record (or any part of one) with credentials and customer data masked."""
    if isinstance(value, dict):
        # A person's or a place's name ("profile", a contact card's "name", a "location").
        inner = {"name": "text"} if key in _NAMED else {}
        return {mask_text(str(k)): mask_log(v, inner.get(str(k), str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_log(item, key) for item in value]
    if value is None or isinstance(value, bool):
        return value
    return _mask_scalar(value, key or "")


def _mask_scalar(value: Any, key: str) -> Any:
    if key.lower() in _SECRET_KEYS:
        return "<redacted>"
    # Anything but a number is written as its str() (an exception object, in Powertools' stack_trace).
    text = str(value)
    if key in _TEXT_KEYS:
        return f"<{len(text)} characters>"
    if isinstance(value, int | float) and key not in _PHONE_KEYS:
        return value
    if key in _PHONE_KEYS:
        return text if text.startswith("wamid~") else mask_phone(text)
    return text if key in _KEEP_KEYS else mask_text(text)
