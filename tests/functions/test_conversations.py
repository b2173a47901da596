"""The processor answering customers: rules, bots, opt-out first, handover, history, typing, the
24-hour window, and a rules file in S3."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT, queue_bodies, sqs_batch
from wacloud.adapters.store import Store
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import customer_message, interactive_reply, text_message
from wacloud.models.events import dump_event
from wacloud.runtime import singletons

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"
RULES = {
    "rules": [
        {"name": "greeting", "when": {"first_contact": True},
         "reply": {"type": "text", "text": {"body": "Welcome {profile_name}"}}},
        {"name": "menu", "when": {"keywords": ["menu"]}, "reply": [
            {"type": "text", "text": {"body": "Here you go"}},
            {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}, "action": {
                "buttons": [{"type": "reply", "reply": {"id": "agent", "title": "A person"}}]}}},
        ]},
        {"name": "agent", "when": {"reply_ids": ["agent"]}, "handover": True,
         "reply": {"type": "text", "text": {"body": "A colleague will answer"}}},
    ],
    "fallback": {"reply": {"type": "text", "text": {"body": "Say MENU"}}},
    "outside_window_template": {"name": "follow_up", "language": {"code": "en"}},
}  # fmt: skip
_wamids = itertools.count()


@pytest.fixture
def processor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "rules.json").write_text(json.dumps(RULES))
    monkeypatch.setenv("WACLOUD_RULES", "rules.json")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    singletons.reset()
    from functions.processor import app

    return app


def say(app, lambda_context, aws, message: dict[str, Any], **sender: Any) -> list[dict[str, Any]]:
    """The customer's message through the processor; the documents it queued."""
    sender.setdefault("wamid", f"wamid.C{next(_wamids)}")
    body = customer_message(message, phone_number_id="1", sender=CUSTOMER, name="Ana", **sender)
    events = [dump_event(event) for event in parse_webhook(body)]
    assert app.lambda_handler(sqs_batch(*events, queue="inbound"), lambda_context) == {"batchItemFailures": []}
    return [q["body"] for q in queue_bodies(aws, "OutboundQueue")]


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": words}}


def answers(documents: list[dict[str, Any]]) -> list[str]:
    """What each answer says (text bodies, interactive bodies, template names)."""
    said = []
    for document in documents[1:]:
        message = document["message"]
        kind = message["type"]
        said.append(
            message["text"]["body"] if kind == "text"
            else message["interactive"]["body"]["text"] if kind == "interactive"
            else f"template:{message['template']['name']}"
        )  # fmt: skip
    return said


def test_first_contact_then_keywords_then_the_fallback(processor, lambda_context, aws):
    first = say(processor, lambda_context, aws, text("hello"))
    assert first[0]["message"]["status"] == "read" and first[0]["message"]["typing_indicator"] == {"type": "text"}
    assert answers(first) == ["Welcome Ana"]
    assert answers(say(processor, lambda_context, aws, text("MENU"))) == ["Here you go", "Pick"]
    assert answers(say(processor, lambda_context, aws, text("what?"))) == ["Say MENU"]


def test_a_redelivered_first_message_gets_the_same_greeting(processor, lambda_context, aws):
    # The event comes again after its idempotency record is gone (a retry after a failed queueing).
    first = say(processor, lambda_context, aws, text("hi"), wamid="wamid.FIRST")
    from wacloud.inbound.processor import get_processor

    get_processor().messages.handle(parse_webhook(
        customer_message(text("hi"), phone_number_id="1", sender=CUSTOMER, name="Ana", wamid="wamid.FIRST")
    )[0])  # fmt: skip
    again = [q["body"] for q in queue_bodies(aws, "OutboundQueue")]
    assert answers(first) == ["Welcome Ana"]
    # The same documents, byte for byte: SQS drops them as repeats (their deduplication id is the
    # body's digest), so the customer gets one greeting, not a greeting and then a fallback.
    assert again == []


def test_opt_out_comes_before_any_rule_and_opt_in_is_answered(processor, lambda_context, aws):
    say(processor, lambda_context, aws, text("hello"))
    stop = say(processor, lambda_context, aws, text("STOP"))
    assert [d["message"].get("status") for d in stop] == ["read"]  # the read receipt only
    assert stop[0]["message"].get("typing_indicator") is None
    assert answers(say(processor, lambda_context, aws, text("START"))) == ["Say MENU"]


def test_a_handover_stops_automatic_replies_until_it_is_released(processor, lambda_context, aws):
    say(processor, lambda_context, aws, text("hello"))
    tapped = say(processor, lambda_context, aws, {"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": "agent", "title": "A person"}}})  # fmt: skip
    assert answers(tapped) == ["A colleague will answer"]
    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and contact.handed_over(int(time.time()))

    with_human = say(processor, lambda_context, aws, text("menu"))
    assert answers(with_human) == [] and with_human[0]["message"]["status"] == "read"

    Store().customers.release_handover(CUSTOMER)
    assert answers(say(processor, lambda_context, aws, text("menu"))) == ["Here you go", "Pick"]


def test_a_handover_expires(processor, lambda_context, aws):
    Store().customers.set_handover(CUSTOMER, until=int(time.time()) - 1, at=int(time.time()) - 86400, wamid="wamid.OLD")
    say(processor, lambda_context, aws, text("hello"))
    assert answers(say(processor, lambda_context, aws, text("menu"))) == ["Here you go", "Pick"]


def test_reactions_edits_and_system_notices_are_not_answered(processor, lambda_context, aws):
    reaction = {"type": "reaction", "reaction": {"message_id": "wamid.OURS", "emoji": "👍"}}
    documents = say(processor, lambda_context, aws, reaction)
    assert answers(documents) == [] and documents[0]["message"].get("typing_indicator") is None


def test_the_history_holds_messages_and_answers_oldest_first_and_expires(processor, lambda_context, aws):
    say(processor, lambda_context, aws, text("hello"), timestamp=int(time.time()) - 2)
    say(processor, lambda_context, aws, text("menu"), timestamp=int(time.time()) - 1)
    history = Store().customers.history(CUSTOMER, limit=10)
    assert [(h.direction, h.text, h.rule) for h in history] == [
        ("in", "hello", None),
        ("out", "Welcome Ana", "greeting"),
        ("in", "menu", None),
        ("out", "Here you go", "menu"),
        ("out", "Pick", "menu"),
    ]
    assert [h.text for h in Store().customers.history(CUSTOMER, limit=2)] == ["Here you go", "Pick"]
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    items = [i for i in table.scan()["Items"] if i["sk"].startswith("HIST#")]
    assert items and all(int(i["expires_at"]) <= time.time() + 7 * 86400 + 5 for i in items)


def test_a_message_answered_after_the_window_closed_gets_the_configured_template(
    processor, lambda_context, aws, monkeypatch
):
    monkeypatch.setenv("WACLOUD_MAX_EVENT_AGE_SECONDS", str(3 * 86400))
    singletons.reset()
    late = say(processor, lambda_context, aws, text("menu"), timestamp=int(time.time()) - 2 * 86400)
    assert answers(late) == ["template:follow_up"]
    assert late[1]["message"]["template"]["language"] == {"code": "en"}


def test_a_bot_goes_first_and_the_rules_answer_what_it_leaves(processor, lambda_context, aws, monkeypatch):
    monkeypatch.setenv("WACLOUD_BOT", "wacloud.conversation.examples.echo:bot")
    singletons.reset()
    assert answers(say(processor, lambda_context, aws, text("menu"))) == ["You said: menu"]
    tapped = say(processor, lambda_context, aws, {"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": "agent", "title": "A person"}}})  # fmt: skip
    assert answers(tapped) == ["A colleague will answer"]  # not a text: the echo bot leaves it to the rules


def test_a_bot_can_replace_the_rules(processor, lambda_context, aws, monkeypatch):
    monkeypatch.setenv("WACLOUD_BOT", "wacloud.conversation.examples.menu:bot")
    singletons.reset()
    menu = say(processor, lambda_context, aws, text("what?"))
    assert answers(menu) == ["Hi Ana, how can we help?"]  # the bot's list menu, not the rules' fallback


def test_without_rules_the_auto_reply_text_answers_and_quotes(processor, lambda_context, aws, monkeypatch):
    monkeypatch.setenv("WACLOUD_RULES", "")
    monkeypatch.setenv("WACLOUD_AUTO_REPLY_TEXT", "Thanks!")
    singletons.reset()
    documents = say(processor, lambda_context, aws, text("hello"), wamid="wamid.Q")
    assert answers(documents) == ["Thanks!"]
    assert documents[1]["message"]["context"] == {"message_id": "wamid.Q"}


def test_an_invalid_rules_file_fails_the_cold_start_loudly(processor, lambda_context, aws, tmp_path):
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [{"name": "x", "when": {}, "reply": text("a")}]}))
    singletons.reset()
    body = dump_event(parse_webhook(text_message("hi", phone_number_id="1", sender=CUSTOMER))[0])
    with pytest.raises(ValueError, match="at least one condition"):
        processor.lambda_handler(sqs_batch(body, queue="inbound"), lambda_context)


def test_rules_in_s3_are_reread_and_a_bad_new_version_keeps_the_old(aws, monkeypatch):
    from wacloud.conversation.engine import S3_RULES_MAX_AGE_SECONDS, RulesSource

    s3 = boto3.client("s3")
    bucket = aws.bucket_names["MediaBucket"]
    s3.put_object(Bucket=bucket, Key="config/rules.json", Body=json.dumps(RULES).encode())
    now = [0.0]
    source = RulesSource(f"s3://{bucket}/config/rules.json", base=ROOT, clock=lambda: now[0])
    assert source() is not None and source().fallback is not None
    s3.put_object(Bucket=bucket, Key="config/rules.json", Body=json.dumps({"rules": []}).encode())
    assert source().fallback is not None  # cached
    now[0] += S3_RULES_MAX_AGE_SECONDS
    assert source().fallback is None  # the new version
    s3.put_object(Bucket=bucket, Key="config/rules.json", Body=b"{broken")
    now[0] += S3_RULES_MAX_AGE_SECONDS
    assert source() is not None and source().fallback is None  # still the last good one


def test_the_shipped_rules_file_is_what_the_template_deploys():
    from tests.conftest import TEMPLATE

    variables = TEMPLATE["Resources"]["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["WACLOUD_RULES"] == {"Ref": "ConversationRules"}
    default = TEMPLATE["Parameters"]["ConversationRules"]["Default"]
    assert (ROOT / TEMPLATE["Resources"]["ProcessorFunction"]["Properties"]["CodeUri"] / default).is_file()


def test_a_tap_on_a_list_row_reaches_the_rules(processor, lambda_context, aws):
    say(processor, lambda_context, aws, text("hello"))
    body = interactive_reply("list_reply", "agent", "A person", phone_number_id="1", sender=CUSTOMER)
    events = [dump_event(event) for event in parse_webhook(body)]
    processor.lambda_handler(sqs_batch(*events, queue="inbound"), lambda_context)
    assert answers([q["body"] for q in queue_bodies(aws, "OutboundQueue")]) == ["A colleague will answer"]


def test_a_handler_that_raises_fails_the_event_so_it_is_retried_not_dropped(
    processor, lambda_context, aws, monkeypatch
):
    import sys
    import types

    broken = types.ModuleType("broken_bot")
    from wacloud.conversation import Bot

    broken.bot = Bot()

    @broken.bot.on()
    def crash(conversation) -> None:
        raise RuntimeError("bug in a handler")

    monkeypatch.setitem(sys.modules, "broken_bot", broken)
    monkeypatch.setenv("WACLOUD_BOT", "broken_bot:bot")
    singletons.reset()
    body = dump_event(parse_webhook(text_message("hi", phone_number_id="1", sender=CUSTOMER))[0])
    response = processor.lambda_handler(sqs_batch(body, queue="inbound"), lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_customer_who_opted_out_earlier_is_not_answered_by_rules_or_bots(processor, lambda_context, aws, monkeypatch):
    calls = []
    import sys
    import types

    from wacloud.conversation import Bot

    spy = types.ModuleType("spy_bot")
    spy.bot = Bot()
    spy.bot.add(lambda conversation: calls.append(conversation.text))
    monkeypatch.setitem(sys.modules, "spy_bot", spy)
    monkeypatch.setenv("WACLOUD_BOT", "spy_bot:bot")
    singletons.reset()
    say(processor, lambda_context, aws, text("STOP"))
    later = say(processor, lambda_context, aws, text("menu"))
    assert answers(later) == [] and calls == []
    assert later[0]["message"].get("typing_indicator") is None


def test_the_message_that_asked_for_a_person_is_still_answered_when_it_comes_again(processor, lambda_context, aws):
    from wacloud.inbound.processor import get_processor

    say(processor, lambda_context, aws, text("hello"))
    body = customer_message({"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": "agent", "title": "A person"}}},
        phone_number_id="1", sender=CUSTOMER, name="Ana", wamid="wamid.AGENT")  # fmt: skip
    (event,) = parse_webhook(body)
    get_processor().messages.handle(event)
    first = [q["body"] for q in queue_bodies(aws, "OutboundQueue")]
    get_processor().messages.handle(event)  # e.g. the media step failed after the handover
    again = [q["body"] for q in queue_bodies(aws, "OutboundQueue")]
    assert answers(first) == ["A colleague will answer"]
    assert again == []  # the same answer again, byte for byte: SQS drops the repeat


def test_a_contact_stored_before_this_message_is_not_greeted_as_new(processor, lambda_context, aws):
    table = boto3.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    table.put_item(Item={"pk": f"CONTACT#{CUSTOMER}", "sk": "PROFILE", "wa_id": CUSTOMER, "created_at": 1_700_000_000})
    assert answers(say(processor, lambda_context, aws, text("hello"))) == ["Say MENU"]
