"""wacloud.errors: the package's exceptions, grouped by what the caller must do about them."""

from __future__ import annotations

import pytest

from wacloud.adapters.credentials import SecretUnavailableError
from wacloud.adapters.queues import QueueError
from wacloud.adapters.s3 import ObjectChangedError, ObjectMissingError, S3Error
from wacloud.adapters.table import StoreError
from wacloud.conversation.engine import RulesUnavailableError
from wacloud.errors import ConfigurationError, SignatureError, TransientError, WacloudError
from wacloud.inbound.media_archive import MediaArchiveError
from wacloud.outbound.sender import SendRetryableError
from wacloud.runtime.deadline import NotEnoughTimeError
from wacloud.runtime.http_answers import UndecodableBodyError

BRANCHES = [ConfigurationError, SignatureError, TransientError]


@pytest.mark.parametrize("error", BRANCHES, ids=lambda error: error.__name__)
def test_every_kind_of_error_is_a_wacloud_error(error: type[Exception]) -> None:
    assert issubclass(error, WacloudError) and issubclass(WacloudError, Exception)
    with pytest.raises(WacloudError):
        raise error("what went wrong")


def test_the_kinds_are_separate_branches() -> None:
    # a caller that retries on TransientError never retries a broken deployment or a forged webhook
    for error in BRANCHES:
        assert [issubclass(error, other) for other in BRANCHES] == [other is error for other in BRANCHES]
    assert not issubclass(WacloudError, TransientError)


@pytest.mark.parametrize(
    "error",
    [
        StoreError,
        QueueError,
        S3Error,
        ObjectChangedError,
        SecretUnavailableError,
        SendRetryableError,
        MediaArchiveError,
        NotEnoughTimeError,
        RulesUnavailableError,
    ],
    ids=lambda error: error.__name__,
)
def test_failures_a_later_attempt_can_fix_are_transient(error: type[Exception]) -> None:
    assert issubclass(error, TransientError)


@pytest.mark.parametrize(
    "error", [ObjectMissingError, UndecodableBodyError, SignatureError, ConfigurationError], ids=lambda e: e.__name__
)
def test_failures_a_retry_cannot_fix_are_not_transient(error: type[Exception]) -> None:
    assert issubclass(error, WacloudError) and not issubclass(error, TransientError)


def test_a_signature_error_says_why_and_defaults_to_present_but_wrong() -> None:
    error = SignatureError("signature does not match")

    assert (error.reason, error.missing, str(error)) == ("signature does not match", False, "signature does not match")


def test_a_signature_error_can_say_the_signature_was_missing() -> None:
    error = SignatureError("no X-Hub-Signature-256 header", missing=True)

    assert (error.reason, error.missing) == ("no X-Hub-Signature-256 header", True)
    assert error.args == ("no X-Hub-Signature-256 header",)


def test_missing_is_given_by_name_only() -> None:
    with pytest.raises(TypeError):
        SignatureError("no header", True)  # type: ignore[misc]
