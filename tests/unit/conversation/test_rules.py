"""The rules file: every kind of condition, placeholders, validation, and the shipped example."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import ROOT
from wacloud.conversation.rules import Facts, RulesFile, decide, fill, parse_rules
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import interactive_reply, location_message, media_message, text_message
from wacloud.models.events import MessageEvent
from wacloud.models.webhook import InboundMessage

TEXT = {"type": "text", "text": {"body": "ok"}}


def said(body: dict[str, Any]) -> InboundMessage:
    (event,) = parse_webhook(body)
    assert isinstance(event, MessageEvent)
    return event.message


def text(words: str, **kwargs: Any) -> InboundMessage:
    return said(text_message(words, phone_number_id="1", sender="16505551234", **kwargs))


def rules(*entries: dict[str, Any], **extra: Any) -> RulesFile:
    return RulesFile.model_validate({"rules": list(entries), **extra})


def rule(name: str, **when: Any) -> dict[str, Any]:
    return {"name": name, "when": when, "reply": {"type": "text", "text": {"body": name}}}


def answered_by(file: RulesFile, facts: Facts) -> str | None:
    decision = decide(file, facts)
    return decision.rule if decision else None


def test_keywords_match_the_whole_text_ignoring_case_spacing_and_final_punctuation():
    file = rules(rule("menu", keywords=["MENU", "help me"]))
    for words in ("menu", "  Menu! ", "HELP   me.", "help me"):
        assert answered_by(file, Facts(text(words))) == "menu", words
    for words in ("menus", "show me the menu", "help"):
        assert answered_by(file, Facts(text(words))) is None, words


def test_a_regex_is_searched_in_the_text_case_insensitively():
    file = rules(rule("order", regex=r"order\s*#?\d{4}"))
    assert answered_by(file, Facts(text("Where is ORDER #1234 please"))) == "order"
    assert answered_by(file, Facts(text("where is my order"))) is None


def test_button_and_list_reply_ids_match_the_tapped_choice():
    file = rules(rule("agent", reply_ids=["agent"]), rule("returns", reply_ids=["returns"]))
    button = said(interactive_reply("button_reply", "agent", "Talk to a person", phone_number_id="1"))
    row = said(interactive_reply("list_reply", "returns", "Returns", phone_number_id="1"))
    other = said(interactive_reply("button_reply", "something-else", "Other", phone_number_id="1"))
    assert answered_by(file, Facts(button)) == "agent"
    assert answered_by(file, Facts(row)) == "returns"
    assert answered_by(file, Facts(other)) is None
    assert answered_by(file, Facts(text("agent"))) is None  # typing the id is not tapping it


def test_message_types_match_media_and_locations():
    file = rules(rule("media", message_types=["image", "document"]), rule("where", message_types=["location"]))
    image = said(media_message("image", "MEDIA1", phone_number_id="1", mime_type="image/jpeg"))
    place = said(location_message(40.7, -74.0, phone_number_id="1"))
    assert answered_by(file, Facts(image)) == "media"
    assert answered_by(file, Facts(place)) == "where"
    assert answered_by(file, Facts(text("hi"))) is None


def test_first_contact_matches_only_the_first_message():
    file = rules(rule("greeting", first_contact=True))
    assert answered_by(file, Facts(text("hi"), first_contact=True)) == "greeting"
    assert answered_by(file, Facts(text("hi"), first_contact=False)) is None


@pytest.mark.parametrize(
    ("utc", "closed"),
    [
        ("2026-12-02T13:59:00", True),  # Wednesday 08:59 in New York (UTC-5): before opening
        ("2026-12-02T14:00:00", False),  # 09:00: open
        ("2026-12-02T22:59:00", False),  # 17:59: open
        ("2026-12-02T23:00:00", True),  # 18:00: closed
        ("2026-12-05T16:00:00", False),  # Saturday 11:00: open
        ("2026-12-06T16:00:00", True),  # Sunday: closed
    ],
)
def test_outside_business_hours_is_judged_in_the_businesss_time_zone(utc, closed):
    hours = {"timezone": "America/New_York", "mon-fri": ["09:00-18:00"], "sat": ["10:00-14:00"]}
    file = rules(rule("closed", outside_business_hours=True), business_hours=hours)
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert answered_by(file, Facts(text("hi"), at=at)) == ("closed" if closed else None)


def test_business_hours_default_to_the_messages_own_timestamp():
    hours = {"timezone": "Europe/Madrid", "mon-sun": ["00:00-24:00"]}
    file = rules(rule("closed", outside_business_hours=True), business_hours=hours)
    assert answered_by(file, Facts(text("hi", timestamp=1_800_000_000))) is None


def test_all_conditions_of_a_rule_must_hold_and_the_first_matching_rule_answers():
    file = rules(
        rule("greeting-menu", keywords=["menu"], first_contact=True),
        rule("menu", keywords=["menu"]),
        rule("also-menu", keywords=["menu"]),
    )
    assert answered_by(file, Facts(text("menu"), first_contact=True)) == "greeting-menu"
    assert answered_by(file, Facts(text("menu"))) == "menu"


def test_the_fallback_answers_what_no_rule_matched():
    file = rules(rule("menu", keywords=["menu"]), fallback={"reply": TEXT})
    decision = decide(file, Facts(text("something else")))
    assert decision is not None and (decision.rule, decision.replies) == ("fallback", [TEXT])


def test_placeholders_are_filled_in_every_string_of_the_reply():
    body = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Hi {profile_name}, you said {text}"},
            "footer": {"text": "{wa_id}"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "{text}", "title": "Yes"}}]},
        },
    }
    filled = fill(body, Facts(text("hello {text}"), profile_name="Ana"))
    assert filled["interactive"]["body"]["text"] == "Hi Ana, you said hello {text}"  # not re-expanded
    assert filled["interactive"]["footer"]["text"] == "16505551234"
    assert body["interactive"]["body"]["text"].startswith("Hi {profile_name}")  # the rule is untouched


def test_a_quoted_text_is_cut_so_the_reply_stays_within_limits():
    filled = fill({"type": "text", "text": {"body": "You said: {text}"}}, Facts(text("x" * 4000)))
    assert len(filled["text"]["body"]) == len("You said: ") + 1024


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"rules": [{"name": "a", "when": {}, "reply": TEXT}]}, "at least one condition"),
        ({"rules": [{"name": "a", "when": {"regex": "(unclosed"}, "reply": TEXT}]}, "regex"),
        ({"rules": [{"name": "a", "when": {"keywords": ["x"]}, "reply": {"type": "text"}}]}, "text"),
        ({"rules": [{"name": "a", "when": {"keywords": ["x"]}, "reply": {**TEXT, "to": "+1"}}]}, "without `to`"),
        ({"rules": [{"name": "a", "when": {"keywords": ["x"]}, "reply": {"type": "fax"}}]}, "type"),
        ({"rules": [rule("a", keywords=["x"]), rule("a", keywords=["y"])]}, "unique"),
        ({"rules": [rule("a", outside_business_hours=True)]}, "no business_hours"),
        ({"business_hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"business_hours": {"timezone": "UTC", "mon-fri": ["9-5"]}}, "HH:MM"),
        ({"business_hours": {"timezone": "UTC", "weekdays": ["09:00-17:00"]}}, "mon-fri"),
        ({"business_hours": {"timezone": "UTC", "mon": ["09:00-24:30"]}}, "HH:MM"),
        ({"business_hours": {"timezone": "UTC", "mon": ["22:00-02:00"]}}, "across midnight"),
        ({"rules": [{"name": "a", "when": {"keywords": None}, "reply": TEXT}]}, "at least one condition"),
        ({"rules": [rule("a", keywords=["x"], typo=True)]}, "typo"),
        ({"version": 2}, "version"),
        ({"outside_window_template": {"language": {"code": "en"}}}, "name"),
    ],
)
def test_a_file_that_would_fail_at_send_time_fails_when_it_is_loaded(document, complaint):
    with pytest.raises(ValidationError) as excinfo:
        RulesFile.model_validate(document)
    assert complaint in str(excinfo.value)


def test_invalid_json_is_refused():
    with pytest.raises(ValueError, match="Expecting"):
        parse_rules("{not json")


def test_the_shipped_example_validates_and_answers_each_kind_of_message():
    file = parse_rules((ROOT / "functions" / "processor" / "rules.json").read_bytes())
    wednesday_noon = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    sunday = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    cases = {
        "greeting": Facts(text("hi"), first_contact=True, at=wednesday_noon),
        "menu": Facts(text("Menu"), at=wednesday_noon),
        "order-number": Facts(text("order #5521"), at=wednesday_noon),
        "agent": Facts(said(interactive_reply("button_reply", "agent", "Talk", phone_number_id="1")), at=sunday),
        "media": Facts(said(media_message("image", "M", phone_number_id="1", mime_type="image/png")), at=sunday),
        "location": Facts(said(location_message(1.0, 2.0, phone_number_id="1")), at=wednesday_noon),
        "after-hours": Facts(text("are you there"), at=sunday),
        "fallback": Facts(text("are you there"), at=wednesday_noon),
    }
    for name, facts in cases.items():
        assert answered_by(file, facts) == name
    assert json.loads((ROOT / "functions" / "processor" / "rules.json").read_text())["version"] == 1


def group_text(words: str) -> InboundMessage:
    return InboundMessage.model_validate(
        {
            "from": "16505551234",
            "group_id": "G1",
            "id": "wamid.G",
            "timestamp": "1",
            "type": "text",
            "text": {"body": words},
        }
    )


def test_in_a_group_only_rules_that_say_so_answer():
    file = rules(rule("hello", keywords=["hi"]), {**rule("group-hello", keywords=["hi"]), "in_groups": True})
    assert answered_by(file, Facts(text("hi"))) == "hello"
    assert answered_by(file, Facts(group_text("hi"))) == "group-hello"
    assert answered_by(rules(rule("hello", keywords=["hi"])), Facts(group_text("hi"))) is None


def test_the_fallback_answers_in_a_group_only_when_it_says_so():
    quiet = rules(fallback={"reply": TEXT})
    assert answered_by(quiet, Facts(group_text("anything"))) is None
    loud = rules(fallback={"reply": TEXT, "in_groups": True})
    assert answered_by(loud, Facts(group_text("anything"))) == "fallback"
