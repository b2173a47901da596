"""The rules file: a declarative conversation, validated when it is loaded, matched per message.

A JSON document (`WACLOUD_RULES`: a path in the function's package, or `s3://bucket/key`):

    {"version": 1,
     "business_hours": {"timezone": "Europe/Madrid", "mon-fri": ["09:00-18:00"], "sat": ["10:00-14:00"]},
     "rules": [
       {"name": "greeting", "when": {"first_contact": true},
        "reply": {"type": "text", "text": {"body": "Hi {profile_name}! Type MENU for options."}}},
       {"name": "menu", "when": {"keywords": ["MENU", "HELP"]}, "reply": {"type": "interactive", ...}},
       {"name": "agent", "when": {"reply_ids": ["talk-to-agent"]}, "handover": true, "reply": {...}}
     ],
     "fallback": {"reply": {"type": "text", "text": {"body": "Sorry, I did not get that."}}},
     "outside_window_template": {"name": "follow_up", "language": {"code": "en"}}}

Rules are tried in order; the first whose every condition holds answers. A reply is one outbound
message body, or a list of them, in the outbound contract's shape without `to` (any type: text,
media, interactive menus, templates...). `{profile_name}`, `{text}`, `{wa_id}` and `{wamid}` in its
strings are replaced by the customer's name, their message's text, their WhatsApp id and the
message's id (`"context": {"message_id": "{wamid}"}` quotes the customer's message).
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wacloud.config import normalise_keyword
from wacloud.models.outbound import OutboundMessage
from wacloud.models.webhook import InboundMessage

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PLACEHOLDER_CHARS = 1024  # a customer's text quoted back is cut here: a reply stays within Meta's limits
_SPAN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


ReplyBody = dict[str, Any]


class When(_Strict):
    """Conditions of a rule; all that are set must hold."""

    keywords: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, description="The whole text is one of these (case, spacing and trailing . or ! ignored)."
    )
    regex: str | None = Field(None, description="A regular expression found in the text (case-insensitive).")
    reply_ids: list[str] | None = Field(
        None, description="A tap on one of these button or list row ids (or a template quick-reply payload)."
    )
    message_types: list[str] | None = Field(None, description="The message is one of these types (image, location...).")
    first_contact: bool | None = Field(None, description="True: the customer's first message to this number.")
    outside_business_hours: bool | None = Field(None, description="True: sent outside `business_hours`.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> "When":
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("a rule needs at least one condition (use `fallback` for a catch-all)")
        return self


class _Replying(_Strict):
    reply: ReplyBody | list[ReplyBody] = Field(default_factory=list)
    in_groups: bool = Field(
        False, description="Also answer messages written in a WhatsApp group (the answer goes to the group)."
    )

    @field_validator("reply")
    @classmethod
    def _replies_fit_the_contract(cls, value: ReplyBody | list[ReplyBody]) -> ReplyBody | list[ReplyBody]:
        for body in value if isinstance(value, list) else [value]:
            check_reply(body)
        return value

    @property
    def replies(self) -> list[ReplyBody]:
        return self.reply if isinstance(self.reply, list) else [self.reply]


class Rule(_Replying):
    name: str = Field(min_length=1, max_length=64)
    when: When
    handover: bool = Field(False, description="Hand the customer to a human: no automatic replies until released.")


class Fallback(_Replying):
    """What answers a message no rule matched."""


class BusinessHours(BaseModel):
    """Opening hours in a time zone: day names (`mon`...`sun`) or ranges (`mon-fri`) to `HH:MM-HH:MM` spans."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _spans(self) -> "BusinessHours":
        for days, spans in (self.model_extra or {}).items():
            _days(days)
            if not isinstance(spans, list) or not all(isinstance(s, str) and _SPAN.match(s) for s in spans):
                raise ValueError(f"{days}: expected a list of 'HH:MM-HH:MM' spans (24:00 for midnight), got {spans!r}")
            for span in spans:
                start, end = span.split("-")
                if end != "24:00" and _time(start) >= _time(end):
                    raise ValueError(f"{days}: {span} ends before it starts (split a span across midnight in two)")
        return self

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        day, now = DAYS[local.weekday()], local.time()
        for days, spans in (self.model_extra or {}).items():
            if day not in _days(days):
                continue
            for span in spans:
                start, end = span.split("-")
                if _time(start) <= now < (_time(end) if end != "24:00" else time.max):
                    return True
        return False


class RulesFile(_Strict):
    version: Literal[1] = 1
    business_hours: BusinessHours | None = None
    rules: list[Rule] = Field(default_factory=list)
    fallback: Fallback | None = None
    # Sent instead of free-form replies when the customer's 24-hour window has closed (a template).
    outside_window_template: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "RulesFile":
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("rule names must be unique")
        if self.business_hours is None and any(r.when.outside_business_hours is not None for r in self.rules):
            raise ValueError("a rule uses outside_business_hours but the file has no business_hours")
        if self.outside_window_template is not None:
            check_reply({"type": "template", "template": self.outside_window_template})
        return self


@dataclass(frozen=True)
class Facts:
    """What the rules are matched against, beyond the message itself."""

    message: InboundMessage
    profile_name: str = ""
    first_contact: bool = False
    at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    rule: str  # the rule's name, or "fallback"
    replies: list[ReplyBody]
    handover: bool = False


def decide(rules: RulesFile, facts: Facts) -> Decision | None:
    """The first rule that matches (its replies with placeholders filled), the fallback, or None."""
    # In a group only what says so answers: a bot's welcome to every member's every line is noise.
    in_group = facts.message.is_group
    for rule in rules.rules:
        if (rule.in_groups or not in_group) and _matches(rule.when, facts, rules.business_hours):
            return Decision(rule.name, [fill(body, facts) for body in rule.replies], rule.handover)
    if rules.fallback is not None and (rules.fallback.in_groups or not in_group):
        return Decision("fallback", [fill(body, facts) for body in rules.fallback.replies])
    return None


def _matches(when: When, facts: Facts, hours: BusinessHours | None) -> bool:
    message = facts.message
    text = message_text(message)
    checks = []
    if when.keywords is not None:
        checks.append(text is not None and normalise_keyword(text) in {normalise_keyword(k) for k in when.keywords})
    if when.regex is not None:
        checks.append(text is not None and re.search(when.regex, text, re.IGNORECASE) is not None)
    if when.reply_ids is not None:
        checks.append(reply_id(message) in when.reply_ids)
    if when.message_types is not None:
        checks.append(message.type in when.message_types)
    if when.first_contact is not None:
        checks.append(facts.first_contact == when.first_contact)
    if when.outside_business_hours is not None and hours is not None:
        at = facts.at or datetime.fromtimestamp(message.timestamp).astimezone()
        checks.append((not hours.is_open(at)) == when.outside_business_hours)
    return all(checks)


def message_text(message: InboundMessage) -> str | None:
    """What the customer wrote: a text's body, a media caption, or the title of what they tapped."""
    if message.text is not None:
        return message.text.body
    if message.button is not None:
        return message.button.text
    if message.interactive is not None:
        choice = message.interactive.button_reply or message.interactive.list_reply
        return choice.title if choice is not None else None
    media = message.media
    return getattr(media, "caption", None) if media is not None else None


def reply_text(body: ReplyBody) -> str | None:
    """What an answer says, for the history: a text, a caption, a menu's body, a template's name."""
    kind = body.get("type")
    content = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(content, dict):
        return None
    if kind == "text":
        return content.get("body")
    if kind == "interactive":
        return (content.get("body") or {}).get("text")
    if kind == "template":
        return f"template {content.get('name')}"
    return content.get("caption")


def reply_id(message: InboundMessage) -> str | None:
    """The id of the button or list row the customer tapped (a template button's payload)."""
    if message.interactive is not None:
        choice = message.interactive.button_reply or message.interactive.list_reply
        return choice.id if choice is not None else None
    if message.button is not None:
        return message.button.payload
    return None


def fill(body: ReplyBody, facts: Facts) -> ReplyBody:
    """The reply with its placeholders replaced (in every string, keys left alone)."""
    values = {
        "{profile_name}": facts.profile_name,
        "{text}": (message_text(facts.message) or "")[:MAX_PLACEHOLDER_CHARS],
        "{wa_id}": facts.message.from_,
        "{wamid}": facts.message.id,
    }

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            for placeholder, replacement in values.items():
                value = value.replace(placeholder, replacement)
            return value
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    filled: ReplyBody = walk(body)
    return filled


def check_reply(body: ReplyBody) -> None:
    """Raise ValueError unless the body, addressed to someone, is a valid outbound message."""
    if not isinstance(body, dict) or "to" in body:
        raise ValueError("a reply is an outbound message body without `to` (the customer is filled in)")
    OutboundMessage.model_validate({"idempotency_key": "rules-check", "message": {**body, "to": "+10000000000"}})


def parse_rules(text: str | bytes) -> RulesFile:
    """A rules file from its JSON text (raises pydantic's ValidationError, or ValueError for bad JSON)."""
    return RulesFile.model_validate(json.loads(text))


def _days(spec: str) -> tuple[str, ...]:
    if spec in DAYS:
        return (spec,)
    first, _, last = spec.partition("-")
    if first in DAYS and last in DAYS and DAYS.index(first) <= DAYS.index(last):
        return DAYS[DAYS.index(first) : DAYS.index(last) + 1]
    raise ValueError(f"{spec!r}: expected a day (mon...sun) or a range like mon-fri")


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
