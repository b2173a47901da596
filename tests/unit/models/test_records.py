"""wacloud.models.records: a message's status timeline, a contact's handover, the status ranks."""

from __future__ import annotations

import pytest

from wacloud.models.number_entry import NumberEntry
from wacloud.models.records import (
    FAILABLE_BELOW_RANK,
    FAILED_RANK,
    STATUS_RANK,
    ContactRecord,
    ErrorInfo,
    Handover,
    MessageRecord,
    MessageStatus,
    OptChoice,
    number_scope,
)

M = MessageStatus
LIFECYCLE = [M.ACCEPTED, M.SENT, M.DELIVERED, M.READ, M.PLAYED]


def message(history: dict[str, int]) -> MessageRecord:
    return MessageRecord(wamid="wamid.X", status_history=history)


def test_the_timeline_is_in_time_order_whatever_order_the_statuses_arrived_in():
    record = message({"read": 130, "accepted": 100, "delivered": 120, "sent": 110})
    assert record.timeline() == [("accepted", 100), ("sent", 110), ("delivered", 120), ("read", 130)]


def test_statuses_in_the_same_second_are_in_the_order_a_message_goes_through_them():
    # Meta's timestamps are whole seconds: sent, delivered and read can share one.
    record = message({"read": 100, "delivered": 100, "played": 100, "sent": 100, "accepted": 99})
    assert [status for status, _ in record.timeline()] == ["accepted", "sent", "delivered", "read", "played"]


def test_accepted_recorded_after_metas_first_status_still_comes_first():
    # The record was written after Meta's "sent" (a busy sender; an End User Messaging Social send,
    # whose message record its first status writes): Graph accepted it before Meta reported on it.
    record = message({"sent": 100, "delivered": 101, "accepted": 103})
    assert record.timeline() == [("accepted", 100), ("sent", 100), ("delivered", 101)]


def test_a_failure_in_the_same_second_comes_after_the_lifecycle_statuses():
    record = message({"failed": 100, "sent": 100, "accepted": 100})
    assert [status for status, _ in record.timeline()] == ["accepted", "sent", "failed"]


def test_an_unknown_status_ranks_like_a_failure_and_time_still_comes_first():
    record = message({"deleted": 100, "sent": 100, "delivered": 101})
    assert [status for status, _ in record.timeline()] == ["sent", "deleted", "delivered"]


def test_an_empty_history_has_an_empty_timeline():
    assert MessageRecord(wamid="wamid.X").timeline() == []


def test_status_ranks_follow_the_lifecycle_and_leave_out_received_and_failed():
    assert [STATUS_RANK[status] for status in LIFECYCLE] == sorted(STATUS_RANK[status] for status in LIFECYCLE)
    assert len(set(STATUS_RANK.values())) == len(STATUS_RANK)
    assert set(STATUS_RANK) == set(LIFECYCLE)


def test_failed_ranks_above_every_status_and_fails_only_what_was_not_delivered():
    assert all(rank < FAILED_RANK for rank in STATUS_RANK.values())
    failable = {status for status in LIFECYCLE if STATUS_RANK[status] < FAILABLE_BELOW_RANK}
    assert failable == {M.ACCEPTED, M.SENT}


def test_ranks_are_found_by_the_plain_strings_dynamodb_returns():
    assert STATUS_RANK["delivered"] == STATUS_RANK[M.DELIVERED]


@pytest.mark.parametrize(
    ("handover_until", "now", "handed_over"),
    [
        pytest.param(None, 1_000, False, id="never-handed-over"),
        pytest.param(2_000, 1_000, True, id="until-later"),
        pytest.param(2_000, 1_999, True, id="the-last-second"),
        pytest.param(2_000, 2_000, False, id="ends-at-until"),
        pytest.param(2_000, 3_000, False, id="over"),
    ],
)
def test_a_contact_is_with_a_human_until_the_handover_ends(handover_until, now, handed_over):
    contact = ContactRecord(wa_id="16505551234", handover_until=handover_until)
    assert contact.handed_over(now) is handed_over


def test_records_ignore_fields_they_do_not_know():
    # Items come straight from DynamoDB, keys and all; fields written by a newer version are ignored.
    item = {"pk": "MSG#wamid.X", "sk": "MESSAGE", "wamid": "wamid.X", "status": "sent", "future": 1}
    record = MessageRecord.model_validate(item)
    assert (record.wamid, record.status) == ("wamid.X", M.SENT)
    assert not hasattr(record, "future")
    contact = ContactRecord.model_validate({"pk": "CUST#1", "wa_id": "1", "opted_out": True, "future": 1})
    assert (contact.wa_id, contact.opted_out) == ("1", True)
    error = ErrorInfo.model_validate({"code": 131026, "error_data": {"details": "x"}})
    assert error == ErrorInfo(code=131026)


def test_a_contact_has_not_opted_out_by_default():
    contact = ContactRecord(wa_id="1")
    assert (contact.opted_out, contact.last_inbound_at, contact.handed_over(0)) == (False, None, False)


# --- per number (issue 20) -----------------------------------------------------------------------

DEFAULT = NumberEntry(phone_number_id="100", default=True)
SALES = NumberEntry(phone_number_id="200")  # business-wide opt-outs
SUPPORT = NumberEntry(phone_number_id="300", opt_out_scope="number")


def test_the_default_number_reads_the_unsuffixed_fields_and_other_numbers_their_own():
    contact = ContactRecord(
        last_inbound_at=100, first_inbound_wamid="w.D", windows={"200": 300}, first_wamids={"200": "w.S"}
    )
    assert number_scope(None) == number_scope(DEFAULT) == "" and number_scope(SALES) == "200"
    assert (contact.window_for(None), contact.window_for(DEFAULT), contact.first_wamid_for(DEFAULT)) == (
        100,
        100,
        "w.D",
    )
    assert (contact.window_for(SALES), contact.first_wamid_for(SALES)) == (300, "w.S")
    assert contact.window_for(SUPPORT) is None and contact.first_wamid_for(SUPPORT) is None


def test_the_unsuffixed_keys_are_the_number_the_registry_says_keeps_them_not_the_default_s():
    moved = NumberEntry(phone_number_id="200", default=True, unsuffixed_keys=False)  # the default, moved here
    own = NumberEntry(phone_number_id="100", unsuffixed_keys=True)  # the stack's own number

    assert (number_scope(moved), number_scope(own)) == ("200", "")
    assert ContactRecord(last_inbound_at=100).window_for(moved) is None


def opts(business: tuple[bool, int] | None, own: tuple[bool, int] | None) -> ContactRecord:
    fields = {"opted_out": business[0], "opt_changed_at": business[1], "opt_keyword": "b"} if business else {}
    number_opts = {"300": OptChoice(opted_out=own[0], opt_changed_at=own[1], opt_keyword="n")} if own else {}
    return ContactRecord(**fields, number_opts=number_opts)


@pytest.mark.parametrize(
    ("business", "own", "for_support", "for_sales"),
    [((True, 10), None, "b", "b"),  # a business-wide opt-out binds every number
     ((True, 10), (False, 20), None, "b"),  # an opt-in said to a number reopens it alone
     ((True, 20), (False, 10), "b", "b"),  # ... until the next business-wide opt-out
     ((True, 10), (False, 10), "b", "b"),  # the same second: the opt-out
     (None, (True, 10), "n", None),  # an opt-out said to a number binds it alone
     ((False, 20), (True, 10), "n", None)],  # a business-wide opt-in does not undo it
    ids=["business-out", "number-in-reopens", "later-business-out", "same-second", "number-out", "business-in"],
)  # fmt: skip
def test_an_opt_out_binds_the_numbers_of_its_scope(business, own, for_support, for_sales):
    contact = opts(business, own)
    support, sales = contact.opt_out_for(SUPPORT), contact.opt_out_for(SALES)
    assert (support.opt_keyword if support else None, sales.opt_keyword if sales else None) == (for_support, for_sales)
    assert contact.opted_out_for(SALES) is (for_sales is not None)
    assert contact.opt_out_for(None) == contact.opt_out_for(DEFAULT) == sales  # the default's scope: business


def test_a_handover_is_the_numbers_own():
    contact = ContactRecord(handover_until=200, handover_wamid="w.D", handovers={"200": Handover(handover_until=500)})
    assert contact.handed_over_for(DEFAULT, 100) and not contact.handed_over_for(DEFAULT, 300)
    assert contact.handed_over_for(SALES, 300) and not contact.handed_over_for(SUPPORT, 100)
    assert contact.handover_for(DEFAULT).handover_wamid == "w.D" and contact.handover_for(SUPPORT) == Handover()
