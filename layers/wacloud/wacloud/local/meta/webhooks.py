"""Webhook bodies shaped like Meta's, for the local run and the tests: a customer's message (text,
media or any other type), and the statuses of a message the business sent."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

DEFAULT_WABA_ID = "102290129340398"
DEFAULT_DISPLAY_NUMBER = "15550783881"


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"LOCAL" + uuid.uuid4().bytes).decode()


def _envelope(phone_number_id: str, value: dict[str, Any], waba_id: str = DEFAULT_WABA_ID) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DEFAULT_DISPLAY_NUMBER,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def customer_message(
    message: dict[str, Any],
    *,
    phone_number_id: str,
    sender: str = "16505551234",
    name: str = "Local Customer",
    wamid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A customer's message to the business number: `message` is its type and object
    (`{"type": "text", "text": {...}}`), the envelope and the sender's contact are added."""
    return _envelope(
        phone_number_id,
        {
            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
            "messages": [
                {
                    "from": sender,
                    "id": wamid or new_wamid(),
                    "timestamp": str(timestamp or int(time.time())),
                    **message,
                }
            ],
        },
    )


def text_message(text: str, *, phone_number_id: str, **sender: Any) -> dict[str, Any]:
    """A customer's text message to the business number."""
    return customer_message({"type": "text", "text": {"body": text}}, phone_number_id=phone_number_id, **sender)


def interactive_reply(kind: str, choice_id: str, title: str, *, phone_number_id: str, **sender: Any) -> dict[str, Any]:
    """A customer's tap on a reply button (`kind` "button_reply") or a list row ("list_reply")."""
    interactive = {"type": kind, kind: {"id": choice_id, "title": title}}
    return customer_message(
        {"type": "interactive", "interactive": interactive}, phone_number_id=phone_number_id, **sender
    )


def location_message(latitude: float, longitude: float, *, phone_number_id: str, **sender: Any) -> dict[str, Any]:
    """A customer's shared location."""
    location = {"latitude": latitude, "longitude": longitude}
    return customer_message({"type": "location", "location": location}, phone_number_id=phone_number_id, **sender)


def media_message(
    kind: str, media_id: str, *, phone_number_id: str, mime_type: str, sha256: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A customer's image, video, audio, document or sticker: Meta sends a media id, not the bytes.

    `extra` takes the media object's own fields (`caption`, `filename`, `voice`, `animated`) and the
    sender's (`sender`, `name`, `wamid`, `timestamp`)."""
    own: dict[str, Any] = {k: extra.pop(k) for k in ("caption", "filename", "voice", "animated") if k in extra}
    media: dict[str, Any] = {"id": media_id, "mime_type": mime_type, **own}
    if sha256:
        media["sha256"] = sha256
    return customer_message({"type": kind, kind: media}, phone_number_id=phone_number_id, **extra)


def status_update(
    wamid: str,
    status: str,
    *,
    phone_number_id: str,
    recipient: str,
    timestamp: int | None = None,
    error: dict[str, Any] | None = None,
    callback_data: str | None = None,
) -> dict[str, Any]:
    """A status webhook for a message the business sent (echoing its `biz_opaque_callback_data`)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp or int(time.time())),
        "recipient_id": recipient,
    }
    if status in ("sent", "delivered", "read"):
        item["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if error is not None:
        item["errors"] = [error]
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    return _envelope(phone_number_id, {"statuses": [item]})
