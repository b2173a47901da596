"""Times in Meta's payloads, bounded: a number compared in a DynamoDB condition or used in a key must
be one DynamoDB holds exactly (38 digits); any other number is stored as Meta sent it (as its text
when DynamoDB cannot hold it: `wacloud.adapters.table`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

# 10000-01-01T00:00:00Z: a unix time in seconds is at least 0 and below this.
MAX_UNIX_TIME = 253_402_300_800


def is_unix_time(value: int) -> bool:
    return 0 <= value < MAX_UNIX_TIME


def _unix_time(value: Any) -> int | None:
    """Meta writes times as numbers or numeric strings; anything else (a number out of range too)
    is no time, not an error."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        # Python refuses to parse ints over 4,300 digits: such a string is no time either.
        value = int(value) if value.isdigit() and len(value) <= len(str(MAX_UNIX_TIME)) else None
    if isinstance(value, int | float) and 0 <= value < MAX_UNIX_TIME:  # also false for NaN
        return int(value)
    return None


def _bounded(value: int) -> int:
    if not is_unix_time(value):
        raise ValueError(f"not a unix time in seconds (0 to {MAX_UNIX_TIME - 1})")
    return value


# A unix time in seconds of the newer payloads (groups, calls, preferences), None when Meta's value is
# not one: its documented examples hold placeholders, and such a time is never worth refusing a
# whole change for (the change's raw value is kept as Meta sent it).
UnixTime = Annotated[int | None, BeforeValidator(_unix_time)]
# A message's or status's time: it orders statuses and drives the customer service window, so one
# out of range makes its message or status unparsed (recorded with the reason), never a retried event.
Timestamp = Annotated[int, AfterValidator(_bounded)]
