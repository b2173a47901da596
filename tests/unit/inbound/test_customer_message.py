"""wacloud.inbound.customer_message.CustomerMessages: a customer's message stored, acted on within the
replay window, answered, handed over, remembered and its media queued (moto; fake queues, a fake
conversation engine, a fixed clock)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from tests.conftest import PHONE_NUMBER_ID
from wacloud.adapters.queues import QueueEntry, QueueError
from wacloud.adapters.store import Store
from wacloud.adapters.table import StoreError
from wacloud.config import Settings
from wacloud.conversation.engine import Answer
from wacloud.inbound.customer_message import HISTORY_TEXT_CHARS, CustomerMessages
from wacloud.models.events import MediaEvent, MessageEvent, dump_event
from wacloud.models.keys import digest
from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import Direction
from wacloud.models.webhook import Contact, InboundMessage
from wacloud.outbound.contract import deduplication_id, message_group_id

pytestmark = pytest.mark.usefixtures("aws")
NOW = 1_764_000_000
SENT = NOW - 60
CUSTOMER = "16505551234"
BSUID = "US.13491208655302741918"
WAMID = "wamid.IN"
WINDOW = Settings().max_event_age_seconds
ANSWER = Answer(replies=[{"type": "text", "text": {"body": "one"}}, {"type": "text", "text": {"body": "two"}}])


class FakeQueue:
    def __init__(self, on_send: Callable[[], None] = lambda: None, error: Exception | None = None) -> None:
        self.sends: list[list[QueueEntry]] = []
        self.on_send = on_send
        self.error = error

    def send(self, entries: Sequence[QueueEntry]) -> None:
        self.on_send()
        if self.error is not None:
            raise self.error
        self.sends.append(list(entries))

    @property
    def keys(self) -> list[str]:
        return [json.loads(entry.body)["idempotency_key"] for batch in self.sends for entry in batch]


class FakeEngine:
    def __init__(self, answer: Answer = ANSWER) -> None:
        self.asked: list[str] = []
        self.numbers: list[NumberEntry | None] = []  # the number each message was written to
        self.answer_given = answer

    def answer(self, event: MessageEvent, entry: NumberEntry | None = None) -> Answer:
        self.asked.append(event.message.id)
        self.numbers.append(entry)
        return self.answer_given


def event(kind: str = "text", *, sender: str = CUSTOMER, at: int = SENT, user_id: str | None = None, **fields: Any):
    """A customer's message (`fields`: its type's object, `id`...; a text says "hello" unless told)."""
    raw: dict[str, Any] = {"from": sender, "id": WAMID, "timestamp": str(at), "type": kind, **fields}
    if kind == "text":
        raw.setdefault("text", {"body": "hello"})
    contact = Contact(wa_id=sender, user_id=user_id, profile={"name": "Ana"})
    return MessageEvent(
        waba_id="W", phone_number_id=PHONE_NUMBER_ID, message=InboundMessage.model_validate(raw), contact=contact
    )


def handler(
    outbound: FakeQueue, *, engine: FakeEngine | None = None, inbound: FakeQueue | None = None, **env: Any
) -> CustomerMessages:
    return CustomerMessages(
        store=Store(),
        outbound=outbound,  # type: ignore[arg-type]
        inbound=inbound,  # type: ignore[arg-type]
        settings=Settings.from_env(env),
        conversations=engine,  # type: ignore[arg-type]
        clock=lambda: NOW,
    )


def test_the_contact_is_upserted_the_message_stored_and_a_repeat_is_skipped() -> None:
    outbound = FakeQueue()
    messages = handler(outbound, engine=FakeEngine())

    first, again = messages.handle(event()), messages.handle(event())

    assert (first, again) == ({"outcome": "stored", "queued": 3}, {"outcome": "duplicate", "queued": 0})
    record = Store().messages.get(WAMID)
    assert record is not None and (record.direction, record.customer, record.type) == ("in", CUSTOMER, "text")
    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and (contact.profile_name, contact.last_inbound_at) == ("Ana", SENT)
    assert len(outbound.sends) == 1  # the repeat queued nothing


def test_a_run_that_failed_before_the_message_was_stored_runs_again_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # The message's record is written last: a run that failed on the way (here: the history) left
    # none, so the next delivery does every step again, and queues the same replies (same keys).
    outbound = FakeQueue()
    messages = handler(outbound, engine=FakeEngine())
    original = messages.store.customers.append_history

    def fail_once(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(messages.store.customers, "append_history", original)
        raise StoreError("throttled")

    monkeypatch.setattr(messages.store.customers, "append_history", fail_once)
    with pytest.raises(StoreError):
        messages.handle(event())
    assert Store().messages.get(WAMID) is None

    assert messages.handle(event()) == {"outcome": "stored", "queued": 3}
    first_batch, second_batch = outbound.sends
    assert first_batch == second_batch  # the same keys: the queue and the sender deduplicate them
    assert Store().messages.get(WAMID) is not None
    assert [line.direction for line in Store().customers.history(CUSTOMER)].count("in") == 1


@pytest.mark.parametrize("sender", [CUSTOMER, BSUID], ids=["phone", "bsuid"])
def test_replies_are_queued_in_the_customers_group_deduplicated_by_their_bodies(sender: str) -> None:
    outbound = FakeQueue()
    message = event(sender="", from_user_id=BSUID) if sender == BSUID else event()

    handler(outbound, engine=FakeEngine()).handle(message)

    (entries,) = outbound.sends
    assert outbound.keys == [f"read:{WAMID}", f"reply:{WAMID}", f"reply:{WAMID}:1"]
    assert [entry.group_id for entry in entries] == [message_group_id(sender)] * 3
    assert [entry.deduplication_id for entry in entries] == [deduplication_id(entry.body) for entry in entries]
    assert len({entry.deduplication_id for entry in entries}) == 3
    assert all("null" not in entry.body for entry in entries)
    field, address = ("to", f"+{CUSTOMER}") if sender == CUSTOMER else ("recipient", BSUID)
    assert [json.loads(entry.body)["message"].get(field) for entry in entries] == [None, address, address]


@pytest.mark.parametrize(("age", "acted_on"), [(WINDOW, True), (WINDOW + 1, False)], ids=["at-the-edge", "past-it"])
def test_nothing_is_acted_on_past_the_replay_window(age: int, acted_on: bool) -> None:
    outbound, inbound, engine = FakeQueue(), FakeQueue(), FakeEngine()
    old = event("image", at=NOW - age, image={"id": "MEDIA1", "mime_type": "image/png"})

    result = handler(outbound, engine=engine, inbound=inbound).handle(old)

    assert result == ({"outcome": "stored", "queued": 3} if acted_on else {"outcome": "stale", "queued": 0})
    assert (len(engine.asked), len(outbound.sends), len(inbound.sends)) == ((1, 1, 1) if acted_on else (0, 0, 0))
    assert bool(Store().customers.history(CUSTOMER)) is acted_on
    # recorded either way
    assert Store().messages.get(WAMID) is not None
    assert Store().customers.get(CUSTOMER).last_inbound_wamid == WAMID  # type: ignore[union-attr]


def test_a_stop_past_the_replay_window_does_not_opt_the_customer_out() -> None:
    handler(FakeQueue(), engine=FakeEngine()).handle(event(at=NOW - WINDOW - 1, text={"body": "STOP"}))

    assert not Store().customers.get(CUSTOMER).opted_out  # type: ignore[union-attr]


@pytest.mark.parametrize("word", ["STOP", "stop.", "Unsubscribe!"])
def test_an_opt_out_keyword_is_recorded_and_gets_only_the_read_receipt(word: str) -> None:
    outbound, engine = FakeQueue(), FakeEngine()

    handler(outbound, engine=engine).handle(event(text={"body": word}, user_id=BSUID))

    assert outbound.keys == [f"read:{WAMID}"] and engine.asked == []
    for address in (CUSTOMER, BSUID):  # a producer addressing either finds the opt-out
        contact = Store().customers.get(address)
        assert contact is not None and contact.opted_out and contact.opt_changed_at == SENT


def test_an_opt_in_keyword_is_recorded_and_answered() -> None:
    Store().customers.set_opt_out(CUSTOMER, True, at=SENT - 100, keyword="STOP")
    outbound, engine = FakeQueue(), FakeEngine()

    handler(outbound, engine=engine).handle(event(text={"body": "start"}))

    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and not contact.opted_out and contact.opt_keyword == "START"
    assert engine.asked == [WAMID] and len(outbound.keys) == 3


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(lambda: event("reaction", reaction={"message_id": "wamid.OUT", "emoji": "👍"}), id="reaction"),
        pytest.param(lambda: event("system", system={"body": "changed number"}), id="system"),
        pytest.param(lambda: event("edit", edit={"original_message_id": "wamid.X"}), id="edit"),
    ],
)
def test_reactions_edits_and_system_notices_get_only_the_read_receipt(message: Callable[[], MessageEvent]) -> None:
    outbound, engine = FakeQueue(), FakeEngine()

    handler(outbound, engine=engine).handle(message())

    assert engine.asked == [] and outbound.keys == [f"read:{WAMID}"]


def test_a_message_without_a_sender_gets_only_the_read_receipt_in_a_group_of_its_own() -> None:
    outbound, engine = FakeQueue(), FakeEngine(Answer(ANSWER.replies, "handover", handover=True))

    assert handler(outbound, engine=engine).handle(event(sender="")) == {"outcome": "stored", "queued": 1}

    (entries,) = outbound.sends
    assert [(e.group_id, json.loads(e.body)["idempotency_key"]) for e in entries] == [
        ("unknown-sender", f"read:{WAMID}")
    ]
    assert engine.asked == []


def test_without_a_conversation_only_the_read_receipt_is_queued() -> None:
    outbound = FakeQueue()

    handler(outbound).handle(event())

    assert outbound.keys == [f"read:{WAMID}"]


def test_a_handover_is_recorded_after_its_answers_are_queued() -> None:
    handovers_at_send: list[int | None] = []

    def check_handover() -> None:
        contact = Store().customers.get(CUSTOMER)
        handovers_at_send.append(contact.handover_until if contact else None)

    engine = FakeEngine(Answer(ANSWER.replies, "agent", handover=True))

    handler(FakeQueue(on_send=check_handover), engine=engine, WACLOUD_HANDOVER_HOURS=2).handle(event())

    assert handovers_at_send == [None]
    contact = Store().customers.get(CUSTOMER)
    assert contact is not None
    assert (contact.handover_until, contact.handover_at, contact.handover_wamid) == (NOW + 2 * 3600, SENT, WAMID)


def test_no_handover_is_recorded_when_its_answers_could_not_be_queued() -> None:
    outbound = FakeQueue(error=QueueError("SendMessageBatch failed"))

    with pytest.raises(QueueError):
        handler(outbound, engine=FakeEngine(Answer(ANSWER.replies, "agent", handover=True))).handle(event())

    assert Store().customers.get(CUSTOMER).handover_until is None  # type: ignore[union-attr]


def test_the_history_holds_the_message_and_the_answers_queued_for_it() -> None:
    long_text = "x" * (HISTORY_TEXT_CHARS + 10)
    engine = FakeEngine(Answer(ANSWER.replies, "greeting"))

    handler(FakeQueue(), engine=engine).handle(event(text={"body": long_text}))

    lines = [(h.direction, h.type, h.text, h.wamid, h.rule) for h in Store().customers.history(CUSTOMER)]
    assert lines == [
        (Direction.INBOUND, "text", long_text[:HISTORY_TEXT_CHARS], WAMID, None),  # no read receipt
        (Direction.OUTBOUND, "text", "one", WAMID, "greeting"),
        (Direction.OUTBOUND, "text", "two", WAMID, "greeting"),
    ]
    assert {h.at for h in Store().customers.history(CUSTOMER)} == {SENT}


def test_no_history_is_kept_when_its_size_is_zero() -> None:
    handler(FakeQueue(), engine=FakeEngine(), WACLOUD_HISTORY_SIZE=0).handle(event())

    assert Store().customers.history(CUSTOMER) == []


@pytest.mark.parametrize("archiving", [True, False], ids=["inbound-queue", "no-inbound-queue"])
def test_media_is_queued_as_an_event_of_its_own_only_with_an_inbound_queue(archiving: bool) -> None:
    inbound, outbound = FakeQueue(), FakeQueue()
    image = event("image", image={"id": "MEDIA1", "mime_type": "image/png"})

    handler(outbound, engine=FakeEngine(), inbound=inbound if archiving else None).handle(image)
    handler(outbound, engine=FakeEngine(), inbound=inbound if archiving else None).handle(event(id="wamid.TEXT"))

    media = MediaEvent(waba_id="W", phone_number_id=PHONE_NUMBER_ID, message=image.message)
    expected = [[QueueEntry(body=dump_event(media), group_id=media.group, deduplication_id=digest(f"media:{WAMID}"))]]
    assert inbound.sends == (expected if archiving else [])
    assert media.group != message_group_id(CUSTOMER)  # a media outage holds back no conversation
    assert len(outbound.sends) == 2


def test_a_customer_known_by_user_id_then_by_phone_is_one_customer_with_one_opt_out() -> None:
    messages = handler(FakeQueue(), engine=FakeEngine())
    messages.handle(event(sender="", user_id=BSUID, id="wamid.1", text={"body": "STOP"}))
    messages.handle(event(sender=CUSTOMER, user_id=BSUID, id="wamid.2", at=SENT + 1))

    by_phone, by_user_id = Store().customers.get(f"+{CUSTOMER}"), Store().customers.get(BSUID)
    assert by_phone is not None and by_user_id is not None
    assert by_phone.customer_id == by_user_id.customer_id == BSUID
    assert by_phone.opted_out and by_phone.last_inbound_wamid == "wamid.2"
    assert [entry.wamid for entry in Store().customers.history(BSUID) if entry.direction == "in"] == [
        "wamid.1",
        "wamid.2",
    ]


@pytest.mark.parametrize(
    ("system", "new_address", "old_address"),
    [
        ({"type": "user_changed_number", "wa_id": "447700900123", "body": "changed"}, "+447700900123", CUSTOMER),
        ({"type": "user_changed_user_id", "user_id": "US.777", "body": "changed"}, "US.777", BSUID),
    ],
    ids=["number", "user-id"],
)
def test_a_changed_number_or_user_id_keeps_the_customer_and_their_opt_out(
    system: dict[str, str], new_address: str, old_address: str
) -> None:
    messages = handler(FakeQueue(), engine=FakeEngine())
    messages.handle(event(user_id=BSUID, id="wamid.1", text={"body": "STOP"}))
    messages.handle(event("system", from_user_id=BSUID, id="wamid.2", at=SENT + 1, system=system))

    moved = Store().customers.get(new_address)
    assert moved is not None and moved.customer_id == CUSTOMER and moved.opted_out
    assert Store().customers.get(old_address) is None


def test_an_answer_that_cannot_be_addressed_is_recorded_as_a_rejection() -> None:
    outbound = FakeQueue()
    too_long = Answer(replies=[{"type": "text", "text": {"body": "x" * 5000}}])

    handler(outbound, engine=FakeEngine(too_long)).handle(event())

    assert outbound.keys == [f"read:{WAMID}"]
    rejection = Store().rejections.get("reply", f"reply:{WAMID}")
    assert rejection is not None and "outbound contract" in rejection.reason
    assert json.loads(rejection.raw or "")["text"]["body"] == "x" * 5000
    assert Metrics().metric_set["ReplyRejected"]["Value"] == [1.0]  # counted, not only logged


def test_a_message_in_a_group_opens_no_window_and_its_keywords_opt_nobody_out() -> None:
    messages = handler(FakeQueue(), engine=FakeEngine())
    messages.handle(event(user_id=BSUID, id="wamid.G", group_id="G1", text={"body": "STOP"}))

    contact = Store().customers.get(CUSTOMER)
    assert contact is not None and contact.user_id == BSUID  # the member is known
    assert contact.last_inbound_at is None and not contact.opted_out


@pytest.mark.parametrize("bsuid", [None, "US.13491208655302741918"], ids=["phone-only", "with-bsuid"])
def test_a_changed_number_run_again_after_a_failure_still_names_the_same_customer(bsuid: str | None) -> None:
    # The change's first run moved the customer, then failed (queueing): the next delivery runs it
    # again whole, when the old number is retired. It must not take that number for someone new.
    from wacloud.adapters.table import Update

    calls = {"n": 0}

    def fail_the_second_queueing() -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise QueueError("SQS throttled")

    messages = handler(FakeQueue(on_send=fail_the_second_queueing), engine=FakeEngine())
    messages.handle(event(id="wamid.1", user_id=bsuid, text={"body": "STOP"}))
    Store().customers.table.update(  # the customer began long before the change
        {"pk": f"CONTACT#{CUSTOMER}", "sk": "PROFILE"}, Update("SET created_at = :old", {":old": SENT - 90 * 86400})
    )
    system = {"type": "user_changed_number", "wa_id": "447700900123", "body": "changed"}
    change = event("system", id="wamid.2", at=SENT + 1, system=system, **({"from_user_id": bsuid} if bsuid else {}))
    with pytest.raises(QueueError):
        messages.handle(change)
    messages.handle(change)

    moved = Store().customers.get("+447700900123")
    assert moved is not None and (moved.customer_id, moved.opted_out) == (CUSTOMER, True)


# --- the number written to (issue 20) ------------------------------------------------------------

SALES = NumberEntry(phone_number_id="100000000000002")
SUPPORT = NumberEntry(phone_number_id="100000000000003", opt_out_scope="number")


class FakeNumbers:
    """The registry: the stack's own number (the default), sales and support."""

    def __init__(self) -> None:
        self.entries = {e.phone_number_id: e for e in (NumberEntry(PHONE_NUMBER_ID, default=True), SALES, SUPPORT)}

    def get(self, phone_number_id: str) -> NumberEntry | None:
        return self.entries.get(phone_number_id)

    def default(self) -> NumberEntry:
        return self.entries[PHONE_NUMBER_ID]


def to_number(number: str, **fields: Any) -> MessageEvent:
    return event(**fields).model_copy(update={"phone_number_id": number})


def numbered(outbound: FakeQueue, engine: FakeEngine) -> CustomerMessages:
    messages = handler(outbound, engine=engine)
    messages.numbers = FakeNumbers()
    return messages


def test_a_message_to_another_number_opens_its_window_and_is_its_history() -> None:
    engine = FakeEngine()
    numbered(FakeQueue(), engine).handle(to_number(SALES.phone_number_id))

    assert engine.numbers == [SALES]  # the number's own conversation
    contact = Store().customers.get(CUSTOMER, SALES)
    assert contact is not None and contact.window_for(SALES) == SENT and contact.first_wamid_for(SALES) == WAMID
    assert contact.window_for(None) is None  # the default number's window stays closed
    assert [line.direction for line in Store().customers.history(CUSTOMER, entry=SALES)] == ["in", "out", "out"]
    assert Store().customers.history(CUSTOMER) == []


def test_an_opt_out_said_to_a_number_whose_opt_outs_are_its_own_binds_it_alone() -> None:
    outbound = FakeQueue()
    numbered(outbound, FakeEngine()).handle(to_number(SUPPORT.phone_number_id, text={"body": "STOP"}))

    assert outbound.keys == [f"read:{WAMID}"]
    assert Store().customers.get(CUSTOMER, SUPPORT).opted_out_for(SUPPORT)  # type: ignore[union-attr]
    assert not Store().customers.get(CUSTOMER, SALES).opted_out_for(SALES)  # type: ignore[union-attr]


def test_a_message_to_a_number_the_registry_does_not_list_is_the_default_numbers() -> None:
    engine = FakeEngine()
    numbered(FakeQueue(), engine).handle(to_number("100000000000009"))

    assert engine.numbers == [FakeNumbers().default()]
    assert Store().customers.get(CUSTOMER).window_for(None) == SENT  # type: ignore[union-attr]


def test_a_stack_with_no_number_of_its_own_and_no_registry_keeps_todays_keys() -> None:
    engine = FakeEngine()
    messages = handler(FakeQueue(), engine=engine)
    empty = FakeNumbers()
    empty.entries.clear()
    messages.numbers = empty
    empty.default = lambda: None  # type: ignore[method-assign]

    messages.handle(to_number(SALES.phone_number_id))

    assert engine.numbers == [None]
    assert Store().customers.get(CUSTOMER).window_for(None) == SENT  # type: ignore[union-attr]


def test_a_message_to_another_number_costs_the_same_dynamodb_calls_as_one_to_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = numbered(FakeQueue(), FakeEngine())
    made: list[str] = []
    for name in ("get", "update", "batch_get", "batch_put", "put_new", "delete", "query"):
        original = getattr(messages.store.table, name)

        def counted(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(messages.store.table, name, counted)

    messages.handle(to_number(PHONE_NUMBER_ID, sender="16505551234", id="wamid.D"))
    to_default, made[:] = list(made), []
    messages.handle(to_number(SUPPORT.phone_number_id, sender="447700900123", id="wamid.S"))

    assert made == to_default and made.count("update") == 2  # the profile and the message record
