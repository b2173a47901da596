"""Compare the sender's and the webhook's figures of two versions of the code, interleaved.

    .venv/bin/python -m bench.compare <git revision> [--rounds 3] [--figure sender|ingest]

This machine's speed drifts by a third within an hour, so figures from two `make bench` runs do
not compare. This checks the revision out into a temporary worktree and measures it and the
working tree alternately, each round in fresh processes against a fresh moto server, and prints
the median of each figure for both. The revision must have `bench/figures.py` with the figure's
function (`sender(stack, graph)` or `ingest(stack, graph)`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.env import ROOT

FIGURES = {
    "sender": ("sender_batch_ratio", "sender_overhead_ratio", "cpu_ms_per_message"),
    "ingest": ("ingest_ratio",),
}
MEASURE = """
import json, os
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "WacloudBench")
from bench import figures
from bench.env import FakeGraph, aws
graph = FakeGraph()
try:
    with aws() as stack:
        result = figures.{figure}(stack, graph)
finally:
    graph.stop()
print("RESULT " + json.dumps(result))
"""


def measure(tree: Path, figure: str) -> dict[str, float]:
    """One run of `figure` with `tree`'s package, functions and bench, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": f"{tree / 'layers' / 'wacloud'}{os.pathsep}{tree}"}
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", MEASURE.format(figure=figure)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{tree}: the {figure} figure failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the version to compare the working tree with (e.g. HEAD~3, a tag)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--figure", choices=sorted(FIGURES), default="sender")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as folder:
        other = Path(folder) / "tree"
        subprocess.run(  # noqa: S603 - git, with the revision the user named
            ["git", "worktree", "add", "--detach", "--quiet", str(other), args.revision],  # noqa: S607
            cwd=ROOT,
            check=True,
        )
        try:
            runs: dict[str, list[dict[str, float]]] = {args.revision: [], "working tree": []}
            for round_ in range(1, args.rounds + 1):
                for name, tree in ((args.revision, other), ("working tree", ROOT)):
                    runs[name].append(measure(tree, args.figure))
                    print(f"round {round_}, {name}: done", flush=True)
        finally:
            subprocess.run(  # noqa: S603
                ["git", "worktree", "remove", "--force", str(other)],  # noqa: S607
                cwd=ROOT,
                check=False,
            )
    # The range beside the median: a difference inside both ranges is this machine's noise.
    print(f"\nmedian (lowest-highest) of {args.rounds} interleaved runs")
    print(f"{'figure':24}{args.revision:>26}{'working tree':>26}")
    for key in FIGURES[args.figure]:
        cells = [_summary([run[key] for run in runs[name]]) for name in runs]
        print(f"{key:24}{cells[0]:>26}{cells[1]:>26}")


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()
