"""wacloud.inbound.replies.replies_for: the read receipt and the answers queued for an inbound message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wacloud.config import Settings
from wacloud.conversation.engine import fallback_rules
from wacloud.conversation.rules import Facts, decide
from wacloud.inbound.replies import Replies, replies_for
from wacloud.models.events import MessageEvent
from wacloud.models.outbound import InteractiveMessage, ReadReceipt, TextMessage
from wacloud.models.webhook import InboundMessage
from wacloud.outbound.contract import OutboundMessage, message_group_id

WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
PHONE_NUMBER_ID = "100000000000001"
BSUID = "US.13491208655302741918"
REPLY_TEXT = "Thanks for your message! We will get back to you shortly."


def settings(**env: Any) -> Settings:
    return Settings.from_env({"WACLOUD_AUTO_REPLY_TEXT": REPLY_TEXT, "WACLOUD_MARK_READ": "true", **env})


def auto_reply(message_event: MessageEvent) -> list[dict[str, Any]]:
    """What the AutoReplyText answers (the conversation without a rules file)."""
    rules = fallback_rules(REPLY_TEXT)
    assert rules is not None
    decision = decide(rules, Facts(message_event.message))
    assert decision is not None
    return decision.replies


def queued(message_event: MessageEvent, config: Settings | None = None) -> list[OutboundMessage]:
    return replies_for(message_event, config or settings(), auto_reply(message_event)).documents


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
    documents = queued(event())

    assert [type(d.message) for d in documents] == [ReadReceipt, TextMessage]
    receipt, reply = documents
    assert receipt.idempotency_key == f"read:{WAMID}"
    assert reply.idempotency_key == f"reply:{WAMID}"


def test_read_receipt_names_the_inbound_message() -> None:
    receipt = queued(event())[0]

    assert receipt.phone_number_id == PHONE_NUMBER_ID
    assert receipt.recipient is None
    assert receipt.graph_body() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": WAMID,
        "typing_indicator": {"type": "text"},
    }


def test_reply_quotes_the_inbound_message_and_goes_to_the_sender() -> None:
    reply = queued(event())[1]

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
    reply = queued(event(**{"from": "+16505551234"}))[1]

    assert reply.recipient == "+16505551234"


def test_documents_are_valid_queue_documents() -> None:
    for document in queued(event()):
        dumped = document.model_dump(mode="json", exclude_none=True)
        assert OutboundMessage.model_validate(dumped) == document


def test_same_message_twice_gives_the_same_documents() -> None:
    # Redelivery must queue identical documents, which the queue and the sender deduplicate.
    assert queued(event()) == queued(event())


@pytest.mark.parametrize("mark_read", ["false", False, "0"], ids=["str-false", "bool-false", "zero"])
def test_mark_read_false_sends_no_receipt(mark_read: Any) -> None:
    documents = queued(event(), settings(WACLOUD_MARK_READ=mark_read))

    assert [type(d.message) for d in documents] == [TextMessage]


def test_without_answers_only_the_read_receipt_without_typing() -> None:
    documents = replies_for(event(), settings(), []).documents

    assert [type(d.message) for d in documents] == [ReadReceipt]
    assert documents[0].message.typing_indicator is None


def test_nothing_at_all_without_answers_and_receipts() -> None:
    assert replies_for(event(), settings(WACLOUD_MARK_READ="false"), []) == Replies()


def test_the_customer_sees_typing_while_answers_are_on_their_way() -> None:
    receipt = queued(event())[0]
    assert receipt.graph_body()["typing_indicator"] == {"type": "text"}
    quiet = replies_for(event(), settings(WACLOUD_TYPING_INDICATOR="false"), auto_reply(event())).documents[0]
    assert "typing_indicator" not in quiet.graph_body()


def test_several_answers_of_any_type_keep_their_order_and_get_keys_of_their_own() -> None:
    menu = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick one"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
        },
    }
    documents = replies_for(event(), settings(), [{"type": "text", "text": {"body": "Hello"}}, menu]).documents
    assert [type(d.message) for d in documents] == [ReadReceipt, TextMessage, InteractiveMessage]
    assert [d.idempotency_key for d in documents] == [f"read:{WAMID}", f"reply:{WAMID}", f"reply:{WAMID}:1"]
    assert {d.recipient for d in documents[1:]} == {"+16505551234"}


def test_an_answer_that_breaks_the_contract_is_refused_with_the_reason_and_the_rest_go() -> None:
    too_long = {"type": "text", "text": {"body": "x" * 5000}}
    replies = replies_for(event(), settings(), [too_long, {"type": "text", "text": {"body": "ok"}}])
    assert [d.idempotency_key for d in replies.documents] == [f"read:{WAMID}", f"reply:{WAMID}:1"]
    (refused,) = replies.refused
    assert refused.key == f"reply:{WAMID}"
    assert "outbound contract" in refused.reason and "4096" in refused.reason
    assert json.loads(refused.raw)["text"]["body"] == "x" * 5000


def test_a_sender_known_only_by_user_id_is_answered_through_recipient() -> None:
    documents = queued(event(**{"from": "", "from_user_id": BSUID}))

    reply = documents[1]
    assert reply.recipient == BSUID
    body = reply.graph_body()
    assert body["recipient"] == BSUID and "to" not in body
    assert message_group_id(BSUID) == BSUID


def test_a_sender_with_a_phone_number_is_answered_through_to_even_with_a_user_id() -> None:
    body = queued(event(from_user_id=BSUID))[1].graph_body()
    assert body["to"] == "+16505551234" and "recipient" not in body


def test_an_answer_to_a_sender_without_any_address_is_refused_with_the_reason() -> None:
    replies = replies_for(event(**{"from": ""}), settings(), auto_reply(event()))

    assert [type(d.message) for d in replies.documents] == [ReadReceipt]
    (refused,) = replies.refused
    assert refused.reason == "the customer has no phone number or user id"


def test_missing_phone_number_id_falls_back_to_the_default() -> None:
    documents = queued(event(phone_number_id=""))

    # None means: the sender uses the stack's PhoneNumberId.
    assert [d.phone_number_id for d in documents] == [None, None]


def test_long_wamid_keys_stay_within_the_limit() -> None:
    long_id = "wamid." + "A" * 200

    documents = queued(event(id=long_id))

    assert all(len(d.idempotency_key) <= 128 for d in documents)
    assert documents[0].message.message_id == long_id
    assert documents[1].message.context.message_id == long_id


def test_an_answer_to_a_group_message_goes_to_the_group() -> None:
    answers = [{"type": "text", "text": {"body": "Noted"}}]
    body = replies_for(event(group_id="G1", from_user_id=BSUID), settings(), answers).documents[1].graph_body()
    assert (body["recipient_type"], body["to"]) == ("group", "G1")
    assert "recipient" not in body
