"""An LLM or intent service behind one small interface, and the handler that lets it answer.

`Assistant.respond()` takes the customer's text and the recent history and returns the answer (or
None: let the rules answer). `BedrockAssistant` implements it with Amazon Bedrock's Converse API;
anything else (Lex, an in-house intent service) implements the same method. The handler falls
through to the rules when the service has no answer or fails, so a customer is never left without
the rules' reply because a model was slow or down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from wacloud.conversation.bot import Conversation, Handler
from wacloud.models.records import HistoryEntry
from wacloud.runtime.logs import child_logger

logger = child_logger(__name__)
MAX_ANSWER_CHARS = 4096  # a WhatsApp text body


class Assistant(Protocol):
    def respond(self, text: str, history: Sequence[HistoryEntry], *, customer: str) -> str | None: ...


class BedrockAssistant:
    """Answers with a model through Bedrock's Converse API (the function's role needs bedrock:InvokeModel)."""

    def __init__(
        self, *, model_id: str, system_prompt: str, client: Any = None, max_tokens: int = 400, region: str | None = None
    ) -> None:
        self.model_id = model_id
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self._client = client
        self._region = region

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only a processor that uses Bedrock pays for its client

            self._client = boto3.client("bedrock-runtime", region_name=self._region)
        return self._client

    def respond(self, text: str, history: Sequence[HistoryEntry], *, customer: str) -> str | None:
        messages = _turns(history, text)
        answer = self.client.converse(
            modelId=self.model_id,
            system=[{"text": self.system_prompt}],
            messages=messages,
            inferenceConfig={"maxTokens": self.max_tokens},
        )
        parts = answer.get("output", {}).get("message", {}).get("content", [])
        reply = "".join(part.get("text", "") for part in parts).strip()
        return reply or None


def _turns(history: Sequence[HistoryEntry], text: str) -> list[dict[str, Any]]:
    """The history as Converse turns: alternating roles, starting with the customer, ending with `text`."""
    turns: list[dict[str, Any]] = []
    for entry in history:
        if not entry.text:
            continue
        role = "user" if entry.direction == "in" else "assistant"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"][0]["text"] += "\n" + entry.text
        elif turns or role == "user":
            turns.append({"role": role, "content": [{"text": entry.text}]})
    if turns and turns[-1]["role"] == "user":
        turns.pop()  # the message being answered is in the history already: it goes last, once
    turns.append({"role": "user", "content": [{"text": text}]})
    return turns


def assistant_handler(assistant: Assistant) -> Handler:
    """A handler that answers text messages with the assistant, or lets the rules answer."""

    def answer(conversation: Conversation) -> bool:
        text = conversation.text
        if not text:
            return False
        history = [entry for entry in conversation.history if entry.wamid != conversation.message.id]
        try:
            reply = assistant.respond(text, history, customer=conversation.message.sender)
        except Exception as exc:  # any failure of the service (timeout, throttling, a bug): the rules answer
            logger.warning("Assistant failed; the rules answer", extra={"error": type(exc).__name__})
            return False
        if not reply:
            return False
        conversation.reply_text(reply[:MAX_ANSWER_CHARS])
        return True

    return answer
