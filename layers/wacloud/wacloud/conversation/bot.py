"""The Python interface for conversations: handlers registered on a `Bot`, tried before the rules.

    from wacloud.conversation import Bot, Conversation

    bot = Bot()

    @bot.on(keywords=["PING"])
    def ping(conversation: Conversation) -> None:
        conversation.reply_text("pong")

A handler gets the `Conversation`: the typed message, the contact, the recent history, and
`reply()`, which takes any outbound message body of the contract (without `to`). A handler that
replied, handed over or returned True has answered the message; otherwise the next handler is
tried, then the rules file (unless the bot was made with `rules=False`). The processor loads the bot
named by `WACLOUD_BOT` (`module:attribute`, e.g. `wacloud.conversation.examples.echo:bot`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wacloud.config import normalise_keyword
from wacloud.conversation.rules import ReplyBody, check_reply, message_text, reply_id
from wacloud.models.events import MessageEvent
from wacloud.models.records import ContactRecord, HistoryEntry
from wacloud.models.webhook import InboundMessage

Handler = Callable[["Conversation"], bool | None]


@dataclass
class Conversation:
    """One inbound message being answered: what handlers read, and what they answer with."""

    event: MessageEvent
    contact: ContactRecord | None
    first_contact: bool
    load_history: Callable[[], list[HistoryEntry]] = field(repr=False, default=list)
    replies: list[ReplyBody] = field(default_factory=list)
    handed_over: bool = False
    _history: list[HistoryEntry] | None = field(default=None, repr=False)

    @property
    def message(self) -> InboundMessage:
        return self.event.message

    @property
    def text(self) -> str | None:
        """What the customer wrote (a text, a caption, the title of what they tapped)."""
        return message_text(self.message)

    @property
    def reply_id(self) -> str | None:
        """The id of the button or list row they tapped."""
        return reply_id(self.message)

    @property
    def profile_name(self) -> str:
        profile = self.event.contact.profile if self.event.contact else None
        return (profile.name if profile else None) or (self.contact.profile_name if self.contact else None) or ""

    @property
    def history(self) -> list[HistoryEntry]:
        """The customer's recent messages and our replies, oldest first (read on first use)."""
        if self._history is None:
            self._history = self.load_history()
        return self._history

    def reply(self, body: ReplyBody) -> None:
        """Answer with an outbound message body (any type, no `to`); checked against the contract now.

        Sent as given: no placeholders are filled (a handler formats its own text, and what the
        customer wrote must never be read as a placeholder)."""
        check_reply(body)
        self.replies.append(body)

    def reply_text(self, text: str, *, quote: bool = False) -> None:
        body: dict[str, Any] = {"type": "text", "text": {"body": text}}
        if quote:
            body["context"] = {"message_id": self.message.id}
        self.reply(body)

    def hand_over(self) -> None:
        """Flag the customer for a human: automatic replies stop until the handover is released."""
        self.handed_over = True


@dataclass
class _Registered:
    handler: Handler
    types: frozenset[str] | None
    keywords: frozenset[str] | None
    regex: re.Pattern[str] | None
    reply_ids: frozenset[str] | None

    def wants(self, conversation: Conversation) -> bool:
        message, text = conversation.message, conversation.text
        if self.types is not None and message.type not in self.types:
            return False
        if self.keywords is not None and (text is None or normalise_keyword(text) not in self.keywords):
            return False
        if self.regex is not None and (text is None or self.regex.search(text) is None):
            return False
        return self.reply_ids is None or conversation.reply_id in self.reply_ids


class Bot:
    """Handlers tried in the order they were registered; then, unless `rules=False`, the rules file."""

    def __init__(self, *, rules: bool = True) -> None:
        self.rules = rules
        self._handlers: list[_Registered] = []

    def on(
        self,
        *,
        types: list[str] | None = None,
        keywords: list[str] | None = None,
        regex: str | None = None,
        reply_ids: list[str] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler for messages matching every filter given (none: every message)."""

        def register(handler: Handler) -> Handler:
            self.add(handler, types=types, keywords=keywords, regex=regex, reply_ids=reply_ids)
            return handler

        return register

    def add(
        self,
        handler: Handler,
        *,
        types: list[str] | None = None,
        keywords: list[str] | None = None,
        regex: str | None = None,
        reply_ids: list[str] | None = None,
    ) -> None:
        self._handlers.append(
            _Registered(
                handler,
                frozenset(types) if types is not None else None,
                frozenset(normalise_keyword(k) for k in keywords) if keywords is not None else None,
                re.compile(regex, re.IGNORECASE) if regex is not None else None,
                frozenset(reply_ids) if reply_ids is not None else None,
            )
        )

    def handle(self, conversation: Conversation) -> bool:
        """Run the handlers that want the message until one answers; whether one did."""
        for registered in self._handlers:
            if not registered.wants(conversation):
                continue
            before = len(conversation.replies)
            answered = registered.handler(conversation)
            if answered or len(conversation.replies) > before or conversation.handed_over:
                return True
        return False


def load_bot(spec: str) -> Bot:
    """The bot named `module:attribute` (the module is imported once, at the processor's start)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"WACLOUD_BOT must look like 'package.module:bot', got {spec!r}")
    bot = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(bot, Bot):
        raise TypeError(f"{spec} is a {type(bot).__name__}, not a wacloud.conversation.Bot")
    return bot
