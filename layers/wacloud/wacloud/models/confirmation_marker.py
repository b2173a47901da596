"""The confirmation marker every send carries in `biz_opaque_callback_data`, which Meta echoes in the
message's status webhooks: when Graph's answer to a send was lost, the first status names the
document, and its `unconfirmed` record becomes `accepted` (`outbound/outcomes.py`).

Only the sender can make a marker: it holds the idempotency key and an HMAC of it with a key derived
from the app secret, so a producer (or anyone who can reach the webhook's data) writing
`wck1.<anything>.<another document's key>` confirms nothing. A producer's own callback data goes
first, the marker last after one space (idempotency keys have no spaces), within Meta's 512
characters; wherever the project shows the callback data, it shows the producer's part only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "wck1."
MAX_CALLBACK_CHARS = 512  # Meta's limit on biz_opaque_callback_data
_MAC_CHARS = 22  # 132 bits of the HMAC, base64url
_KEY_LABEL = b"wacloud confirmation marker v1"


def _mac(key: str, app_secret: str) -> str:
    derived = hmac.new(app_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    digest = hmac.new(derived, key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def marker(key: str, app_secret: str) -> str:
    return f"{PREFIX}{_mac(key, app_secret)}.{key}"


def room_for_producer(key: str) -> int:
    """How many characters of the producer's own callback data fit beside the marker for `key`."""
    return MAX_CALLBACK_CHARS - len(PREFIX) - _MAC_CHARS - 1 - len(key) - 1


def no_room(producer_data: str | None, key: str) -> str | None:
    """Why the producer's callback data leaves no room for the marker of `key`, or None."""
    room = room_for_producer(key)
    if producer_data and len(producer_data) > room:
        return (
            f"biz_opaque_callback_data is {len(producer_data)} characters: with the confirmation marker the sender "
            f"adds for this idempotency key, at most {room} fit Meta's 512"
        )
    return None


def stamp(producer_data: str | None, key: str, app_secret: str) -> str:
    """The callback data to send: the producer's, then the marker."""
    mark = marker(key, app_secret)
    return f"{producer_data} {mark}" if producer_data else mark


def split(data: str | None) -> tuple[str | None, str | None]:
    """(the producer's part, the marker as written) of callback data; either may be None. Only the
    form is read here: `confirmed_key` checks the marker."""
    if not data:
        return None, None
    head, _, last = data.rpartition(" ")
    if not last.startswith(PREFIX):
        return data, None
    return head or None, last


def named_key(data: str | None) -> str | None:
    """The idempotency key a marker names, unchecked: for tools that only read (the simulated Graph)."""
    mark = split(data)[1]
    return mark.removeprefix(PREFIX).partition(".")[2] or None if mark else None


def confirmed_key(data: str | None, app_secret: str) -> str | None:
    """The idempotency key callback data names, when its marker is the sender's; else None."""
    mark = split(data)[1]
    if mark is None:
        return None
    mac, dot, key = mark.removeprefix(PREFIX).partition(".")
    if not dot or not key or not hmac.compare_digest(mac, _mac(key, app_secret)):
        return None
    return key
