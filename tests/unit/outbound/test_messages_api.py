"""wacloud.outbound.messages_api: a producer's document checked and queued (a fake queue), and what
happened to it answered from the store (moto)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import PHONE_NUMBER_ID, outbound_document, status_event
from wacloud.adapters.queues import MAX_BATCH_BYTES, QueueEntry, QueueError
from wacloud.adapters.registry import get_registry
from wacloud.adapters.store import Store
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.contract import deduplication_id, document_digest, parse_document
from wacloud.outbound.messages_api import DocumentTooLargeError, InvalidDocumentError, KeyConflictError, MessagesApi
from wacloud.outbound.outcomes import record_outcome
from wacloud.runtime.http_answers import UndecodableBodyError

pytestmark = pytest.mark.usefixtures("aws")
DOCUMENT: dict[str, Any] = {
    "idempotency_key": "order-1234-shipped",
    "client_reference": "order-1234",
    "message": {"to": "+16505551234", "type": "text", "text": {"body": "Your order shipped"}},
}


class FakeQueue:
    def __init__(self, error: Exception | None = None) -> None:
        self.entries: list[QueueEntry] = []
        self.error = error

    def send(self, entries: list[QueueEntry]) -> None:
        if self.error is not None:
            raise self.error
        self.entries.extend(entries)


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


@pytest.fixture
def api(queue: FakeQueue) -> MessagesApi:
    return MessagesApi(store=Store(), queue=queue, numbers=get_registry())  # type: ignore[arg-type]


def test_a_document_is_queued_for_its_recipient_and_answered_with_where_to_follow_it(api, queue):
    answer = api.submit(json.dumps(DOCUMENT))

    assert answer == {
        "idempotency_key": "order-1234-shipped",
        "status": "queued",
        "status_path": "/messages/order-1234-shipped",
    }
    (entry,) = queue.entries
    # One person's messages keep their order (their group); SQS drops an exact copy (by body), never
    # a corrected document under the same key.
    assert (entry.group_id, entry.deduplication_id) == ("16505551234", deduplication_id(entry.body))
    assert parse_document(entry.body) == parse_document(json.dumps(DOCUMENT))  # what the sender will read


def test_the_queued_body_is_the_checked_document_not_the_raw_text(api, queue):
    # GIVEN a document with defaults left out and nulls the contract allows
    api.submit(json.dumps({**DOCUMENT, "phone_number_id": None}))
    queued = json.loads(queue.entries[0].body)
    # THEN what the sender reads has its schema version and no nulls
    assert queued["schema_version"] == 1 and "phone_number_id" not in queued


def test_a_number_the_stack_does_not_serve_is_refused_with_the_reason_and_its_own_is_queued(api, queue):
    with pytest.raises(InvalidDocumentError, match="phone_number_id 5550001 is not a number this stack serves"):
        api.submit(json.dumps({**DOCUMENT, "phone_number_id": "5550001"}))
    assert queue.entries == []
    api.submit(json.dumps({**DOCUMENT, "phone_number_id": PHONE_NUMBER_ID}))
    assert json.loads(queue.entries[0].body)["phone_number_id"] == PHONE_NUMBER_ID


def test_every_way_of_writing_one_number_goes_to_the_same_group(api, queue):
    for i, to in enumerate(["+16505551234", "16505551234", "+1 (650) 555-1234"]):
        api.submit(json.dumps({"idempotency_key": f"k{i}", "message": {**DOCUMENT["message"], "to": to}}))
    assert {entry.group_id for entry in queue.entries} == {"16505551234"}


def test_a_read_receipt_is_grouped_by_its_key(api, queue):
    receipt = {"idempotency_key": "read:wamid.X", "message": {"status": "read", "message_id": "wamid.X"}}
    api.submit(json.dumps(receipt))
    (entry,) = queue.entries
    assert entry.deduplication_id == deduplication_id(entry.body) and entry.group_id
    assert json.loads(entry.body)["message"] == {**receipt["message"], "messaging_product": "whatsapp"}


def test_a_base64_body_is_decoded_first(api, queue):
    encoded = base64.b64encode(json.dumps(DOCUMENT).encode()).decode()
    assert api.submit(encoded, is_base64_encoded=True)["status"] == "queued"
    assert json.loads(queue.entries[0].body)["idempotency_key"] == "order-1234-shipped"


def test_a_body_that_is_not_valid_base64_is_refused(api, queue):
    with pytest.raises(UndecodableBodyError):
        api.submit("not base64!", is_base64_encoded=True)
    assert queue.entries == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(json.dumps({**DOCUMENT, "idempotency_key": "has space"}), "idempotency_key", id="bad-key"),
        pytest.param(
            json.dumps({**DOCUMENT, "message": {**DOCUMENT["message"], "text": {"body": "x" * 4097}}}),
            "message.text.body: String should have at most 4096 characters",
            id="text-too-long",
        ),
        pytest.param(
            json.dumps({**DOCUMENT, "message": {**DOCUMENT["message"], "to": "nobody"}}),
            "message.to: should be a phone number",
            id="bad-recipient",
        ),
        pytest.param(json.dumps({"idempotency_key": "k"}), "message: Field required", id="no-message"),
        pytest.param("{not json", "Invalid JSON", id="not-json"),
        pytest.param("", "Invalid JSON", id="empty"),
        pytest.param(None, "Invalid JSON", id="no-body"),
    ],
)
def test_a_document_the_contract_refuses_is_not_queued_and_says_why(api, queue, body, reason):
    with pytest.raises(InvalidDocumentError) as caught:
        api.submit(body)
    assert reason in str(caught.value)
    assert queue.entries == []


def padded(size: int) -> str:
    """The document, with JSON whitespace to make it exactly `size` bytes."""
    text = json.dumps(DOCUMENT)
    return text[:-1] + " " * (size - len(text.encode())) + "}"


def test_a_document_of_one_queue_message_is_queued_and_one_byte_more_is_too_large(api, queue):
    assert api.submit(padded(MAX_BATCH_BYTES))["status"] == "queued"
    with pytest.raises(DocumentTooLargeError, match=str(MAX_BATCH_BYTES)):
        api.submit(padded(MAX_BATCH_BYTES + 1))
    assert len(queue.entries) == 1
    assert len(queue.entries[0].body) < 1024  # queued compact, not as padded


def test_a_document_whose_queued_body_is_over_one_queue_message_is_too_large_not_queued(api, queue):
    # GIVEN a compact document of exactly one queue message (a contact card with a long address)
    def contacts(street: int) -> str:
        card = {"name": {"formatted_name": "A"}, "addresses": [{"street": "x" * street}]}
        message = {"to": "+16505551234", "type": "contacts", "contacts": [card]}
        return json.dumps({"idempotency_key": "big", "message": message}, separators=(",", ":"))

    raw = contacts(MAX_BATCH_BYTES - len(contacts(0)))
    assert len(raw) == MAX_BATCH_BYTES
    # WHEN it is submitted THEN it is refused as too large, or what is queued still fits one message
    try:
        api.submit(raw)
    except DocumentTooLargeError:
        return
    assert len(queue.entries[0].body.encode()) <= MAX_BATCH_BYTES


def test_a_queue_failure_reaches_the_caller():
    failing = FakeQueue(QueueError("SendMessageBatch failed"))
    api = MessagesApi(store=Store(), queue=failing, numbers=get_registry())  # type: ignore[arg-type]
    with pytest.raises(QueueError):
        api.submit(json.dumps(DOCUMENT))


def sent(key: str, wamid: str) -> None:
    record_outcome(Store(), outbound_document(key), SendOutcome.accepted(wamid), PHONE_NUMBER_ID)


def test_the_status_by_key_has_the_outbound_record_and_its_message(api):
    sent("k1", "wamid.A")
    answer = api.status("k1")
    assert answer is not None and answer["id"] == "k1"
    assert (answer["outbound"]["state"], answer["outbound"]["wamid"]) == ("accepted", "wamid.A")
    assert (answer["message"]["wamid"], answer["message"]["status"]) == ("wamid.A", "accepted")
    json.dumps(answer)  # ready to answer as JSON


def test_the_status_by_wamid_has_the_message_only(api):
    sent("k1", "wamid.A")
    answer = api.status("wamid.A")
    assert answer is not None and set(answer) == {"id", "message"}
    assert answer["message"]["idempotency_key"] == "k1"


@pytest.mark.parametrize("identifier", ["k1", "wamid.A"], ids=["by-key", "by-wamid"])
def test_the_status_has_what_the_message_is_charged_as_once_a_status_webhook_said(api, identifier):
    sent("k1", "wamid.A")
    assert "pricing" not in api.status(identifier)["message"]  # accepted: no status webhook yet

    Store().messages.apply_status(status_event("sent", 10, "wamid.A"))  # Meta's pricing comes with it

    pricing = api.status(identifier)["message"]["pricing"]
    assert (pricing["pricing_model"], pricing["type"], pricing["category"]) == (
        "PMP",
        "free_customer_service",
        "service",
    )


def test_a_rejected_document_has_a_status_without_a_message(api):
    Store().outbound.record(outbound_document("k2"), SendOutcome.rejected("opted out"), PHONE_NUMBER_ID)
    answer = api.status("k2")
    assert answer is not None and set(answer) == {"id", "outbound"}
    assert (answer["outbound"]["state"], answer["outbound"]["reason"]) == ("rejected", "opted out")


def test_a_document_a_status_webhook_named_finds_its_message_by_the_confirmed_wamid(api):
    store = Store()
    store.outbound.note_confirmation("k3", "wamid.C")
    store.messages.record_outbound(outbound_document("k3"), "wamid.C", PHONE_NUMBER_ID, mark=False)
    answer = api.status("k3")
    assert answer is not None
    assert answer["outbound"]["confirmed_wamid"] == "wamid.C" and answer["message"]["wamid"] == "wamid.C"


def test_an_identifier_from_a_url_is_decoded(api):
    sent("campaign/2026?x=1", "wamid.Q")
    answer = api.status("campaign%2F2026%3Fx%3D1")
    assert answer is not None and answer["id"] == "campaign/2026?x=1"
    assert answer["outbound"]["idempotency_key"] == "campaign/2026?x=1"


def test_an_unknown_identifier_has_no_status(api):
    sent("k1", "wamid.A")
    assert api.status("nothing-here") is None


def test_a_key_naming_another_document_is_refused_at_once(api, queue):
    document = parse_document(json.dumps(DOCUMENT))
    digest = document_digest(document)
    Store().outbound.record(document, SendOutcome.accepted("wamid.A"), PHONE_NUMBER_ID, digest=digest)
    other = {**DOCUMENT, "message": {**DOCUMENT["message"], "text": {"body": "Your order was cancelled"}}}

    with pytest.raises(KeyConflictError, match="already used by a different document \\(that one is accepted\\)"):
        api.submit(json.dumps(other))
    api.submit(json.dumps(DOCUMENT, indent=1))  # the same document again is queued (the sender answers it)
    assert len(queue.entries) == 1


def test_a_key_whose_document_was_refused_as_invalid_is_free(api, queue):
    Store().outbound.record_invalid(DOCUMENT["idempotency_key"], "invalid document: text is missing", raw="{}")
    api.submit(json.dumps(DOCUMENT))
    assert len(queue.entries) == 1
