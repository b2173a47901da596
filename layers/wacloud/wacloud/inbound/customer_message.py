"""What happens to a message a customer sent, step by step, each step safe to repeat:

1. a message already stored (its record is written last) was handled: nothing more;
2. `remember_contact`: who wrote and when (drives the 24-hour window), under whichever of their
   names (phone, BSUID, username) this message gives; a changed number or BSUID moves them;
3. past the replay window (Meta's timestamp older than `ReplayWindowSeconds`): stored, nothing more;
4. `opt_keyword`: an opt-out or opt-in keyword changes the customer's choice;
5. `answer`: the conversation decides the answers (none after an opt-out);
6. `queue_replies`: the read receipt and the answers go to the outbound queue;
7. `hand_over`: a handover the conversation decided, once its answers are queued;
8. `remember_history`: the message and its answers in the customer's history;
9. `queue_media`: media to archive, as an event of its own;
10. `store`: the message, the mark that all of the above is done.

Window, opt-out, handover, history and conversation are those of the number written to (its
registry entry: `numbers`), and the customer is its business's (another business's customer with
the same phone number is someone else to us); a stack with one number keeps exactly the keys it
always had.

The message's record is its idempotency record (no other is kept: two writes fewer per message).
A run that fails before it is written runs again whole when SQS delivers the event again; the FIFO
group (the customer) holds their later events back meanwhile, so no two runs overlap. Its steps
repeat harmlessly: the replies' keys derive from the wamid (the sender sends a key once), the
history's items and the media event's deduplication id too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from wacloud.adapters.queues import FifoQueue, QueueEntry
from wacloud.adapters.store import Store
from wacloud.config import Settings
from wacloud.conversation.engine import Answer, ConversationEngine, ConversationEngines
from wacloud.conversation.rules import message_text, reply_text
from wacloud.inbound.replies import NO_REPLY_TYPES, RefusedReply, replies_for
from wacloud.models.events import MediaEvent, MessageEvent, dump_event
from wacloud.models.identity import CustomerIdentity
from wacloud.models.keys import digest
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound import OutboundMessage
from wacloud.models.records import Direction, HistoryEntry
from wacloud.models.system_messages import identity_change
from wacloud.outbound.contract import deduplication_id, message_group_id
from wacloud.outbound.policy import opt_keyword
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_key, mask_phone, mask_wamid
from wacloud.runtime.metrics import count

logger = child_logger(__name__)
HISTORY_TEXT_CHARS = 1024


class Numbers(Protocol):
    """The registry of numbers, as far as a customer's message needs it (`adapters.registry`)."""

    def get(self, phone_number_id: str) -> NumberEntry | None: ...

    def default(self) -> NumberEntry | None: ...


class CustomerMessages:
    def __init__(
        self,
        *,
        store: Store,
        outbound: FifoQueue,
        settings: Settings,
        inbound: FifoQueue | None = None,
        conversations: ConversationEngine | ConversationEngines | None = None,
        numbers: Numbers | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.outbound = outbound
        self.inbound = inbound  # where media to archive is queued (None: not archived)
        self.settings = settings
        self.conversations = conversations  # None: read receipts only; engines: one per number's rules
        self.numbers = numbers  # None: every message is the default number's (a stack of one number)
        self._clock = clock

    def handle(self, event: MessageEvent) -> dict[str, Any]:
        message = event.message
        if self.store.messages.was_received(message.id):
            logger.info("Message already handled; skipped", extra={"wamid": mask_wamid(message.id)})
            count("DuplicateEventSkipped")
            return {"outcome": "duplicate", "queued": 0}
        entry = self._number(event)
        # News of a changed number or BSUID moves the customer; it is no message of theirs to
        # remember under the old name (which would make that name someone new on a second run).
        customer = self._identity_change(event, entry) or self.store.customers.upsert(event, entry)
        age = self._clock() - message.timestamp if message.timestamp else 0
        if age > self.settings.max_event_age_seconds:
            # Past the replay window: Meta no longer redelivers it, so it is a replay (acting on it
            # could answer a message twice, or undo a later opt-in). Keep the record, do nothing else.
            self.store.messages.record_inbound(event)
            logger.warning(
                "Message older than the replay window recorded, not acted on",
                extra={"wamid": mask_wamid(message.id), "age_seconds": int(age)},
            )
            count("StaleMessageIgnored")
            return {"outcome": "stale", "queued": 0}
        # A keyword written in a group is said to the group, not to the business.
        opted_out_now = self._opt_keyword(event, customer, entry) if customer and not message.is_group else False
        answer = self._answer(event, entry) if not opted_out_now else Answer()
        replies = replies_for(event, self.settings, answer.replies)
        self._record_unaddressable(replies.refused)
        documents = replies.documents
        self._queue_replies(event, documents)
        if customer:
            self._hand_over(event, answer, customer, entry)
            self._remember_history(event, documents, answer, customer, entry)
        self._queue_media(event)
        self.store.messages.record_inbound(event)  # last: it says every step above is done
        logger.info(
            "Inbound message handled",
            extra={
                "wamid": mask_wamid(message.id),
                "type": message.type,
                "from": mask_phone(message.sender),
                "queued": len(documents),
                "answered_by": answer.decided_by,
            },
        )
        count("MessageReceived")
        return {"outcome": "stored", "queued": len(documents)}

    def _number(self, event: MessageEvent) -> NumberEntry | None:
        """The registry's entry of the number written to (None: the default number's keys)."""
        if self.numbers is None:
            return None
        entry = self.numbers.get(event.phone_number_id) if event.phone_number_id else None
        # A number the registry does not list (queued before the ingress checked numbers, or removed
        # since) is kept as the default number's, as every number was before.
        return entry if entry is not None else self.numbers.default()

    def _identity_change(self, event: MessageEvent, entry: NumberEntry | None) -> str | None:
        """Meta's news that the customer's number or BSUID changed: the new one names the same
        customer of the number's business (window, opt-out, history), the old one nobody. The
        customer, or None when the message is no such news."""
        change = identity_change(event.message)
        if change is None:
            return None
        old = CustomerIdentity(phone=change.old_phone, user_id=change.old_user_id)
        new = CustomerIdentity(
            phone=change.new_phone, user_id=change.new_user_id, parent_user_id=change.new_parent_user_id
        )
        if not (old and new and new.addresses() != old.addresses()):
            return None
        customer = self.store.customers.change_identity(old, new, at=event.message.timestamp, entry=entry)
        logger.info("Customer's identity changed", extra={"change": change.kind})
        count("CustomerIdentityChanged")
        return customer

    def _record_unaddressable(self, refused: list[RefusedReply]) -> None:
        """Answers that could not be addressed: recorded with the reason and counted, not only logged
        (retrying the message would not change them)."""
        for reply in refused:
            self.store.rejections.record("reply", reply.key, reply.reason, reply.raw)
            logger.warning("Reply not queued", extra={"reply": mask_key(reply.key), "reason": reply.reason})
            count("ReplyRejected")

    def _opt_keyword(self, event: MessageEvent, customer: str, entry: NumberEntry | None) -> bool:
        """Apply an opt-out or opt-in keyword (business-wide, or the number's own where its opt-outs
        are); whether the customer opted out with this message (then only the read receipt goes
        back: an opt-out is honoured before any rule or handler)."""
        message = event.message
        keyword = opt_keyword(message, self.settings)
        if keyword is None:
            return False
        choice, word = keyword
        self.store.customers.set_opt_out(customer, choice == "out", at=message.timestamp, keyword=word, entry=entry)
        logger.info("Customer opted " + choice, extra={"from": mask_phone(message.sender)})
        count("OptedOut" if choice == "out" else "OptedIn")
        return choice == "out"

    def _answer(self, event: MessageEvent, entry: NumberEntry | None) -> Answer:
        """The conversation's answer (the number's rules or bot) to a customer talking to us (not a
        reaction, an edit, a system notice) whom we can address."""
        message = event.message
        engines = self.conversations
        engine = engines.for_number(entry) if isinstance(engines, ConversationEngines) else engines
        if engine is None or message.type in NO_REPLY_TYPES or not message.sender:
            return Answer()
        return engine.answer(event, entry)

    def _queue_replies(self, event: MessageEvent, documents: list[OutboundMessage]) -> None:
        sender = event.message.group_id or event.message.sender
        group = message_group_id(sender) if sender else "unknown-sender"
        bodies = [document.model_dump_json(exclude_none=True) for document in documents]
        self.outbound.send(
            [QueueEntry(body=body, group_id=group, deduplication_id=deduplication_id(body)) for body in bodies]
        )

    def _hand_over(self, event: MessageEvent, answer: Answer, customer: str, entry: NumberEntry | None) -> None:
        """After the answers are queued: a retry of this message still sends them."""
        message = event.message
        if not answer.handover:
            return
        at = message.timestamp or int(self._clock())
        until = int(self._clock()) + self.settings.handover_hours * 3600
        self.store.customers.set_handover(customer, until=until, at=at, wamid=message.id, entry=entry)
        count("HandedOver")

    def _remember_history(
        self,
        event: MessageEvent,
        documents: list[OutboundMessage],
        answer: Answer,
        customer: str,
        entry: NumberEntry | None,
    ) -> None:
        """The message and the answers queued for it in the customer's conversation history (for bots)."""
        message = event.message
        if not self.settings.history_size:
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
        entries += [
            HistoryEntry(
                at=at,
                direction=Direction.OUTBOUND,
                type=document.kind,
                text=_cut(reply_text(document.graph_body())),
                wamid=message.id,
                rule=answer.decided_by,
            )
            for document in documents
            if document.recipient is not None
        ]
        ttl = self.settings.history_days * 86400
        self.store.customers.append_history(customer, entries, ttl_seconds=ttl, entry=entry)

    def _queue_media(self, event: MessageEvent) -> None:
        """Archive the message's media as an event of its own: its retries hold back nothing else."""
        if self.inbound is None or event.message.media is None:
            return
        media = MediaEvent(waba_id=event.waba_id, phone_number_id=event.phone_number_id, message=event.message)
        self.inbound.send(
            [QueueEntry(body=dump_event(media), group_id=media.group, deduplication_id=digest(media.key))]
        )


def _cut(text: str | None) -> str | None:
    return text[:HISTORY_TEXT_CHARS] if text else None
