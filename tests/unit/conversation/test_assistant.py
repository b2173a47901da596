"""wacloud.conversation.assistant: an Amazon Bedrock model answers with the conversation's history (a fake Bedrock)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conversation.conftest import conversation, says
from wacloud.conversation import Bot
from wacloud.conversation.assistant import BedrockAssistant, assistant_handler
from wacloud.local.meta.webhooks import text_message
from wacloud.models.records import HistoryEntry


class FakeBedrock:
    """Bedrock's Converse API as the adapter uses it: records the request, answers as scripted."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []

    def converse(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        content = [{"text": self.answer}] if self.answer else []
        return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": "end_turn"}


HISTORY = [
    HistoryEntry(at=1, direction="out", type="text", text="Welcome!", wamid="o0"),  # before the customer spoke
    HistoryEntry(at=2, direction="in", type="text", text="hi", wamid="w1"),
    HistoryEntry(at=3, direction="out", type="text", text="Hello, how can I help?", wamid="o1"),
    HistoryEntry(at=4, direction="in", type="image", text=None, wamid="w2"),
    HistoryEntry(at=5, direction="in", type="text", text="do you ship to Spain?", wamid="w3"),
]


def test_the_assistant_answers_with_the_history_as_alternating_turns():
    bedrock = FakeBedrock("Yes, in 3 days.")
    handler = assistant_handler(BedrockAssistant(model_id="model-x", system_prompt="Be brief.", client=bedrock))
    talk = conversation(
        text_message("do you ship to Spain?", phone_number_id="1", sender="16505551234", wamid="w3"), HISTORY
    )
    assert handler(talk) is True
    assert talk.replies == [{"type": "text", "text": {"body": "Yes, in 3 days."}}]
    (request,) = bedrock.requests
    assert request["modelId"] == "model-x" and request["system"] == [{"text": "Be brief."}]
    assert [(m["role"], m["content"][0]["text"]) for m in request["messages"]] == [
        ("user", "hi"),
        ("assistant", "Hello, how can I help?"),
        ("user", "do you ship to Spain?"),
    ]


@pytest.mark.parametrize("answer", ["", RuntimeError("throttled")])
def test_without_an_answer_from_the_assistant_the_rules_answer(answer):
    bot = Bot()
    bot.add(assistant_handler(BedrockAssistant(model_id="m", system_prompt="p", client=FakeBedrock(answer))))
    talk = says("hello")
    assert bot.handle(talk) is False and talk.replies == []


def test_a_long_answer_is_cut_to_a_whatsapp_text():
    handler = assistant_handler(BedrockAssistant(model_id="m", system_prompt="p", client=FakeBedrock("x" * 5000)))
    talk = says("tell me everything")
    assert handler(talk) and len(talk.replies[0]["text"]["body"]) == 4096
