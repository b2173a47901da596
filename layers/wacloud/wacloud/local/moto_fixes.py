"""A correction to moto's SQS emulation, applied by the local run and the tests.

moto keeps a received FIFO message "in flight" until a later receive notices that its visibility
timeout has passed, and it notices one message at a time while walking the queue: when several
messages of one group time out together, the group still looks busy when the first of them is
reached, so the later ones are handed out first. In SQS a message whose visibility timeout has
passed is simply no longer in flight. Clearing those before each receive restores the per-group order.
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.receive_message, "wacloud_fixed", False):
        return
    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        for message in [m for m in queue.pending_messages if m.visible]:
            queue.pending_messages.discard(message)
        return original(self, queue_name, *args, **kwargs)

    receive_message.wacloud_fixed = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
