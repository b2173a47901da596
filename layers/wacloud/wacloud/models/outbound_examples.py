"""Examples of outbound documents, one of each kind: the published JSON Schema's `examples`
(`make schema`), the sample events (`make events`) and the docs' examples come from here."""

from __future__ import annotations

from typing import Any

EXAMPLES: list[dict[str, Any]] = [
    {
        "idempotency_key": "order-1234-shipped",
        "client_reference": "order-1234",
        "message": {"to": "+16505551234", "type": "text", "text": {"body": "Your order 1234 has shipped."}},
    },
    {
        "idempotency_key": "order-1234-menu",
        "message": {
            "to": "+16505551234",
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Your order 1234 is ready. When should we deliver it?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "today", "title": "Today"}},
                        {"type": "reply", "reply": {"id": "tomorrow", "title": "Tomorrow"}},
                    ]
                },
            },
        },
    },
    {
        "idempotency_key": "order-1234-template",
        "client_reference": "order-1234",
        "message": {
            "to": "+16505551234",
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "parameter_name": "order_id", "text": "1234"},
                            {
                                "type": "currency",
                                "parameter_name": "total",
                                "currency": {
                                    "fallback_value": "$12.50",
                                    "code": "USD",
                                    "amount_1000": 12500,
                                },
                            },
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [{"type": "text", "text": "1234"}],
                    },
                ],
            },
        },
    },
    {
        "idempotency_key": "order-1234-invoice",
        "client_reference": "order-1234",
        "message": {
            "to": "+16505551234",
            "type": "document",
            "document": {"s3_key": "invoices/order-1234.pdf", "caption": "Your invoice"},
        },
    },
    {
        "idempotency_key": "promo-2026-12-banner-16505551234",
        "message": {
            "recipient": "US.13491208655302741918",
            "type": "image",
            "image": {"link": "https://example.com/banner.jpg", "caption": "Winter sale"},
        },
    },
    {
        "idempotency_key": "tutorial-video-16505551234",
        "message": {"to": "+16505551234", "type": "video", "video": {"s3_key": "videos/setup.mp4"}},
    },
    {
        "idempotency_key": "voice-note-16505551234-7",
        "message": {
            "to": "+16505551234",
            "type": "audio",
            "audio": {"id": "1013859600285441", "voice": True},
        },
    },
    {
        "idempotency_key": "thanks-sticker-16505551234",
        "message": {
            "to": "+16505551234",
            "type": "sticker",
            "sticker": {"link": "https://example.com/ty.webp"},
        },
    },
    {
        "idempotency_key": "support-card-16505551234",
        "message": {
            "to": "+16505551234",
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "Acme Support", "first_name": "Acme"},
                    "phones": [{"phone": "+1 650 555 0100", "type": "WORK", "wa_id": "16505550100"}],
                    "emails": [{"email": "support@example.com", "type": "WORK"}],
                    "urls": [{"url": "https://example.com/help", "type": "WORK"}],
                }
            ],
        },
    },
    {
        "idempotency_key": "store-location-42",
        "message": {
            "to": "+16505551234",
            "type": "location",
            "location": {
                "latitude": 37.4847,
                "longitude": -122.1477,
                "name": "Store 42",
                "address": "1 Hacker Way, Menlo Park, CA 94025",
            },
        },
    },
    {
        "idempotency_key": "menu-16505551234-1",
        "message": {
            "to": "+16505551234",
            "type": "interactive",
            "interactive": {
                "type": "list",
                "header": {"type": "text", "text": "Main menu"},
                "body": {"text": "What can we help you with?"},
                "footer": {"text": "Reply anytime"},
                "action": {
                    "button": "Choose",
                    "sections": [
                        {
                            "title": "Orders",
                            "rows": [
                                {"id": "track", "title": "Track an order"},
                                {"id": "return", "title": "Return an item", "description": "30 days"},
                            ],
                        },
                        {"title": "Other", "rows": [{"id": "human", "title": "Talk to a person"}]},
                    ],
                },
            },
        },
    },
    {
        "idempotency_key": "react-wamid-1",
        "message": {
            "to": "+16505551234",
            "type": "reaction",
            "reaction": {
                "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMzM0RgA=",
                "emoji": "\U0001f44d",
            },
        },
    },
    {
        "idempotency_key": "read:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMzM0RgA=",
        "message": {
            "status": "read",
            "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMzM0RgA=",
            "typing_indicator": {"type": "text"},
        },
    },
    {
        "idempotency_key": "winter-sale-2026-16505551234",
        "marketing_messages": True,
        "message": {
            "to": "+16505551234",
            "type": "template",
            "template": {"name": "winter_sale", "language": {"code": "en_US"}},
        },
    },
    {
        "idempotency_key": "match-day-2026-12-06",
        "message": {
            "recipient_type": "group",
            "to": "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyNzIwOTE",
            "type": "text",
            "text": {"body": "Kick-off moved to 15:00."},
        },
    },
]


def example(idempotency_key: str) -> dict[str, Any]:
    """The example with this idempotency key (a copy)."""
    import copy

    return copy.deepcopy(next(e for e in EXAMPLES if e["idempotency_key"] == idempotency_key))
