"""wacloud.runtime.deadline: the time an invocation has left, and work refused when too little is."""

from __future__ import annotations

import time

import pytest

from wacloud.errors import TransientError
from wacloud.local.lambda_context import LocalContext
from wacloud.runtime.deadline import NO_DEADLINE, Deadline, NotEnoughTimeError


class FixedContext:
    """A Lambda context whose clock stands still."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def context_with(seconds_left: float) -> LocalContext:
    """A 30-second invocation that started `30 - seconds_left` seconds ago."""
    return LocalContext(function_name="f", timeout_seconds=30, started=time.monotonic() - (30 - seconds_left))


def test_the_remaining_seconds_come_from_the_context() -> None:
    remaining = Deadline(context_with(5)).remaining_seconds()

    assert remaining is not None and 4.5 < remaining <= 5


def test_the_remaining_seconds_are_the_contexts_milliseconds_in_seconds() -> None:
    assert Deadline(FixedContext(2500)).remaining_seconds() == 2.5  # type: ignore[arg-type]


def test_work_that_fits_in_the_time_left_may_start() -> None:
    Deadline(context_with(10)).require(3, "a send")
    Deadline(FixedContext(3000)).require(3, "a send")  # type: ignore[arg-type]  (exactly enough)


@pytest.mark.parametrize(
    ("context", "seconds"),
    [(context_with(2), 5), (FixedContext(2999), 3), (context_with(-10), 0.001)],
    ids=["running-context", "a-millisecond-short", "timed-out"],
)
def test_work_that_would_outlive_the_invocation_is_refused_saying_what_it_was_for(context, seconds) -> None:
    with pytest.raises(NotEnoughTimeError, match="for the media upload") as raised:
        Deadline(context).require(seconds, "the media upload")

    # a transient error: the work waits for the next invocation, nothing went wrong
    assert isinstance(raised.value, TransientError)


@pytest.mark.parametrize("deadline", [Deadline(None), NO_DEADLINE], ids=["no-context", "NO_DEADLINE"])
def test_without_a_context_there_is_no_deadline(deadline: Deadline) -> None:
    assert deadline.remaining_seconds() is None
    deadline.require(10**9, "anything")
