"""wacloud.outbound.contract: a document's FIFO group and deduplication id, and the committed JSON
Schema of the contract."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.unit.models.test_outbound import BSUID, SCHEMA_FILE, TO, WAMID, document, text
from wacloud.models.outbound import ReadReceipt
from wacloud.outbound.contract import (
    OutboundMessage,
    TextMessage,
    deduplication_id,
    document_digest,
    message_group_id,
    parse_document,
    schema,
)

# --- recipient, group and deduplication ids ---------------------------------------------------------


def test_recipient_is_the_to_of_a_message_and_none_for_a_read_receipt() -> None:
    assert OutboundMessage.model_validate(document(text())).recipient == TO
    receipt = OutboundMessage(idempotency_key="r", message=ReadReceipt(status="read", message_id=WAMID))
    assert receipt.recipient is None


@pytest.mark.parametrize(
    ("recipient", "group"),
    [
        pytest.param("+1 (650) 555-1234", "16505551234", id="formatted"),
        pytest.param("+16505551234", "16505551234", id="e164"),
        pytest.param("16505551234", "16505551234", id="webhook-form"),
        pytest.param("1-650-555-1234", "16505551234", id="dashes"),
        pytest.param(BSUID, BSUID, id="bsuid"),
    ],
)
def test_message_group_id(recipient: str, group: str) -> None:
    assert message_group_id(recipient) == group


def test_one_customer_one_group_whatever_the_format() -> None:
    # A reply to a webhook sender and a producer's message to the same person share the FIFO group.
    assert len({message_group_id(r) for r in ("+1 (650) 555-1234", "16505551234", "+1 650-555-1234")}) == 1


def test_message_group_id_is_valid_for_sqs() -> None:
    for recipient in ("+1 (650) 555-1234", BSUID, "US." + "a" * 250):
        assert re.fullmatch(r"[\x21-\x7e]{1,128}", message_group_id(recipient))


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("order-1234-shipped", id="short"),
        pytest.param("k" * 128, id="max-length"),
        pytest.param(f"read:{WAMID}", id="read-receipt"),
        pytest.param("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", id="punctuation"),
    ],
)
def test_deduplication_id_is_stable_and_valid_for_sqs(key: str) -> None:
    text = {"type": "text", "to": "+16505551234", "text": {"body": "hi"}}
    body = json.dumps({"idempotency_key": key, "message": text})
    first = deduplication_id(body)

    assert first == deduplication_id(body) == deduplication_id(body.encode())
    assert 1 <= len(first) <= 128
    assert re.fullmatch(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]+", first)


def test_a_corrected_document_under_the_same_key_is_not_deduplicated_by_sqs() -> None:
    # SQS drops a message whose deduplication id it saw in the last five minutes: by body, the
    # corrected document reaches the sender (a key refused as invalid is free again).
    wrong = json.dumps({"idempotency_key": "order-1", "message": {"to": "+16505551234", "text": {}}})
    text = {"type": "text", "to": "+16505551234", "text": {"body": "hi"}}
    right = json.dumps({"idempotency_key": "order-1", "message": text})
    assert deduplication_id(wrong) != deduplication_id(right)


def test_one_document_has_one_digest_however_it_is_written() -> None:
    document = {"idempotency_key": "order-1", "message": {"type": "text", "to": "+16505551234", "text": {"body": "hi"}}}
    spaced = json.dumps(document, indent=2, sort_keys=True)
    filled = parse_document(json.dumps(document)).model_dump_json(exclude_none=True)  # defaults written out
    assert document_digest(parse_document(spaced)) == document_digest(parse_document(filled))
    other = {**document, "message": {"type": "text", "to": "+16505551234", "text": {"body": "hi!"}}}
    assert document_digest(parse_document(json.dumps(other))) != document_digest(parse_document(spaced))


def test_deduplication_id_of_sample_events() -> None:
    records = json.loads((ROOT / "events" / "sender-sqs-messages.json").read_text(encoding="utf-8"))["Records"]
    record = records[0]

    assert deduplication_id(record["body"]) == record["attributes"]["MessageDeduplicationId"]


# --- the committed JSON Schema ----------------------------------------------------------------------


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

    assert committed == schema(), (
        "schemas/outbound-message.schema.json is out of date with wacloud.models.outbound: run `make schema`"
    )


def test_schema_declares_draft_and_id() -> None:
    document_schema = schema()

    assert document_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document_schema["$id"].endswith("/schemas/outbound-message.schema.json")
    assert document_schema["additionalProperties"] is False
    assert set(document_schema["required"]) == {"idempotency_key", "message"}


def _schema_examples() -> list[Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8")).get("examples", [])


@pytest.mark.parametrize("example", _schema_examples(), ids=lambda e: e.get("idempotency_key", "?")[:24])
def test_schema_example_validates(example: dict[str, Any]) -> None:
    parsed = OutboundMessage.model_validate(example)

    assert parsed.idempotency_key == example["idempotency_key"]


def test_schema_has_examples_of_a_message_and_a_read_receipt() -> None:
    kinds = {type(OutboundMessage.model_validate(e).message) for e in _schema_examples()}

    assert TextMessage in kinds
    assert ReadReceipt in kinds
