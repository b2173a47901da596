"""Readable validation errors, for rejection reasons a producer can act on."""

from __future__ import annotations

from pydantic import ValidationError

MAX_ERRORS = 5


def describe(exc: ValidationError) -> str:
    """'message.text.body: String should have at most 4096 characters; ...'.

    Pydantic puts union tags in the location (`message.message.text.text.body`); repeated
    neighbours are those tags, so they are folded.
    """
    parts = []
    for error in exc.errors()[:MAX_ERRORS]:
        location: list[str] = []
        for part in error["loc"]:
            text = str(part)
            if not location or location[-1] != text:
                location.append(text)
        parts.append(f"{'.'.join(location) or '(document)'}: {error['msg']}")
    more = exc.error_count() - MAX_ERRORS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
