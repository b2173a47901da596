"""The dead-letter queues: what is there, shown without personal data (`wacloud dlq list`).

The inbound and outbound DLQs are FIFO; the EUM ingest's (`eum`) is a standard queue of SNS events
the ingest could not queue (Lambda's on-failure records; SNS notifications; bare SNS messages). None
has a redrive policy of its own. `inspect` peeks (receives, then makes the messages visible again at
once); `wacloud.ops.redrive` moves them back to where they are read from.

Bodies hold phone numbers and message text: `DeadLetter.describe()` shows only what identifies a
document without them (an idempotency key, an event kind, a masked wamid).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from wacloud.errors import WacloudError
from wacloud.ops.deployed_stack import describe_stack
from wacloud.runtime.masking import mask_key, mask_phone, mask_wamid

Direction = Literal["inbound", "outbound", "eum"]

# The stack outputs (template.yaml) that name each DLQ and where its messages go back to: the queue
# it belongs to, or (eum) the topic whose subscription invokes the ingest.
STACK_OUTPUTS: dict[str, tuple[str, str]] = {
    "inbound": ("InboundDLQUrl", "InboundQueueUrl"),
    "outbound": ("OutboundDLQUrl", "OutboundQueueUrl"),
    "eum": ("EumIngestDLQUrl", "EumEventTopicArn"),
}
BATCH = 10  # SQS's maximum for ReceiveMessage and the *Batch calls
MAX_BATCH_BYTES = 256 * 1024  # SQS's limit for one SendMessageBatch (the classic figure)
MAX_DEDUPLICATION_ID = 128
# How long received messages stay hidden if this process dies before it makes them visible again.
PEEK_VISIBILITY_SECONDS = 120
REDRIVE_VISIBILITY_SECONDS = 300
# Long polling: a short poll may miss messages; the last (empty) receive waits this long.
WAIT_SECONDS = 2

# Groups the webhook makes that are not about a person (`change-<WABA id>`, `h-<digest>`, ...) are
# shown as they are; any other group with 6 digits or more may be a phone number or a user id.
_NOT_PERSONAL_GROUP = re.compile(r"^(change-\d*|h-[0-9a-f]{40}|change|unparsed|unknown-sender|unknown-recipient|none)$")


class DlqError(WacloudError):
    """The queues cannot be found or used as asked (a missing stack output, a DLQ redriven to itself)."""


class DeadLetter(BaseModel):
    """One message on a dead-letter queue, as SQS reports it."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    group_id: str
    deduplication_id: str
    receive_count: int
    sent_at: datetime
    body: str

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> DeadLetter:
        """From one entry of `ReceiveMessage` (with `MessageSystemAttributeNames=["All"]`)."""
        attributes = message.get("Attributes", {})
        sent_ms = int(attributes.get("SentTimestamp") or 0)
        return cls(
            message_id=message["MessageId"],
            group_id=attributes.get("MessageGroupId", ""),
            deduplication_id=attributes.get("MessageDeduplicationId", ""),
            receive_count=int(attributes.get("ApproximateReceiveCount") or 0),
            sent_at=datetime.fromtimestamp(sent_ms / 1000, tz=UTC),
            body=message.get("Body", ""),
        )

    @property
    def display_group(self) -> str:
        """The group, masked when it could be a phone number or a user id."""
        return display_group(self.group_id)

    def describe(self) -> str:
        """What the body is, without personal data: see `describe_body`."""
        return describe_body(self.body)

    def age(self, now: datetime | None = None) -> str:
        """Time since SQS stamped the message as sent (`SentTimestamp`), e.g. `2h05m`."""
        seconds = max(0, int(((now or datetime.now(UTC)) - self.sent_at).total_seconds()))
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        if days:
            return f"{days}d{hours:02d}h"
        if hours:
            return f"{hours}h{minutes:02d}m"
        if minutes:
            return f"{minutes}m{seconds:02d}s"
        return f"{seconds}s"


def display_group(group: str) -> str:
    """A FIFO group id for display: customers' numbers (and any group with 6+ digits) are masked;
    `-` for none (a standard queue)."""
    if not group:
        return "-"
    if _NOT_PERSONAL_GROUP.match(group) or sum(c.isdigit() for c in group) < 6:
        return group
    return mask_phone(group)


def describe_body(body: str) -> str:
    """A one-line description of a queue document that names it without personal data.

    Outbound documents: the idempotency key (wamid-derived `read:`/`reply:` keys masked) and the
    message type. Inbound events: the kind, plus the status or message type and the masked wamid,
    or the change field, or the digest of unparsed data. The EUM ingest's: what holds the SNS
    messages and the fields of Meta's entries in them. Never a number, a name or a text.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return f"body is not JSON ({len(body.encode('utf-8', 'surrogatepass'))} bytes)"
    if not isinstance(document, dict):
        return "JSON document of an unknown shape"
    if any(key in document for key in EUM_SHAPES):
        return _describe_eum(document, body)
    if "kind" in document:
        return _describe_event(document)
    if "idempotency_key" in document or "message" in document:
        key = document.get("idempotency_key")
        message = document.get("message")
        kind = message.get("type") if isinstance(message, dict) else None
        text = f"key={mask_key(key)}" if isinstance(key, str) and key else "no idempotency_key"
        return f"{text} type={kind}" if isinstance(kind, str) else text
    return "JSON document of an unknown shape"


def _describe_event(event: dict[str, Any]) -> str:
    kind = event.get("kind")
    if kind in ("message", "media") and isinstance(event.get("message"), dict):
        message = event["message"]
        return f"kind={kind} type={_plain(message.get('type'))} wamid={mask_wamid(_plain(message.get('id')))}"
    if kind == "status" and isinstance(event.get("status"), dict):
        status = event["status"]
        return f"kind=status status={_plain(status.get('status'))} wamid={mask_wamid(_plain(status.get('id')))}"
    if kind == "change":
        return f"kind=change field={_plain(event.get('field'))}"
    if kind == "unparsed":
        return f"kind=unparsed raw_sha256={_plain(event.get('raw_sha256'))[:16]}"
    return f"kind={_plain(kind)[:20]}"


# What holds the SNS messages on the EUM ingest's DLQ: a key that only that shape has -> its name.
EUM_SHAPES = {
    "requestPayload": "on-failure record",  # Lambda's, after the asynchronous invocation's retries
    "TopicArn": "SNS notification",  # SNS's JSON, as SNS delivers to a queue
    "whatsAppWebhookEntry": "SNS message",  # End User Messaging Social's envelope itself
}


def sns_messages(body: str) -> list[tuple[str, str]]:
    """(topic ARN, or "" when the letter names none; SNS message) of each SNS message an EUM ingest
    dead letter holds. ValueError says why there are none."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValueError("the body is not JSON") from exc
    if not isinstance(document, dict):
        raise ValueError("the body is not a JSON object")
    return _sns_messages(document, body)


def _sns_messages(document: dict[str, Any], body: str) -> list[tuple[str, str]]:
    if "requestPayload" in document:
        payload = document["requestPayload"]
        records = payload.get("Records") if isinstance(payload, dict) else None
        if not isinstance(records, list) or not records:
            raise ValueError("its requestPayload is not an SNS event (no Records)")
        found = [record.get("Sns") if isinstance(record, dict) else None for record in records]
        if not all(isinstance(sns, dict) and isinstance(sns.get("Message"), str) for sns in found):
            raise ValueError("a record of its requestPayload has no Sns Message")
        return [(str(sns.get("TopicArn") or ""), sns["Message"]) for sns in found if isinstance(sns, dict)]
    if "TopicArn" in document:
        if not isinstance(document.get("Message"), str):
            raise ValueError("the SNS notification has no Message")
        return [(str(document["TopicArn"] or ""), document["Message"])]
    if "whatsAppWebhookEntry" in document:
        return [("", body)]
    raise ValueError("not an SNS event, notification or message of End User Messaging Social")


def _describe_eum(document: dict[str, Any], body: str) -> str:
    shape = next(name for key, name in EUM_SHAPES.items() if key in document)
    try:
        messages = _sns_messages(document, body)
    except ValueError as exc:
        return f"eum {shape}: {exc}"
    fields = [field for _, message in messages for field in _entry_fields(message)]
    context = document.get("requestContext")
    condition = context.get("condition") if isinstance(context, dict) else None
    why = f" condition={_plain(condition)}" if condition else ""
    return f"eum {shape}{why} sns={len(messages)} field={','.join(fields) or '?'}"


def _entry_fields(message: str) -> list[str]:
    """The change fields (`messages`, `calls`, ...) of the Meta entry in an EUM envelope."""
    try:
        envelope = json.loads(message)
        entry = envelope.get("whatsAppWebhookEntry") if isinstance(envelope, dict) else None
        entry = json.loads(entry) if isinstance(entry, str) else entry
    except (ValueError, RecursionError):
        return ["?"]
    changes = entry.get("changes") if isinstance(entry, dict) else None
    if not isinstance(changes, list):
        return ["?"]
    return [_plain(change.get("field")) if isinstance(change, dict) else "?" for change in changes]


def _plain(value: Any) -> str:
    """A short, printable identifier (a type or status name); anything else becomes `?`."""
    return value if isinstance(value, str) and re.fullmatch(r"[\w.:=/+-]{1,200}", value) else "?"


_SQS_URL = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


def sqs_client(client: Any, url: str) -> Any:
    """The client given, or an SQS client for the region in the queue's URL (else boto3's default)."""
    if client is not None:
        return client
    match = _SQS_URL.match(url)
    return boto3.client("sqs", region_name=match.group(1) if match else None)


def receive(sqs: Any, url: str, count: int, visibility: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        VisibilityTimeout=visibility,
        WaitTimeSeconds=WAIT_SECONDS,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def release(sqs: Any, url: str, receipt_handles: Iterable[str]) -> None:
    """Make received messages visible again now (best effort: otherwise after their timeout)."""
    handles = list(receipt_handles)
    for start in range(0, len(handles), BATCH):
        chunk = handles[start : start + BATCH]
        try:
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)],
            )
        except (ClientError, BotoCoreError):
            continue


def inspect(dlq_url: str, *, limit: int = 100, client: Any = None) -> list[DeadLetter]:
    """Up to `limit` messages of a DLQ, in the order SQS returns them, leaving the queue as it was.

    Messages are received in batches of 10 and kept hidden until the last receive, then all made
    visible again at once. Each peek counts as a receive (`ApproximateReceiveCount` goes up by one);
    the DLQs have no redrive policy of their own, so that is harmless.

    A FIFO queue does not return more messages of a group while some of the group are in flight:
    a peek sees, of each group, only the messages of the first receive that returned any (up to 10).
    """
    sqs = sqs_client(client, dlq_url)
    letters: list[DeadLetter] = []
    handles: dict[str, str] = {}  # message id -> latest receipt handle
    try:
        while len(letters) < limit:
            messages = receive(sqs, dlq_url, min(BATCH, limit - len(letters)), PEEK_VISIBILITY_SECONDS)
            new = [m for m in messages if m["MessageId"] not in handles]
            for message in messages:
                handles[message["MessageId"]] = message["ReceiptHandle"]
            if not new:  # empty, or only messages seen already (their visibility ran out): done
                break
            letters.extend(DeadLetter.from_sqs(message) for message in new)
    finally:
        release(sqs, dlq_url, handles.values())
    return letters


def approximate_count(url: str, *, client: Any = None) -> int:
    """Messages on a queue, visible or in flight, as SQS approximates them."""
    attributes = sqs_client(client, url).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def stack_queue_urls(stack_name: str, direction: Direction, *, client: Any = None) -> tuple[str, str]:
    """(DLQ URL, source queue URL; for eum the EUM event topic's ARN) from a deployed stack's outputs."""
    if direction not in STACK_OUTPUTS:
        raise DlqError(f"unknown queue {direction!r}: use {', '.join(STACK_OUTPUTS)}")
    outputs = describe_stack(stack_name, client=client).outputs
    dlq_key, source_key = STACK_OUTPUTS[direction]
    missing = [key for key in (dlq_key, source_key) if not outputs.get(key)]
    if missing:
        raise DlqError(f"stack {stack_name} has no output {' or '.join(missing)}: is it a deployed wacloud stack?")
    return outputs[dlq_key], outputs[source_key]
