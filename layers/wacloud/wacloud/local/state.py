"""Where a running local pipeline is: written by `wacloud local` beside template.yaml, read by the
other `wacloud` commands given `--local`, removed when the run stops."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

STATE_FILE = ".wacloud-local.json"


class LocalState(BaseModel):
    pid: int
    front_door: str
    graph_url: str
    aws_endpoint: str
    region: str
    table_name: str
    phone_number_id: str
    waba_id: str
    access_token: str  # the local run's made-up token, not a secret

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def state_path(project_dir: Path) -> Path:
    return project_dir / STATE_FILE


def write_state(project_dir: Path, state: LocalState) -> None:
    state_path(project_dir).write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_state(project_dir: Path) -> LocalState | None:
    """The running local pipeline, or None when none is running."""
    path = state_path(project_dir)
    try:
        state = LocalState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if state.alive() else None


def remove_state(project_dir: Path) -> None:
    state_path(project_dir).unlink(missing_ok=True)
