"""Webhook bodies shaped like Meta's, for the local run and the tests: a customer's message (text,
media or any other type, to the business or in a group), the statuses of a message the business
sent, and a customer's call.

Since April 2026 Meta adds the customer's business-scoped user id (`contacts[].user_id`,
`messages[].from_user_id`, `statuses[].recipient_user_id`); a customer known only by it and a username
has `from: ""` and `wa_id: ""`. Reference: ../shared/reference/meta-2026.md 3.2 to 3.4.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

DEFAULT_WABA_ID = "102290129340398"
DEFAULT_DISPLAY_NUMBER = "15550783881"


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"LOCAL" + uuid.uuid4().bytes).decode()


def _envelope(
    phone_number_id: str, value: dict[str, Any], waba_id: str = DEFAULT_WABA_ID, field: str = "messages"
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": field,
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
    user_id: str | None = None,
    username: str | None = None,
    group_id: str | None = None,
) -> dict[str, Any]:
    """A customer's message to the business number (or to a group, with `group_id`): `message` is its
    type and object (`{"type": "text", "text": {...}}`), the envelope and the sender's contact are
    added. `sender` is "" for a customer known only by `user_id`."""
    identity = {"from_user_id": user_id} if user_id else {}
    return _envelope(
        phone_number_id,
        {
            "contacts": [contact(sender, name, user_id=user_id, username=username)],
            "messages": [
                {
                    "from": sender,
                    **identity,
                    **({"group_id": group_id} if group_id else {}),
                    "id": wamid or new_wamid(),
                    "timestamp": str(timestamp or int(time.time())),
                    **message,
                }
            ],
        },
    )


def contact(phone: str, name: str, *, user_id: str | None = None, username: str | None = None) -> dict[str, Any]:
    """`value.contacts[]`: the customer's profile, phone (or "") and business-scoped user id."""
    profile = {"name": name, **({"username": username} if username else {})}
    return {"profile": profile, "wa_id": phone, **({"user_id": user_id} if user_id else {})}


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
    recipient_user_id: str | None = None,
    participant: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """A status webhook for a message the business sent (echoing its `biz_opaque_callback_data`).

    `recipient` is the phone number ("" for a customer known only by `recipient_user_id`) or, for a
    group message, the group's id with `participant` its member's (phone, user id)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp or int(time.time())),
        "recipient_id": recipient,
    }
    if recipient_user_id:
        item["recipient_user_id"] = recipient_user_id
    if participant is not None:
        item["recipient_type"] = "group"
        item["recipient_participant_id"] = participant[0]
        if participant[1]:
            item["recipient_participant_user_id"] = participant[1]
    if status in ("sent", "delivered", "read"):
        item["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "group_service" if participant else "service",
        }
    if error is not None:
        item["errors"] = [error]
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    return _envelope(phone_number_id, {"statuses": [item]})


def call_event(
    event: str,
    call_id: str,
    *,
    phone_number_id: str,
    caller: dict[str, Any],
    timestamp: int,
    started: int | None = None,
    to: str = DEFAULT_DISPLAY_NUMBER,
) -> dict[str, Any]:
    """A `calls` webhook for a customer's call to the business: `connect` (with the caller's SDP
    offer) or `terminate` (COMPLETED, with its times). `caller` is their `contact(...)`; `to` the
    called number's display number."""
    call: dict[str, Any] = {
        "id": call_id,
        "from": caller["wa_id"],
        **({"from_user_id": caller["user_id"]} if caller.get("user_id") else {}),
        "to": to,
        "event": event,
        "timestamp": str(timestamp),
        "direction": "USER_INITIATED",
    }
    if event == "connect":
        call["session"] = {"sdp_type": "offer", "sdp": _SDP_OFFER}
    else:
        start = started or timestamp
        call.update(status="COMPLETED", start_time=str(start), end_time=str(timestamp), duration=timestamp - start)
    return _envelope(phone_number_id, {"contacts": [caller], "calls": [call]}, field="calls")


# A minimal RFC 8866 offer: the simulator has no media, only the signalling.
_SDP_OFFER = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
