"""Corrections to moto's SQS emulation, applied by the local run and the tests.

Order: moto keeps a received FIFO message "in flight" until a later receive notices that its visibility
timeout has passed, and it notices one message at a time while walking the queue: when several
messages of one group time out together, the group still looks busy when the first of them is
reached, so the later ones are handed out first. In SQS a message whose visibility timeout has
passed is simply no longer in flight. Clearing those before each receive restores the per-group order.

Atomic items: moto builds an updated item in place, one action after the other, so a read from
another thread (the local run serves every function and the CLI from threads) can see an item with
its key and nothing else. DynamoDB reads and writes an item whole: one lock around moto's item
operations restores that.

Deduplication: moto drops a FIFO message only while another with its deduplication id is still in
the queue. SQS remembers the id for five minutes, deleted or not: a producer reusing one within
that window is silently dropped (per message group where the queue's `DeduplicationScope` says so),
which is what the contract's deduplication id must get right.
"""

from __future__ import annotations

import threading
from typing import Any

# moto's DynamoDB item operations, made atomic with respect to each other.
_ITEM_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
)
_dynamodb_lock = threading.RLock()


def apply() -> None:
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.receive_message, "wacloud_fixed", False):
        return
    _remember_deduplication_ids()
    _atomic_items()
    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        for message in [m for m in queue.pending_messages if m.visible]:
            queue.pending_messages.discard(message)
        return original(self, queue_name, *args, **kwargs)

    receive_message.wacloud_fixed = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def _remember_deduplication_ids() -> None:
    from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Message, Queue

    original = Queue.add_message

    def add_message(self: Any, message: Message) -> None:
        dedup_id = message.deduplication_id if self.fifo_queue else None
        if dedup_id:
            if self.attributes.get("DeduplicationScope") == "messageGroup":
                dedup_id = f"{message.group_id}\n{dedup_id}"  # each group deduplicates on its own
            seen: dict[str, int] = self.__dict__.setdefault("wacloud_deduplication_ids", {})
            now = int(message.sent_timestamp or 0)
            if now - seen.get(dedup_id, -(10**15)) < DEDUPLICATION_TIME_IN_SECONDS * 1000:
                return
            seen[dedup_id] = now
            if self.attributes.get("DeduplicationScope") == "messageGroup":
                # moto's own check would drop the same id in another group: decided here instead.
                kept, message.deduplication_id = message.deduplication_id, None
                original(self, message)
                message.deduplication_id = kept
                return
        original(self, message)

    Queue.add_message = add_message  # type: ignore[method-assign]


def _atomic_items() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    def atomic(original: Any) -> Any:
        def operation(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return original(self, *args, **kwargs)

        return operation

    for name in _ITEM_OPERATIONS:
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
