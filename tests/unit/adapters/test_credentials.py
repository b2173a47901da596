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


# --- optional secrets, per-app secrets, the marker's key (issue 20) -----------------------------------


def test_a_missing_secret_read_as_optional_is_none_and_that_is_cached(aws: Stack) -> None:
    from wacloud.adapters.credentials import SecretReader

    client = secrets_client()
    calls: list[str] = []
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("get"))
    reader = SecretReader(client, max_age=300)

    assert reader.get("wa/numbers", missing_ok=True) is None
    assert reader.get("wa/numbers", missing_ok=True) is None
    assert len(calls) == 1
    # A caller that needs it is told it is missing, from the same cached answer.
    with pytest.raises(SecretUnavailableError, match="does not exist"):
        reader.get("wa/numbers")
    assert len(calls) == 1
    # Created meanwhile: a forced read finds it.
    client.create_secret(Name="wa/numbers", SecretString="{}")
    assert reader.get("wa/numbers", missing_ok=True, force_fetch=True) == "{}"


def test_an_optional_secret_that_cannot_be_read_is_still_transient(aws: Stack) -> None:
    from botocore.exceptions import ClientError

    from wacloud.adapters.credentials import SecretReader

    class Denied:
        def get_secret_value(self, SecretId: str) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetSecretValue")

    with pytest.raises(SecretUnavailableError, match="could not be read"):
        SecretReader(Denied(), max_age=300).get("wa/numbers", missing_ok=True)


def test_credentials_of_another_app_s_secret(aws: Stack) -> None:
    secrets_client().create_secret(
        Name="whatsapp/cloud-api/sales",
        SecretString=json.dumps({"access_token": "sales-token", "app_secret": "sales-secret", "verify_token": "v"}),
    )

    assert credential("app_secret", secret_name="whatsapp/cloud-api/sales") == "sales-secret"
    assert get_credentials(secret_name="whatsapp/cloud-api/sales").access_token.get_secret_value() == "sales-token"
    assert credential("app_secret") == APP_SECRET  # the stack's own is unchanged
    assert credential("app_secret", secret_name="") == APP_SECRET  # "" is an entry's "the stack's secret"


def test_a_missing_field_of_another_app_s_secret_names_that_secret(aws: Stack) -> None:
    secrets_client().create_secret(Name="whatsapp/cloud-api/eum-only", SecretString=json.dumps({"marker_key": "m"}))

    with pytest.raises(ConfigurationError, match="'whatsapp/cloud-api/eum-only' has no 'app_secret'"):
        credential("app_secret", secret_name="whatsapp/cloud-api/eum-only")


def test_the_marker_key_is_the_secret_s_marker_key_else_its_app_secret(aws: Stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from wacloud.adapters.credentials import marker_key

    assert marker_key() == APP_SECRET  # markers in flight at an upgrade still verify

    secrets_client().create_secret(Name="with-marker", SecretString=json.dumps({**SECRET, "marker_key": "mk"}))
    use_secret(monkeypatch, "with-marker")
    assert marker_key() == "mk"

    secrets_client().create_secret(Name="neither", SecretString=json.dumps({"access_token": "t"}))
    use_secret(monkeypatch, "neither")
    with pytest.raises(ConfigurationError, match="neither 'marker_key' nor 'app_secret'"):
        marker_key()
