"""The package's exceptions, grouped by what the caller must do about them."""

from __future__ import annotations


class WacloudError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(WacloudError):
    """A setting or the secret is missing or malformed: a human must fix the deployment."""


class SignatureError(WacloudError):
    """A webhook POST is not signed by Meta with our app secret."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


class TransientError(WacloudError):
    """A dependency failed in a way that retrying later can fix (SQS, DynamoDB, Secrets Manager)."""
