"""wacloud.runtime.masking_formatter: Powertools' JSON lines, every record through `mask_log`."""

from __future__ import annotations

import io
import json

from aws_lambda_powertools import Logger

from wacloud.runtime.masking_formatter import MaskingFormatter

PHONE = "16505551234"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
TEXT = "my secret phrase is swordfish"


def test_a_logged_exception_with_its_traceback_is_masked() -> None:
    stream = io.StringIO()
    logger = Logger(service="masking-test", logger_formatter=MaskingFormatter(), logger_handler=None, stream=stream)
    try:
        raise ValueError(f"could not send {dict(body=TEXT)} to +{PHONE} ({WAMID})")
    except ValueError:
        logger.exception("Send blew up", extra={"to": PHONE, "wamid": WAMID})

    line = json.loads(stream.getvalue())
    assert line["message"] == "Send blew up"
    assert "ValueError" in line["exception"]
    for secret in (PHONE, TEXT, WAMID):
        assert secret not in stream.getvalue()
