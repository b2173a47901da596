"""wacloud.adapters.store: the repositories over one table, the sender's one-round-trip read, and
the public lookups (moto)."""

from __future__ import annotations

import pytest

from tests.conftest import message_event, outbound_document
from wacloud.adapters.store import Store, find_outbound, get_message, get_outbound
from wacloud.models.outbound_state import SendOutcome
from wacloud.models.records import HistoryEntry
from wacloud.outbound.outcomes import record_outcome

pytestmark = pytest.mark.usefixtures("aws")
CUSTOMER = "16505551234"


def test_every_repository_writes_to_the_one_table():
    store = Store()
    repositories = [
        store.messages,
        store.outbound,
        store.customers,
        store.media_uploads,
        store.templates,
        store.rejections,
        store.changes,
        store.rate_counters,
    ]
    assert {id(repository.table) for repository in repositories} == {id(store.table)}


def test_the_send_context_is_the_records_outbound_record_and_its_recipients_contact_in_one_read(monkeypatch):
    store = Store()
    store.customers.upsert(message_event(wamid="wamid.C", timestamp=100))
    store.customers.set_opt_out(CUSTOMER, True, at=100, keyword="STOP")
    record_outcome(store, outbound_document("ctx"), SendOutcome.accepted("wamid.CTX"), "1")
    reads: list[str] = []
    real = store.table.client.batch_get_item
    monkeypatch.setattr(store.table.client, "batch_get_item", lambda **kw: reads.append("batch") or real(**kw))

    previous, contact, _ = store.send_context("ctx", f"+{CUSTOMER}")

    assert reads == ["batch"]
    assert previous is not None and previous.wamid == "wamid.CTX"
    assert contact is not None and contact.opted_out and contact.last_inbound_at == 100
    assert store.send_context("never-sent", None) == (None, None, None)


def test_the_store_makes_no_boto3_resource(monkeypatch):
    # A resource is not thread-safe (the sender's recipient threads share the store) and costs a cold
    # start about 20 ms: the store works on the low-level client.
    import boto3

    from wacloud.runtime import singletons

    def refuse(*args, **kwargs):
        raise AssertionError("a boto3 resource was created")

    monkeypatch.setattr(boto3.session.Session, "resource", refuse)
    singletons.reset()
    store = Store()
    record_outcome(store, outbound_document("no-resource"), SendOutcome.accepted("wamid.NR"), "1")  # update_item
    store.messages.record_inbound(message_event("hello"))  # update_item
    entry = HistoryEntry(at=1_700_000_000, direction="in", type="text", text="hello", wamid="wamid.IN")
    store.customers.append_history(CUSTOMER, [entry], ttl_seconds=60)  # batch_put
    store.templates.forget("gone")  # query, then delete_item for each

    assert store.outbound.get("no-resource") is not None  # get_item
    assert [line.text for line in store.customers.history(CUSTOMER)] == ["hello"]  # query
    previous, *_ = store.send_context("no-resource", CUSTOMER)  # batch_get, with the contact's keys
    assert previous is not None and previous.wamid == "wamid.NR"


def test_the_public_lookups_read_the_settings_table():
    store = Store()
    record_outcome(store, outbound_document("pub", client_reference="order-1"), SendOutcome.accepted("wamid.P"), "1")

    found = get_outbound("pub")
    assert found is not None and found.wamid == "wamid.P"
    assert [record.idempotency_key for record in find_outbound("order-1")] == ["pub"]
    message = get_message("wamid.P")
    assert message is not None and message.idempotency_key == "pub"
    assert get_outbound("nothing") is None and get_message("wamid.NONE") is None


def test_the_public_lookups_read_a_named_table_too(aws, monkeypatch):
    # A producer's own process: no WACLOUD_TABLE_NAME, the stack's MessagesTableName output instead.
    record_outcome(Store(), outbound_document("named"), SendOutcome.accepted("wamid.N"), "1")
    name = aws.table_names["MessagesTable"]
    monkeypatch.delenv("WACLOUD_TABLE_NAME")
    from wacloud.runtime import singletons

    singletons.reset()

    found = get_outbound("named", table_name=name)
    assert found is not None and found.wamid == "wamid.N"
    assert [r.idempotency_key for r in find_outbound("nothing", table_name=name)] == []
    assert get_message("wamid.N", table_name=name) is not None
