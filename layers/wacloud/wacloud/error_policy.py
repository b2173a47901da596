"""What the sender does about a failed send, decided by Meta's error code and the HTTP status.

Meta says to branch on `code` (and `error_data.details`), not on HTTP status; the status is only
used when there is no code (a proxy's 502, an empty 503).
"""

from __future__ import annotations

from enum import StrEnum

from wacloud.graph import GraphError, GraphTransportError


class Action(StrEnum):
    RETRY = "retry"  # transient: let SQS deliver the document again, later
    FAIL = "fail"  # permanent: record Meta's error, never retry
    REFRESH_TOKEN = "refresh_token"  # noqa: S105  (an action name) token expired: re-read the secret, retry


# Codes that mean "not sent, try again later" (throughput, pair rate, outages).
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131056, 131057, 133004, 133015, 133016})
# Codes that mean the token is no good (expired, rotated, invalidated).
TOKEN_CODES = frozenset({0, 190})


def action_for(error: GraphError | GraphTransportError) -> Action:
    """The action for a failed send."""
    if isinstance(error, GraphTransportError):
        return Action.RETRY
    if error.code in TOKEN_CODES or (error.code is None and error.http_status == 401):
        return Action.REFRESH_TOKEN
    if error.code in RETRYABLE_CODES:
        return Action.RETRY
    if error.code is None:
        return Action.RETRY if error.http_status >= 500 or error.http_status == 429 else Action.FAIL
    return Action.FAIL
