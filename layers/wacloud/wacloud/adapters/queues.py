"""Putting documents on the FIFO queues, in batches, all or an error; and one delayed message on a
standard queue (`send_delayed`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from wacloud.errors import TransientError
from wacloud.runtime.logs import child_logger
from wacloud.runtime.singletons import singleton

logger = child_logger(__name__)

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024  # SQS's limit for one message and for one batch (the classic figure)
SEND_ATTEMPTS = 3


class QueueError(TransientError):
    """Some documents could not be queued; the caller must not acknowledge its input."""


@dataclass(frozen=True)
class QueueEntry:
    body: str
    group_id: str
    deduplication_id: str


@singleton
def _sqs_client() -> Any:
    return boto3.client("sqs")


class FifoQueue:
    """A FIFO queue that accepts many documents at once and either queues all or raises."""

    def __init__(self, url: str, *, client: Any = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or _sqs_client()

    def send(self, entries: Sequence[QueueEntry]) -> None:
        """Queue every entry (in order), retrying entries SQS refused; raise `QueueError` if any remain."""
        if not self.url:
            raise QueueError("queue URL is not configured")
        for batch in _batches(entries):
            self._send_batch(batch)

    def _send_batch(self, batch: list[QueueEntry]) -> None:
        pending = {str(i): entry for i, entry in enumerate(batch)}
        failures: list[str] = []
        for _ in range(SEND_ATTEMPTS):
            try:
                response = self.client.send_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {
                            "Id": entry_id,
                            "MessageBody": entry.body,
                            "MessageGroupId": entry.group_id,
                            "MessageDeduplicationId": entry.deduplication_id,
                        }
                        for entry_id, entry in pending.items()
                    ],
                )
            except (ClientError, BotoCoreError) as exc:
                raise QueueError(f"SendMessageBatch failed: {exc}") from exc
            failed = response.get("Failed", [])
            failures = [f"{f.get('Code')}: {f.get('Message')}" for f in failed]
            # Retry only what SQS says may succeed later; a sender fault will not fix itself.
            if not failed or any(f.get("SenderFault") for f in failed):
                break
            pending = {f["Id"]: pending[f["Id"]] for f in failed}
        if failures:
            raise QueueError(f"{len(failures)} of {len(batch)} documents not queued: {failures[0]}")

    def delay(self, entries: Sequence[dict[str, Any]]) -> None:
        """Set the visibility timeout of received messages (`ReceiptHandle`, `VisibilityTimeout`).

        Best effort: a message whose change fails keeps the queue's own visibility timeout.
        """
        for start in range(0, len(entries), MAX_BATCH_ENTRIES):
            chunk = entries[start : start + MAX_BATCH_ENTRIES]
            try:
                response = self.client.change_message_visibility_batch(
                    QueueUrl=self.url, Entries=[{"Id": str(i), **entry} for i, entry in enumerate(chunk)]
                )
            except (ClientError, BotoCoreError) as exc:
                logger.warning("Could not set retry delays", extra={"error": str(exc)})
                continue
            if response.get("Failed"):
                logger.warning("Could not set some retry delays", extra={"failed": len(response["Failed"])})


MAX_DELAY_SECONDS = 900  # SQS's cap on a message's DelaySeconds


def send_delayed(url: str, body: str, delay_seconds: int, *, client: Any = None) -> None:
    """Put one message on a standard queue, received no sooner than `delay_seconds` (at most 900).

    One attempt (plus the client's own retries); raises `QueueError` when SQS did not take it."""
    if not url:
        raise QueueError("queue URL is not configured")
    delay = max(0, min(MAX_DELAY_SECONDS, delay_seconds))
    try:
        (client or _sqs_client()).send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
    except (ClientError, BotoCoreError) as exc:
        raise QueueError(f"SendMessage failed: {exc}") from exc


def _batches(entries: Sequence[QueueEntry]) -> list[list[QueueEntry]]:
    batches: list[list[QueueEntry]] = []
    current: list[QueueEntry] = []
    size = 0
    for entry in entries:
        entry_size = len(entry.body.encode("utf-8"))
        if current and (len(current) == MAX_BATCH_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry_size
    if current:
        batches.append(current)
    return batches
