"""Menu bot: a list menu on MENU (or a first message), an answer per row, a human on request.

Replaces the rules file (`rules=False`): everything it does not answer gets the menu again.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from wacloud.conversation import Bot, Conversation

bot = Bot(rules=False)

MENU_TEXT = "Hi {name}, how can we help?"
MENU = {
    "type": "interactive",
    "interactive": {
        "type": "list",
        "body": {"text": ""},
        "action": {
            "button": "Options",
            "sections": [
                {
                    "title": "Orders",
                    "rows": [
                        {"id": "order-status", "title": "Where is my order?"},
                        {"id": "returns", "title": "Returns"},
                    ],
                },
                {"title": "People", "rows": [{"id": "agent", "title": "Talk to a person"}]},
            ],
        },
    },
}
ANSWERS = {
    "order-status": "Send us your order number (like #1234) and we will look it up.",
    "returns": "You can return anything within 30 days: https://example.com/returns",
}


@bot.on(reply_ids=list(ANSWERS))
def answer(conversation: Conversation) -> None:
    conversation.reply_text(ANSWERS[conversation.reply_id or ""])


@bot.on(reply_ids=["agent"])
def agent(conversation: Conversation) -> None:
    conversation.reply_text("A colleague will answer you here shortly.")
    conversation.hand_over()


@bot.on(regex=r"#\s*\d{3,}")
def order_number(conversation: Conversation) -> None:
    order = re.search(r"#\s*\d{3,}", conversation.text or "")
    number = order.group() if order else ""
    conversation.reply_text(f"Thanks! We are looking up order {number} and will get back to you.")


@bot.on()
def menu(conversation: Conversation) -> None:
    body: dict[str, Any] = copy.deepcopy(MENU)
    body["interactive"]["body"]["text"] = MENU_TEXT.format(name=conversation.profile_name or "there")[:1024]
    conversation.reply(body)
