"""A live local run for the tests that use it as a user does: the `wacloud` commands and the chat view
in a browser. One per module (starting one takes a second or two), in a folder that looks like the
project (template.yaml, functions/, events/), with AWS a moto server on a free port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from wacloud.local.pipeline import LocalPipeline, PipelineOptions
from wacloud.local.run import local_state, start_aws_emulator
from wacloud.local.state import write_state
from wacloud.runtime import singletons


@pytest.fixture(autouse=True)
def aws_environment() -> Iterator[None]:
    """Overrides the suite's per-test AWS environment: here the module's live run owns it."""
    yield


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    project = tmp_path_factory.mktemp("project")
    for name in ("template.yaml", "functions", "events"):
        (project / name).symlink_to(ROOT / name)
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true")
    server = start_aws_emulator()  # sets AWS_ENDPOINT_URL and fake credentials for this process
    reset_aws = f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/reset"
    requests.post(reset_aws, timeout=10)  # moto's state is this process's: start from nothing
    # These tests drive the chat view and the commands; the plain AutoReplyText (one quoting reply
    # to every message) keeps their expectations simple. The rules file has its own scenario test.
    options = PipelineOptions(
        project_dir=project,
        retry_delay=1,
        status_delays=(0.1, 0.2, 0.3),
        log_level="ERROR",
        parameters={"ConversationRules": ""},
    )
    pipeline = LocalPipeline(options).start()
    write_state(project, local_state(pipeline))
    os.chdir(project)
    try:
        yield pipeline
    finally:
        os.chdir(saved_cwd)
        pipeline.stop()
        requests.post(reset_aws, timeout=10)
        server.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        singletons.reset()
