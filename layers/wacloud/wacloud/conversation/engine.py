"""Deciding what to answer to one inbound message: the bot's handlers, then the rules file.

Before either: a customer handed over to a human gets no automatic reply until the handover is
released or expires (opt-out keywords are honoured earlier, by the processor). After: a rule or
handler that hands over flags the contact, and when the customer's 24-hour window has closed (a
message processed late) free-form replies give way to the rules file's `outside_window_template`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.conversation.bot import Bot, Conversation
from wacloud.conversation.rules import Facts, ReplyBody, RulesFile, decide, parse_rules
from wacloud.masking import mask_phone
from wacloud.models.events import MessageEvent
from wacloud.policy import SERVICE_WINDOW_SECONDS
from wacloud.store import MessageStore
from wacloud.validation import describe

logger = Logger(child=True)
S3_RULES_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class Answer:
    """What to send back, who decided it (`bot`, a rule's name, `fallback`, `handover`), whether
    the customer was handed over to a human by it."""

    replies: list[ReplyBody] = field(default_factory=list)
    decided_by: str | None = None
    handover: bool = False


class ConversationEngine:
    def __init__(
        self,
        *,
        store: MessageStore,
        rules: Callable[[], RulesFile | None],
        bot: Bot | None = None,
        handover_hours: int = 24,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._rules = rules
        self.bot = bot
        self.handover_seconds = handover_hours * 3600
        self._clock = clock

    def answer(self, event: MessageEvent) -> Answer:
        message = event.message
        now = int(self._clock())
        contact = self.store.get_contact(message.sender) if message.sender else None
        if contact is not None and contact.handed_over(now):
            logger.info("Customer is with a human; no automatic reply", extra={"from": mask_phone(message.sender)})
            return Answer(decided_by="handover")
        conversation = Conversation(
            event=event,
            contact=contact,
            # Set on the contact by the processor's upsert: the same answer however often the event comes.
            first_contact=contact is not None and contact.first_inbound_wamid == message.id,
            load_history=lambda: self.store.get_history(message.sender),
        )
        rules = self._rules()
        answer = Answer()
        if self.bot is not None and self.bot.handle(conversation):
            answer = Answer(list(conversation.replies), "bot", conversation.handed_over)
        elif rules is not None and (self.bot is None or self.bot.rules):
            facts = Facts(message, conversation.profile_name, conversation.first_contact)
            decision = decide(rules, facts)
            if decision is not None:
                answer = Answer(decision.replies, decision.rule, decision.handover)
        if answer.handover and message.sender:
            self.store.set_handover(message.sender, until=now + self.handover_seconds, at=message.timestamp or now)
        if answer.replies and message.timestamp and now - message.timestamp > SERVICE_WINDOW_SECONDS:
            answer = _outside_window(answer, rules)
        return answer


def _outside_window(answer: Answer, rules: RulesFile | None) -> Answer:
    """The window closed before the message was answered: only a template may go out. Without a
    configured template the answers go as they are, and the sender records each as rejected with
    the reason (nothing disappears silently)."""
    template = rules.outside_window_template if rules is not None else None
    kept = [body for body in answer.replies if body.get("type") == "template"]
    if template is None or len(kept) == len(answer.replies):
        return answer
    return Answer([*kept, {"type": "template", "template": template}], answer.decided_by, answer.handover)


class RulesSource:
    """The rules file, from the function's package (read once) or S3 (re-read every few minutes).

    A file that does not validate stops a cold start (a deployment mistake should fail loudly); an
    invalid new version in S3 is logged and the one already loaded stays in use.
    """

    def __init__(self, location: str, *, base: Path, s3: Callable[[], Any] | None = None, clock=time.monotonic) -> None:
        self.location = location
        self.base = base
        self._s3 = s3
        self._clock = clock
        self._rules: RulesFile | None = None
        self._loaded_at = float("-inf")
        if location and not location.startswith("s3://"):
            self._rules = parse_rules((base / location).read_bytes())

    def __call__(self) -> RulesFile | None:
        if not self.location.startswith("s3://"):
            return self._rules
        if self._clock() - self._loaded_at >= S3_RULES_MAX_AGE_SECONDS or self._rules is None:
            self._reload()
        return self._rules

    def _reload(self) -> None:
        bucket, _, key = self.location.removeprefix("s3://").partition("/")
        if self._s3 is None:
            import boto3

            self._s3 = lambda: boto3.client("s3")
        body = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            self._rules = parse_rules(body)
        except (ValidationError, ValueError) as exc:
            if self._rules is None:
                raise
            reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            logger.error("New rules file is invalid; the previous one stays in use", extra={"reason": reason})
        self._loaded_at = self._clock()


def fallback_rules(auto_reply_text: str) -> RulesFile | None:
    """Without a rules file, the `AutoReplyText` answers every message (as before rules existed)."""
    if not auto_reply_text:
        return None
    reply = {"type": "text", "text": {"body": auto_reply_text}, "context": {"message_id": "{wamid}"}}
    return RulesFile.model_validate({"fallback": {"reply": reply}})
