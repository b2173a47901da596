"""wacloud.runtime.logs: the package's child loggers reach the function's logger, and the webhook's
`LeanLogger` writes the JSON lines Powertools' Logger would, masked, without importing Powertools."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Logger

from wacloud.local.lambda_context import LocalContext
from wacloud.runtime.logs import LeanLogger, child_logger
from wacloud.runtime.masking_formatter import MaskingFormatter


@pytest.fixture
def lean(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LeanLogger, io.StringIO]]:
    """A LeanLogger for a service of its own, its handler pointed at a buffer."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "lean-test")
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    logger = LeanLogger()
    buffer = io.StringIO()
    (handler,) = [h for h in logging.getLogger("lean-test").handlers if getattr(h, "wacloud_lean", False)]
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield logger, buffer
    handler.setStream(previous)  # type: ignore[attr-defined]
    logging.getLogger("lean-test").handlers.clear()


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_child_loggers_line_reaches_the_function_logger_with_its_extra_keys(lean) -> None:
    _, buffer = lean
    child_logger("wacloud.some.module").info("Queued", extra={"events": 2})

    (line,) = lines(buffer)
    assert line["message"] == "Queued" and line["events"] == 2 and line["level"] == "INFO"
    assert line["service"] == "lean-test" and line["location"].endswith(f":{line['location'].split(':')[1]}")


def test_lines_are_masked_as_the_powertools_formatter_masks_them(lean) -> None:
    _, buffer = lean
    child_logger("m").warning("Refused for +16505551234", extra={"to": "16505551234", "text": "swordfish"})

    (line,) = lines(buffer)
    assert "16505551234" not in json.dumps(line) and "swordfish" not in json.dumps(line)
    assert line["to"] == "165******34" and line["text"] == "<9 characters>"


def test_an_exception_is_written_with_its_name_and_traceback(lean) -> None:
    _, buffer = lean
    try:
        raise KeyError("missing")
    except KeyError:
        child_logger("m").exception("Unexpected")

    (line,) = lines(buffer)
    assert line["exception_name"] == "KeyError" and "Traceback" in line["exception"]


def test_the_lambda_contexts_keys_are_on_each_line_and_cold_start_only_on_the_first(lean) -> None:
    logger, buffer = lean

    @logger.inject_lambda_context(correlation_id=lambda event: event["id"])
    def handler(event: dict, context: LocalContext) -> None:
        logger.info("Handled")

    handler({"id": "req-1"}, LocalContext(function_name="fn"))
    handler({"id": "req-2"}, LocalContext(function_name="fn", aws_request_id="abc"))

    first, second = lines(buffer)
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert (first["correlation_id"], second["correlation_id"]) == ("req-1", "req-2")
    assert second["function_request_id"] == "abc" and second["function_name"] == "fn"


def test_made_twice_it_writes_each_line_once_and_not_to_the_root(lean, monkeypatch: pytest.MonkeyPatch) -> None:
    _, buffer = lean
    root = io.StringIO()
    monkeypatch.setattr(logging.root, "handlers", [logging.StreamHandler(root)])
    LeanLogger().info("Once")

    assert [line["message"] for line in lines(buffer)] == ["Once"]
    assert root.getvalue() == ""


def test_the_level_is_lambdas_before_powertools(monkeypatch: pytest.MonkeyPatch, lean) -> None:
    _, buffer = lean
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")
    LeanLogger()
    child_logger("m").info("Hidden")
    child_logger("m").warning("Shown")

    assert [line["message"] for line in lines(buffer)] == ["Shown"]


def test_a_line_has_the_keys_of_powertools_line_for_the_same_record(lean) -> None:
    logger, buffer = lean
    stream = io.StringIO()
    powertools = Logger(service="lean-compare", logger_formatter=MaskingFormatter(), stream=stream)
    context = LocalContext(function_name="fn")

    @logger.inject_lambda_context(correlation_id=lambda event: "req")
    def ours(event: dict, context: LocalContext) -> None:
        logger.info("Same", extra={"events": 1})

    @powertools.inject_lambda_context(correlation_id_path="id")
    def theirs(event: dict, context: LocalContext) -> None:
        powertools.info("Same", extra={"events": 1})

    ours({}, context)
    theirs({"id": "req"}, context)

    (line,) = lines(buffer)
    expected = json.loads(stream.getvalue())
    assert set(line) == set(expected) - {"sampling_rate"}
    # (Powertools' cold_start is the process's: another test may have had its first invocation.)
    same = ("level", "message", "events", "correlation_id", "function_name", "function_request_id")
    assert {key: line[key] for key in same} == {key: expected[key] for key in same}
    assert len(line["timestamp"]) == len(expected["timestamp"])
