"""`make bench`: every figure of docs/PERFORMANCE.md, measured in one run on this machine, written to
bench/results.json and printed as a table. Not part of the tests: figures, not pass/fail."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

# The functions' modules are imported here before any function's environment is set, so their
# Powertools Metrics would have no namespace: with metrics off, Powertools still prints a metric
# once it has 100 values, and without a namespace that raises and fails the event.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "WacloudBench")

from bench import cost, figures, parse_speed, throttle
from bench.env import FakeGraph, aws

RESULTS = Path(__file__).resolve().parent / "results.json"
TARGETS = {
    "ingest_ratio": ("<=", 1.2),
    "coldstart_ratio.webhook": ("<=", 1.3),
    # 1.6 was retired: pydantic and Powertools alone import in about 170 ms (docs/PERFORMANCE.md).
    "coldstart_ratio.processor": ("<=", 2.0),
    "coldstart_ratio.sender": ("<=", 2.0),
    # The processor's typed parse over pywa 4.x's, per update, on the same bodies (worst kind).
    "parse_ratio": ("<=", 1.0),
    "cost_per_million_usd": ("<=", 20.0),
    "package_mb.layer_mb": ("<", 25.0),
    "throttle_lost": ("<=", 0),
    # The sender over its floor (bench/sender_floor.py); `sender_batch_ratio` and
    # `sender_overhead_ratio` (over a bare Graph POST, whatever moto's latency) are reported only.
    "sender_cpu_ratio": ("<=", 1.3),
    "sender_wall_ratio": ("<=", 1.3),
    "throttle_efficiency": (">=", 0.9),
}


def timed(name: str, measure: Any, *args: Any) -> Any:
    start = time.perf_counter()
    print(f"{name}...", end=" ", flush=True)
    result = measure(*args)
    print(f"{time.perf_counter() - start:.0f} s", flush=True)
    return result


FIGURES = ("ingest", "parse", "coldstart", "sender", "throttle", "package_mb", "e2e")


def measure(only: set[str], results: dict[str, Any]) -> dict[str, Any]:
    """Measure the figures in `only` into `results`, saving after each (a failure keeps the rest)."""
    results["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}
    results["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def save(name: str, value: Any) -> None:
        results[name] = value
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    graph = FakeGraph()
    try:
        with aws() as stack:
            if "ingest" in only:
                save("ingest", timed("ingest", figures.ingest, stack, graph))
            if "coldstart" in only:
                save("coldstart", timed("cold starts", figures.coldstart, stack, graph))
            if "sender" in only:
                save("sender", timed("sender", figures.sender, stack, graph))
            if "throttle" in only:
                save("throttle", timed("throttle (several minutes)", throttle.throttle, stack, graph))
    finally:
        graph.stop()
    if "parse" in only:
        save("parse", timed("typed parse beside pywa", parse_speed.measure))
    if "package_mb" in only:
        save("package_mb", figures.package())
    if "e2e" in only:
        save("e2e", timed("end to end", figures.end_to_end))
    results["cost"] = cost.per_million(results["e2e"])
    return results


def headline(results: dict[str, Any]) -> dict[str, Any]:
    cold = results["coldstart"]
    return {
        "ingest_ratio": results["ingest"]["ingest_ratio"],
        "parse_ratio": results.get("parse", {}).get("parse_ratio"),
        **{f"coldstart_ms.{name}": cold[name]["coldstart_ms"] for name in cold},
        **{f"coldstart_ratio.{name}": cold[name]["coldstart_ratio"] for name in cold},
        **{f"package_mb.{name}": value for name, value in results["package_mb"].items()},
        "sender_batch_ratio": results["sender"]["sender_batch_ratio"],
        "sender_overhead_ratio": results["sender"]["sender_overhead_ratio"],
        "sender_cpu_ratio": results["sender"]["sender_cpu_ratio"],
        "sender_wall_ratio": results["sender"]["sender_wall_ratio"],
        "throttle_efficiency": results["throttle"]["throttle_efficiency"],
        "throttle_lost": results["throttle"]["lost"] + results["throttle"]["duplicates"],
        "e2e_ms_p50": results["e2e"]["e2e_ms_p50"],
        "e2e_ms_p99": results["e2e"]["e2e_ms_p99"],
        "cost_per_million_usd": results["cost"]["cost_per_million_usd"],
    }


def verdict(name: str, value: Any) -> str:
    if name not in TARGETS or not isinstance(value, int | float):
        return ""
    op, target = TARGETS[name]
    ok = {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
    return f"{op} {target}  {'met' if ok else 'MISSED'}"


def main(argv: list[str]) -> int:
    """`python -m bench.run` measures every figure; `python -m bench.run throttle e2e` measures those
    again and keeps the others from bench/results.json."""
    unknown = set(argv) - set(FIGURES)
    if unknown:
        print(f"unknown figures {sorted(unknown)}; choose from {', '.join(FIGURES)}")
        return 2
    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if argv and RESULTS.exists() else {}
    results = measure(set(argv or FIGURES), previous)
    results["headline"] = headline(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'figure':<34} {'value':>12}  target")
    for name, value in results["headline"].items():
        print(f"{name:<34} {value!s:>12}  {verdict(name, value)}")
    print(f"\nwrote {RESULTS.relative_to(RESULTS.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
