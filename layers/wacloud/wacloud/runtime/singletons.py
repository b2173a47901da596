"""Per-process singletons: what a Lambda environment builds once and reuses across invocations
(the settings, AWS clients, each flow's worker), with one reset for tests and the local run.

    @singleton
    def get_settings() -> Settings: ...

`reset()` forgets every one of them, so the next call builds it again from the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_registry: list[Any] = []


def singleton(factory: Callable[P, T]) -> Callable[P, T]:
    """`functools.cache`, registered for `reset()`; the arguments (if any) key the instances."""
    cached = cache(factory)
    _registry.append(cached)
    return cached  # type: ignore[return-value]  # a cache wrapper is called like the factory


def reset() -> None:
    """Forget every singleton built so far (the environment changed: a test, the local run)."""
    for cached in _registry:
        cached.cache_clear()
