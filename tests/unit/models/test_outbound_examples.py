"""wacloud.models.outbound_examples: the published examples are valid documents, one of each kind."""

from __future__ import annotations

import json
import typing

import pytest

from wacloud.models.outbound import GraphMessage, ReadReceipt
from wacloud.models.outbound_examples import EXAMPLES, example
from wacloud.outbound.contract import parse_document

KEYS = [e["idempotency_key"] for e in EXAMPLES]


def message_types() -> set[str]:
    """Every `type` the contract's Graph message union takes."""
    union = typing.get_args(typing.get_args(GraphMessage)[0])
    return {typing.get_args(model.model_fields["type"].annotation)[0] for model in union}


@pytest.mark.parametrize("document", EXAMPLES, ids=[key[:40] for key in KEYS])
def test_every_example_is_a_valid_document_as_a_producer_would_send_it(document):
    parsed = parse_document(json.dumps(document))  # strict JSON types, as the queue and the API read it
    assert parsed.idempotency_key == document["idempotency_key"]
    assert parsed.kind == document["message"].get("type", "read_receipt")


def test_the_examples_keys_are_unique():
    assert len(KEYS) == len(set(KEYS))


def test_there_is_an_example_of_every_message_type_and_a_read_receipt():
    shown = {parse_document(json.dumps(e)).kind for e in EXAMPLES}
    assert len(message_types()) == 11  # the union was read (an empty set would prove nothing)
    assert message_types() | {"read_receipt"} <= shown, sorted(message_types() - shown)


def test_a_read_receipt_example_is_one():
    receipts = [e for e in EXAMPLES if isinstance(parse_document(json.dumps(e)).message, ReadReceipt)]
    assert receipts
    assert all(e["idempotency_key"] == f"read:{e['message']['message_id']}" for e in receipts)


def test_the_examples_show_media_from_the_bucket():
    assert any("s3_key" in json.dumps(e) for e in EXAMPLES)


def test_example_returns_the_example_with_that_key():
    assert example("order-1234-shipped") == next(e for e in EXAMPLES if e["idempotency_key"] == "order-1234-shipped")


def test_example_returns_a_copy_a_caller_may_change():
    # GIVEN a caller that edits what it got, deep inside
    copy = example("order-1234-shipped")
    copy["message"]["text"]["body"] = "changed"
    copy["client_reference"] = "changed"
    # THEN the published example is unchanged
    again = example("order-1234-shipped")
    assert again["message"]["text"]["body"] == "Your order 1234 has shipped."
    assert again["client_reference"] == "order-1234"


def test_an_unknown_key_is_not_an_example():
    with pytest.raises(StopIteration):
        example("no-such-example")
