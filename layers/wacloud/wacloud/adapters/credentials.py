"""The app's credentials: one Secrets Manager secret holding JSON, read through Powertools'
`SecretsProvider` (cached for `POWERTOOLS_PARAMETERS_MAX_AGE` seconds, 300 by default).

`{"access_token": "...", "app_secret": "...", "verify_token": "..."}`. Values are `SecretStr`, so
they never show up in a repr, a log line or an error message.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from wacloud.adapters.aws_session import default_session
from wacloud.config import get_settings
from wacloud.errors import ConfigurationError, TransientError
from wacloud.runtime.singletons import singleton

Field = Literal["access_token", "app_secret", "verify_token"]


class Credentials(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    verify_token: SecretStr = SecretStr("")


class SecretUnavailableError(TransientError):
    """Secrets Manager could not be read (throttled, down, no permission yet)."""


@singleton
def secrets_provider() -> SecretsProvider:
    """The process's provider, on the process's boto3 session (a session of its own would read the
    service models again: about 150 ms of a cold start). Its cache is this process's."""
    return SecretsProvider(boto3_session=default_session())


def get_credentials(*, force_fetch: bool = False) -> Credentials:
    """The credentials, from the provider's cache unless `force_fetch` (a token Graph refused, an
    app secret that no longer matches: a rotated secret is picked up at once)."""
    name = get_settings().secret_name
    try:
        value = secrets_provider().get(name, transform="json", force_fetch=force_fetch)
    except TransformParameterError as exc:
        raise ConfigurationError(f"secret {name!r} is not a JSON object") from exc
    except GetParameterError as exc:
        raise SecretUnavailableError(f"secret {name!r} could not be read: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {name!r} is not a JSON object")
    try:
        return Credentials.model_validate(value)
    except ValidationError as exc:
        raise ConfigurationError(f"secret {name!r} has malformed fields") from exc


def credential(field: Field, *, force_fetch: bool = False) -> str:
    """One credential's value, or a `ConfigurationError` naming the missing key (never the value)."""
    value = getattr(get_credentials(force_fetch=force_fetch), field).get_secret_value()
    if not value:
        raise ConfigurationError(f"secret {get_settings().secret_name!r} has no {field!r}")
    return str(value)


def access_token(*, fresh: bool = False) -> str:
    """The Graph access token: the token source the Graph client is built with."""
    return credential("access_token", force_fetch=fresh)
