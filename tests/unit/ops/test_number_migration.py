"""wacloud.ops.number_migration: what a stack kept before it served several numbers, carried over to
the number each record belongs to; every opt-out kept, and running it again changes nothing (moto)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import boto3
import pytest

from tests.conftest import PHONE_NUMBER_ID, SESSION
from wacloud.adapters.credentials import SecretReader
from wacloud.adapters.registry import NumberRegistry
from wacloud.adapters.store import Store
from wacloud.config import get_settings
from wacloud.models.number_entry import NumberEntry
from wacloud.models.outbound import OutboundMessage
from wacloud.ops.number_migration import migrate_numbers
from wacloud.outbound.policy import refusal

pytestmark = pytest.mark.usefixtures("aws")
NOW = int(time.time())
OPTED_OUT, WROTE_BOTH = "16505551234", "447700900123"
SECOND = NumberEntry(phone_number_id="100000000000002", opt_out_scope="number")
TEMPLATE = OutboundMessage.model_validate(
    {
        "idempotency_key": "t",
        "message": {"to": f"+{OPTED_OUT}", "type": "template", "template": {"name": "hi", "language": {"code": "en"}}},
    }
)


def table(aws: Any) -> Any:
    return SESSION.resource("dynamodb").Table(aws.table_names["MessagesTable"])


def everything(aws: Any) -> list[dict[str, Any]]:
    return sorted(table(aws).scan()["Items"], key=lambda item: (item["pk"], item["sk"]))


def legacy_items() -> list[dict[str, Any]]:
    """What the single-number version wrote: an opted-out customer, and one who wrote to the stack's
    number yesterday and to a second number (its webhook was not checked) an hour ago, which
    started a handover; their history holds both conversations."""
    at_a, at_b = NOW - 86_000, NOW - 3600
    contact = f"CONTACT#{WROTE_BOTH}"
    return [
        {"pk": f"CONTACT#{OPTED_OUT}", "sk": "PROFILE", "wa_id": OPTED_OUT, "last_inbound_at": at_a},
        {"pk": f"CONTACT#{OPTED_OUT}", "sk": "OPT", "opted_out": True, "opt_changed_at": at_a, "opt_keyword": "STOP"},
        {
            "pk": contact,
            "sk": "PROFILE",
            "wa_id": WROTE_BOTH,
            "last_inbound_at": at_b,
            "last_inbound_wamid": "wamid.B",
            "first_inbound_wamid": "wamid.A",
        },
        {"pk": contact, "sk": "HANDOVER", "handover_until": NOW + 3600, "handover_at": at_b,
         "handover_wamid": "wamid.B"},
        {"pk": contact, "sk": f"HIST#{at_a:011d}#in#wamid.A#00", "at": at_a, "direction": "in", "type": "text",
         "wamid": "wamid.A"},
        {"pk": contact, "sk": f"HIST#{at_b:011d}#in#wamid.B#00", "at": at_b, "direction": "in", "type": "text",
         "wamid": "wamid.B", "text": "agent please"},
        {"pk": contact, "sk": f"HIST#{at_b:011d}#out#wamid.B#01", "at": at_b, "direction": "out", "type": "text",
         "wamid": "wamid.B", "rule": "agent"},
        message("wamid.A", PHONE_NUMBER_ID, at_a),
        message("wamid.B", SECOND.phone_number_id, at_b),
    ]  # fmt: skip


def message(wamid: str, number: str, at: int) -> dict[str, Any]:
    return {
        "pk": f"MSG#{wamid}",
        "sk": "MESSAGE",
        "wamid": wamid,
        "direction": "in",
        "customer": WROTE_BOTH,
        "phone_number_id": number,
        "at_received": at,
    }


@pytest.fixture
def registry() -> NumberRegistry:
    registry = NumberRegistry.for_settings(SecretReader(boto3.client("secretsmanager"), max_age=0), get_settings())
    registry.put(SECOND)
    return registry


def test_migrating_carries_each_numbers_records_over_keeps_the_old_and_changes_nothing_the_second_time(
    aws: Any, registry: NumberRegistry
) -> None:
    legacy = legacy_items()
    for item in legacy:
        table(aws).put_item(Item=item)
    store = Store()

    first = migrate_numbers(store, registry)
    after_first = everything(aws)
    again = migrate_numbers(store, registry)

    assert everything(aws) == after_first
    kept = {(item["pk"], item["sk"]): item for item in after_first}
    for item in legacy_items():  # every item kept before is there, with what it held (a profile gains windows)
        assert kept[item["pk"], item["sk"]] | item == kept[item["pk"], item["sk"]], item["sk"]
    assert (first.default_number, first.pinned, again.pinned) == (PHONE_NUMBER_ID, True, False)
    assert (first.customers, first.opt_outs, first.messages, first.other_numbers) == (2, 1, 2, [SECOND.phone_number_id])
    assert (first.windows, first.handovers, first.history) == (1, 1, 2)
    assert (again.windows, again.handovers) == (0, 0)
    assert registry.stored()[PHONE_NUMBER_ID].default  # the default number no longer follows PhoneNumberId

    contact = store.customers.get(WROTE_BOTH, SECOND)
    assert contact is not None
    assert (contact.window_for(SECOND), contact.last_wamids, contact.first_wamid_for(SECOND)) == (
        NOW - 3600,
        {SECOND.phone_number_id: "wamid.B"},
        "wamid.B",
    )
    assert contact.handed_over_for(SECOND, NOW) and contact.handed_over_for(None, NOW)  # the old one until it ends
    said = [(line.direction, line.text) for line in store.customers.history(WROTE_BOTH, entry=SECOND)]
    assert said == [("in", "agent please"), ("out", None)]  # what the second number's bot reads
    assert len(store.customers.history(WROTE_BOTH)) == 3


def test_an_opt_out_kept_before_binds_every_number_until_a_number_scoped_opt_in_reopens_that_one(
    aws: Any, registry: NumberRegistry
) -> None:
    for item in legacy_items():
        table(aws).put_item(Item=item)
    store = Store()
    migrate_numbers(store, registry)
    default = registry.default()

    def refused_from(entry: NumberEntry | None) -> str | None:
        _, contact, _ = store.send_context("t", OPTED_OUT, entry=entry)
        return refusal(TEMPLATE, contact, get_settings(), NOW, entry=entry)

    assert "opted out" in (refused_from(default) or "") and "opted out" in (refused_from(SECOND) or "")

    store.customers.set_opt_out(OPTED_OUT, False, at=NOW, keyword="START", entry=SECOND)

    assert refused_from(SECOND) is None
    assert "opted out" in (refused_from(default) or "")
    assert table(aws).get_item(Key={"pk": f"CONTACT#{OPTED_OUT}", "sk": "OPT"})["Item"]["opted_out"] is True


def test_a_second_run_leaves_a_handover_released_since_the_first_released(aws: Any, registry: NumberRegistry) -> None:
    for item in legacy_items():
        table(aws).put_item(Item=item)
    store = Store()
    assert migrate_numbers(store, registry).handovers == 1
    store.customers.release_handover(WROTE_BOTH, SECOND)  # the agent is done on the second number

    again = migrate_numbers(store, registry)

    assert again.handovers == 0
    assert not store.customers.get(WROTE_BOTH, SECOND).handed_over_for(SECOND, NOW)  # type: ignore[union-attr]
    source = table(aws).get_item(Key={"pk": f"CONTACT#{WROTE_BOTH}", "sk": "HANDOVER"})["Item"]
    assert source["handover_until"] == NOW + 3600 and source["copied_wamid"] == "wamid.B"  # kept, marked


def test_a_run_stopped_before_marking_copies_again_and_a_new_handover_is_copied_once(
    aws: Any, registry: NumberRegistry
) -> None:
    for item in legacy_items():
        table(aws).put_item(Item=item)
    key = {"pk": f"CONTACT#{WROTE_BOTH}", "sk": "HANDOVER"}
    table(aws).update_item(Key=key, UpdateExpression="SET copied_wamid = :old", ExpressionAttributeValues={":old": "x"})
    store = Store()

    assert migrate_numbers(store, registry).handovers == 1  # another handover's mark: this one is copied
    assert table(aws).get_item(Key=key)["Item"]["copied_wamid"] == "wamid.B"
    copy = table(aws).get_item(Key={**key, "sk": f"HANDOVER#{SECOND.phone_number_id}"})["Item"]
    assert "copied_wamid" not in copy and copy["handover_wamid"] == "wamid.B"


def test_the_stack_s_own_number_is_pinned_even_when_another_is_the_default(aws: Any, registry: NumberRegistry) -> None:
    for item in legacy_items():
        table(aws).put_item(Item=item)
    registry.put(dataclasses.replace(SECOND, default=True))  # `wacloud numbers add <second> --default`
    store = Store()

    report = migrate_numbers(store, registry)

    assert (report.default_number, report.unsuffixed_number, report.pinned) == (
        SECOND.phone_number_id,
        PHONE_NUMBER_ID,
        True,
    )
    stored = registry.stored()
    assert stored[PHONE_NUMBER_ID].unsuffixed_keys and not stored[PHONE_NUMBER_ID].default
    assert stored[SECOND.phone_number_id].default  # the default stays where it was put
    # The second number, default or not, gets its own window and handover; the old ones stay the stack's.
    assert (report.windows, report.handovers) == (1, 1)
    second = registry.default()
    contact = store.customers.get(WROTE_BOTH, second)
    assert contact is not None and contact.window_for(second) == NOW - 3600
    assert contact.window_for(registry.unsuffixed()) == NOW - 3600  # the unsuffixed one, kept


def test_messages_to_another_business_s_number_are_counted_and_never_carried_onto_the_default_s_customers(
    aws: Any, registry: NumberRegistry
) -> None:
    # brand-b's customer with the same phone number as ours wrote to brand-b's number: that is
    # brand-b's customer (`customer_keys`), not the default business's of the same address.
    brand_b = NumberEntry(phone_number_id="100000000000003", business="brand-b")
    registry.put(brand_b)
    for item in [*legacy_items(), message("wamid.C", brand_b.phone_number_id, NOW - 60)]:
        table(aws).put_item(Item=item)
    store = Store()

    report = migrate_numbers(store, registry)

    assert (report.messages, report.other_business, report.other_numbers) == (3, 1, [SECOND.phone_number_id])
    assert (report.windows, report.handovers, report.history) == (1, 1, 2)  # the second number's, as before
    profile = table(aws).get_item(Key={"pk": f"CONTACT#{WROTE_BOTH}", "sk": "PROFILE"})["Item"]
    assert not [name for name in profile if name.endswith(brand_b.phone_number_id)]
