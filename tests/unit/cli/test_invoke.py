"""`wacloud invoke`: a handler run here with a sample event, in the environment Lambda would give it
(its function's variables and task root), which the rest of the process does not keep."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.conftest import ROOT, TEMPLATE
from wacloud import cli
from wacloud.cli import invoke
from wacloud.cli.targets import Target
from wacloud.local.cloudformation import Stack
from wacloud.local.state import LocalState


@pytest.fixture
def local_run(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The local run as `wacloud invoke` sees it, over this test's moto stack."""
    state = LocalState(
        pid=os.getpid(),
        region=aws.parameters.get("AWS::Region", "us-east-1"),
        aws_endpoint="",
        simulator_url="",
        outputs=aws.outputs(TEMPLATE),
        parameters=aws.parameters,
        environments=aws.environments,
    )
    target = Target("the local run", state.outputs, state.parameters, state)
    monkeypatch.setattr(invoke, "resolve_target", lambda args: target)
    monkeypatch.chdir(ROOT)  # as a user runs it: from the repository root
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    return aws


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    # The handler's own log and metric lines go to stdout too: the answer is the indented JSON.
    return code, json.loads(out[out.index("{\n") :]) if "{\n" in out else None, err


def test_the_processor_finds_its_rules_file_in_its_own_directory(local_run, capsys):
    code, answer, err = run(capsys, "invoke", "processor", "-e", "events/processor-sqs-events.json")

    assert (code, answer) == (0, {"batchItemFailures": []}), err[-2000:]
    assert "FileNotFoundError" not in err


def test_the_functions_environment_is_not_left_in_the_process(local_run, capsys):
    before = dict(os.environ)

    code, _, err = run(capsys, "invoke", "processor", "-e", "events/processor-sqs-events.json")

    assert code == 0, err[-2000:]
    assert "LAMBDA_TASK_ROOT" not in os.environ
    assert dict(os.environ) == before
