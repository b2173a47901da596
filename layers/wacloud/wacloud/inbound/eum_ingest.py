"""AWS End User Messaging Social's events into the inbound queue: the second way in.

EUM publishes each of Meta's webhook entries on an SNS standard topic (SNS cannot deliver to a FIFO
queue), one entry per message, inside its own envelope:

  {"context": {"MetaWabaIds": [{"wabaId", "arn"}], "MetaPhoneNumberIds": [...]},
   "whatsAppWebhookEntry": "<Meta's entry as a JSON string>", "aws_account_id": "...",
   "message_timestamp": "...", "messageId": "..."  (optional)}

Per SNS record: the topic must be one this stack subscribes to (`WACLOUD_EUM_TOPIC_ARNS`) and the
envelope's account this function's, else the record is refused (recorded, counted, not queued);
the entry is split exactly as a webhook body is (`inbound/split.py`: the same events, keys and
deduplication ids, so a number subscribed both ways while it moves is handled once), parted by
`inbound/serving.py` and queued on the inbound FIFO queue. A queue failure raises: Lambda retries
the event twice, then hands it to the on-failure destination (EumIngestDLQ).

Lean like the webhook (no pydantic, no Powertools, no store on a plain event): refusals import the
store themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from wacloud.adapters.queues import FifoQueue
from wacloud.adapters.registry import NumberRegistry, get_registry
from wacloud.config import get_settings
from wacloud.inbound.refusals import record_refusals, record_rejection
from wacloud.inbound.serving import Ingress, Refusal, partition
from wacloud.inbound.split import SplitEvent, queue_entries, split_webhook, unparsed
from wacloud.models.keys import digest
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

logger = child_logger(__name__)

REJECTED_SOURCE = "eum"  # REJECT#eum#<sha256 of the SNS message>: a record that is not ours


class EumIngest:
    def __init__(self, *, queue: FifoQueue, topics: Iterable[str], numbers: NumberRegistry) -> None:
        self.queue = queue
        self.topics = frozenset(topic for topic in topics if topic)
        self.numbers = numbers

    def handle(self, event: Any, account_id: str) -> dict[str, int]:
        """Queue the served events of every record; record the rest. Raises `QueueError` (retried)."""
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list):
            self._reject(event, "not an SNS event (no Records list)", "EumRecordRefused")
            return {"records": 0, "events": 0, "refused": 1}
        events: list[SplitEvent] = []
        refused: list[Refusal] = []
        rejected = 0
        for record in records:
            found = self._record(record, account_id)
            if found is None:
                rejected += 1
                continue
            events.extend(found[0])
            refused.extend(found[1])
        queued, entries = queue_entries(events)
        if entries:
            self.queue.send(entries)
        record_refusals(refused)
        if queued:
            kinds: dict[str, int] = {}
            for split in queued:
                kinds[split.kind] = kinds.get(split.kind, 0) + 1
            logger.info("End User Messaging Social events queued", extra={"events": kinds})
            count("EumEventsQueued", len(queued))
        return {"records": len(records), "events": len(queued), "refused": len(refused) + rejected}

    def _record(self, record: Any, account_id: str) -> tuple[list[SplitEvent], list[Refusal]] | None:
        """A record's (events to queue, events refused); None when the record itself was refused."""
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict):
            self._reject(record, "record has no Sns object", "EumRecordRefused")
            return None
        topic = sns.get("TopicArn")
        if not isinstance(topic, str) or topic not in self.topics:
            self._reject(sns, f"topic {str(topic)[:300]!r} is not one this stack subscribes to", "EumTopicRefused")
            return None
        message = sns.get("Message")
        envelope = _json_object(message)
        if envelope is None:
            # From our topic, so from EUM: kept for a person like a signed but unreadable webhook.
            return [unparsed(message, "SNS message is not a JSON object")], []
        account = envelope.get("aws_account_id")
        if str(account) != (account_id or _account(topic)):
            reason = f"envelope's account {str(account)[:40]!r} is not this stack's"
            self._reject(sns, reason, "EumRecordRefused")
            return None
        if envelope.get("messageId"):  # AWS's id of the event: only for following one up in the logs
            logger.info("End User Messaging Social event", extra={"eum_message_id": str(envelope["messageId"])[:100]})
        if "whatsAppWebhookEntry" not in envelope:
            return [unparsed(envelope, "envelope has no whatsAppWebhookEntry")], []
        events = _entry_events(envelope["whatsAppWebhookEntry"])
        # Without a context (not seen, but optional to us), the entry's own id is its WABA.
        wabas = _envelope_wabas(envelope) or {str(e.document["waba_id"]) for e in events if e.document.get("waba_id")}
        return partition(events, Ingress.eum(wabas, self.numbers), self.numbers, envelope_wabas=wabas)

    def _reject(self, data: Any, reason: str, metric: str) -> None:
        raw = data.get("Message") if isinstance(data, dict) and isinstance(data.get("Message"), str) else None
        raw = raw if raw is not None else json.dumps(data, default=str)
        record_rejection(REJECTED_SOURCE, digest(raw), reason, raw)
        count(metric)
        logger.warning("End User Messaging Social record refused", extra={"reason": reason, "metric": metric})


def _entry_events(entry: Any) -> list[SplitEvent]:
    """Meta's entry (a JSON string; a dict is taken too) split as a webhook body with that one entry."""
    if isinstance(entry, str):
        try:
            entry = json.loads(entry)
        except (ValueError, RecursionError) as exc:
            return [unparsed(entry, f"whatsAppWebhookEntry is not JSON: {type(exc).__name__}")]
    if not isinstance(entry, dict):
        return [unparsed(entry, "whatsAppWebhookEntry is not a JSON object")]
    return split_webhook({"object": "whatsapp_business_account", "entry": [entry]})


def _envelope_wabas(envelope: dict[str, Any]) -> set[str]:
    """Meta's WABA ids the envelope's context names (`context.MetaWabaIds[].wabaId`)."""
    context = envelope.get("context")
    listed = context.get("MetaWabaIds") if isinstance(context, dict) else None
    if not isinstance(listed, list):
        return set()
    return {str(item["wabaId"]) for item in listed if isinstance(item, dict) and item.get("wabaId")}


def _json_object(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def account_of(context: Any) -> str:
    """The account this function runs in (its ARN's); "" when the context names none."""
    return _account(str(getattr(context, "invoked_function_arn", "") or ""))


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


@singleton
def get_ingest() -> EumIngest:
    settings = get_settings()
    return EumIngest(queue=FifoQueue(settings.inbound_queue_url), topics=settings.eum_topics, numbers=get_registry())


def ingest(event: Any, context: Any) -> dict[str, int]:
    """The function's work: see the module's docstring."""
    return get_ingest().handle(event, account_of(context))
