"""Echo bot: every text comes back; anything else is left to the rules file."""

from __future__ import annotations

from wacloud.conversation import Bot, Conversation

bot = Bot()


@bot.on(types=["text"])
def echo(conversation: Conversation) -> None:
    conversation.reply_text(f"You said: {(conversation.text or '')[:4000]}", quote=True)  # a text holds 4,096
