"""What every repository of the store shares: the table, the clock, and how long records live."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from wacloud.adapters.table import Table

# Raw input kept on a rejection or change record (a DynamoDB item holds at most 400 KB).
MAX_STORED_RAW_CHARS = 32 * 1024


class Repository:
    """One record kind of the messages table: its keys, its writes, its reads."""

    def __init__(self, table: Table, *, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())


def dynamo_value(value: Any) -> Any:
    """A model's dump as plain JSON values, floats as the Decimal of their text (a number DynamoDB
    cannot hold becomes a string when written: `wacloud.adapters.table`)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def truncate(text: str) -> str:
    return text if len(text) <= MAX_STORED_RAW_CHARS else text[:MAX_STORED_RAW_CHARS] + "...(truncated)"
