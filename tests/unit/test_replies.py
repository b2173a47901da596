"""wacloud.replies.replies_for: the read receipt and auto-reply queued for an inbound message."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.config import Settings
from wacloud.models.events import MessageEvent
from wacloud.models.outbound import ReadReceipt, TextMessage
from wacloud.models.webhook import InboundMessage
from wacloud.outbound import OutboundMessage, message_group_id
from wacloud.replies import replies_for

WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
PHONE_NUMBER_ID = "100000000000001"
BSUID = "US.13491208655302741918"
REPLY_TEXT = "Thanks for your message! We will get back to you shortly."


def settings(**env: Any) -> Settings:
    return Settings.model_validate({"WACLOUD_AUTO_REPLY_TEXT": REPLY_TEXT, "WACLOUD_MARK_READ": "true", **env})


def event(message_type: str = "text", *, phone_number_id: str = PHONE_NUMBER_ID, **message: Any) -> MessageEvent:
    raw: dict[str, Any] = {"from": "16505551234", "id": WAMID, "timestamp": "1764000000", "type": message_type}
    if message_type == "text":
        raw["text"] = {"body": "Hi, is my order on its way?"}
    raw.update(message)
    return MessageEvent(
        waba_id="102290129340398",
        phone_number_id=phone_number_id,
        message=InboundMessage.model_validate(raw),
    )


def test_read_receipt_then_reply() -> None:
    documents = replies_for(event(), settings())

    assert [type(d.message) for d in documents] == [ReadReceipt, TextMessage]
    receipt, reply = documents
    assert receipt.idempotency_key == f"read:{WAMID}"
    assert reply.idempotency_key == f"reply:{WAMID}"


def test_read_receipt_names_the_inbound_message() -> None:
    receipt = replies_for(event(), settings())[0]

    assert receipt.phone_number_id == PHONE_NUMBER_ID
    assert receipt.recipient is None
    assert receipt.graph_body() == {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID}


def test_reply_quotes_the_inbound_message_and_goes_to_the_sender() -> None:
    reply = replies_for(event(), settings())[1]

    assert reply.phone_number_id == PHONE_NUMBER_ID
    assert reply.recipient == "+16505551234"
    assert reply.graph_body() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+16505551234",
        "type": "text",
        "context": {"message_id": WAMID},
        "text": {"body": REPLY_TEXT, "preview_url": False},
    }
    # Same FIFO group as anything else queued for this customer.
    assert message_group_id(reply.recipient) == "16505551234"


def test_sender_already_with_plus_is_not_doubled() -> None:
    reply = replies_for(event(**{"from": "+16505551234"}), settings())[1]

    assert reply.recipient == "+16505551234"


def test_documents_are_valid_queue_documents() -> None:
    for document in replies_for(event(), settings()):
        dumped = document.model_dump(mode="json", exclude_none=True)
        assert OutboundMessage.model_validate(dumped) == document


def test_same_message_twice_gives_the_same_documents() -> None:
    # Redelivery must queue identical documents, which the queue and the sender deduplicate.
    assert replies_for(event(), settings()) == replies_for(event(), settings())


@pytest.mark.parametrize("mark_read", ["false", False, "0"], ids=["str-false", "bool-false", "zero"])
def test_mark_read_false_sends_no_receipt(mark_read: Any) -> None:
    documents = replies_for(event(), settings(WACLOUD_MARK_READ=mark_read))

    assert [type(d.message) for d in documents] == [TextMessage]


def test_empty_auto_reply_text_sends_no_reply() -> None:
    documents = replies_for(event(), settings(WACLOUD_AUTO_REPLY_TEXT=""))

    assert [type(d.message) for d in documents] == [ReadReceipt]


def test_nothing_at_all_when_both_are_off() -> None:
    assert replies_for(event(), settings(WACLOUD_AUTO_REPLY_TEXT="", WACLOUD_MARK_READ="false")) == []


@pytest.mark.parametrize(
    ("message_type", "content"),
    [
        pytest.param("reaction", {"reaction": {"message_id": "wamid.OURS", "emoji": "👍"}}, id="reaction"),
        pytest.param("system", {"system": {"body": "changed number", "type": "user_changed_number"}}, id="system"),
        pytest.param("unsupported", {"errors": [{"code": 131051, "title": "Message type unknown"}]}, id="unsupported"),
    ],
)
def test_no_reply_to_non_conversational_messages_but_still_a_receipt(message_type: str, content: dict) -> None:
    documents = replies_for(event(message_type, **content), settings())

    assert [type(d.message) for d in documents] == [ReadReceipt]
    assert documents[0].idempotency_key == f"read:{WAMID}"


@pytest.mark.parametrize(
    ("message_type", "content"),
    [
        pytest.param("image", {"image": {"id": "MEDIA1", "mime_type": "image/jpeg"}}, id="image"),
        pytest.param("interactive", {"interactive": {"type": "button_reply"}}, id="interactive"),
        pytest.param("poll", {"poll": {"question": "?"}}, id="unknown-new-type"),
    ],
)
def test_other_messages_get_a_reply(message_type: str, content: dict) -> None:
    documents = replies_for(event(message_type, **content), settings())

    assert [type(d.message) for d in documents] == [ReadReceipt, TextMessage]


def test_bsuid_only_sender_gets_the_reply_at_the_user_id() -> None:
    documents = replies_for(event(**{"from": "", "from_user_id": BSUID}), settings())

    reply = documents[1]
    assert reply.recipient == BSUID
    assert reply.graph_body()["to"] == BSUID
    assert message_group_id(BSUID) == BSUID


def test_no_reply_without_any_sender_address() -> None:
    documents = replies_for(event(**{"from": ""}), settings())

    assert [type(d.message) for d in documents] == [ReadReceipt]


def test_missing_phone_number_id_falls_back_to_the_default() -> None:
    documents = replies_for(event(phone_number_id=""), settings())

    # None means: the sender uses the stack's PhoneNumberId.
    assert [d.phone_number_id for d in documents] == [None, None]


def test_long_wamid_keys_stay_within_the_limit() -> None:
    long_id = "wamid." + "A" * 200

    documents = replies_for(event(id=long_id), settings())

    assert all(len(d.idempotency_key) <= 128 for d in documents)
    assert documents[0].message.message_id == long_id
    assert documents[1].message.context.message_id == long_id
