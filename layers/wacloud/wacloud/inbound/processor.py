"""The processor: what happens to each inbound event taken off the inbound queue.

Messages are stored once per wamid, the contact's profile and last inbound time are updated, and
the replies (read receipt, the conversation's answers: `wacloud.conversation`) go to the outbound
queue, the message and its answers to the customer's history; media is then queued as an event of
its own and archived to S3 when that event comes back.
Statuses move message records forward only. Other changes are recorded (a template change also
drops the template's cached definition). Input that is not a valid event is recorded as rejected
with the reason, and acknowledged (retrying it cannot help).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from wacloud.adapters.graph import GraphClient
from wacloud.adapters.queues import FifoQueue, QueueEntry
from wacloud.adapters.store import MessageStore, StatusChange
from wacloud.config import Settings, get_settings
from wacloud.conversation.bot import load_bot
from wacloud.conversation.engine import Answer, ConversationEngine, RulesSource, fallback_rules
from wacloud.conversation.rules import RulesFile, message_text, reply_text
from wacloud.inbound.media_archive import MediaArchive, MediaArchiveError
from wacloud.inbound.replies import NO_REPLY_TYPES, replies_for
from wacloud.models.events import (
    ChangeEvent,
    InboundEvent,
    MediaEvent,
    MessageEvent,
    StatusEvent,
    UnparsedEvent,
    digest,
    dump_event,
    load_event,
)
from wacloud.models.outbound import CALLBACK_PREFIX, OutboundMessage
from wacloud.models.records import Direction, HistoryEntry
from wacloud.models.validation_errors import describe
from wacloud.models.webhook import InboundMessage
from wacloud.outbound.contract import deduplication_id, message_group_id
from wacloud.outbound.policy import opt_keyword
from wacloud.outbound.template_catalog import TemplateCatalog
from wacloud.runtime.idempotency import make_idempotent, new_config, register_context
from wacloud.runtime.masking import mask_phone, mask_wamid
from wacloud.runtime.singletons import singleton

logger = Logger(child=True)
metrics = Metrics()
# A media download is not started with less time left (Graph's answer, then the download's own timeouts).
ARCHIVE_MIN_MS = 25_000
HISTORY_TEXT_CHARS = 1024


class InboundProcessor:
    def __init__(
        self,
        *,
        store: MessageStore,
        outbound: FifoQueue,
        settings: Settings,
        inbound: FifoQueue | None = None,
        media: MediaArchive | None = None,
        templates: TemplateCatalog | None = None,
        conversations: ConversationEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.outbound = outbound
        self.inbound = inbound  # where media to archive is queued (with `media`)
        self.settings = settings
        self.media = media
        self.templates = templates
        self.conversations = conversations  # None: read receipts only
        self._clock = clock
        self._context: LambdaContext | None = None
        self.idempotency_config = new_config("DuplicateEventSkipped")
        self._handle_once = make_idempotent(
            self._handle, key_prefix="wacloud-inbound-event", config=self.idempotency_config
        )

    def register_context(self, context: LambdaContext | None) -> None:
        self._context = context
        register_context(self.idempotency_config, context)

    def process_document(self, body: str, *, message_id: str) -> dict[str, Any]:
        """Handle one inbound queue document; raise to have SQS deliver it again."""
        try:
            event = load_event(body)
        except ValidationError as exc:
            reason = f"not an inbound event: {describe(exc)}"
            logger.warning("Rejected inbound document", extra={"sqs_message_id": message_id, "reason": reason})
            self.store.record_rejection("inbound-queue", message_id, reason, body)
            metrics.add_metric(name="InboundRejected", unit=MetricUnit.Count, value=1)
            return {"outcome": "rejected"}
        if isinstance(event, StatusEvent):
            # Applied only forward (`apply_status`), so a repeat changes nothing but `updated_at`:
            # an idempotency record would add two writes to each of the three statuses of every
            # reply and protect nothing.
            return self._on_status(event)
        return self._handle_once(key=event.key, event=event)

    def _handle(self, *, key: str, event: InboundEvent) -> dict[str, Any]:
        if isinstance(event, MessageEvent):
            return self._on_message(event)
        if isinstance(event, MediaEvent):
            return self._on_media(event)
        if isinstance(event, ChangeEvent):
            self.store.record_change(event)
            typed = event.typed()
            if self.templates is not None:
                self.templates.on_change(event)
            logger.info(
                "Webhook change recorded",
                extra={"field": event.field, "event": getattr(typed, "event", None), "event_key": key},
            )
            metrics.add_metric(name="ChangeReceived", unit=MetricUnit.Count, value=1)
            return {"outcome": "recorded"}
        return self._on_unparsed(event)

    def _on_message(self, event: MessageEvent) -> dict[str, Any]:
        message = event.message
        self.store.upsert_contact(event)
        is_new = self.store.record_inbound(event)
        age = self._clock() - message.timestamp if message.timestamp else 0
        if age > self.settings.max_event_age_seconds:
            # Past the replay window: its idempotency record may be gone, so acting on it could
            # answer the same message twice. Keep the record, do nothing else.
            logger.warning(
                "Message older than the replay window recorded, not acted on",
                extra={"wamid": mask_wamid(message.id), "age_seconds": int(age), "new": is_new},
            )
            metrics.add_metric(name="StaleMessageIgnored", unit=MetricUnit.Count, value=1)
            return {"outcome": "stale", "queued": 0}
        keyword = opt_keyword(message, self.settings)
        if keyword is not None:
            choice, word = keyword
            user_id = message.from_user_id or (event.contact.user_id if event.contact else None)
            self.store.set_opt_out([message.from_, user_id or ""], choice == "out", at=message.timestamp, keyword=word)
            logger.info("Customer opted " + choice, extra={"from": mask_phone(message.sender)})
            metrics.add_metric(name="OptedOut" if choice == "out" else "OptedIn", unit=MetricUnit.Count, value=1)
        # An opt-out is honoured before any rule or handler: only the read receipt goes back.
        answer = Answer()
        opted_out_now = keyword is not None and keyword[0] == "out"
        if self.conversations is not None and not opted_out_now and self._answerable(message):
            answer = self.conversations.answer(event)
        # Replies are queued even when the record already existed: a previous run may have stored
        # it and then failed before queueing. Their keys make a second queueing harmless.
        documents = replies_for(event, self.settings, answer.replies)
        group = message_group_id(message.sender) if message.sender else "unknown-sender"
        self.outbound.send(
            [
                QueueEntry(
                    body=document.model_dump_json(exclude_none=True),
                    group_id=group,
                    deduplication_id=deduplication_id(document.idempotency_key),
                )
                for document in documents
            ]
        )
        if answer.handover and message.sender:
            # After the answers are queued: a retry of this message still sends them.
            at = message.timestamp or int(self._clock())
            until = int(self._clock()) + self.settings.handover_hours * 3600
            self.store.set_handover(message.sender, until=until, at=at, wamid=message.id)
            metrics.add_metric(name="HandedOver", unit=MetricUnit.Count, value=1)
        self._remember(event, documents, answer)
        self._queue_media(event)
        logger.info(
            "Inbound message handled",
            extra={
                "wamid": mask_wamid(message.id),
                "type": message.type,
                "from": mask_phone(message.sender),
                "new": is_new,
                "queued": len(documents),
                "answered_by": answer.decided_by,
            },
        )
        metrics.add_metric(name="MessageReceived" if is_new else "DuplicateMessage", unit=MetricUnit.Count, value=1)
        return {"outcome": "stored" if is_new else "duplicate", "queued": len(documents)}

    @staticmethod
    def _answerable(message: InboundMessage) -> bool:
        """A customer talking to us (not a reaction, an edit, a system notice) whom we can address."""
        return message.type not in NO_REPLY_TYPES and bool(message.sender)

    def _remember(self, event: MessageEvent, documents: list[OutboundMessage], answer: Answer) -> None:
        """The message and the answers queued for it in the customer's conversation history (for bots)."""
        message = event.message
        if not self.settings.history_size or not message.sender:
            return
        at = message.timestamp or int(self._clock())
        entries = [
            HistoryEntry(
                at=at,
                direction=Direction.INBOUND,
                type=message.type,
                text=_cut(message_text(message)),
                wamid=message.id,
            )
        ]
        answers = [document.message for document in documents if document.recipient is not None]
        entries += [
            HistoryEntry(
                at=at,
                direction=Direction.OUTBOUND,
                type=body.type,
                text=_cut(reply_text(body.model_dump(mode="json", exclude_none=True))),
                wamid=message.id,
                rule=answer.decided_by,
            )
            for body in answers
        ]
        self.store.append_history(message.sender, entries, ttl_seconds=self.settings.history_days * 86400)

    def _queue_media(self, event: MessageEvent) -> None:
        """Archive the message's media as an event of its own: its retries hold back nothing else."""
        if self.media is None or self.inbound is None or event.message.media is None:
            return
        media = MediaEvent(waba_id=event.waba_id, phone_number_id=event.phone_number_id, message=event.message)
        self.inbound.send(
            [QueueEntry(body=dump_event(media), group_id=media.group, deduplication_id=digest(media.key))]
        )

    def _on_media(self, event: MediaEvent) -> dict[str, Any]:
        if self.media is None:
            return {"outcome": "skipped"}  # archiving was switched off after this was queued
        if self._context is not None and self._context.get_remaining_time_in_millis() < ARCHIVE_MIN_MS:
            raise MediaArchiveError("not enough time left in this invocation to archive media")
        # While Meta's copy is still there; a transient failure raises and SQS delivers the event again.
        stored = self.media.archive(event)
        return {"outcome": "archived" if stored is not None else "not archived"}

    def _on_status(self, event: StatusEvent) -> dict[str, Any]:
        applied = self.store.apply_status(event)
        change = applied.change
        status = event.status
        if change is StatusChange.ADVANCED and status.status == "failed":
            # Counted before anything else can fail: a redelivered `failed` no longer advances.
            metrics.add_metric(name="MessageFailed", unit=MetricUnit.Count, value=1)
        callback = status.biz_opaque_callback_data or ""
        # Only a message not yet marked `outbound_accepted` (its send's outcome not written yet, or
        # never: its answer was lost) has anything to confirm; for the rest it would be a write more.
        if (
            callback.startswith(CALLBACK_PREFIX)
            and not applied.send_recorded
            and self.store.confirm_outbound(callback.removeprefix(CALLBACK_PREFIX), status.id)
        ):
            # A send whose answer was lost did go out: its status webhook names it.
            logger.info("Unconfirmed send confirmed by its status", extra={"wamid": mask_wamid(status.id)})
            metrics.add_metric(name="SendConfirmedLate", unit=MetricUnit.Count, value=1)
        extra: dict[str, Any] = {"wamid": mask_wamid(status.id), "status": status.status, "change": change.value}
        if status.errors:
            extra["error_code"] = status.errors[0].code
        logger.info("Status applied", extra=extra)
        metrics.add_metric(name="StatusReceived", unit=MetricUnit.Count, value=1)
        return {"outcome": change.value}

    def _on_unparsed(self, event: UnparsedEvent) -> dict[str, Any]:
        raw = event.raw if isinstance(event.raw, str) else json.dumps(event.raw, default=str)
        self.store.record_rejection("webhook", event.raw_sha256 or event.key, event.reason, raw)
        logger.warning("Unparsed webhook data recorded", extra={"reason": event.reason})
        metrics.add_metric(name="WebhookUnparsed", unit=MetricUnit.Count, value=1)
        return {"outcome": "rejected"}


def _cut(text: str | None) -> str | None:
    return text[:HISTORY_TEXT_CHARS] if text else None


def conversation_engine(settings: Settings, store: MessageStore, *, base: Path) -> ConversationEngine | None:
    """The conversation from the settings: the bot's handlers, the rules file (relative to `base`,
    the processor's package), or `AutoReplyText` for everything; None when there is nothing to say."""
    bot = load_bot(settings.bot) if settings.bot else None
    if settings.rules:
        rules: Callable[[], RulesFile | None] = RulesSource(settings.rules, base=base)
    else:
        fixed = fallback_rules(settings.auto_reply_text)
        rules = lambda: fixed  # noqa: E731 - a constant source
        if fixed is None and bot is None:
            return None
    return ConversationEngine(store=store, rules=rules, bot=bot, history_size=settings.history_size)


@singleton
def get_processor() -> InboundProcessor:
    """The processor of this Lambda environment, built on first use."""
    settings = get_settings()
    # A relative WACLOUD_RULES is a file deployed with the function: Lambda's task root (/var/task).
    base = Path(os.environ.get("LAMBDA_TASK_ROOT") or ".")
    store = MessageStore()
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version)
    archive = settings.archive_media and settings.media_bucket
    return InboundProcessor(
        store=store,
        outbound=FifoQueue(settings.outbound_queue_url),
        inbound=FifoQueue(settings.inbound_queue_url),
        settings=settings,
        media=MediaArchive(graph=graph, store=store, bucket=settings.media_bucket) if archive else None,
        templates=TemplateCatalog(store=store, graph=graph, settings=settings),
        conversations=conversation_engine(settings, store, base=base),
    )
