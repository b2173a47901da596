"""Every inbound message type, status and known change field, in the shapes of Meta's documented
examples, becomes a typed event; anything new keeps its raw data."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.inbound.parse import parse_webhook
from wacloud.models.events import MessageEvent, StatusEvent

FROM, WAMID = "16505551234", "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"


def webhook(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}],
    }


def message(kind: str, body: dict[str, Any], **extra: Any) -> MessageEvent:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [
            {
                "profile": {"name": "Kerry Fisher", "username": "@kerry"},
                "wa_id": FROM,
                "user_id": "US.13491208655302741918",
            }
        ],
        "messages": [{"from": FROM, "id": WAMID, "timestamp": "1744344496", "type": kind, **body, **extra}],
    }
    (event,) = parse_webhook(webhook(value))
    assert isinstance(event, MessageEvent), event
    return event


def test_text_with_reply_context_and_forwarded_flag():
    event = message(
        "text",
        {"text": {"body": "Is it in stock?"}},
        context={"from": "15550783881", "id": "wamid.PREV", "forwarded": True},
    )
    m = event.message
    assert (m.text.body, m.context.id, m.forwarded) == ("Is it in stock?", "wamid.PREV", True)
    assert event.contact.user_id == "US.13491208655302741918" and event.contact.profile.username == "@kerry"


@pytest.mark.parametrize(
    ("kind", "obj", "check"),
    [
        (
            "image",
            {"caption": "My receipt", "mime_type": "image/jpeg", "sha256": "abc=", "id": "1003383421387256"},
            lambda m: m.image.caption == "My receipt",
        ),
        ("video", {"mime_type": "video/mp4", "sha256": "x", "id": "v1"}, lambda m: m.video.id == "v1"),
        (
            "audio",
            {"mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "a1", "voice": True},
            lambda m: m.audio.voice is True,
        ),
        (
            "document",
            {
                "caption": "Invoice",
                "filename": "invoice.pdf",
                "mime_type": "application/pdf",
                "sha256": "x",
                "id": "d1",
            },
            lambda m: m.document.filename == "invoice.pdf",
        ),
        (
            "sticker",
            {"mime_type": "image/webp", "sha256": "x", "id": "s1", "animated": True},
            lambda m: m.sticker.animated is True,
        ),
    ],
    ids=["image", "video", "audio-voice", "document", "sticker-animated"],
)
def test_media_messages(kind, obj, check):
    m = message(kind, {kind: obj}).message
    assert check(m) and m.media is getattr(m, kind)


def test_location_contacts_reaction_and_template_button():
    loc = message(
        "location", {"location": {"latitude": 37.48, "longitude": -122.14, "name": "HQ", "address": "1 Hacker Way"}}
    ).message.location
    assert (loc.latitude, loc.name) == (37.48, "HQ")
    card = {
        "addresses": [{"city": "Menlo Park", "country": "United States", "country_code": "us", "type": "HOME"}],
        "birthday": "1990-05-01",
        "emails": [{"email": "ana@example.com", "type": "WORK"}],
        "name": {"formatted_name": "Ana B", "first_name": "Ana", "last_name": "B"},
        "org": {"company": "Acme", "title": "Buyer"},
        "phones": [{"phone": "+1 (650) 555-1234", "wa_id": "16505551234", "type": "CELL"}],
        "urls": [{"url": "https://example.com", "type": "WORK"}],
    }
    (shared,) = message("contacts", {"contacts": [card]}).message.contacts
    assert (shared.name.formatted_name, shared.phones[0].wa_id, shared.emails[0].email) == (
        "Ana B",
        "16505551234",
        "ana@example.com",
    )
    assert (shared.addresses[0].city, shared.org.company, shared.urls[0].url, shared.birthday) == (
        "Menlo Park",
        "Acme",
        "https://example.com",
        "1990-05-01",
    )
    assert shared.model_dump(exclude_none=True) == card  # kept as Meta sent it
    reaction = message("reaction", {"reaction": {"message_id": "wamid.X", "emoji": "👍"}}).message.reaction
    assert reaction.message_id == "wamid.X"
    removed = message("reaction", {"reaction": {"message_id": "wamid.X"}}).message.reaction
    assert removed.emoji is None  # a removed reaction has no emoji
    button = message(
        "button",
        {"button": {"payload": "STOP_PROMOS", "text": "Stop promotions"}},
        context={"from": "15550783881", "id": "wamid.TEMPLATE"},
    ).message
    assert (button.button.payload, button.context.id) == ("STOP_PROMOS", "wamid.TEMPLATE")


@pytest.mark.parametrize(
    ("interactive", "check"),
    [
        (
            {"type": "button_reply", "button_reply": {"id": "today", "title": "Today"}},
            lambda i: i.button_reply.id == "today",
        ),
        (
            {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row", "description": "d"}},
            lambda i: i.list_reply.description == "d",
        ),
        (
            {
                "type": "nfm_reply",
                "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"flow_token": "t"}'},
            },
            lambda i: i.nfm_reply.response_json.startswith("{"),
        ),
    ],
    ids=["button-reply", "list-reply", "flow-completion"],
)
def test_interactive_replies(interactive, check):
    assert check(message("interactive", {"interactive": interactive}).message.interactive)


def test_order_system_referral_identity_unsupported_edit_revoke():
    order = message(
        "order",
        {
            "order": {
                "catalog_id": "c1",
                "text": "asap",
                "product_items": [
                    {"product_retailer_id": "sku-1", "quantity": 2, "item_price": 9.99, "currency": "USD"}
                ],
            }
        },
    ).message.order
    assert order.product_items[0].quantity == 2
    system = message(
        "system", {"system": {"body": "User changed number", "wa_id": "16505559999", "type": "user_changed_number"}}
    ).message.system
    assert system.wa_id == "16505559999"
    ref = message(
        "text",
        {"text": {"body": "hi"}},
        referral={
            "source_url": "https://fb.me/ad",
            "source_id": "ad-1",
            "source_type": "ad",
            "headline": "Sale",
            "media_type": "image",
            "image_url": "https://x/i.png",
            "ctwa_clid": "clid",
        },
    ).message.referral
    assert (ref.source_type, ref.ctwa_clid) == ("ad", "clid")
    identity = message(
        "text",
        {"text": {"body": "hi"}},
        identity={"acknowledged": True, "created_timestamp": 1602532300000, "hash": "Sjvjlx8G6Z0="},
    ).message.identity
    assert identity.hash == "Sjvjlx8G6Z0="
    unsupported = message(
        "unsupported",
        {
            "unsupported": {"type": "poll_creation"},
            "errors": [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."},
                }
            ],
        },
    ).message
    assert (unsupported.unsupported.type, unsupported.errors[0].code) == ("poll_creation", 131051)
    assert message("revoke", {"revoke": {"original_message_id": "wamid.OLD"}}).message.revoke.original_message_id
    edit = message(
        "edit", {"edit": {"original_message_id": "wamid.OLD", "message": {"type": "text", "text": {"body": "fixed"}}}}
    )
    assert edit.message.edit.message["text"]["body"] == "fixed"


def test_bsuid_only_sender_with_empty_wa_id():
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1"},
        "contacts": [{"profile": {"name": "U"}, "wa_id": "", "user_id": "US.777"}],
        "messages": [
            {
                "from": "",
                "from_user_id": "US.777",
                "id": "wamid.B",
                "timestamp": "1",
                "type": "text",
                "text": {"body": "hi"},
            }
        ],
    }
    (event,) = parse_webhook(webhook(value))
    assert event.message.sender == "US.777" and event.group == "US.777" and event.contact.user_id == "US.777"


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "played", "failed"])
def test_statuses_with_pricing_conversation_errors_and_callback(status):
    item = {
        "id": WAMID,
        "status": status,
        "timestamp": "1750263773",
        "recipient_id": FROM,
        "biz_opaque_callback_data": "wacloud-key:k1",
        "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"},
        "conversation": {"id": "c1", "origin": {"type": "marketing"}},
    }
    if status == "failed":
        item["errors"] = [{"code": 131049, "title": "Not delivered", "error_data": {"details": "ecosystem"}}]
    (event,) = parse_webhook(
        webhook({"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"}, "statuses": [item]})
    )
    assert isinstance(event, StatusEvent)
    s = event.status
    assert (s.status, s.pricing.category, s.conversation.origin, s.biz_opaque_callback_data) == (
        status,
        "marketing",
        {"type": "marketing"},
        "wacloud-key:k1",
    )
    assert (s.errors[0].code if s.errors else None) == (131049 if status == "failed" else None)


# --- 2026: group messages and their statuses, call permission replies (tests/data/meta_webhooks.py) ---


def test_a_group_message_names_the_group_and_the_participant_and_keeps_the_sender():
    from tests.data import meta_webhooks as meta

    (event,) = parse_webhook(meta.GROUP_MESSAGE)
    assert isinstance(event, MessageEvent)
    message = event.message
    assert (message.group_id, message.is_group, message.participant, message.sender) == (
        meta.GROUP_ID,
        True,
        meta.PHONE,
        meta.PHONE,
    )
    assert message.text and message.text.body == "What do you all think about this?"
    one_to_one = parse_webhook(meta.CALL_PERMISSION_ACCEPTED)[0]
    assert isinstance(one_to_one, MessageEvent)
    assert (one_to_one.message.is_group, one_to_one.message.participant) == (False, None)


@pytest.mark.parametrize(
    ("name", "participant", "status"),
    [
        ("GROUP_MESSAGE_READ_WITH_PRICING", "16505551234", "read"),  # participant_recipient_id
        ("GROUP_MESSAGE_DELIVERED_BSUID", "US.13491208655302741918", "delivered"),  # BSUID first
    ],
)
def test_a_group_messages_status_names_its_participant_in_any_spelling(name, participant, status):
    from tests.data import meta_webhooks as meta

    (event,) = parse_webhook(getattr(meta, name))
    assert isinstance(event, StatusEvent)
    assert (event.status.is_group, event.status.participant, event.status.status) == (True, participant, status)
    assert event.status.recipient == meta.GROUP_ID and event.status.recipient_participant_id == meta.PHONE


def test_an_aggregated_group_status_is_one_status_per_participant():
    from tests.data import meta_webhooks as meta

    events = parse_webhook(meta.GROUP_MESSAGE_DELIVERED_AGGREGATED)
    assert [e.status.participant for e in events if isinstance(e, StatusEvent)] == [meta.PHONE, "16505550000"]


def test_a_one_to_one_status_has_no_participant():
    (event,) = parse_webhook(
        webhook({"statuses": [{"id": WAMID, "status": "read", "timestamp": "1", "recipient_id": FROM}]})
    )
    assert isinstance(event, StatusEvent) and (event.status.is_group, event.status.participant) == (False, None)


@pytest.mark.parametrize(
    ("name", "response", "accepted", "expires"),
    [("CALL_PERMISSION_ACCEPTED", "accept", True, 1753186982), ("CALL_PERMISSION_REJECTED", "reject", False, None)],
)
def test_a_call_permission_reply_is_typed(name, response, accepted, expires):
    from tests.data import meta_webhooks as meta

    (event,) = parse_webhook(getattr(meta, name))
    assert isinstance(event, MessageEvent) and event.message.type == "interactive"
    reply = event.message.call_permission
    assert reply is not None and (reply.response, reply.accepted, reply.expiration_timestamp) == (
        response,
        accepted,
        expires,
    )
    assert reply.response_source == "user_action"


def test_a_user_changed_user_id_system_message_is_typed():
    from tests.data import meta_webhooks as meta

    (event,) = parse_webhook(meta.USER_CHANGED_USER_ID)
    assert isinstance(event, MessageEvent) and event.message.system is not None
    system = event.message.system
    assert (system.type, system.wa_id, system.user_id, system.parent_user_id) == (
        "user_changed_user_id",
        "16505559999",
        "US.99999999999999999999",
        "US.ENT.99999999999999999999",
    )
    assert system.changed_from_to == (meta.BSUID, "US.99999999999999999999")
