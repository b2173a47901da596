"""wacloud.runtime.http_answers: the exact bytes API Gateway hands over, proxy answers both payload
formats take, and the one mapping of the errors both HTTP functions share."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from wacloud.errors import ConfigurationError, TransientError
from wacloud.runtime.http_answers import UndecodableBodyError, error_answer, proxy_json, proxy_text, raw_body

SECRET_DETAIL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:whatsapp token=EAAG"


@pytest.mark.parametrize(
    ("body", "is_base64", "expected"),
    [
        ('{"object":"whatsapp_business_account"}', False, b'{"object":"whatsapp_business_account"}'),
        ("olá ✓", False, "olá ✓".encode()),
        (base64.b64encode(b"\xff\xfe binary").decode(), True, b"\xff\xfe binary"),
        (None, False, b""),
        (None, True, b""),
        ("", True, b""),
    ],
    ids=["plain", "utf-8", "base64", "none", "none-base64", "empty-base64"],
)
def test_raw_body_gives_the_bytes_the_caller_sent(body: str | None, is_base64: bool, expected: bytes) -> None:
    assert raw_body(body, is_base64_encoded=is_base64) == expected


@pytest.mark.parametrize("body", ["not base64!", "aGk", "aGk=\n=="], ids=["alphabet", "padding", "trailing"])
def test_a_body_that_is_not_valid_base64_is_undecodable(body: str) -> None:
    with pytest.raises(UndecodableBodyError, match="not valid base64"):
        raw_body(body, is_base64_encoded=True)


def test_proxy_answers_carry_their_content_type_in_headers_both_payload_formats_take() -> None:
    assert proxy_json(202, {"queued": True}) == {
        "statusCode": 202,
        "headers": {"Content-Type": "application/json"},
        "body": '{"queued":true}',
    }
    text = proxy_text(200, "1158201444")
    assert (text["body"], text["headers"]["X-Content-Type-Options"]) == ("1158201444", "nosniff")


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("error", str(msg), kwargs.get("extra") or {}))

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("exception", str(msg), {}))


@pytest.mark.parametrize(
    ("error", "status", "body", "logged"),
    [
        (UndecodableBodyError("body is not valid base64"), 400, {"error": "body is not valid base64"}, None),
        (TransientError(SECRET_DETAIL), 503, {"error": "temporarily unavailable"}, "error"),
        (ConfigurationError(SECRET_DETAIL), 500, {"error": "internal error"}, "error"),
        (KeyError(SECRET_DETAIL), 500, {"error": "internal error"}, "exception"),
    ],
    ids=["undecodable", "transient", "misconfigured", "unexpected"],
)
def test_each_shared_error_has_its_answer_and_what_is_not_answered_is_logged(
    error: Exception, status: int, body: dict[str, str], logged: str | None
) -> None:
    logger = RecordingLogger()
    answered = error_answer(error, logger, name="Webhook")
    assert answered == (status, body)
    assert "EAAG" not in json.dumps(answered)  # the exception's text is logged, never answered
    assert [line[0] for line in logger.lines] == ([logged] if logged else [])
    if logged == "error":  # what is not answered is in the log
        assert logger.lines[0][2] == {"error": SECRET_DETAIL}
