"""The committed JSON Schema itself (what non-Python producers validate against), not only the models
it is generated from: it accepts its own examples and every documented shape, refuses what breaks
WhatsApp's limits, and has an example of every message type."""

from __future__ import annotations

import copy
import json
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.unit.models.test_interactive import VALID
from tests.unit.models.test_outbound import VALID_MESSAGES
from tests.unit.models.test_outbound import document as envelope
from wacloud.models.outbound import GraphMessage, OutboundMessage

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "outbound-message.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
EXAMPLES = SCHEMA["examples"]


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(document)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["idempotency_key"][:32] for e in EXAMPLES])
def test_every_example_validates_against_the_schema_and_the_model(example):
    assert schema_errors(example) == []
    OutboundMessage.model_validate(example)


def test_there_is_an_example_of_every_message_type_and_a_read_receipt():
    union = typing.get_args(typing.get_args(GraphMessage)[0])
    types = {typing.get_args(model.model_fields["type"].annotation)[0] for model in union}
    shown = {e["message"].get("type", "read_receipt") for e in EXAMPLES}
    assert types | {"read_receipt"} <= shown, f"no example of {sorted(types - shown)}"
    assert any("s3_key" in json.dumps(e) for e in EXAMPLES)


DOCUMENTED = {f"message-{k}": envelope(v) for k, v in VALID_MESSAGES.items()} | {
    f"type-{k}": v for k, v in VALID.items()
}


@pytest.mark.parametrize("name", list(DOCUMENTED), ids=list(DOCUMENTED))
def test_every_documented_shape_the_models_accept_the_schema_accepts(name):
    assert schema_errors(DOCUMENTED[name]) == []


def _with(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    result = copy.deepcopy(base or envelope(VALID_MESSAGES["text"]))
    node = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


BUTTONS = VALID["reply-buttons"]
REFUSED = {
    "text-4097": _with(["message", "text", "body"], "x" * 4097),
    "caption-1025": envelope(
        {"to": "+16505551234", "type": "image", "image": {"link": "https://e.com/a.jpg", "caption": "x" * 1025}}
    ),
    "media-id-and-link": envelope(
        {"to": "+16505551234", "type": "image", "image": {"id": "1", "link": "https://e.com/a.jpg"}}
    ),
    "media-s3-key-and-id": envelope({"to": "+16505551234", "type": "video", "video": {"id": "1", "s3_key": "a.mp4"}}),
    "media-no-source": envelope({"to": "+16505551234", "type": "document", "document": {"caption": "x"}}),
    "s3-key-absolute": envelope({"to": "+16505551234", "type": "document", "document": {"s3_key": "/etc/passwd"}}),
    "4-buttons": _with(
        ["message", "interactive", "action", "buttons"],
        BUTTONS["message"]["interactive"]["action"]["buttons"] * 2,
        BUTTONS,
    ),
    "button-title-21": _with(["message", "interactive", "action", "buttons", 0, "reply", "title"], "x" * 21, BUTTONS),
    "header-61": _with(["message", "interactive", "header", "text"], "x" * 61, BUTTONS),
    "footer-61": _with(["message", "interactive", "footer", "text"], "x" * 61, BUTTONS),
    "unknown-envelope-field": _with(["priority"], "high"),
    "no-idempotency-key": {"message": VALID_MESSAGES["text"]},
    "unknown-type": envelope({"to": "+16505551234", "type": "hologram", "hologram": {}}),
    "bad-recipient": _with(["message", "to"], "not a number"),
    "to-and-recipient": _with(["message", "recipient"], "US.13491208655302741918"),
    "user-id-in-to": _with(["message", "to"], "US.13491208655302741918"),
    "user-id-in-a-group-to": envelope(
        {"recipient_type": "group", "to": "US.13491208655302741918", "type": "text", "text": {"body": "hi"}}
    ),
    "no-address": envelope({"type": "text", "text": {"body": "hi"}}),
    "marketing-messages-text": _with(["marketing_messages"], True),
    "marketing-messages-receipt": {
        "idempotency_key": "k",
        "marketing_messages": True,
        "message": {"status": "read", "message_id": "wamid.X"},
    },
}

# Documents both accept although a field is an explicit null (the schema counts a null as given).
NULLS = {
    "null-to": envelope({"to": None, "recipient": "US.13491208655302741918", "type": "text", "text": {"body": "hi"}}),
    "null-recipient": envelope({"to": "+16505551234", "recipient": None, "type": "text", "text": {"body": "hi"}}),
}


@pytest.mark.parametrize("name", list(NULLS), ids=list(NULLS))
def test_an_explicit_null_address_is_accepted_by_both(name):
    assert schema_errors(NULLS[name]) == []
    OutboundMessage.model_validate(NULLS[name])


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
def test_the_schema_refuses_what_breaks_the_contract_like_the_models_do(name):
    assert schema_errors(REFUSED[name]) != []
    with pytest.raises(ValueError, match="validation error"):
        OutboundMessage.model_validate(REFUSED[name])


def test_the_limits_at_their_edges_pass_the_schema():
    assert schema_errors(_with(["message", "text", "body"], "x" * 4096)) == []
    assert schema_errors(_with(["message", "interactive", "header", "text"], "x" * 60, BUTTONS)) == []
