"""The Meta apps' credentials: a Secrets Manager secret of JSON per app, cached per process for
`POWERTOOLS_PARAMETERS_MAX_AGE` seconds (300 by default; template parameter SecretCacheSeconds).

`{"access_token": "...", "app_secret": "...", "verify_token": "...", "marker_key": "..."}`, each
optional: the stack's secret (`SecretName`), and one per further app (`SecretName/<app>`, as the
registry of numbers names it). Values are `Secret`s, so they never show up in a repr, a log line
or an error message. Neither pydantic nor Powertools' parameters utility: the webhook reads its app
secret here on a cold start that their imports alone would make a fifth longer
(docs/PERFORMANCE.md); a cache with a maximum age is all it needs of them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from botocore.exceptions import BotoCoreError, ClientError

from wacloud.adapters.aws_session import default_session
from wacloud.config import get_settings
from wacloud.errors import ConfigurationError, TransientError
from wacloud.runtime.singletons import singleton

Field = Literal["access_token", "app_secret", "verify_token", "marker_key"]
FIELDS: tuple[Field, ...] = ("access_token", "app_secret", "verify_token", "marker_key")


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
    # Keys issue 11's confirmation marker (sends through either transport); "" = app_secret.
    marker_key: Secret = field(default_factory=Secret)

    @classmethod
    def from_secret(cls, name: str, value: dict[str, object]) -> Credentials:
        """The credentials of a secret's JSON object (other keys ignored, each optional)."""
        found = {}
        for key in FIELDS:
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
        self._values: dict[str, tuple[float, str | None]] = {}  # None: the secret does not exist

    @overload
    def get(self, name: str, *, force_fetch: bool = ..., missing_ok: Literal[False] = ...) -> str: ...

    @overload
    def get(self, name: str, *, force_fetch: bool = ..., missing_ok: bool) -> str | None: ...

    def get(self, name: str, *, force_fetch: bool = False, missing_ok: bool = False) -> str | None:
        """The secret's string, from the cache unless it is older than `max_age` or `force_fetch`.

        `missing_ok`: a secret that does not exist is None (and that is cached too, so an optional
        secret costs one call per `max_age`), not a `SecretUnavailableError`."""
        with self._lock:
            kept = self._values.get(name)
            if kept is not None and not force_fetch and self._clock() - kept[0] < self.max_age:
                return _found(name, kept[1], missing_ok)
        try:
            value: str | None = self.client.get_secret_value(SecretId=name).get("SecretString")
        except ClientError as exc:
            if not (missing_ok and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"):
                raise SecretUnavailableError(f"secret {name!r} could not be read: {exc}") from exc
            value = None
        except BotoCoreError as exc:
            raise SecretUnavailableError(f"secret {name!r} could not be read: {exc}") from exc
        else:
            if not isinstance(value, str):
                raise ConfigurationError(f"secret {name!r} has no string value")
        with self._lock:
            self._values[name] = (self._clock(), value)
        return _found(name, value, missing_ok)


def _found(name: str, value: str | None, missing_ok: bool) -> str | None:
    """A cached miss is a miss for a caller that needs the secret too."""
    if value is None and not missing_ok:
        raise SecretUnavailableError(f"secret {name!r} could not be read: it does not exist")
    return value


@singleton
def secrets_provider() -> SecretReader:
    """The process's reader, on the process's boto3 session (a session of its own would read the
    service models again: about 150 ms of a cold start). Its cache is this process's."""
    max_age = float(os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE") or 300)
    return SecretReader(default_session().client("secretsmanager"), max_age=max_age)


def get_credentials(*, secret_name: str | None = None, force_fetch: bool = False) -> Credentials:
    """The credentials in `secret_name` (default: the stack's secret), from the provider's cache
    unless `force_fetch` (a token Graph refused, an app secret that no longer matches: a rotated
    secret is picked up at once)."""
    name = secret_name or get_settings().secret_name
    try:
        value = json.loads(secrets_provider().get(name, force_fetch=force_fetch))
    except ValueError as exc:
        raise ConfigurationError(f"secret {name!r} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {name!r} is not a JSON object")
    return Credentials.from_secret(name, value)


def credential(field: Field, *, secret_name: str | None = None, force_fetch: bool = False) -> str:
    """One credential's value from `secret_name` (default: the stack's secret), or a
    `ConfigurationError` naming the missing key (never the value)."""
    value = getattr(get_credentials(secret_name=secret_name, force_fetch=force_fetch), field).get_secret_value()
    if not value:
        raise ConfigurationError(f"secret {secret_name or get_settings().secret_name!r} has no {field!r}")
    return str(value)


def access_token(*, fresh: bool = False, secret_name: str | None = None) -> str:
    """The Graph access token of `secret_name`'s app: the token source a Graph client is built with."""
    return credential("access_token", secret_name=secret_name, force_fetch=fresh)


def marker_key(*, force_fetch: bool = False) -> str:
    """The key of issue 11's confirmation marker, the same for every number and transport: the
    stack's secret's `marker_key`, else its `app_secret` (what markers were keyed with before, so
    those in flight at an upgrade still verify). A stack without a Meta app sets `marker_key`."""
    found = get_credentials(force_fetch=force_fetch)
    value = found.marker_key.get_secret_value() or found.app_secret.get_secret_value()
    if not value:
        raise ConfigurationError(f"secret {get_settings().secret_name!r} has neither 'marker_key' nor 'app_secret'")
    return value
