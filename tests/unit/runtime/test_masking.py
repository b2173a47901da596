"""The log formatter's masking: customer data never reaches a log line, whatever carries it there."""

from __future__ import annotations

import json

import boto3
import pytest
from pydantic import ValidationError

from wacloud.adapters.credentials import get_credentials
from wacloud.local.cloudformation import Stack
from wacloud.models.outbound import OutboundMessage
from wacloud.runtime import singletons
from wacloud.runtime.masking import mask_key, mask_log, mask_phone, mask_text, mask_wamid

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
        json.dumps(json.dumps({"text": {"body": TEXT}})),  # JSON inside a JSON string
        f"Text(body='{TEXT}')",  # a model's repr
        "call +1 (650) 555-1234 back",
        f"input_value={{'a': {{'b': 1}}, 'payload': '{TEXT}'}}, input_type=dict",
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


def test_credentials_are_redacted_wherever_a_logged_event_carries_them() -> None:
    event = {
        "queryStringParameters": {"hub.verify_token": "the-verify-token", "hub.challenge": "42"},
        "headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA", "X-Amz-Security-Token": "session"},
        "secret": {"access_token": "EAAG", "app_secret": "s3cr3t"},
        "message": "GET https://graph.facebook.com with Bearer EAAGtoken123",
    }
    masked = json.dumps(mask_log(event))
    for secret in ("the-verify-token", "AKIA", "session", "EAAG", "s3cr3t"):
        assert secret not in masked
    assert mask_log(event)["queryStringParameters"]["hub.challenge"] == "42"


def test_contact_cards_and_locations_are_masked() -> None:
    record = {
        "contacts": [
            {
                "name": {"formatted_name": "Zelda Quintessa", "first_name": "Zelda"},
                "emails": [{"email": "zelda@example.com"}],
                "phones": [{"phone": "+1 (650) 555-1234", "wa_id": PHONE}],
            }
        ],
        "location": {"latitude": 37.48, "longitude": -122.15, "name": "Zelda's home", "address": "1 Hacker Way"},
        PHONE: "a number as a key",
    }
    masked = json.dumps(mask_log(record))
    for secret in ("Zelda", "zelda@example.com", "555-1234", "37.48", "-122.15", "Hacker Way", PHONE):
        assert secret not in masked


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
    [
        "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "1-5759e988-bd862e3fe1be46a994272793",
        "code 131030",
        "v25.0",
        "template {'name': 'order_update'}",
    ],
)
def test_what_is_not_customer_data_is_left_alone(value: str) -> None:
    assert mask_log({"message": value}) == {"message": value}
    assert mask_log({"age_seconds": 1764000000}) == {"age_seconds": 1764000000}


def test_ids_a_reader_needs_survive_masking() -> None:
    record = {
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:wacloud-sender",
        "phone_number_id": "100000000000001",
        "message": "queue arn:aws:sqs:us-east-1:123456789012:outbound.fifo, at 1764000000, media 1234567890123456",
        "request": "12345678-1234-1234-1234-123456789012",
        "template": "order_update",
    }
    assert mask_log(record) == record


# --- masking ----------------------------------------------------------------------------------------


def test_mask_phone_example() -> None:
    assert mask_phone("+16505551234") == "+165******34"


@pytest.mark.parametrize("length", [pytest.param(n, id=f"len-{n}") for n in range(1, 21)])
def test_mask_phone_never_returns_the_full_number(length: int) -> None:
    number = "".join(str((i * 7 + 3) % 10) for i in range(length))

    masked = mask_phone(number)

    assert masked != number
    assert len(masked) == length
    assert "*" in masked


@pytest.mark.parametrize("value", [None, ""], ids=["none", "empty"])
def test_mask_phone_empty(value: str | None) -> None:
    assert mask_phone(value) == ""


WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMzM0RgA="  # base64 holding 16503879439


def test_mask_wamid_hides_the_number_inside_and_is_stable() -> None:
    masked = mask_wamid(WAMID)
    assert "HBgL" not in masked and "16503879439" not in masked
    assert masked == mask_wamid(WAMID) != mask_wamid(WAMID + "x")
    assert mask_wamid(None) == ""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param(f"read:{WAMID}", f"read:{mask_wamid(WAMID)}", id="read-receipt"),
        pytest.param(f"reply:{WAMID}", f"reply:{mask_wamid(WAMID)}", id="reply"),
        pytest.param("order-1234-shipped", "order-1234-shipped", id="producer-key"),
    ],
)
def test_mask_key_masks_only_keys_made_of_a_wamid(key: str, expected: str) -> None:
    assert mask_key(key) == expected


def test_powertools_providers_share_the_process_boto3_session(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # A boto3 session of their own would read the service models again: ~150 ms of a cold start.
    import boto3

    from wacloud.adapters.aws_session import default_session
    from wacloud.runtime.idempotency import Idempotent

    default_session()
    created: list[int] = []
    real_init = boto3.session.Session.__init__

    def counted(self: boto3.session.Session, *args: object, **kwargs: object) -> None:
        created.append(1)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(boto3.session.Session, "__init__", counted)
    singletons.reset()

    get_credentials()
    Idempotent(lambda *, key: key, key_prefix="session-test", duplicate_metric="SessionTest")

    assert created == []
