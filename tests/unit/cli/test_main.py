"""The `wacloud` entry point: a reader that goes away (`wacloud status ... | head`) ends any command
quietly, as SIGPIPE ends a Unix tool, with no traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import IO

import pytest

from tests.conftest import PHONE_NUMBER_ID, outbound_document
from wacloud import cli
from wacloud.adapters.store import Store
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.outcomes import record_outcome


@pytest.fixture
def closed_pipe() -> Iterator[int]:
    """The writing end of a pipe whose reader has gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        yield write
    finally:
        os.close(write)


def test_a_command_whose_reader_is_gone_stops_quietly(deployed, closed_pipe, capsys, monkeypatch):
    record_outcome(Store(), outbound_document("k1"), SendOutcome.accepted("wamid.X"), PHONE_NUMBER_ID)
    stdout: IO[str] = open(closed_pipe, "w", closefd=False)  # noqa: SIM115 (closed below)
    monkeypatch.setattr(sys, "stdout", stdout)

    code = cli.main(["status", "k1", "--stack", "whatsapp-cloud"])

    stdout.close()  # what was left goes nowhere now, with no second error
    assert code == cli.SIGPIPE_EXIT_CODE == 141
    assert capsys.readouterr().err == ""
