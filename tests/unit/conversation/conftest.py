"""Shared by the conversation tests: a customer's message as the Conversation a bot handler gets."""

from __future__ import annotations

from typing import Any

from wacloud.conversation import Conversation
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import text_message
from wacloud.models.events import MessageEvent
from wacloud.models.records import HistoryEntry


def conversation(body: dict[str, Any], history: list[HistoryEntry] | None = None) -> Conversation:
    (event,) = parse_webhook(body)
    assert isinstance(event, MessageEvent)
    return Conversation(event=event, contact=None, first_contact=False, load_history=lambda: list(history or []))


def says(words: str, **kwargs: Any) -> Conversation:
    return conversation(text_message(words, phone_number_id="1", sender="16505551234", name="Ana", **kwargs))
