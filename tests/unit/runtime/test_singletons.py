"""wacloud.runtime.singletons: per-process instances cached per arguments, all forgotten by `reset()`."""

from __future__ import annotations

import pytest

from wacloud.runtime import singletons
from wacloud.runtime.singletons import reset, singleton


@pytest.fixture(autouse=True)
def own_registry(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The singletons these tests register stay out of the package's registry."""
    registry: list[object] = []
    monkeypatch.setattr(singletons, "_registry", registry)
    return registry


def counting_factory(built: list[tuple[object, ...]]):
    def make(*args: object) -> object:
        built.append(args)
        return object()

    return make


def test_the_factory_runs_once_and_its_instance_is_reused() -> None:
    built: list[tuple[object, ...]] = []
    make = singleton(counting_factory(built))

    first = make()

    assert make() is first and make() is first
    assert built == [()]


def test_each_set_of_arguments_has_its_own_instance() -> None:
    built: list[tuple[object, ...]] = []
    make = singleton(counting_factory(built))

    a, b = make("a"), make("b")

    assert a is not b
    assert make("a") is a and make("b") is b
    assert built == [("a",), ("b",)]


def test_reset_forgets_every_registered_singleton(own_registry: list[object]) -> None:
    built_one: list[tuple[object, ...]] = []
    built_two: list[tuple[object, ...]] = []
    one, two = singleton(counting_factory(built_one)), singleton(counting_factory(built_two))
    old_one, old_two, old_keyed = one(), two(), two("k")
    assert len(own_registry) == 2

    # WHEN the environment changes and everything is reset
    reset()

    # THEN every instance is built again on its next use, then reused
    assert one() is not old_one and two() is not old_two and two("k") is not old_keyed
    assert built_one == [(), ()] and built_two == [(), ("k",), (), ("k",)]
    assert one() is one()


def test_the_cached_function_keeps_the_factorys_name_and_doc() -> None:
    @singleton
    def the_client() -> object:
        """The client."""
        return object()

    assert the_client.__name__ == "the_client" and the_client.__doc__ == "The client."
