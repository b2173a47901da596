"""The app's credentials: one Secrets Manager secret holding JSON, read with Powertools' cache.

`{"access_token": "...", "app_secret": "...", "verify_token": "..."}`. Values are `SecretStr`, so
they never show up in a repr, a log line or an error message.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from wacloud.aws_session import default_session
from wacloud.config import get_settings
from wacloud.errors import ConfigurationError, TransientError


class Credentials(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    verify_token: SecretStr = SecretStr("")


class SecretUnavailableError(TransientError):
    """Secrets Manager could not be read (throttled, down, no permission yet)."""


def get_credentials(*, force_fetch: bool = False) -> Credentials:
    """The credentials, cached for `POWERTOOLS_PARAMETERS_MAX_AGE` seconds (default 300).

    `force_fetch=True` bypasses the cache: used once after Graph says the token expired (190),
    so a rotated token is picked up at once.
    """
    name = get_settings().secret_name
    prepare_provider()
    try:
        value = parameters.get_secret(name, transform="json", force_fetch=force_fetch)
    except parameters.exceptions.TransformParameterError as exc:
        raise ConfigurationError(f"secret {name!r} is not a JSON object") from exc
    except parameters.exceptions.GetParameterError as exc:
        raise SecretUnavailableError(f"secret {name!r} could not be read: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {name!r} is not a JSON object")
    try:
        return Credentials.model_validate(value)
    except ValidationError as exc:
        raise ConfigurationError(f"secret {name!r} has malformed fields") from exc


def require(credentials: Credentials, field: str) -> str:
    """One credential's value, or a `ConfigurationError` naming the missing key (never the value)."""
    value = getattr(credentials, field).get_secret_value()
    if not value:
        raise ConfigurationError(f"secret {get_settings().secret_name!r} has no {field!r}")
    return value


def prepare_provider() -> None:
    """Create Powertools' secrets provider now, on this thread, on the process's boto3 session.

    Powertools would create it on the first read, with a session of its own (the service models
    read again), and the sender's recipient threads would race to create it.
    """
    from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

    if "secrets" not in DEFAULT_PROVIDERS:
        DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(boto3_session=default_session())
