"""wacloud.adapters.credentials (moto Secrets Manager), wacloud.models.keys.customer_key and wacloud.runtime.masking."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import ACCESS_TOKEN, APP_SECRET, SECRET, VERIFY_TOKEN
from wacloud.adapters.credentials import SecretUnavailableError, credential, get_credentials
from wacloud.config import get_settings
from wacloud.errors import ConfigurationError, TransientError
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack


def secrets_client():  # type: ignore[no-untyped-def]
    return boto3.client("secretsmanager", region_name=REGION)


def use_secret(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("WACLOUD_SECRET_NAME", name)
    get_settings.cache_clear()


# --- credentials -------------------------------------------------------------------------------------


def test_credentials_are_read_from_the_secret(aws: Stack) -> None:
    credentials = get_credentials()

    assert credentials.access_token.get_secret_value() == ACCESS_TOKEN
    assert credentials.app_secret.get_secret_value() == APP_SECRET
    assert credentials.verify_token.get_secret_value() == VERIFY_TOKEN


def test_credentials_are_cached_until_force_fetch(aws: Stack) -> None:
    # Given credentials read once
    assert get_credentials().access_token.get_secret_value() == ACCESS_TOKEN
    # When the token is rotated in Secrets Manager
    secrets_client().put_secret_value(
        SecretId=get_settings().secret_name, SecretString=json.dumps({**SECRET, "access_token": "rotated-token"})
    )
    # Then the cached value is still returned...
    assert get_credentials().access_token.get_secret_value() == ACCESS_TOKEN
    # ...until the cache is bypassed (what the sender does after Graph error 190)
    assert get_credentials(force_fetch=True).access_token.get_secret_value() == "rotated-token"
    # and the fresh value is what the cache holds from then on
    assert get_credentials().access_token.get_secret_value() == "rotated-token"


def test_unknown_keys_in_the_secret_are_ignored(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_client().create_secret(Name="extra", SecretString=json.dumps({**SECRET, "other": "x"}))
    use_secret(monkeypatch, "extra")

    assert get_credentials().app_secret.get_secret_value() == APP_SECRET


@pytest.mark.parametrize("render", [repr, str], ids=["repr", "str"])
def test_secret_values_never_show_in_repr_or_str(aws: Stack, render) -> None:  # type: ignore[no-untyped-def]
    credentials = get_credentials()

    for text in (render(credentials), render(credentials.access_token), render(vars(credentials))):
        for value in SECRET.values():
            assert value not in text
    assert "**********" in render(credentials.access_token)


def test_secret_values_never_show_in_a_json_dump_or_a_log_line(aws: Stack) -> None:
    credentials = get_credentials()
    dumped = json.dumps(vars(credentials), default=str) + f"{credentials} {credentials!r}"

    for value in SECRET.values():
        assert value not in dumped


def test_missing_secret_is_transient(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    use_secret(monkeypatch, "does/not/exist")

    with pytest.raises(SecretUnavailableError) as caught:
        get_credentials()

    assert isinstance(caught.value, TransientError)
    assert "does/not/exist" in str(caught.value)


@pytest.mark.parametrize(
    "secret_string",
    [
        pytest.param("access_token=abc", id="not-json"),
        pytest.param('["a", "b"]', id="json-list"),
        pytest.param('"just a string"', id="json-string"),
    ],
)
def test_secret_that_is_not_a_json_object_is_a_configuration_error(
    aws: Stack, monkeypatch: pytest.MonkeyPatch, secret_string: str
) -> None:
    secrets_client().create_secret(Name="broken", SecretString=secret_string)
    use_secret(monkeypatch, "broken")

    with pytest.raises(ConfigurationError, match="is not a JSON object") as caught:
        get_credentials()

    assert not isinstance(caught.value, TransientError)  # retrying will not fix it
    assert secret_string not in str(caught.value)


def test_secret_with_malformed_field_is_a_configuration_error(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_client().create_secret(Name="typed", SecretString=json.dumps({"access_token": {"nested": "tok-123"}}))
    use_secret(monkeypatch, "typed")

    with pytest.raises(ConfigurationError, match="malformed") as caught:
        get_credentials()

    assert "tok-123" not in str(caught.value)


@pytest.mark.parametrize("field", ["access_token", "app_secret", "verify_token"])
def test_credential_returns_the_value(aws: Stack, field: str) -> None:
    assert credential(field) == SECRET[field]


@pytest.mark.parametrize("field", ["access_token", "app_secret", "verify_token"])
def test_credential_on_empty_field_names_the_field_not_any_value(
    aws: Stack, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    partial = {**SECRET, field: ""}
    secrets_client().create_secret(Name="partial", SecretString=json.dumps(partial))
    use_secret(monkeypatch, "partial")

    with pytest.raises(ConfigurationError) as caught:
        credential(field)

    message = str(caught.value)
    assert repr(field) in message
    assert "partial" in message
    for value in SECRET.values():
        assert value not in message


def test_credential_on_missing_key(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_client().create_secret(Name="no-app-secret", SecretString=json.dumps({"access_token": "t"}))
    use_secret(monkeypatch, "no-app-secret")

    with pytest.raises(ConfigurationError, match="'app_secret'"):
        credential("app_secret")


def test_a_secret_is_read_again_once_its_cached_value_is_older_than_the_max_age(aws: Stack) -> None:
    from wacloud.adapters.credentials import SecretReader

    now = [1000.0]
    reader = SecretReader(secrets_client(), max_age=300, clock=lambda: now[0])
    name = get_settings().secret_name
    first = reader.get(name)
    secrets_client().put_secret_value(SecretId=name, SecretString=json.dumps({**SECRET, "access_token": "new"}))

    now[0] += 299
    assert reader.get(name) == first  # still fresh: no call
    now[0] += 1
    assert json.loads(reader.get(name))["access_token"] == "new"
