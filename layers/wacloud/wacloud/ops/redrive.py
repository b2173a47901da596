"""Dead letters moved back to where they are read from (`wacloud dlq redrive`).

By hand (receive, send, delete), which works wherever SQS does, moto included (moto has no
`StartMessageMoveTask`); a group's order is kept, and a message leaves the DLQ only once it is on
its queue again. The EUM ingest reads no queue: SNS invokes it for each message on the stack's EUM
topic, so its dead letters' SNS messages are published on that topic again (`republish`); on the
local run the topic feeds the queue the ingest's poller drains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from wacloud.ops.dead_letters import (
    BATCH,
    MAX_BATCH_BYTES,
    MAX_DEDUPLICATION_ID,
    REDRIVE_VISIBILITY_SECONDS,
    DeadLetter,
    DlqError,
    receive,
    release,
    sns_messages,
    sqs_client,
)


def redrive_deduplication_id(message_id: str) -> str:
    """The `MessageDeduplicationId` of a redriven message: new for every message SQS dead-lettered.

    Not the document's own id, which SQS may still remember (5 minutes) from the first send or from
    an earlier redrive; but the same for the same DLQ message, so a redrive repeated after a
    failed delete does not queue the document twice.
    """
    return f"redrive-{message_id}"[:MAX_DEDUPLICATION_ID]


@dataclass(frozen=True)
class RedriveOutcome:
    letter: DeadLetter
    moved: bool
    error: str = ""  # why it was not moved; or, when moved, that it could not be deleted from the DLQ


@dataclass(frozen=True)
class RedriveResult:
    outcomes: tuple[RedriveOutcome, ...] = ()
    stopped: str = ""  # why the run ended before the DLQ was empty (or the limit reached), if it did

    @property
    def moved(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.moved)

    @property
    def failed(self) -> int:
        """Messages not moved: they are still on the DLQ."""
        return sum(1 for outcome in self.outcomes if not outcome.moved)


@dataclass(frozen=True)
class _Received:
    letter: DeadLetter
    message_attributes: dict[str, Any]


def redrive(
    dlq_url: str,
    target_url: str,
    *,
    limit: int | None = None,
    client: Any = None,
    on_progress: Callable[[list[RedriveOutcome]], None] | None = None,
) -> RedriveResult:
    """Move up to `limit` (default: all) messages from a DLQ back to `target_url`, its source queue.

    Messages are sent in the order received, with their `MessageGroupId` and message attributes and
    a new `MessageDeduplicationId` (`redrive_deduplication_id`), so SQS's 5-minute deduplication does
    not drop a document that failed (or was redriven) recently. A message is deleted from the DLQ
    only once `SendMessageBatch` reported it `Successful`.

    A group's order is kept: a send batch holds at most one message of each group, and once a
    message of a group is not moved, the group's later messages are not sent in this run either.
    Everything not moved stays on the DLQ (visible again when this returns) and is counted as failed.
    `on_progress` hears each batch's outcomes as they happen.
    """
    if dlq_url == target_url:
        raise DlqError("the target queue is the dead-letter queue itself")
    return _Redrive(sqs_client(client, dlq_url), dlq_url, target_url, on_progress).run(limit)


def republish(
    dlq_url: str,
    topic_arn: str,
    *,
    limit: int | None = None,
    client: Any = None,
    sns: Any = None,
    on_progress: Callable[[list[RedriveOutcome]], None] | None = None,
) -> RedriveResult:
    """Move up to `limit` (default: all) of the EUM ingest's dead letters back: each one's SNS
    messages (`dead_letters.sns_messages`) published on `topic_arn`, the stack's EUM topic, whose
    subscription hands them to the ingest again. A letter leaves the DLQ once all its messages are
    published. Not moved: a letter that holds no SNS message, or names another topic (the ingest
    would refuse it). A letter whose later message failed to publish stays, its earlier ones
    published: publishing them again is harmless (the ingest's events have the webhook's keys).
    """
    if not topic_arn.startswith("arn:") or ":sns:" not in topic_arn:
        raise DlqError(f"{topic_arn!r} is not an SNS topic's ARN (the EUM ingest's DLQ goes back to its topic)")
    sqs = sqs_client(client, dlq_url)
    publisher = sns if sns is not None else boto3.client("sns", region_name=topic_arn.split(":")[3] or None)
    return _Republish(sqs, dlq_url, topic_arn, on_progress, sns=publisher).run(limit)


def _failures(exc: Exception, count: int) -> dict[str, Any]:
    """A *Batch answer in which every entry failed with `exc` (the call itself raised)."""
    return {"Failed": [{"Id": str(i), "Code": type(exc).__name__, "Message": str(exc)} for i in range(count)]}


@dataclass
class _Redrive:
    sqs: Any
    dlq_url: str
    target_url: str
    on_progress: Callable[[list[RedriveOutcome]], None] | None = None
    received: set[str] = field(default_factory=set)  # message ids received in this run
    held: dict[str, str] = field(default_factory=dict)  # message id -> latest receipt handle, until deleted
    stuck: set[str] = field(default_factory=set)  # groups with a message that was not moved

    def run(self, limit: int | None) -> RedriveResult:
        outcomes: list[RedriveOutcome] = []
        try:
            while limit is None or len(outcomes) < limit:
                count = BATCH if limit is None else min(BATCH, limit - len(outcomes))
                fresh: list[_Received] = []
                try:
                    messages = receive(self.sqs, self.dlq_url, count, REDRIVE_VISIBILITY_SECONDS)
                except (ClientError, BotoCoreError) as exc:
                    if not outcomes:
                        raise  # nothing done yet: the queue is wrong or unreachable
                    return RedriveResult(tuple(outcomes), stopped=f"ReceiveMessage failed: {exc}")
                for message in messages:
                    message_id = message["MessageId"]
                    self.held[message_id] = message["ReceiptHandle"]
                    if message_id not in self.received:  # else: back after its visibility ran out
                        self.received.add(message_id)
                        attributes = message.get("MessageAttributes", {})
                        fresh.append(_Received(DeadLetter.from_sqs(message), attributes))
                if not fresh:
                    break
                moved = self._move(fresh)
                outcomes.extend(moved)
                if self.on_progress is not None:
                    self.on_progress(moved)
        finally:
            release(self.sqs, self.dlq_url, self.held.values())
        return RedriveResult(tuple(outcomes))

    def _move(self, received: list[_Received]) -> list[RedriveOutcome]:
        outcomes: dict[str, RedriveOutcome] = {}
        pending = list(received)
        while pending:
            batch, pending = _next_batch(pending, self.stuck, outcomes)
            if not batch:
                continue
            entries = [_entry(str(i), item) for i, item in enumerate(batch)]
            try:
                response = self.sqs.send_message_batch(QueueUrl=self.target_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                response = _failures(exc, len(batch))
            sent = {entry["Id"] for entry in response.get("Successful", [])}
            errors = {
                entry["Id"]: f"{entry.get('Code')}: {entry.get('Message')}" for entry in response.get("Failed", [])
            }
            moved: list[_Received] = []
            for i, item in enumerate(batch):
                if str(i) in sent:
                    moved.append(item)
                    outcomes[item.letter.message_id] = RedriveOutcome(item.letter, moved=True)
                else:
                    self.stuck.add(item.letter.group_id)
                    error = errors.get(str(i), "not in SendMessageBatch's answer")
                    outcomes[item.letter.message_id] = RedriveOutcome(item.letter, moved=False, error=error)
            for message_id, error in self._delete(moved).items():
                outcomes[message_id] = RedriveOutcome(outcomes[message_id].letter, moved=True, error=error)
        return [outcomes[item.letter.message_id] for item in received]

    def _delete(self, moved: list[_Received]) -> dict[str, str]:
        """Delete moved messages from the DLQ; return the ones that could not be, with the reason."""
        if not moved:
            return {}
        ids = [item.letter.message_id for item in moved]
        entries = [{"Id": str(i), "ReceiptHandle": self.held[message_id]} for i, message_id in enumerate(ids)]
        try:
            response = self.sqs.delete_message_batch(QueueUrl=self.dlq_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            response = _failures(exc, len(entries))
        errors = {
            ids[int(failure["Id"])]: f"moved, but still on the DLQ ({failure.get('Code')}: {failure.get('Message')})"
            for failure in response.get("Failed", [])
        }
        for message_id in ids:
            if message_id not in errors:
                del self.held[message_id]
        return errors


@dataclass
class _Republish(_Redrive):
    """A redrive whose target is an SNS topic (`target_url`), a message at a time: no groups, no order."""

    sns: Any = None

    def _move(self, received: list[_Received]) -> list[RedriveOutcome]:
        outcomes: dict[str, RedriveOutcome] = {}
        moved: list[_Received] = []
        for item in received:
            error = self._publish(item.letter.body)
            outcomes[item.letter.message_id] = RedriveOutcome(item.letter, moved=not error, error=error)
            if not error:
                moved.append(item)
        for message_id, error in self._delete(moved).items():
            outcomes[message_id] = RedriveOutcome(outcomes[message_id].letter, moved=True, error=error)
        return [outcomes[item.letter.message_id] for item in received]

    def _publish(self, body: str) -> str:
        """Publish a letter's SNS messages; "" when all were, else why not."""
        try:
            messages = sns_messages(body)
        except ValueError as exc:
            return f"not an End User Messaging Social event: {exc}"
        others = sorted({topic for topic, _ in messages if topic and topic != self.target_url})
        if others:
            return f"from topic {others[0]}, not {self.target_url}: the ingest would refuse it"
        for _, message in messages:
            try:
                self.sns.publish(TopicArn=self.target_url, Message=message)
            except (ClientError, BotoCoreError) as exc:
                return f"Publish failed: {exc}"
        return ""


def _next_batch(
    pending: list[_Received], stuck: set[str], outcomes: dict[str, RedriveOutcome]
) -> tuple[list[_Received], list[_Received]]:
    """The next SendMessageBatch, in order: at most 10 entries, 256 KiB, one message per group.

    Messages of a stuck group are not sent (they get their outcome here); a message whose group is
    already in the batch waits for the next batch, and so do the later ones of its group.
    """
    batch: list[_Received] = []
    rest: list[_Received] = []
    groups: set[str] = set()
    size = 0
    for index, item in enumerate(pending):
        group = item.letter.group_id
        if group in stuck:
            outcomes[item.letter.message_id] = RedriveOutcome(
                item.letter, moved=False, error="not sent: an earlier message of its group was not moved"
            )
            continue
        item_size = len(item.letter.body.encode("utf-8", "surrogatepass"))
        if len(batch) == BATCH or (batch and size + item_size > MAX_BATCH_BYTES):
            rest.extend(pending[index:])
            break
        if group in groups:
            rest.append(item)
            continue
        batch.append(item)
        groups.add(group)
        size += item_size
    return batch, rest


def _entry(entry_id: str, item: _Received) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Id": entry_id,
        "MessageBody": item.letter.body,
        "MessageGroupId": item.letter.group_id,
        "MessageDeduplicationId": redrive_deduplication_id(item.letter.message_id),
    }
    if item.message_attributes:
        entry["MessageAttributes"] = item.message_attributes
    return entry
