"""The Python interface: handlers on a Bot, the Conversation they get, the example bots, the
assistant adapter against a fake Bedrock, and loading a bot by name."""

from __future__ import annotations

import pytest

from tests.unit.conversation.conftest import conversation, says
from wacloud.conversation import Bot, Conversation
from wacloud.conversation.bot import load_bot
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import interactive_reply, media_message, text_message
from wacloud.models.records import HistoryEntry


def test_handlers_run_in_order_and_the_first_that_answers_wins():
    bot, ran = Bot(), []

    @bot.on(types=["text"])
    def looks(conversation: Conversation) -> None:
        ran.append("looks")  # neither replies nor claims the message: the next one is tried

    @bot.on(keywords=["price"])
    def price(conversation: Conversation) -> None:
        ran.append("price")
        conversation.reply_text("It costs 10 EUR")

    @bot.on()
    def everything(conversation: Conversation) -> None:
        ran.append("everything")
        conversation.reply_text("?")

    talk = says("Price!")
    assert bot.handle(talk) is True
    assert ran == ["looks", "price"]
    assert talk.replies == [{"type": "text", "text": {"body": "It costs 10 EUR"}}]


def test_filters_on_regex_reply_ids_and_types():
    bot = Bot()
    bot.add(lambda c: c.reply_text("order"), regex=r"#\d+")
    bot.add(lambda c: c.reply_text("agent"), reply_ids=["agent"])
    bot.add(lambda c: c.reply_text("photo"), types=["image"])
    tapped = conversation(interactive_reply("button_reply", "agent", "Agent", phone_number_id="1"))
    photo = conversation(media_message("image", "M", phone_number_id="1", mime_type="image/jpeg"))
    for talk, expected in ((says("is #12 shipped"), "order"), (tapped, "agent"), (photo, "photo")):
        assert bot.handle(talk)
        assert talk.replies[0]["text"]["body"] == expected
    nothing = says("hello")
    assert bot.handle(nothing) is False and nothing.replies == []


def test_returning_true_claims_a_message_without_replying():
    bot = Bot()
    bot.add(lambda c: True)
    assert bot.handle(says("quiet please")) is True


def test_the_conversation_gives_typed_message_name_text_and_history_on_demand():
    loads = []
    history = [HistoryEntry(at=1, direction="in", type="text", text="hi", wamid="w1")]
    (event,) = parse_webhook(text_message("Hello", phone_number_id="1", sender="16505551234", name="Ana"))

    def load() -> list[HistoryEntry]:
        loads.append(1)
        return history

    talk = Conversation(event=event, contact=None, first_contact=True, load_history=load)
    assert (talk.text, talk.profile_name, talk.message.type, talk.first_contact) == ("Hello", "Ana", "text", True)
    assert loads == []  # nothing read until a handler asks
    assert talk.history == history and talk.history == history
    assert loads == [1]


def test_a_reply_is_checked_against_the_outbound_contract_when_it_is_made():
    talk = says("hi")
    with pytest.raises(ValueError, match="button"):
        talk.reply({"type": "interactive", "interactive": {"type": "button", "body": {"text": "x"}, "action": {}}})
    talk.reply({"type": "image", "image": {"link": "https://example.com/a.png"}, "biz_opaque_callback_data": "x"})
    talk.reply_text("Hi {profile_name}", quote=True)  # sent as given: no placeholders in handler replies
    assert talk.replies[-1] == {
        "type": "text",
        "text": {"body": "Hi {profile_name}"},
        "context": {"message_id": talk.message.id},
    }


def test_what_the_customer_wrote_is_never_read_as_a_placeholder():
    bot = load_bot("wacloud.conversation.examples.echo:bot")
    talk = says("{wa_id} {wamid} " + "x" * 5000)
    assert bot.handle(talk)
    body = talk.replies[0]["text"]["body"]
    assert body.startswith("You said: {wa_id} {wamid} ") and len(body) <= 4096


def test_hand_over_claims_the_message():
    bot = Bot()
    bot.add(lambda c: c.hand_over(), keywords=["agent"])
    talk = says("agent")
    assert bot.handle(talk) and talk.handed_over and talk.replies == []


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("no-colon", ValueError),
        ("wacloud.conversation.examples.echo:missing", AttributeError),
        ("json:dumps", TypeError),
    ],
)
def test_a_bad_bot_name_fails_loudly(spec, error):
    with pytest.raises(error):
        load_bot(spec)
