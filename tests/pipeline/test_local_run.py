"""The README's main command, as a user runs it: `wacloud local` starts everything, a signed
message goes in, and the demo waits for the reply at the fake Graph API and its stored record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_local_run_demo_goes_from_webhook_to_read_reply(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WACLOUD_", "POWERTOOLS_"))}
    # A folder of its own (the run leaves its state file there), free ports: a local run the developer
    # has going in the checkout is not disturbed, nor does it disturb this.
    for name in ("template.yaml", "functions"):
        (tmp_path / name).symlink_to(ROOT / name)
    result = subprocess.run(
        [sys.executable, "-m", "wacloud.local", "--demo", "--port", "0", "--simulator-port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "POST /webhook -> 200" in out
    assert "status webhook: read" in out
    assert '"status": "read"' in out
    assert "Demo passed" in out
    assert not (tmp_path / ".wacloud-local.json").exists()  # removed when the run ended
