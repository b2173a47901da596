"""wacloud.adapters.registry: the numbers the stack serves, from `<SecretName>/numbers` (an
in-memory Secrets Manager for reads, moto for the CLI's writes)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from wacloud.adapters.credentials import SecretReader
from wacloud.adapters.registry import (
    APP_MISS_RECHECK_ANY_SECONDS,
    MISS_RECHECK_SECONDS,
    NumberRegistry,
    RegistryConflictError,
    get_registry,
    registry_secret_name,
)
from wacloud.config import Settings
from wacloud.errors import ConfigurationError, TransientError
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack
from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import number_scope

OWN = "100000000000001"  # the stack's PhoneNumberId
OTHER = "100000000000002"
NAME = "wa/app/numbers"
EUM_HEX = "0123456789abcdef0123456789abcdef"
EUM_ID = f"phone-number-id-{EUM_HEX}"
SETTINGS = Settings(secret_name="wa/app", phone_number_id=OWN, waba_id="200000000000001")


class Secrets:
    """The one call `SecretReader` makes, answered from a dict; counts the calls."""

    def __init__(self, error: Exception | None = None) -> None:
        self.values: dict[str, str] = {}
        self.calls = 0
        self.error = error

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if SecretId not in self.values:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "none"}}, "GetSecretValue")
        return {"SecretString": self.values[SecretId], "VersionId": "v1"}

    def store(self, *entries: NumberEntry, **document: Any) -> None:
        numbers = {entry.phone_number_id: entry.to_item() for entry in entries}
        self.values[NAME] = json.dumps({"version": 1, "numbers": numbers, **document})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def registry(secrets: Secrets, clock: Clock | None = None, settings: Settings = SETTINGS) -> NumberRegistry:
    clock = clock or Clock()
    return NumberRegistry.for_settings(SecretReader(secrets, max_age=300, clock=clock), settings, clock=clock)


def sales(**changes: Any) -> NumberEntry:
    values: dict[str, Any] = {"phone_number_id": OTHER, "waba_id": "200000000000002", "app": "sales"}
    return NumberEntry(**{**values, **changes})


def served(entry: NumberEntry) -> NumberEntry:
    """A stored entry as the registry serves it: not the number keeping the unsuffixed keys."""
    return dataclasses.replace(entry, unsuffixed_keys=False)


# --- reading -----------------------------------------------------------------------------------------


def test_without_a_registry_the_stack_serves_its_own_number_as_the_default() -> None:
    numbers = registry(Secrets())

    assert numbers.entries() == [NumberEntry.from_settings(SETTINGS)]
    assert numbers.default() == NumberEntry.from_settings(SETTINGS)
    assert numbers.get(OWN) == numbers.default()
    assert numbers.get(OTHER) is None
    assert numbers.secret_for_app("default") == "wa/app"
    assert numbers.wabas("default") == {"200000000000001"}


def test_a_missing_registry_is_read_once_per_cache_age_not_per_call() -> None:
    secrets, clock = Secrets(), Clock()
    numbers = registry(secrets, clock)

    for _ in range(5):
        numbers.get(OWN)
        numbers.default()

    assert secrets.calls == 1


def test_stored_numbers_are_served_beside_the_stack_s_own() -> None:
    secrets = Secrets()
    secrets.store(sales())

    numbers = registry(secrets)

    assert [entry.phone_number_id for entry in numbers.entries()] == [OWN, OTHER]
    assert numbers.get(OTHER) == served(sales())
    assert numbers.default().phone_number_id == OWN  # type: ignore[union-attr]
    assert [entry.phone_number_id for entry in numbers.for_app("sales")] == [OTHER]
    assert numbers.wabas("sales") == {"200000000000002"}


def test_a_stored_entry_with_the_stack_s_id_replaces_the_implicit_one_and_stays_the_default() -> None:
    secrets = Secrets()
    secrets.store(NumberEntry(phone_number_id=OWN, waba_id="200000000000001", label="Support"))

    numbers = registry(secrets)

    (entry,) = numbers.entries()
    assert entry.label == "Support" and entry.default
    assert numbers.default() == entry


def test_a_stored_default_takes_the_role_and_the_stack_s_number_is_still_served() -> None:
    secrets = Secrets()
    secrets.store(sales(default=True))

    numbers = registry(secrets)

    assert numbers.default() == served(sales(default=True))
    assert numbers.get(OWN) is not None and not numbers.get(OWN).default  # type: ignore[union-attr]
    assert [entry.default for entry in numbers.entries()].count(True) == 1


def test_of_several_stored_defaults_the_lowest_id_serves() -> None:
    secrets = Secrets()
    secrets.store(sales(default=True), sales(phone_number_id="100000000000003", default=True))

    numbers = registry(secrets)

    assert numbers.default().phone_number_id == OTHER  # type: ignore[union-attr]
    assert [entry.default for entry in numbers.entries()].count(True) == 1


# --- the number that keeps the unsuffixed keys ----------------------------------------------------------


def test_the_unsuffixed_keys_stay_the_stack_s_own_number_s_when_another_becomes_the_default() -> None:
    secrets = Secrets()
    secrets.store(sales(default=True))

    numbers = registry(secrets)

    assert numbers.default().phone_number_id == OTHER  # type: ignore[union-attr]
    assert numbers.unsuffixed() == numbers.get(OWN)
    assert number_scope(numbers.get(OWN)) == "" and number_scope(numbers.default()) == OTHER


def test_a_pinned_number_keeps_the_unsuffixed_keys_when_phone_number_id_changes() -> None:
    secrets = Secrets()
    secrets.store(NumberEntry(phone_number_id=OWN, default=True, unsuffixed_keys=True))
    moved = Settings(secret_name="wa/app", phone_number_id="100000000000009")

    numbers = registry(secrets, settings=moved)

    assert numbers.unsuffixed().phone_number_id == OWN  # type: ignore[union-attr]
    assert number_scope(numbers.get("100000000000009")) == "100000000000009"
    assert number_scope(numbers.get(OWN)) == ""


def test_unpinned_the_unsuffixed_keys_are_phone_number_ids_as_before_there_was_a_registry() -> None:
    secrets = Secrets()
    secrets.store(NumberEntry(phone_number_id=OWN, default=True))  # stored, not pinned
    moved = Settings(secret_name="wa/app", phone_number_id="100000000000009")

    numbers = registry(secrets, settings=moved)

    assert numbers.unsuffixed().phone_number_id == "100000000000009"  # type: ignore[union-attr]
    assert number_scope(numbers.get(OWN)) == OWN
    assert registry(Secrets(), settings=Settings(secret_name="wa/app")).unsuffixed() is None


def test_of_several_pinned_numbers_the_lowest_id_keeps_the_keys() -> None:
    secrets = Secrets()
    secrets.store(sales(unsuffixed_keys=True), sales(phone_number_id="100000000000003", unsuffixed_keys=True))

    numbers = registry(secrets)

    assert numbers.unsuffixed().phone_number_id == OTHER  # type: ignore[union-attr]
    assert [entry.unsuffixed_keys for entry in numbers.entries()].count(True) == 1


def test_a_stack_without_a_number_of_its_own_serves_only_stored_ones() -> None:
    secrets = Secrets()
    numbers = registry(secrets, settings=Settings(secret_name="wa/app"))
    assert (numbers.entries(), numbers.default()) == ([], None)

    secrets.store(sales())
    assert registry(secrets, settings=Settings(secret_name="wa/app")).default() is None


def test_a_number_just_added_is_found_at_once_but_unknown_ids_re_read_at_most_every_30_s() -> None:
    secrets, clock = Secrets(), Clock()
    numbers = registry(secrets, clock)
    assert numbers.get(OWN) is not None and secrets.calls == 1

    # Added after the registry was cached: the miss reads again and finds it.
    secrets.store(sales())
    assert numbers.get(OTHER) == served(sales())
    assert secrets.calls == 2

    # An unknown id reads once, then a flood of it within the period costs nothing more...
    for _ in range(10):
        assert numbers.get("999") is None
    assert secrets.calls == 3
    # ...and one read once the period is over.
    clock.now += MISS_RECHECK_SECONDS
    assert numbers.get("999") is None
    assert secrets.calls == 4


def test_another_unknown_numbers_miss_never_hides_a_number_just_added() -> None:
    secrets, clock = Secrets(), Clock()
    numbers = registry(secrets, clock)
    assert numbers.get("999") is None  # an unserved number of the app: a fresh read, nothing
    calls = secrets.calls

    secrets.store(sales())  # added a moment later, within the period of that miss
    assert numbers.get(OTHER) == served(sales())  # its own miss reads again: served at once
    assert secrets.calls == calls + 1


def test_an_app_just_added_is_found_at_once_and_unknown_apps_re_read_at_most_once_a_second_together() -> None:
    secrets, clock = Secrets(), Clock()
    numbers = registry(secrets, clock)
    assert numbers.secret_for_app("default") == "wa/app" and secrets.calls == 1

    # Added after the registry was cached (`wacloud numbers add --app sales`): its first call finds it.
    secrets.store(sales(secret_name="wa/app/sales"))
    assert numbers.secret_for_app("sales") == "wa/app/sales"
    assert secrets.calls == 2

    # One unknown app's flood costs one read per MISS_RECHECK_SECONDS...
    clock.now += APP_MISS_RECHECK_ANY_SECONDS
    for _ in range(10):
        assert numbers.secret_for_app("nobody") is None
    assert secrets.calls == 3
    # ...and a flood of different names (the path is open to anyone) one per second together.
    for index in range(10):
        assert numbers.secret_for_app(f"junk-{index}") is None
    assert secrets.calls == 3
    clock.now += APP_MISS_RECHECK_ANY_SECONDS
    assert numbers.secret_for_app("junk-0") is None
    assert secrets.calls == 4
    clock.now += MISS_RECHECK_SECONDS
    assert numbers.secret_for_app("nobody") is None
    assert secrets.calls == 5


def test_a_known_number_is_read_from_the_cache() -> None:
    secrets, clock = Secrets(), Clock()
    secrets.store(sales())
    numbers = registry(secrets, clock)

    for _ in range(3):
        clock.now += MISS_RECHECK_SECONDS
        assert numbers.get(OTHER) is not None

    assert secrets.calls == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ClientError({"Error": {"Code": "ThrottlingException"}}, "GetSecretValue"), id="throttled"),
        pytest.param(ClientError({"Error": {"Code": "AccessDeniedException"}}, "GetSecretValue"), id="denied"),
        pytest.param(EndpointConnectionError(endpoint_url="https://secretsmanager"), id="unreachable"),
    ],
)
def test_aws_failing_is_transient(error: Exception) -> None:
    with pytest.raises(TransientError, match="wa/app/numbers"):
        registry(Secrets(error)).get(OWN)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("{", "is not JSON", id="not-json"),
        pytest.param('{"version": 1}', "not a registry of numbers", id="no-numbers"),
        pytest.param('{"version": 2, "numbers": {}}', "registry version 2; this wacloud reads 1", id="newer"),
        pytest.param(
            '{"version": 1, "numbers": {"1": {"phone_number_id": "2"}}}', "number 1 holds the entry of 2", id="key"
        ),
        pytest.param(
            '{"version": 1, "numbers": {"1": {"phone_number_id": "1", "transport": "eum"}}}',
            "number 1: .*needs eum_phone_number_id",
            id="invalid-entry",
        ),
    ],
)
def test_a_malformed_registry_is_a_configuration_error_naming_what(text: str, reason: str) -> None:
    secrets = Secrets()
    secrets.values[NAME] = text

    with pytest.raises(ConfigurationError, match=reason) as caught:
        registry(secrets).get(OWN)

    assert not isinstance(caught.value, TransientError)  # a person must fix it


@pytest.mark.parametrize(
    "aws_id", [EUM_ID, f"arn:aws:social-messaging:{REGION}:123456789012:phone-number-id/{EUM_HEX}"]
)
def test_a_number_is_found_by_aws_s_id_in_either_form(aws_id: str) -> None:
    secrets = Secrets()
    secrets.store(sales(transport="eum", eum_phone_number_id=EUM_ID))
    numbers = registry(secrets)

    assert numbers.by_eum_id(aws_id) == numbers.get(OTHER)
    assert numbers.by_eum_id("phone-number-id-ffff") is None
    assert numbers.eum_wabas() == {"200000000000002"}


def test_an_app_s_secret_is_its_numbers_and_one_app_naming_two_is_an_error() -> None:
    secrets = Secrets()
    secrets.store(sales(secret_name="wa/app/sales"))
    assert registry(secrets).secret_for_app("sales") == "wa/app/sales"
    assert registry(secrets).secret_for_app("unknown") is None

    secrets.store(sales(secret_name="wa/app/sales"), sales(phone_number_id="3", secret_name="wa/app/other"))
    with pytest.raises(ConfigurationError, match="numbers of app 'sales' name different secrets"):
        registry(secrets).secret_for_app("sales")


def test_the_process_registry_is_the_settings_one(aws: Stack) -> None:
    numbers = get_registry()

    assert numbers is get_registry()
    assert numbers.secret_name == registry_secret_name(aws.parameters["SecretName"])
    assert numbers.default() is not None and numbers.default().phone_number_id == aws.parameters["PhoneNumberId"]  # type: ignore[union-attr]


# --- writing (moto) ----------------------------------------------------------------------------------


@pytest.fixture
def moto_registry(aws: Stack) -> NumberRegistry:
    reader = SecretReader(boto3.client("secretsmanager", region_name=REGION), max_age=300)
    return NumberRegistry.for_settings(reader, SETTINGS)


def test_put_creates_the_registry_then_updates_it(moto_registry: NumberRegistry) -> None:
    moto_registry.put(sales())
    moto_registry.put(sales(label="Sales"))

    assert moto_registry.get(OTHER) == served(sales(label="Sales"))
    assert moto_registry.stored() == {OTHER: sales(label="Sales")}
    # Another process (a function) reads what was written.
    fresh = NumberRegistry.for_settings(SecretReader(moto_registry.reader.client, max_age=300), SETTINGS)
    assert fresh.get(OTHER) == served(sales(label="Sales"))


def test_put_of_a_default_takes_the_role_from_the_stored_one(moto_registry: NumberRegistry) -> None:
    moto_registry.put(sales(default=True))
    moto_registry.put(sales(phone_number_id="100000000000003", default=True))

    stored = moto_registry.stored()
    assert [pnid for pnid, entry in stored.items() if entry.default] == ["100000000000003"]
    assert moto_registry.default().phone_number_id == "100000000000003"  # type: ignore[union-attr]


def test_put_of_a_pinned_number_takes_the_keys_from_another_and_an_entry_read_here_pins_nothing(
    moto_registry: NumberRegistry,
) -> None:
    moto_registry.put(sales(unsuffixed_keys=True))
    moto_registry.put(NumberEntry(phone_number_id=OWN, unsuffixed_keys=True))
    moto_registry.put(dataclasses.replace(moto_registry.get(OTHER), label="Sales"))  # type: ignore[type-var]

    stored = moto_registry.stored()
    assert (stored[OWN].unsuffixed_keys, stored[OTHER].unsuffixed_keys) == (True, None)
    assert "unsuffixed_keys" not in stored[OTHER].to_item()
    assert moto_registry.unsuffixed().phone_number_id == OWN  # type: ignore[union-attr]


def test_remove_forgets_a_stored_number_and_says_when_there_was_none(moto_registry: NumberRegistry) -> None:
    assert moto_registry.remove(OTHER) is False  # no registry yet
    moto_registry.put(sales())

    assert moto_registry.remove(OTHER) is True
    assert moto_registry.get(OTHER) is None
    assert moto_registry.remove(OWN) is False  # the stack's own number is not stored
    assert moto_registry.get(OWN) is not None


def test_a_write_that_raced_another_is_reported(moto_registry: NumberRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    moto_registry.put(sales())
    read = moto_registry._read_for_write

    def read_then_someone_else_writes() -> Any:
        found = read()
        moto_registry.reader.client.put_secret_value(
            SecretId=NAME, SecretString=json.dumps({"version": 1, "numbers": {}})
        )
        return found

    monkeypatch.setattr(moto_registry, "_read_for_write", read_then_someone_else_writes)

    with pytest.raises(RegistryConflictError, match="changed while this change was written"):
        moto_registry.put(sales(label="mine"))


def test_a_registry_past_60_kb_is_refused(moto_registry: NumberRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wacloud.adapters.registry.MAX_DOCUMENT_BYTES", 300)

    with pytest.raises(ConfigurationError, match="another stack"):
        moto_registry.put(sales(label="x" * 400))

    assert moto_registry.stored() == {}
