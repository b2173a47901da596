"""wacloud.conversation.engine: what one message is answered with (opt-out, handover, bot then rules,
first contact, the 24-hour window), the rules file from the package or S3, and the engine from the settings."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from tests.conftest import message_event
from wacloud.adapters.s3 import Bucket, S3Error
from wacloud.adapters.store import Store
from wacloud.adapters.store.customers import CustomerRecords
from wacloud.config import Settings
from wacloud.conversation import Bot
from wacloud.conversation.engine import (
    S3_RULES_MAX_AGE_SECONDS,
    Answer,
    ConversationEngine,
    ConversationEngines,
    RulesSource,
    RulesUnavailableError,
    conversation_engine,
    fallback_rules,
)
from wacloud.conversation.rules import RulesFile
from wacloud.local.cloudformation import Stack
from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import HistoryEntry

CUSTOMER = "16505551234"
DAY = 86400
FOLLOW_UP = {"name": "follow_up", "language": {"code": "en"}}
OFFER = {"type": "template", "template": {"name": "offer", "language": {"code": "en"}}}
RULES: dict[str, Any] = {
    "rules": [
        {"name": "greeting", "when": {"first_contact": True}, "reply": {"type": "text", "text": {"body": "Welcome"}}},
        {"name": "agent", "when": {"keywords": ["agent"]}, "handover": True,
         "reply": {"type": "text", "text": {"body": "A colleague will answer"}}},
        {"name": "offer", "when": {"keywords": ["offer"]}, "reply": OFFER},
        {"name": "both", "when": {"keywords": ["both"]}, "reply": [{"type": "text", "text": {"body": "See"}}, OFFER]},
    ],
    "fallback": {"reply": {"type": "text", "text": {"body": "Say MENU"}}},
    "outside_window_template": FOLLOW_UP,
}  # fmt: skip


@pytest.fixture
def customers(aws: Stack) -> CustomerRecords:
    return Store().customers


def texts(answer: Answer) -> list[str]:
    return [b["text"]["body"] if b["type"] == "text" else f"template:{b['template']['name']}" for b in answer.replies]


def engine(customers: CustomerRecords, bot: Bot | None = None, rules: dict[str, Any] | None = RULES, **kw: Any):
    loaded = RulesFile.model_validate(rules) if rules is not None else None
    return ConversationEngine(customers=customers, rules=lambda: loaded, bot=bot, **kw)


def replying_bot(*, rules: bool = True) -> Bot:
    bot = Bot(rules=rules)
    bot.add(lambda c: c.reply_text("from the bot"), keywords=["bot"])
    bot.add(lambda c: c.hand_over(), keywords=["human"])
    bot.add(lambda c: (c.reply_text("bye"), c.hand_over()), keywords=["bye"])
    return bot


def test_an_opted_out_customer_gets_no_answer_not_even_from_the_bot(customers: CustomerRecords) -> None:
    customers.set_opt_out(CUSTOMER, True, at=int(time.time()), keyword="STOP")

    answer = engine(customers, replying_bot()).answer(message_event("bot"))

    assert answer == Answer(decided_by="opted-out")


def test_a_handed_over_customer_gets_no_answer_but_the_message_that_started_it(customers: CustomerRecords) -> None:
    now = int(time.time())
    customers.set_handover(CUSTOMER, until=now + 3600, at=now, wamid="wamid.ASKED")
    talk = engine(customers)

    assert talk.answer(message_event("hello", wamid="wamid.LATER")) == Answer(decided_by="handover")
    again = talk.answer(message_event("agent", wamid="wamid.ASKED"))  # redelivered: its answers go out again
    assert (texts(again), again.decided_by, again.handover) == (["A colleague will answer"], "agent", True)
    customers.set_handover(CUSTOMER, until=now, at=now - 3600, wamid="wamid.ASKED")  # expired
    assert texts(talk.answer(message_event("hello", wamid="wamid.LATER"))) == ["Say MENU"]


@pytest.mark.parametrize(
    ("words", "said", "decided_by", "handover"),
    [("bot", ["from the bot"], "bot", False), ("human", [], "bot", True), ("hello", ["Say MENU"], "fallback", False),
     ("agent", ["A colleague will answer"], "agent", True)],
    ids=["bot-replies", "bot-hands-over", "rules-fallback", "rules-handover"],
)  # fmt: skip
def test_the_bot_answers_first_and_the_rules_what_it_leaves(customers, words, said, decided_by, handover) -> None:
    answer = engine(customers, replying_bot()).answer(message_event(words))

    assert (texts(answer), answer.decided_by, answer.handover) == (said, decided_by, handover)


def test_a_bot_without_rules_leaves_what_it_does_not_answer_unanswered(customers: CustomerRecords) -> None:
    talk = engine(customers, replying_bot(rules=False))

    assert talk.answer(message_event("hello")) == Answer()
    assert texts(talk.answer(message_event("bot"))) == ["from the bot"]
    assert engine(customers, rules=None).answer(message_event("hello")) == Answer()  # neither bot nor rules


def test_a_new_contacts_first_message_is_greeted_each_time_it_comes(customers: CustomerRecords) -> None:
    first, second = message_event("hi", wamid="wamid.FIRST"), message_event("hi", wamid="wamid.SECOND")
    customers.upsert(first)  # the processor records the contact before it answers
    talk = engine(customers)

    assert texts(talk.answer(first)) == ["Welcome"]
    customers.upsert(second)
    assert texts(talk.answer(second)) == ["Say MENU"]
    assert texts(talk.answer(first)) == ["Welcome"]  # redelivered: the same answer
    assert texts(talk.answer(message_event("hi", sender="447700900123"))) == ["Say MENU"]  # no stored contact


def test_a_contact_created_long_before_its_first_recorded_message_is_not_new(aws: Stack, customers) -> None:
    # GIVEN a contact stored before the first message was named on contacts
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    table.put_item(Item={"pk": f"CONTACT#{CUSTOMER}", "sk": "PROFILE", "wa_id": CUSTOMER, "created_at": 1_700_000_000})
    event = message_event("hi")
    customers.upsert(event)

    assert customers.get(CUSTOMER).first_inbound_wamid == event.message.id
    assert texts(engine(customers).answer(event)) == ["Say MENU"]


@pytest.mark.parametrize(
    ("words", "age", "said"),
    [("hello", DAY + 60, ["template:follow_up"]), ("offer", DAY + 60, ["template:offer"]),
     ("both", DAY + 60, ["template:offer", "template:follow_up"]), ("hello", DAY - 60, ["Say MENU"]),
     ("bye", DAY + 60, ["template:follow_up"])],
    ids=["text-gives-way", "template-kept", "text-dropped-template-kept", "within-window", "bot-answer-gives-way"],
)  # fmt: skip
def test_outside_the_window_free_form_answers_give_way_to_the_template(customers, words, age, said) -> None:
    now = int(time.time())
    answer = engine(customers, replying_bot(), clock=lambda: now).answer(message_event(words, timestamp=now - age))

    assert texts(answer) == said and answer.handover is (words == "bye")  # a bot's handover stays
    if "template:follow_up" in said:
        assert answer.replies[-1] == {"type": "template", "template": FOLLOW_UP}


def test_outside_the_window_without_a_template_the_answers_go_as_they_are(customers: CustomerRecords) -> None:
    rules = {key: value for key, value in RULES.items() if key != "outside_window_template"}
    late = int(time.time()) - 2 * DAY

    assert texts(engine(customers, rules=rules).answer(message_event("hello", timestamp=late))) == ["Say MENU"]


def test_the_bot_reads_the_customers_latest_history(customers: CustomerRecords) -> None:
    lines = [HistoryEntry(at=i, direction="in", type="text", text=f"line {i}", wamid=f"w{i}") for i in range(1, 5)]
    customers.append_history(CUSTOMER, lines, ttl_seconds=DAY)
    bot = Bot()
    bot.add(lambda c: c.reply_text(" | ".join(entry.text or "" for entry in c.history)))

    answer = engine(customers, bot, history_size=2).answer(message_event("hi"))

    assert texts(answer) == ["line 3 | line 4"]


def test_a_rules_file_in_the_package_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(RULES))
    source = RulesSource("rules.json", base=tmp_path)
    (tmp_path / "rules.json").write_text("{not even json")

    assert source() is source() and source().fallback is not None
    assert RulesSource("", base=tmp_path)() is None


def test_an_invalid_rules_file_in_the_package_fails_when_it_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [{"name": "x", "when": {}, "reply": OFFER}]}))

    with pytest.raises(ValidationError, match="at least one condition"):
        RulesSource("rules.json", base=tmp_path)


class S3Rules:
    """The rules file in the media bucket, its reads counted, on a clock the test moves."""

    def __init__(self, aws: Stack, body: Any = RULES) -> None:
        self.name, self.reads, self.now = aws.bucket_names["MediaBucket"], [], [0.0]
        if body is not None:
            self.put(body)
        self.source = RulesSource(
            f"s3://{self.name}/conf/rules.json", base=Path(), bucket=self.bucket, clock=self.clock
        )

    def put(self, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        boto3.client("s3").put_object(Bucket=self.name, Key="conf/rules.json", Body=data)

    def bucket(self, name: str) -> Bucket:
        self.reads.append(name)
        return Bucket(name)

    def clock(self) -> float:
        return self.now[0]


def test_rules_in_s3_are_read_again_only_after_the_maximum_age(aws: Stack) -> None:
    s3 = S3Rules(aws)
    first = s3.source()
    s3.put({"fallback": RULES["fallback"]})
    s3.now[0] += S3_RULES_MAX_AGE_SECONDS - 1

    assert s3.source() is first and s3.reads == [s3.name]
    s3.now[0] += 1
    assert s3.source().rules == [] and s3.reads == [s3.name, s3.name]


@pytest.mark.parametrize(
    "change", ["delete", {"rules": [{"name": "x", "when": {}, "reply": OFFER}]}], ids=["unreadable", "invalid"]
)
def test_an_unusable_new_version_in_s3_keeps_the_old_until_the_next_reread(aws: Stack, change: Any) -> None:
    s3 = S3Rules(aws)
    first = s3.source()
    if change == "delete":
        boto3.client("s3").delete_object(Bucket=s3.name, Key="conf/rules.json")
    else:
        s3.put(change)
    s3.now[0] += S3_RULES_MAX_AGE_SECONDS

    assert s3.source() is first and s3.source() is first
    assert len(s3.reads) == 2  # tried once, then the old one for another interval


def test_rules_in_s3_that_cannot_be_read_yet_are_unavailable_until_they_can(aws: Stack) -> None:
    s3 = S3Rules(aws, body=None)

    with pytest.raises(RulesUnavailableError, match="cannot read the rules file"):
        s3.source()
    s3.put(RULES)
    assert s3.source().fallback is not None  # tried again at once: nothing was loaded

    class Down:
        def read(self, key: str) -> bytes:
            raise S3Error("throttled")

    with pytest.raises(RulesUnavailableError, match="throttled"):
        RulesSource("s3://b/rules.json", base=Path(), bucket=lambda name: Down())()  # type: ignore[arg-type, return-value]


@pytest.mark.parametrize(
    ("body", "error"), [(b"{broken", ValueError), ({"version": 2}, ValidationError)], ids=["json", "rules"]
)
def test_an_invalid_first_version_in_s3_raises_its_error(aws: Stack, body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        S3Rules(aws, body).source()


def test_the_fallback_rules_quote_the_auto_reply_text(customers: CustomerRecords) -> None:
    rules = fallback_rules("Thanks!")

    assert fallback_rules("") is None
    assert rules is not None and rules.rules == []
    answer = ConversationEngine(customers=customers, rules=lambda: rules).answer(message_event("hi", wamid="wamid.Q"))
    assert answer.replies == [{"type": "text", "text": {"body": "Thanks!"}, "context": {"message_id": "wamid.Q"}}]


def test_the_engine_from_the_settings(customers: CustomerRecords, tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(RULES))

    assert conversation_engine(Settings(), customers, base=tmp_path) is None  # nothing to say
    auto = conversation_engine(Settings.from_env({"WACLOUD_AUTO_REPLY_TEXT": "Thanks!"}), customers, base=tmp_path)
    assert auto is not None and texts(auto.answer(message_event("x"))) == ["Thanks!"]
    echo = conversation_engine(
        Settings.from_env({"WACLOUD_BOT": "wacloud.conversation.examples.echo:bot"}), customers, base=tmp_path
    )
    assert echo is not None and texts(echo.answer(message_event("x"))) == ["You said: x"]
    ruled = conversation_engine(
        Settings.from_env({"WACLOUD_RULES": "rules.json", "WACLOUD_HISTORY_SIZE": 3}), customers, base=tmp_path
    )
    assert ruled is not None and ruled.history_size == 3 and texts(ruled.answer(message_event("x"))) == ["Say MENU"]


# --- per number (issue 20) -----------------------------------------------------------------------

SALES = NumberEntry(phone_number_id="100000000000002")


def test_a_handover_first_contact_and_history_are_the_numbers_written_to(customers: CustomerRecords) -> None:
    now = int(time.time())
    first = message_event("hi", wamid="wamid.S1", timestamp=now)
    customers.upsert(message_event("hi", wamid="wamid.D1", timestamp=now - DAY))  # known on the default number
    customers.upsert(first, SALES)
    talk = engine(customers)

    assert texts(talk.answer(first, SALES)) == ["Welcome"]  # a first message to sales, however old the customer
    line = HistoryEntry(at=1, direction="in", type="text", text="to sales")
    customers.append_history(CUSTOMER, [line], ttl_seconds=DAY, entry=SALES)
    bot = Bot()
    bot.add(lambda c: c.reply_text(" | ".join(entry.text or "" for entry in c.history) or "none"))
    assert texts(engine(customers, bot).answer(message_event("x", wamid="wamid.S2"), SALES)) == ["to sales"]
    assert texts(engine(customers, bot).answer(message_event("x", wamid="wamid.D2"))) == ["none"]

    customers.set_handover(CUSTOMER, until=now + 3600, at=now, wamid="wamid.ASKED", entry=SALES)
    assert talk.answer(message_event("hello", wamid="wamid.S3"), SALES) == Answer(decided_by="handover")
    assert texts(talk.answer(message_event("hello", wamid="wamid.D3"))) == ["Say MENU"]  # the default: no handover


def test_each_number_may_have_its_own_rules_or_bot(customers: CustomerRecords, tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(RULES))
    settings = Settings.from_env({"WACLOUD_AUTO_REPLY_TEXT": "Thanks!"})
    engines = ConversationEngines(settings, customers, base=tmp_path)
    ruled = NumberEntry(phone_number_id="3", rules="rules.json")
    echoed = NumberEntry(phone_number_id="4", bot="wacloud.conversation.examples.echo:bot")

    assert texts(engines.for_number(None).answer(message_event("x"))) == ["Thanks!"]
    assert engines.for_number(SALES) is engines.for_number(None)  # names neither: the stack's
    assert texts(engines.for_number(ruled).answer(message_event("x"), ruled)) == ["Say MENU"]
    assert texts(engines.for_number(echoed).answer(message_event("x"), echoed)) == ["You said: x"]
    assert engines.for_number(NumberEntry(phone_number_id="5", rules="rules.json")) is engines.for_number(ruled)


BRAND_B = NumberEntry(phone_number_id="100000000000004", business="brand-b")


def test_the_conversation_reads_the_customer_of_the_business_written_to(customers: CustomerRecords) -> None:
    # The default business's customer opted out and wrote long ago; brand-b's never wrote before.
    customers.upsert(message_event("hi", wamid="wamid.D1", timestamp=int(time.time()) - DAY))
    customers.set_opt_out(CUSTOMER, True, at=int(time.time()), keyword="STOP")
    first = message_event("hi", wamid="wamid.B1")
    customers.upsert(first, BRAND_B)
    line = HistoryEntry(at=1, direction="in", type="text", text="to brand-b")
    customers.append_history(CUSTOMER, [line], ttl_seconds=DAY, entry=BRAND_B)
    bot = Bot(rules=True)
    bot.add(lambda c: c.reply_text(" | ".join(entry.text or "" for entry in c.history)), keywords=["history"])

    assert texts(engine(customers).answer(first, BRAND_B)) == ["Welcome"]  # their first message, not opted out
    assert texts(engine(customers, bot).answer(message_event("history", wamid="wamid.B2"), BRAND_B)) == ["to brand-b"]
    assert engine(customers).answer(message_event("hi", wamid="wamid.D2")) == Answer(decided_by="opted-out")
