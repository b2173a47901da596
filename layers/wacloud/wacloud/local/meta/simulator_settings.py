"""The simulated Meta's settings the chat view and `wacloud local` change: faults (error rate,
latency), Graph's limits and the 24-hour window, the status webhooks' delays, and the account's
`disable_marketing_messages_on_cloud_api`. Each is read and checked before any is applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud.local.meta.fake_graph import FakeGraph
    from wacloud.local.meta.graph_rules import RuleSettings


def _fraction(value: Any) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError("error_rate is a fraction between 0 and 1")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes", "on"):
        return True
    if str(value).lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"not a true/false value: {value!r}")


def _delays(value: Any) -> tuple[float, ...]:
    delays = tuple(float(d) for d in value)
    if any(d < 0 for d in delays):
        raise ValueError("status delays are seconds, 0 or more")
    return delays


# What `configure` takes, and how each value is read (None or 0 turns a limit off).
SETTINGS: dict[str, Callable[[Any], Any]] = {
    "error_rate": _fraction,
    "latency_ms": lambda v: max(0.0, float(v)),
    "throughput_per_second": lambda v: float(v) if v else None,
    "pair_limit": lambda v: int(v) if v else None,
    "enforce_window": _flag,
    "status_delays": _delays,
    "disable_marketing_messages_on_cloud_api": _flag,
}


def parse_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings read, or ValueError naming what is unknown or out of range (then none apply)."""
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}")
    try:
        return {name: SETTINGS[name](value) for name, value in settings.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a setting has the wrong type or range: {exc}") from exc


def apply_settings(
    parsed: dict[str, Any], graph: FakeGraph, rules: RuleSettings, status_delays: tuple[float, ...]
) -> tuple[float, ...]:
    """Apply settings read by `parse_settings` to the fake Graph and its rules: the status delays now."""
    for name, value in parsed.items():
        if name == "error_rate":
            graph.error_rate = value
        elif name == "latency_ms":
            graph.latency = value / 1000
        elif name == "status_delays":
            status_delays = value
        else:
            setattr(rules, name, value)
    return status_delays


def current_settings(graph: FakeGraph, rules: RuleSettings, status_delays: tuple[float, ...]) -> dict[str, Any]:
    return {
        "error_rate": graph.error_rate,
        "latency_ms": round(graph.latency * 1000),
        "throughput_per_second": rules.throughput_per_second,
        "pair_limit": rules.pair_limit,
        "enforce_window": rules.enforce_window,
        "status_delays": list(status_delays),
        "disable_marketing_messages_on_cloud_api": rules.disable_marketing_messages_on_cloud_api,
    }
