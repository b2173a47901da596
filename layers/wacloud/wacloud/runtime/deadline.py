"""The time an invocation has left: no call is started that could outlive it (its outcome would be
unknown, and a send cut off half-way may have reached Meta)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wacloud.errors import TransientError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class NotEnoughTimeError(TransientError):
    """Too little of the invocation is left: the work waits for the next one (nothing went wrong)."""


class Deadline:
    """An invocation's deadline, from its Lambda context (None: no deadline, as outside Lambda)."""

    def __init__(self, context: LambdaContext | None) -> None:
        self._context = context

    def remaining_seconds(self) -> float | None:
        if self._context is None:
            return None
        return self._context.get_remaining_time_in_millis() / 1000

    def require(self, seconds: float, what: str) -> None:
        """Raise `NotEnoughTimeError` unless at least `seconds` are left for `what`."""
        remaining = self.remaining_seconds()
        if remaining is not None and remaining < seconds:
            raise NotEnoughTimeError(f"not enough time left in this invocation for {what}")


NO_DEADLINE = Deadline(None)
