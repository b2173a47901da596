"""wacloud.conversation.examples.menu: a menu bot in place of the rules file."""

from __future__ import annotations

from tests.unit.conversation.conftest import conversation, says
from wacloud.conversation.bot import load_bot
from wacloud.local.meta.webhooks import interactive_reply


def test_example_menu_bot_replaces_the_rules_answers_rows_and_hands_over():
    bot = load_bot("wacloud.conversation.examples.menu:bot")
    assert bot.rules is False
    first = says("hi")
    assert bot.handle(first) and first.replies[0]["interactive"]["type"] == "list"
    assert first.replies[0]["interactive"]["body"]["text"] == "Hi Ana, how can we help?"
    row = conversation(interactive_reply("list_reply", "returns", "Returns", phone_number_id="1"))
    assert bot.handle(row) and "30 days" in row.replies[0]["text"]["body"]
    agent = conversation(interactive_reply("list_reply", "agent", "Talk to a person", phone_number_id="1"))
    assert bot.handle(agent) and agent.handed_over
    order = says("my order is #4411")
    assert bot.handle(order) and "#4411" in order.replies[0]["text"]["body"]
