"""The local run's state file: written whole, read only while its run lives, removed only by its own
run; a second run in the same folder is refused instead of taking the first one's place."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wacloud.local.state import LocalState, read_state, remove_state, state_path, write_state


def state(pid: int) -> LocalState:
    return LocalState(
        pid=pid,
        region="us-east-1",
        aws_endpoint="http://127.0.0.1:1",
        simulator_url="http://127.0.0.1:3001",
        outputs={"MessagesTableName": "t"},
        parameters={},
        environments={},
    )


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def finished_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(process.stdout)


def test_a_running_runs_state_is_read_and_a_finished_ones_is_not(project):
    write_state(project, state(os.getpid()))
    assert read_state(project) == state(os.getpid())
    assert [p.name for p in project.iterdir() if p.name.startswith(".wacloud")] == [".wacloud-local.json"]

    write_state(project, state(finished_pid()))
    assert read_state(project) is None


def test_a_run_removes_only_its_own_state(project):
    write_state(project, state(finished_pid()))
    remove_state(project)
    assert state_path(project).exists()  # another run's: left alone

    write_state(project, state(os.getpid()))
    remove_state(project)
    assert not state_path(project).exists()


def test_a_second_local_run_in_the_same_folder_is_refused(project, capsys):
    from wacloud.local.run import run_local

    write_state(project, state(os.getpid()))  # this process plays the run already going

    assert run_local(port=0, simulator_port=0) == 2

    assert "A local run is already going here" in capsys.readouterr().err
    assert read_state(project) is not None  # its state file is untouched
