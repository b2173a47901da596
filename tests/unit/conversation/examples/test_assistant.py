"""wacloud.conversation.examples.assistant: the example bot that lets a Bedrock model answer (a fake Bedrock)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import boto3
import pytest

from tests.conftest import fresh_python
from tests.unit.conversation.conftest import conversation, says
from wacloud.conversation import Bot, examples
from wacloud.conversation.bot import load_bot
from wacloud.local.meta.webhooks import media_message

MODULE = "wacloud.conversation.examples.assistant"


class FakeBedrock:
    """Bedrock's Converse API: records each request, answers as scripted."""

    def __init__(self) -> None:
        self.answer: str | Exception = "We ship in 3 days."
        self.requests: list[dict[str, Any]] = []

    def converse(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"output": {"message": {"role": "assistant", "content": [{"text": self.answer}]}}}


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeBedrock, list[tuple[str, dict[str, Any]]]]:
    """boto3.client() makes the fake Bedrock (and records what it was asked for)."""
    fake, made = FakeBedrock(), []

    def client(service: str, **kwargs: Any) -> FakeBedrock:
        made.append((service, kwargs))
        return fake

    monkeypatch.setattr(boto3, "client", client)
    return fake, made


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch, bedrock: Any) -> Bot:
    """The example bot as a cold processor loads it, with BEDROCK_MODEL_ID set (the module imported
    anew, the one other tests see put back afterwards)."""
    importlib.import_module(MODULE)  # so that the module put back is the one imported before
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-test")
    monkeypatch.delitem(sys.modules, MODULE)
    monkeypatch.delattr(examples, "assistant")
    return load_bot(f"{MODULE}:bot")


def test_loading_the_example_makes_no_bedrock_client(example: Bot, bedrock: Any) -> None:
    _, made = bedrock

    assert isinstance(example, Bot) and example.rules  # the rules answer what the model cannot
    assert made == []


def test_the_model_answers_a_text_with_the_configured_model_and_prompt(example: Bot, bedrock: Any) -> None:
    fake, made = bedrock
    talk = says("do you ship to Spain?")

    assert example.handle(talk) is True
    assert talk.replies == [{"type": "text", "text": {"body": "We ship in 3 days."}}]
    (request,) = fake.requests
    assert request["modelId"] == "anthropic.claude-test"
    assert "shop on WhatsApp" in request["system"][0]["text"]
    assert request["messages"][-1] == {"role": "user", "content": [{"text": "do you ship to Spain?"}]}
    assert [service for service, _ in made] == ["bedrock-runtime"]


def test_the_bedrock_client_is_made_once_and_reused(example: Bot, bedrock: Any) -> None:
    fake, made = bedrock

    for words in ("hello", "anyone there?"):
        assert example.handle(says(words))

    assert len(fake.requests) == 2 and len(made) == 1


def test_a_message_without_text_is_left_to_the_rules_without_asking_the_model(example: Bot, bedrock: Any) -> None:
    fake, made = bedrock
    photo = conversation(media_message("image", "M1", phone_number_id="1", mime_type="image/jpeg"))

    assert example.handle(photo) is False and photo.replies == []
    assert fake.requests == [] and made == []


def test_when_the_model_fails_the_rules_answer(example: Bot, bedrock: Any) -> None:
    fake, _ = bedrock
    fake.answer = RuntimeError("ThrottlingException")
    talk = says("hello")

    assert example.handle(talk) is False and talk.replies == []


def test_a_cold_import_of_the_example_makes_no_aws_client() -> None:
    code = (
        "import boto3, botocore.client\n"
        "def refuse(*args, **kwargs): raise SystemExit('a client was made at import')\n"
        "boto3.client = boto3.session.Session.client = refuse\n"
        "from wacloud.conversation.bot import load_bot\n"
        f"bot = load_bot('{MODULE}:bot')\n"
        "print(type(bot).__name__)\n"
    )
    result = fresh_python(code, BEDROCK_MODEL_ID="m")

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "Bot"
