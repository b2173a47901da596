"""The outbound contract: wacloud.outbound.contract, wacloud.models.outbound and describe()."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import ROOT
from wacloud.models.outbound import ReadReceipt
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import (
    SCHEMA_VERSION,
    OutboundMessage,
    message_group_id,
)

SCHEMA_FILE = ROOT / "schemas" / "outbound-message.schema.json"
TO = "+16505551234"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
BSUID = "US.13491208655302741918"


def document(message: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"idempotency_key": "key-1", **envelope, "message": message}


def text(body: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"to": TO, "type": "text", "text": {"body": body}, **extra}


def image(**media: Any) -> dict[str, Any]:
    return {"to": TO, "type": "image", "image": media}


def error_messages(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return describe(exc.value)


# --- every supported message validates --------------------------------------------------------------

VALID_MESSAGES = {
    "text": {"to": TO, "type": "text", "text": {"body": "See https://example.com/track", "preview_url": True}},
    "image-by-id": image(id="1234567890", caption="Your receipt"),
    "image-by-link": image(link="https://example.com/receipt.jpg"),
    "video": {"to": TO, "type": "video", "video": {"link": "https://example.com/v.mp4", "caption": "Demo"}},
    "audio-voice": {"to": TO, "type": "audio", "audio": {"id": "AUDIO1", "voice": True}},
    "document": {
        "to": TO,
        "type": "document",
        "document": {"link": "https://example.com/invoice.pdf", "filename": "invoice.pdf", "caption": "Invoice"},
    },
    "sticker": {"to": TO, "type": "sticker", "sticker": {"id": "STICKER1"}},
    "location": {
        "to": TO,
        "type": "location",
        "location": {"latitude": 37.4847, "longitude": -122.1477, "name": "HQ", "address": "1 Hacker Way"},
    },
    "contacts": {
        "to": TO,
        "type": "contacts",
        "contacts": [{"name": {"formatted_name": "Ana Lima", "first_name": "Ana"}, "phones": [{"phone": TO}]}],
    },
    "interactive-button": {
        "to": TO,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Did it arrive?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                ]
            },
        },
    },
    "template-with-components": {
        "to": TO,
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/h.png"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "1234"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1234"}]},
            ],
        },
    },
    "reaction": {"to": TO, "type": "reaction", "reaction": {"message_id": WAMID, "emoji": "👍"}},
    "reaction-removal": {"to": TO, "type": "reaction", "reaction": {"message_id": WAMID, "emoji": ""}},
    "reply-with-context": text("re", context={"message_id": WAMID}, biz_opaque_callback_data="x" * 512),
    "recipient-bsuid": {"recipient": BSUID, "type": "text", "text": {"body": "hi"}},
    "recipient-parent-bsuid": {"recipient": "US.ENT.11815799212886844830", "type": "text", "text": {"body": "hi"}},
    "group": {"recipient_type": "group", "to": "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyNzIwOTE", **text()},
    "to-formatted-phone": {"to": "+1 (650) 555-1234", "type": "text", "text": {"body": "hi"}},
}


@pytest.mark.parametrize("message", list(VALID_MESSAGES.values()), ids=list(VALID_MESSAGES))
def test_supported_message_validates(message: dict[str, Any]) -> None:
    parsed = OutboundMessage.model_validate(document(message))

    assert parsed.message.type == message["type"]
    assert parsed.recipient == message.get("to", message.get("recipient"))
    assert parsed.schema_version == SCHEMA_VERSION == 1
    # The Graph body carries everything the producer wrote (`to` or `recipient`, as written), plus
    # Graph's fixed fields.
    assert parsed.graph_body() == {"messaging_product": "whatsapp", "recipient_type": "individual"} | _defaults_added(
        message
    )


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _defaults_added(message: dict[str, Any]) -> dict[str, Any]:
    """The message as Graph receives it: preview_url and components get their defaults."""
    message = _without_none(message)
    if message["type"] == "text":
        message["text"] = {"preview_url": False, **message["text"]}
    if message["type"] == "template":
        message["template"] = {"components": [], **message["template"]}
    return message


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [
        pytest.param(
            {"status": "read", "message_id": WAMID},
            {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID},
            id="plain",
        ),
        pytest.param(
            {"status": "read", "message_id": WAMID, "typing_indicator": {"type": "text"}},
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": WAMID,
                "typing_indicator": {"type": "text"},
            },
            id="typing-indicator",
        ),
        pytest.param(
            {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID, "typing_indicator": {}},
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": WAMID,
                "typing_indicator": {"type": "text"},
            },
            id="typing-indicator-default-type",
        ),
    ],
)
def test_read_receipt_validates(receipt: dict[str, Any], expected: dict[str, Any]) -> None:
    parsed = OutboundMessage.model_validate(document(receipt, idempotency_key=f"read:{WAMID}"))

    assert isinstance(parsed.message, ReadReceipt)
    assert parsed.recipient is None
    assert parsed.graph_body() == expected


# --- graph_body() is what Graph expects ------------------------------------------------------------


def test_graph_body_of_text_message() -> None:
    parsed = OutboundMessage.model_validate(
        document(text("Your order shipped"), client_reference="order-1", phone_number_id="100000000000001")
    )

    # The envelope (idempotency key, client reference, sending number) is not part of the body.
    assert parsed.graph_body() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "Your order shipped", "preview_url": False},
    }


def test_graph_body_has_no_none_values() -> None:
    parsed = OutboundMessage.model_validate(document(image(link="https://example.com/a.jpg")))

    body = parsed.graph_body()

    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "image",
        "image": {"link": "https://example.com/a.jpg"},
    }
    assert "null" not in json.dumps(body)


def test_graph_body_keeps_empty_reaction_emoji() -> None:
    parsed = OutboundMessage.model_validate(document(VALID_MESSAGES["reaction-removal"]))

    assert parsed.graph_body()["reaction"] == {"message_id": WAMID, "emoji": ""}


def test_graph_body_is_json_serialisable_and_round_trips() -> None:
    for message in VALID_MESSAGES.values():
        parsed = OutboundMessage.model_validate(document(message))
        again = OutboundMessage.model_validate(document(json.loads(json.dumps(parsed.graph_body()))))
        assert again == parsed


def test_document_round_trips_through_json() -> None:
    parsed = OutboundMessage.model_validate(document(text(), client_reference="c"))

    assert OutboundMessage.model_validate_json(parsed.model_dump_json(exclude_none=True)) == parsed


def test_sample_sender_events_validate() -> None:
    records = json.loads((ROOT / "events" / "sender-sqs-messages.json").read_text(encoding="utf-8"))["Records"]

    for record in records:
        parsed = OutboundMessage.model_validate_json(record["body"])
        if parsed.recipient is not None:
            assert record["attributes"]["MessageGroupId"] == message_group_id(parsed.recipient)


# --- limits ----------------------------------------------------------------------------------------

INVALID = {
    "text-4097": (document(text("x" * 4097)), "message.text.body", "at most 4096"),
    "text-empty": (document(text("")), "message.text.body", "at least 1"),
    "caption-1025": (document(image(id="1", caption="c" * 1025)), "message.image.caption", "at most 1024"),
    "media-id-and-link": (document(image(id="1", link="https://example.com/a.jpg")), "message.image", "exactly one"),
    "media-neither": (document(image(caption="c")), "message.image", "exactly one"),
    "media-http-link": (document(image(link="http://example.com/a.jpg")), "message.image.link", "an https:// URL"),
    "latitude-91": (
        document({"to": TO, "type": "location", "location": {"latitude": 91, "longitude": 0}}),
        "message.location.latitude",
        "less than or equal to 90",
    ),
    "longitude-181": (
        document({"to": TO, "type": "location", "location": {"latitude": 0, "longitude": -181}}),
        "message.location.longitude",
        "greater than or equal to -180",
    ),
    "callback-data-513": (
        document(text(biz_opaque_callback_data="x" * 513)),
        "message.biz_opaque_callback_data",
        "at most 512",
    ),
    "idempotency-key-empty": (document(text(), idempotency_key=""), "idempotency_key", "at least 1"),
    "idempotency-key-129": (document(text(), idempotency_key="k" * 129), "idempotency_key", "at most 128"),
    "idempotency-key-space": (document(text(), idempotency_key="order 1"), "idempotency_key", "no spaces"),
    "idempotency-key-non-ascii": (document(text(), idempotency_key="pedido-ñ"), "idempotency_key", "printable ASCII"),
    "idempotency-key-missing": ({"message": text()}, "idempotency_key", "Field required"),
    "unknown-envelope-field": (document(text(), priority="high"), "priority", "Extra inputs are not permitted"),
    "unknown-message-field": (document(text(urgent=True)), "message.text.urgent", "Extra inputs are not permitted"),
    "unknown-message-type": (
        document({"to": TO, "type": "poll", "poll": {}}),
        "message",
        "does not match any of the expected tags",
    ),
    "bad-to-letters": (document({**text(), "to": "call-me-maybe"}), "message.to", "a phone number such as +1650"),
    "bad-to-short": (document({**text(), "to": "+12"}), "message.to", "a business-scoped user id goes in `recipient`"),
    "to-bsuid": (document({**text(), "to": BSUID}), "message.to", "a business-scoped user id goes in `recipient`"),
    "to-and-recipient": (document({**text(), "recipient": BSUID}), "message.text", "exactly one of `to`"),
    "no-address": (document({"type": "text", "text": {"body": "hi"}}), "message.text", "exactly one of `to`"),
    "recipient-phone": (
        document({"recipient": "+16505551234", "type": "text", "text": {"body": "hi"}}),
        "message.text.recipient",
        "a business-scoped user id such as",
    ),
    "group-by-recipient": (
        document({"recipient_type": "group", "recipient": BSUID, "type": "text", "text": {"body": "hi"}}),
        "message.text",
        "a group message goes `to` the group id",
    ),
    "marketing-messages-text": (document(text(), marketing_messages=True), "(document)", "must be a template"),
    "phone-number-id-letters": (document(text(), phone_number_id="12ab"), "phone_number_id", "pattern"),
    "schema-version-2": (document(text(), schema_version=2), "schema_version", "Input should be 1"),
    "reaction-no-message-id": (
        document({"to": TO, "type": "reaction", "reaction": {"message_id": "", "emoji": "👍"}}),
        "message.reaction.message_id",
        "at least 1",
    ),
    "read-receipt-not-read": (
        document({"status": "delivered", "message_id": WAMID}),
        "message.read_receipt.status",
        "Input should be 'read'",
    ),
    "read-receipt-extra-field": (
        document({"status": "read", "message_id": WAMID, "to": TO}),
        "message.read_receipt.to",
        "Extra inputs are not permitted",
    ),
    "template-no-language": (
        document({"to": TO, "type": "template", "template": {"name": "t"}}),
        "message.template.language",
        "Field required",
    ),
}


@pytest.mark.parametrize(("doc", "location", "fragment"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_document_is_rejected_with_a_readable_reason(doc: dict[str, Any], location: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OutboundMessage.model_validate(doc)

    reason = error_messages(caught)
    first = reason.split("; ")[0]
    assert first.startswith(f"{location}: "), reason
    assert fragment in first, reason


def test_limits_at_the_boundary_are_accepted() -> None:
    OutboundMessage.model_validate(document(text("x" * 4096), idempotency_key="k" * 128))
    OutboundMessage.model_validate(document(image(id="1", caption="c" * 1024)))
    OutboundMessage.model_validate(
        document({"to": TO, "type": "location", "location": {"latitude": 90, "longitude": 180}})
    )
    OutboundMessage.model_validate(document(text(biz_opaque_callback_data="x" * 512)))
    OutboundMessage.model_validate(document(text(), idempotency_key="!~:/" + "a" * 124))
