"""wacloud.conversation.examples.echo: the echo bot quotes the text back."""

from __future__ import annotations

from tests.unit.conversation.conftest import conversation, says
from wacloud.conversation.bot import load_bot
from wacloud.local.meta.webhooks import media_message


def test_example_echo_bot_quotes_the_text_back():
    bot = load_bot("wacloud.conversation.examples.echo:bot")
    talk = says("hello there")
    assert bot.handle(talk) and bot.rules
    assert talk.replies == [
        {"type": "text", "text": {"body": "You said: hello there"}, "context": {"message_id": talk.message.id}}
    ]
    assert not bot.handle(conversation(media_message("image", "M", phone_number_id="1", mime_type="image/png")))
