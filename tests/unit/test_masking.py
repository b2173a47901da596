"""The log formatter's masking: customer data never reaches a log line, whatever carries it there."""

from __future__ import annotations

import io
import json

import pytest
from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.masking import MaskingFormatter, mask_log, mask_text
from wacloud.models.outbound import OutboundMessage

PHONE = "16505551234"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
TEXT = "my secret phrase is swordfish"


@pytest.mark.parametrize(
    "text",
    [
        f"(#131030) Recipient phone number +{PHONE} not in allowed list",
        f"to={PHONE}; retrying",
        f"message {WAMID} failed",
        f"{{'from': '{PHONE}', 'text': {{'body': '{TEXT}'}}}}",
        json.dumps({"from": PHONE, "text": {"body": TEXT}}),
    ],
)
def test_free_text_loses_numbers_wamids_and_quoted_text(text: str) -> None:
    masked = mask_text(text)
    assert PHONE not in masked
    assert WAMID not in masked
    assert TEXT not in masked


def test_pydantic_errors_lose_the_input_they_quote() -> None:
    with pytest.raises(ValidationError) as caught:
        OutboundMessage.model_validate(
            {"idempotency_key": TEXT, "message": {"type": "text", "to": f"+{PHONE}", "text": {"body": "hi"}}}
        )
    assert TEXT in str(caught.value)  # pydantic does quote it
    assert TEXT not in mask_text(str(caught.value))


def test_structured_fields_are_masked_by_what_they_hold() -> None:
    record = {
        "to": f"+{PHONE}",
        "from": int(PHONE),
        "body": TEXT,
        "event": {"contacts": [{"profile": {"name": "Zelda Quintessa"}, "wa_id": PHONE}]},
    }
    masked = json.dumps(mask_log(record))
    for secret in (PHONE, TEXT, "Zelda"):
        assert secret not in masked
    assert mask_log({"to": f"+{PHONE}"}) == {"to": "+165******34"}


@pytest.mark.parametrize(
    "value",
    ["c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "1-5759e988-bd862e3fe1be46a994272793", "code 131030", "v25.0"],
)
def test_what_is_not_customer_data_is_left_alone(value: str) -> None:
    assert mask_log({"message": value}) == {"message": value}
    assert mask_log({"age_seconds": 1764000000}) == {"age_seconds": 1764000000}


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
