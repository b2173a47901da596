"""Readable validation errors, for rejection reasons a producer can act on."""

from __future__ import annotations

from pydantic import ValidationError

from wacloud.models.interactive import HTTPS_URL, S3_KEY
from wacloud.models.keys import USER_ID_PATTERN
from wacloud.models.outbound import IDEMPOTENCY_KEY_PATTERN, RECIPIENT_PATTERN, TO_PATTERN

MAX_ERRORS = 5
# Patterns said in words (the regular expression helps nobody who reads a rejection).
_PATTERNS = {
    RECIPIENT_PATTERN: "a phone number such as +16505551234 (a business-scoped user id goes in `recipient`)",
    TO_PATTERN: "a phone number such as +16505551234 or, with recipient_type group, a group id "
    "(a business-scoped user id goes in `recipient`)",
    USER_ID_PATTERN: "a business-scoped user id such as US.13491208655302741918",
    IDEMPOTENCY_KEY_PATTERN: "1 to 128 printable ASCII characters, no spaces",
    S3_KEY: "an object key of the media bucket, not under inbound/ and not starting with /",
    HTTPS_URL: "an https:// URL",
}
# Fields of every message type: in `message.<type>.to` the type is pydantic's union tag, not a field.
_ENVELOPE_FIELDS = frozenset({"to", "context", "biz_opaque_callback_data", "recipient_type", "messaging_product"})


def describe(exc: ValidationError) -> str:
    """'message.text.body: String should have at most 4096 characters; ...'.

    Pydantic puts union tags in the location (`message.message.text.text.body`); repeated
    neighbours are those tags, so they are folded, as is the message type before a field that every
    type shares (`message.to`, not `message.text.to`).
    """
    parts = []
    for error in exc.errors()[:MAX_ERRORS]:
        location: list[str] = []
        for part in error["loc"]:
            text = str(part)
            if not location or location[-1] != text:
                location.append(text)
        envelope = len(location) == 3 and location[0] == "message" and location[2] in _ENVELOPE_FIELDS
        if envelope and location[1] != "read_receipt":  # for a read receipt, `to` is the mistake itself
            del location[1]
        message = error["msg"]
        words = _PATTERNS.get(str((error.get("ctx") or {}).get("pattern")))
        if error["type"] == "string_pattern_mismatch" and words:
            message = f"should be {words}"
        parts.append(f"{'.'.join(location) or '(document)'}: {message}")
    more = exc.error_count() - MAX_ERRORS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
