"""The app's credentials: one Secrets Manager secret holding JSON, cached per process for
`POWERTOOLS_PARAMETERS_MAX_AGE` seconds (300 by default; template parameter SecretCacheSeconds).

`{"access_token": "...", "app_secret": "...", "verify_token": "..."}`. Values are `Secret`s, so
they never show up in a repr, a log line or an error message. Neither pydantic nor Powertools'
parameters utility: the webhook reads its app secret here on a cold start that their imports alone
would make a fifth longer (docs/PERFORMANCE.md); a cache with a maximum age is all it needs of them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from wacloud.adapters.aws_session import default_session
from wacloud.config import get_settings
from wacloud.errors import ConfigurationError, TransientError
from wacloud.runtime.singletons import singleton

Field = Literal["access_token", "app_secret", "verify_token"]


class Secret:
    """A credential's value, shown as `**********` everywhere but `get_secret_value()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Credentials:
    access_token: Secret = field(default_factory=Secret)
    app_secret: Secret = field(default_factory=Secret)
    verify_token: Secret = field(default_factory=Secret)

    @classmethod
    def from_secret(cls, name: str, value: dict[str, object]) -> Credentials:
        """The three credentials of a secret's JSON object (other keys ignored, each optional)."""
        found = {}
        for key in ("access_token", "app_secret", "verify_token"):
            text = value.get(key, "")
            if not isinstance(text, str):
                raise ConfigurationError(f"secret {name!r} has a malformed {key!r} (not a string)")
            found[key] = Secret(text)
        return cls(**found)


class SecretUnavailableError(TransientError):
    """Secrets Manager could not be read (throttled, down, no permission yet)."""


class SecretReader:
    """Secrets' values by name, each kept `max_age` seconds (Secrets Manager bills every call)."""

    def __init__(self, client: Any, *, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()  # the sender's recipient threads share it
        self._values: dict[str, tuple[float, str]] = {}

    def get(self, name: str, *, force_fetch: bool = False) -> str:
        """The secret's string, from the cache unless it is older than `max_age` or `force_fetch`."""
        with self._lock:
            kept = self._values.get(name)
            if kept is not None and not force_fetch and self._clock() - kept[0] < self.max_age:
                return kept[1]
        try:
            value = self.client.get_secret_value(SecretId=name).get("SecretString")
        except (ClientError, BotoCoreError) as exc:
            raise SecretUnavailableError(f"secret {name!r} could not be read: {exc}") from exc
        if not isinstance(value, str):
            raise ConfigurationError(f"secret {name!r} has no string value")
        with self._lock:
            self._values[name] = (self._clock(), value)
        return value


@singleton
def secrets_provider() -> SecretReader:
    """The process's reader, on the process's boto3 session (a session of its own would read the
    service models again: about 150 ms of a cold start). Its cache is this process's."""
    max_age = float(os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE") or 300)
    return SecretReader(default_session().client("secretsmanager"), max_age=max_age)


def get_credentials(*, force_fetch: bool = False) -> Credentials:
    """The credentials, from the provider's cache unless `force_fetch` (a token Graph refused, an
    app secret that no longer matches: a rotated secret is picked up at once)."""
    name = get_settings().secret_name
    try:
        value = json.loads(secrets_provider().get(name, force_fetch=force_fetch))
    except ValueError as exc:
        raise ConfigurationError(f"secret {name!r} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {name!r} is not a JSON object")
    return Credentials.from_secret(name, value)


def credential(field: Field, *, force_fetch: bool = False) -> str:
    """One credential's value, or a `ConfigurationError` naming the missing key (never the value)."""
    value = getattr(get_credentials(force_fetch=force_fetch), field).get_secret_value()
    if not value:
        raise ConfigurationError(f"secret {get_settings().secret_name!r} has no {field!r}")
    return str(value)


def access_token(*, fresh: bool = False) -> str:
    """The Graph access token: the token source the Graph client is built with."""
    return credential("access_token", force_fetch=fresh)
