"""Deciding what to answer to one inbound message: the bot's handlers, then the rules file.

Before either: a customer who opted out, or who is handed over to a human, gets no automatic reply
(an opt-out keyword in this very message is honoured earlier, by the processor). After: when the
customer's 24-hour window has closed (a message processed late), free-form replies give way to the
rules file's `outside_window_template`. A handover decided here is recorded by the processor once
the answers are queued, so a retry of the message still sends them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from wacloud.adapters.s3 import Bucket, ObjectMissingError, S3Error
from wacloud.adapters.store.customer_keys import canonical
from wacloud.adapters.store.customers import CustomerRecords
from wacloud.config import Settings
from wacloud.conversation.bot import Bot, Conversation, load_bot
from wacloud.conversation.rules import Facts, ReplyBody, RulesFile, decide, parse_rules
from wacloud.errors import TransientError
from wacloud.models.events import MessageEvent
from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import ContactRecord, HistoryEntry, number_scope
from wacloud.models.validation_errors import describe
from wacloud.outbound.policy import SERVICE_WINDOW_SECONDS
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_phone

logger = child_logger(__name__)
S3_RULES_MAX_AGE_SECONDS = 300


class RulesUnavailableError(TransientError):
    """The rules file in S3 could not be read, and none is loaded yet: the event is retried."""


CLOCK_SKEW = 300  # Meta's timestamp against ours, when telling a new contact from an old one


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
        customers: CustomerRecords,
        rules: Callable[[], RulesFile | None],
        bot: Bot | None = None,
        history_size: int = 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.customers = customers
        self._rules = rules
        self.bot = bot
        self.history_size = history_size
        self._clock = clock

    def answer(self, event: MessageEvent, entry: NumberEntry | None = None) -> Answer:
        """The answer to a message written to the number `entry` (None: the default number): its
        opt-out, handover, first contact and history are that number's."""
        message = event.message
        now = int(self._clock())
        contact = self.customers.get(message.sender, entry) if message.sender else None
        if contact is not None and contact.opted_out_for(entry):
            return Answer(decided_by="opted-out")  # the sender would refuse every answer anyway
        # The message that started the handover is still answered (its answers may be queued again).
        handover = contact.handover_for(entry) if contact is not None else None
        started_by_this = handover is not None and handover.handover_wamid == message.id
        if contact is not None and contact.handed_over_for(entry, now) and not started_by_this:
            logger.info("Customer is with a human; no automatic reply", extra={"from": mask_phone(message.sender)})
            return Answer(decided_by="handover")
        conversation = Conversation(
            event=event,
            contact=contact,
            first_contact=_first_contact(contact, event, entry),
            load_history=lambda: self._history(contact, message.sender, entry),
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
        if answer.replies and message.timestamp and now - message.timestamp > SERVICE_WINDOW_SECONDS:
            answer = _outside_window(answer, rules)
        return answer

    def _history(self, contact: ContactRecord | None, sender: str, entry: NumberEntry | None) -> list[HistoryEntry]:
        customer = contact.customer_id if contact else canonical(sender)
        return self.customers.history(customer, limit=self.history_size, entry=entry) if customer else []


def _first_contact(contact: ContactRecord | None, event: MessageEvent, entry: NumberEntry | None = None) -> bool:
    """This message is the customer's first to the number: the same answer however often it comes.

    The processor's upsert names the first message on a new contact; on the default number, a
    contact stored before that field existed (created before the message) is not a first contact.
    Another number's field is as new as the number: a customer known elsewhere writes to it first."""
    message = event.message
    if contact is None or contact.first_wamid_for(entry) != message.id:
        return False
    if number_scope(entry):
        return True
    return contact.created_at is None or not message.timestamp or contact.created_at >= message.timestamp - CLOCK_SKEW


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

    def __init__(
        self,
        location: str,
        *,
        base: Path,
        bucket: Callable[[str], Bucket] = Bucket,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = location
        self.base = base
        self._bucket = bucket
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
        try:
            rules = parse_rules(self._bucket(bucket).read(key))
        except (S3Error, ObjectMissingError) as exc:
            if self._rules is None:
                # Nothing to answer with yet: the event fails and SQS delivers it again.
                raise RulesUnavailableError(f"cannot read the rules file {self.location}: {exc}") from exc
            logger.error("Rules file unreadable; the one loaded stays in use", extra={"error": str(exc)})
        except (ValidationError, ValueError) as exc:
            if self._rules is None:
                raise
            reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            logger.error("New rules file is invalid; the one loaded stays in use", extra={"reason": reason})
        else:
            self._rules = rules
        self._loaded_at = self._clock()


def fallback_rules(auto_reply_text: str) -> RulesFile | None:
    """Without a rules file, the `AutoReplyText` answers every message (as before rules existed)."""
    if not auto_reply_text:
        return None
    reply = {"type": "text", "text": {"body": auto_reply_text}, "context": {"message_id": "{wamid}"}}
    return RulesFile.model_validate({"fallback": {"reply": reply}})


def conversation_engine(
    settings: Settings, customers: CustomerRecords, *, base: Path, rules: str | None = None, bot: str | None = None
) -> ConversationEngine | None:
    """The conversation from the settings: the bot's handlers, the rules file (relative to `base`,
    the processor's package), or `AutoReplyText` for everything; None when there is nothing to say.
    `rules`, `bot`: a number's own, in place of the stack's."""
    rules_location = settings.rules if rules is None else rules
    bot_name = settings.bot if bot is None else bot
    handlers = load_bot(bot_name) if bot_name else None
    if rules_location:
        source: Callable[[], RulesFile | None] = RulesSource(rules_location, base=base)
    else:
        fixed = fallback_rules(settings.auto_reply_text)
        source = lambda: fixed  # noqa: E731 - a constant source
        if fixed is None and handlers is None:
            return None
    return ConversationEngine(customers=customers, rules=source, bot=handlers, history_size=settings.history_size)


class ConversationEngines:
    """The conversation of each number: the stack's, or one of its own where its registry entry
    names a rules file or a bot (one engine per pair, made when a number first needs it)."""

    def __init__(self, settings: Settings, customers: CustomerRecords, *, base: Path) -> None:
        self.settings = settings
        self.customers = customers
        self.base = base
        self._engines: dict[tuple[str, str], ConversationEngine | None] = {}
        # The stack's own, made at once: a rules file that does not validate stops the cold start.
        self.default = self._made(settings.rules, settings.bot)

    def for_number(self, entry: NumberEntry | None) -> ConversationEngine | None:
        if entry is None or not (entry.rules or entry.bot):
            return self.default
        return self._made(entry.rules or self.settings.rules, entry.bot or self.settings.bot)

    def _made(self, rules: str, bot: str) -> ConversationEngine | None:
        if (rules, bot) not in self._engines:
            self._engines[rules, bot] = conversation_engine(
                self.settings, self.customers, base=self.base, rules=rules, bot=bot
            )
        return self._engines[rules, bot]
