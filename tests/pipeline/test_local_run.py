"""The README's main command, as a user runs it: `wacloud local` starts everything, a signed
message goes in, and the demo waits for the reply at the fake Graph API and its stored record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_demo(folder: Path, *flags: str) -> str:
    """`wacloud local --demo` in a folder of its own; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WACLOUD_", "POWERTOOLS_"))}
    # A folder of its own (the run leaves its state file there), free ports: a local run the developer
    # has going in the checkout is not disturbed, nor does it disturb this.
    for name in ("template.yaml", "functions"):
        (folder / name).symlink_to(ROOT / name)
    result = subprocess.run(  # noqa: S603 (our own module, fixed flags)
        [sys.executable, "-m", "wacloud.local", "--demo", "--port", "0", "--simulator-port", "0", *flags],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not (folder / ".wacloud-local.json").exists()  # removed when the run ended
    return result.stdout + result.stderr


def test_local_run_demo_goes_from_webhook_to_read_reply(tmp_path):
    out = run_demo(tmp_path)
    assert "POST /webhook -> 200" in out
    assert "status webhook: read" in out
    assert '"status": "read"' in out
    assert "Demo passed" in out
    assert '"level":"INFO"' not in out  # the functions' own logs are kept to errors; these lines tell it


def test_verbose_shows_the_functions_own_info_lines(tmp_path):
    out = run_demo(tmp_path, "--verbose")
    info = [line for line in out.splitlines() if '"level":"INFO"' in line]
    assert any('"message":"Inbound message handled"' in line for line in info), out[-3000:]
    assert any('"message":"Message accepted by Graph"' in line for line in info), out[-3000:]
    assert "Demo passed" in out
