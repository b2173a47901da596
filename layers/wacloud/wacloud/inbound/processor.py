"""The processor: what happens to each inbound event taken off the inbound queue.

A customer's message goes through `CustomerMessages` (stored once, replies queued, media queued as
an event of its own and archived when that event comes back: `MediaArchive`). Statuses move message
records forward only, and one that names an outbound document confirms its send. Other changes
are recorded (a template change also drops the template's cached definition; groups, calls and
marketing preferences are applied: `inbound/changes.py`). Input that is not a valid event is
recorded as rejected with the reason, and acknowledged (retrying it cannot help).

Powertools `SqsFifoPartialProcessor(skip_group_on_error=True)`: a failed event is reported as a
batch item failure and holds back only the later events of its own customer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from wacloud.adapters.credentials import access_token, marker_key
from wacloud.adapters.graph import GraphClient
from wacloud.adapters.queues import FifoQueue
from wacloud.adapters.registry import get_registry
from wacloud.adapters.s3 import Bucket
from wacloud.adapters.store import Store, get_store
from wacloud.adapters.store.messages import StatusChange
from wacloud.config import Settings, get_settings
from wacloud.conversation.engine import ConversationEngines
from wacloud.inbound.changes import AccountChanges
from wacloud.inbound.customer_message import CustomerMessages
from wacloud.inbound.media_archive import MediaArchive
from wacloud.inbound.parse import event_from
from wacloud.models.confirmation_marker import confirmed_key, split
from wacloud.models.events import ChangeEvent, InboundEvent, MediaEvent, MessageEvent, StatusEvent, UnparsedEvent
from wacloud.models.validation_errors import describe
from wacloud.outbound.outcomes import confirm_send
from wacloud.outbound.template_catalog import TemplateCatalog
from wacloud.runtime.deadline import NO_DEADLINE, Deadline
from wacloud.runtime.idempotency import Idempotent
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_wamid
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton
from wacloud.runtime.tracing import trace_method

logger = child_logger(__name__)
# A media download is not started with less time left (Graph's answer, then the download's own timeouts).
ARCHIVE_MIN_SECONDS = 25


class InboundProcessor:
    def __init__(
        self,
        *,
        store: Store,
        messages: CustomerMessages,
        media: MediaArchive | None = None,
        templates: TemplateCatalog | None = None,
        changes: AccountChanges | None = None,
    ) -> None:
        self.store = store
        self.messages = messages
        self.media = media
        self.templates = templates
        self.changes = changes or AccountChanges(groups=store.groups, calls=store.calls, customers=store.customers)
        self.idempotency = Idempotent(
            self._handle, key_prefix="wacloud-inbound-event", duplicate_metric="DuplicateEventSkipped"
        )
        # A failed event holds back only its own customer's later events, not other customers'.
        # (Failures' tracebacks go to the package's logger: the function's formatter masks them.)
        self._batch = SqsFifoPartialProcessor(skip_group_on_error=True, logger=logger)
        # Every record failing (e.g. Graph down) is reported record by record, not raised as a
        # function error: the Errors alarm is kept for real crashes.
        self._batch.raise_on_entire_batch_failure = False
        self._record_handler = trace_method(self._handle_record)

    def process_batch(self, event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
        """One invocation: every record of the batch, each customer's in order."""
        self.idempotency.register_lambda_context(context)
        return process_partial_response(
            event=event, record_handler=self._record_handler, processor=self._batch, context=context
        )

    def _handle_record(self, record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, Any]:
        # Powertools passes the invocation's context to a record handler that takes `lambda_context`.
        return self.process(record.body, message_id=record.message_id, deadline=Deadline(lambda_context))

    def process(self, body: str, *, message_id: str, deadline: Deadline = NO_DEADLINE) -> dict[str, Any]:
        """Handle one inbound queue document; raise to have SQS deliver it again."""
        try:
            event = event_from(body)
        except (ValidationError, ValueError, RecursionError) as exc:
            reason = f"not an inbound event: {describe(exc) if isinstance(exc, ValidationError) else exc}"
            logger.warning("Rejected inbound document", extra={"sqs_message_id": message_id, "reason": reason})
            self.store.rejections.record("inbound-queue", message_id, reason, body)
            count("InboundRejected")
            return {"outcome": "rejected"}
        if isinstance(event, StatusEvent):
            # Applied only forward (`apply_status`), so a repeat changes nothing but `updated_at`:
            # an idempotency record would add two writes to each of the three statuses of every
            # reply and protect nothing.
            return self._on_status(event)
        if isinstance(event, MessageEvent):
            # Its own record, written last, is its idempotency record (`customer_message`): two
            # writes fewer per message than a record of Powertools' beside it.
            return self.messages.handle(event)
        result: dict[str, Any] = self.idempotency.run(key=event.key, event=event, deadline=deadline)
        return result

    def _handle(self, *, key: str, event: InboundEvent, deadline: Deadline) -> dict[str, Any]:
        if isinstance(event, MediaEvent):
            return self._on_media(event, deadline)
        if isinstance(event, ChangeEvent):
            return self._on_change(event, key)
        if isinstance(event, UnparsedEvent):
            return self._on_unparsed(event)
        raise TypeError(f"a {event.kind} event is not handled under idempotency")

    def _on_change(self, event: ChangeEvent, key: str) -> dict[str, Any]:
        self.store.changes.record(event)
        typed = event.typed()
        if self.templates is not None:
            self.templates.on_change(event)
        # Groups, calls and marketing preferences do more than being recorded.
        applied = self.changes.apply(event)
        logger.info(
            "Webhook change recorded",
            extra={"field": event.field, "event": getattr(typed, "event", None), "event_key": key},
        )
        count("ChangeReceived")
        return {"outcome": "recorded", **({"applied": applied} if applied else {})}

    def _on_media(self, event: MediaEvent, deadline: Deadline) -> dict[str, Any]:
        if self.media is None:
            return {"outcome": "skipped"}  # archiving was switched off after this was queued
        deadline.require(ARCHIVE_MIN_SECONDS, "archiving media")
        # While Meta's copy is still there; a transient failure raises and SQS delivers the event again.
        stored = self.media.archive(event)
        return {"outcome": "archived" if stored is not None else "not archived"}

    def _on_status(self, event: StatusEvent) -> dict[str, Any]:
        applied = self.store.messages.apply_status(event)
        status = event.status
        if applied.change is StatusChange.ADVANCED and status.status == "failed":
            # Counted before anything else can fail: a redelivered `failed` no longer advances.
            count("MessageFailed")
        # Only a message not yet marked `outbound_accepted` (its send's outcome not written yet, or
        # never: its answer was lost) has anything to confirm; for the rest it would be a write more.
        # The marker is checked (the secret read) only then: a spoofed one confirms nothing. Its key
        # is the same for every number and transport (an EUM send gets its wamid this way).
        key = (
            confirmed_key(status.biz_opaque_callback_data, marker_key())
            if not applied.send_recorded and split(status.biz_opaque_callback_data)[1]
            else None
        )
        if key is not None and confirm_send(self.store, key, status.id):
            # A send whose answer was lost did go out: its status webhook names it.
            logger.info("Unconfirmed send confirmed by its status", extra={"wamid": mask_wamid(status.id)})
            count("SendConfirmedLate")
        extra: dict[str, Any] = {
            "wamid": mask_wamid(status.id),
            "status": status.status,
            "change": applied.change.value,
        }
        if status.errors:
            extra["error_code"] = status.errors[0].code
        logger.info("Status applied", extra=extra)
        count("StatusReceived")
        return {"outcome": applied.change.value}

    def _on_unparsed(self, event: UnparsedEvent) -> dict[str, Any]:
        raw = event.raw if isinstance(event.raw, str) else json.dumps(event.raw, default=str)
        self.store.rejections.record("webhook", event.raw_sha256 or event.key, event.reason, raw)
        logger.warning("Unparsed webhook data recorded", extra={"reason": event.reason})
        count("WebhookUnparsed")
        return {"outcome": "rejected"}


def build_processor(settings: Settings, store: Store, *, base: Path) -> InboundProcessor:
    """The processor the settings describe (`base`: where a relative rules file is)."""
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version, token=access_token)
    archive = settings.archive_media and bool(settings.media_bucket)
    messages = CustomerMessages(
        store=store,
        outbound=FifoQueue(settings.outbound_queue_url),
        inbound=FifoQueue(settings.inbound_queue_url) if archive else None,
        settings=settings,
        conversations=ConversationEngines(settings, store.customers, base=base),
        numbers=get_registry(),  # each message's window, opt-out, handover, history and rules: its number's
    )
    return InboundProcessor(
        store=store,
        messages=messages,
        media=MediaArchive(graph=graph, messages=store.messages, bucket=Bucket(settings.media_bucket))
        if archive
        else None,
        templates=TemplateCatalog(definitions=store.templates, graph=graph, settings=settings),
    )


@singleton
def get_processor() -> InboundProcessor:
    """The processor of this Lambda environment, built on first use."""
    # A relative WACLOUD_RULES is a file deployed with the function: Lambda's task root (/var/task).
    return build_processor(get_settings(), get_store(), base=Path(os.environ.get("LAMBDA_TASK_ROOT") or "."))


def process_batch(event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
    """The processor function's work: one invocation's batch."""
    return get_processor().process_batch(event, context)
