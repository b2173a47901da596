"""A bot that lets a model answer through Amazon Bedrock, the rules file answering when it cannot.

Set `WACLOUD_BOT=wacloud.conversation.examples.assistant:bot` and `BEDROCK_MODEL_ID`, and give the
processor's role `bedrock:InvokeModel` on that model.
"""

from __future__ import annotations

import os

from wacloud.conversation import Bot
from wacloud.conversation.assistant import BedrockAssistant, assistant_handler

PROMPT = (
    "You answer customers of a small shop on WhatsApp. Be brief and friendly. If you cannot help, "
    "say that a colleague will answer."
)

bot = Bot()
bot.add(
    assistant_handler(BedrockAssistant(model_id=os.environ.get("BEDROCK_MODEL_ID", ""), system_prompt=PROMPT)),
    types=["text"],
)
