"""No customer phone number, message text or profile name in any log line, along the whole pipeline
and its failure paths (captured at the file descriptor, so every handler's output is seen)."""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Iterator

import pytest
from moto import mock_aws

from wacloud.local.meta.fake_graph import ScriptedAnswer, graph_error
from wacloud.local.pipeline import LocalPipeline, PipelineOptions
from wacloud.runtime.logs import LeanFormatter
from wacloud.runtime.masking_formatter import MaskingFormatter

CUSTOMER = "15557654321"
NAME = "Zelda Quintessa"
TEXT = "my secret phrase is swordfish"


@pytest.fixture
def logs(pipeline) -> Iterator[io.StringIO]:
    """Every log line the functions and the package write, through the formatter Lambda uses.

    The functions' loggers (Powertools' and the webhook's lean one) write through their own handler
    and formatter: those handlers are pointed at a buffer. The package's child loggers were created
    under this test run's service name, which may have no function logger of its own: what they
    propagate to the root is formatted by the functions' formatter too.
    """
    buffer = io.StringIO()
    formatter = importlib.import_module("functions.sender.app").logger.registered_formatter
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    swapped = [
        (handler, handler.setStream(buffer))
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and isinstance(handler.formatter, MaskingFormatter | LeanFormatter)
    ]
    orphans = logging.StreamHandler(buffer)
    orphans.setFormatter(formatter)
    logging.root.addHandler(orphans)
    level = logging.root.level
    logging.root.setLevel(logging.INFO)
    yield buffer
    logging.root.setLevel(level)
    logging.root.removeHandler(orphans)
    for handler, stream in swapped:
        handler.setStream(stream)


FUNCTIONS = ("webhook", "processor", "sender", "api")


def assert_nothing_personal(output: str) -> None:
    assert output.strip(), "nothing was logged: the test would prove nothing"
    for secret in (CUSTOMER, NAME, TEXT, "swordfish"):
        assert secret not in output, f"{secret!r} leaked into the logs"


def test_a_conversation_with_failures_logs_nothing_personal(pipeline, logs):
    # A message in, its replies out; then Graph refuses a send with an error that quotes the number.
    pipeline.customer_says(TEXT, sender=CUSTOMER, name=NAME)
    pipeline.drain()
    refusal = {
        "error": {
            "message": f"(#131030) Recipient phone number +{CUSTOMER} not in allowed list",
            "type": "OAuthException",
            "code": 131030,
            "error_data": {"messaging_product": "whatsapp", "details": f"+{CUSTOMER} is not a test number"},
        }
    }
    outage = graph_error(2, f"Service unavailable for +{CUSTOMER}", status=503)
    pipeline.graph.script(outage, ScriptedAnswer(status=400, body=refusal))
    pipeline.send_outbound(
        {"idempotency_key": "masking-1", "message": {"type": "text", "to": f"+{CUSTOMER}", "text": {"body": TEXT}}}
    )
    # A document that breaks the contract, with the number where it does not belong.
    pipeline.send_outbound(
        {"idempotency_key": "masking-2", "message": {"type": "text", "to": f"+{CUSTOMER}", "text": {"body": 42}}}
    )
    pipeline.drain()
    # The package's code logging an error text that quotes the number, as it would an exception's.
    from wacloud.outbound import sender as sending

    sending.logger.warning(f"Graph said: Service unavailable for +{CUSTOMER}")

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    # The failures were logged (the test would prove nothing otherwise), masked.
    assert any(line["level"] == "WARNING" and line.get("error_code") == 131030 for line in lines)
    assert any(line["message"] == "Outbound document rejected" for line in lines)
    # The error text reached a line, the number in it masked by the formatter.
    assert any("Service unavailable for +155******21" in json.dumps(line) for line in lines)
    assert_nothing_personal(logs.getvalue())


def test_a_whole_event_logged_by_hand_is_masked_too(pipeline, logs):
    # `POWERTOOLS_LOGGER_LOG_EVENT=true` logs every event whole: the formatter is what stands between.
    from functions.webhook.app import logger

    body, _ = pipeline.customer_says(TEXT, sender=CUSTOMER, name=NAME)
    logger.info({"event": {"body": json.dumps(body), "headers": {"content-type": "application/json"}}})
    logger.warning(f"could not handle the message {body['entry'][0]['changes'][0]['value']['messages'][0]}")

    assert_nothing_personal(logs.getvalue())


def test_every_function_logs_through_a_masking_formatter():
    for name in FUNCTIONS:
        logger = importlib.import_module(f"functions.{name}.app").logger
        expected = LeanFormatter if name == "webhook" else MaskingFormatter  # the webhook's has no Powertools
        assert isinstance(logger.registered_formatter, expected), name


def test_the_local_runs_terminal_masks_customers_unless_asked_to_show_them():
    from wacloud.local.meta.webhooks import text_message

    for show in (False, True):
        lines: list[str] = []
        with mock_aws():
            options = PipelineOptions(background=False, retry_delay=0, show_personal_data=show)
            local = LocalPipeline(options, echo=lines.append).start()
            try:
                body = text_message("my secret order", phone_number_id=local.phone_number_id, sender="16505559876")
                local.post_webhook(body)
                local.drain()
            finally:
                local.stop()
        printed = "\n".join(lines)
        assert "[graph]" in printed  # the reply was shown
        assert ("16505559876" in printed) is show
        assert ("wamid.TE9D" in printed) is show  # wamids carry the number
