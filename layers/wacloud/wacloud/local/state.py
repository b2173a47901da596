"""Where a running local pipeline is: written by `wacloud local` beside template.yaml, read by the
other `wacloud` commands (the local run is their target when no `--stack` is given), removed when
the run stops."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

STATE_FILE = ".wacloud-local.json"


class LocalState(BaseModel):
    pid: int
    region: str
    aws_endpoint: str  # the moto server
    simulator_url: str  # the simulated Meta side: Graph API, chat view, simulator API
    outputs: dict[str, str]  # as a deployed stack's outputs; WebhookUrl is the front door's
    parameters: dict[str, str]
    environments: dict[str, dict[str, str]]  # each function's environment, for `wacloud invoke`

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def activate(self) -> None:
        """Point this process's AWS clients at the local run's moto server."""
        os.environ.update(AWS_ENDPOINT_URL=self.aws_endpoint, AWS_DEFAULT_REGION=self.region)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")


def state_path(project_dir: Path) -> Path:
    return project_dir / STATE_FILE


def write_state(project_dir: Path, state: LocalState) -> None:
    """Written whole or not at all: a command reading it never sees half a file."""
    path = state_path(project_dir)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_state(project_dir: Path) -> LocalState | None:
    """The running local pipeline, or None when none is running."""
    path = state_path(project_dir)
    try:
        state = LocalState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if state.alive() else None


def remove_state(project_dir: Path) -> None:
    """Remove this process's state file (never another run's)."""
    path = state_path(project_dir)
    try:
        mine = LocalState.model_validate_json(path.read_text(encoding="utf-8")).pid == os.getpid()
    except (OSError, ValueError):
        return
    if mine:
        path.unlink(missing_ok=True)
