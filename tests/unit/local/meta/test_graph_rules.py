"""What the simulated Graph refuses, with Meta's codes: a malformed body (100), outside the 24-hour
window (131047), past the number's throughput (130429), past the pair rate (131056)."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.local.meta.graph_rules import GraphRules, RuleSettings

PNID = "100000000000001"


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def text(to: str = "+16505551234", body: str = "hi") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def template(to: str = "+16505551234") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }


def rules(**settings: Any) -> tuple[GraphRules, Clock, Clock]:
    monotonic, wall = Clock(), Clock(1_800_000_000.0)
    return GraphRules(RuleSettings(**settings), clock=monotonic, wall_clock=wall), monotonic, wall


def code(answer: tuple[int, dict[str, Any]] | None) -> int | None:
    return None if answer is None else answer[1]["error"]["code"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"to": "+1650", "type": "text", "text": {"body": "x"}}, "messaging_product"),
        ({**text(), "text": {"body": "x" * 4097}}, "text.body"),
        ({**text(), "type": "hologram"}, "hologram"),
        ({**text(), "unexpected": 1}, "unexpected"),
        ({"messaging_product": "whatsapp", "to": "+1", "type": "image", "image": {"s3_key": "a.jpg"}}, "s3_key"),
    ],
    ids=["no-product", "too-long", "unknown-type", "unknown-key", "our-s3-key"],
)
def test_a_malformed_body_is_100_with_the_details(body, detail):
    graph_rules, _, _ = rules(enforce_window=False)
    answer = graph_rules.check(PNID, body)
    assert answer is not None and answer[0] == 400 and code(answer) == 100
    assert detail in str(answer[1]["error"]), answer


def test_free_form_messages_need_the_customer_to_have_written_in_the_last_24_hours():
    graph_rules, _, wall = rules()
    assert code(graph_rules.check(PNID, text())) == 131047  # never wrote
    assert graph_rules.check(PNID, template()) is None  # templates may always go

    graph_rules.customer_wrote("16505551234")
    assert graph_rules.check(PNID, text("+1 (650) 555-1234")) is None  # any format of the number
    wall.now += 24 * 3600
    assert graph_rules.check(PNID, text()) is None
    wall.now += 1
    answer = graph_rules.check(PNID, text())
    assert code(answer) == 131047 and "24 hours" in answer[1]["error"]["error_data"]["details"]


def test_a_window_is_with_the_number_written_to():
    graph_rules, _, _ = rules()
    graph_rules.customer_wrote("16505551234", number="100000000000002")
    assert graph_rules.check("100000000000002", text()) is None
    assert code(graph_rules.check(PNID, text())) == 131047  # the other number's window is closed


def test_read_receipts_are_never_limited():
    graph_rules, _, _ = rules(throughput_per_second=1)
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    assert all(graph_rules.check(PNID, receipt) is None for _ in range(5))


def test_the_numbers_throughput_refuses_what_goes_past_it_then_recovers():
    graph_rules, clock, _ = rules(enforce_window=False, throughput_per_second=3, pair_limit=None)
    answers = [code(graph_rules.check(PNID, text(f"+1650555{i:04d}"))) for i in range(5)]
    assert answers == [None, None, None, 130429, 130429]
    clock.now += 1 / 3  # a third of a second: room for one more
    assert graph_rules.check(PNID, text("+16505559999")) is None
    assert code(graph_rules.check(PNID, text("+16505559998"))) == 130429
    assert graph_rules.check("200000000000002", text("+16505559997")) is None  # per number


def test_the_pair_rate_allows_a_burst_then_one_message_per_6_seconds():
    graph_rules, clock, _ = rules(enforce_window=False, throughput_per_second=None, pair_limit=3)
    assert [code(graph_rules.check(PNID, text())) for _ in range(4)] == [None, None, None, 131056]
    assert graph_rules.check(PNID, text("+16505550000")) is None  # another customer is fine
    clock.now += 5.9
    assert code(graph_rules.check(PNID, text())) == 131056
    clock.now += 0.2  # 6 s: one more
    assert graph_rules.check(PNID, text()) is None
    assert code(graph_rules.check(PNID, text())) == 131056


def test_the_window_also_counts_messages_the_store_knows_of():
    known = {"16505551234": 1_800_000_000.0 - 3600}
    graph_rules = GraphRules(RuleSettings(), clock=Clock(), wall_clock=Clock(1_800_000_000.0), last_inbound=known.get)
    assert graph_rules.check(PNID, text()) is None
    assert code(graph_rules.check(PNID, text("+447700900123"))) == 131047


BSUID = "US.13491208655302741918"


def test_the_marketing_messages_endpoint_takes_template_messages_only():
    graph_rules, _, _ = rules(enforce_window=False)
    answer = graph_rules.check(PNID, text(), endpoint="marketing_messages")
    assert code(answer) == 100 and "template messages only" in answer[1]["error"]["error_data"]["details"]
    assert (
        graph_rules.check(PNID, {**template(), "message_activity_sharing": True}, endpoint="marketing_messages") is None
    )
    sharing = {**template(), "message_activity_sharing": "yes"}
    assert code(graph_rules.check(PNID, sharing, endpoint="marketing_messages")) == 100


def test_a_body_with_both_to_and_recipient_is_100():
    graph_rules, _, _ = rules(enforce_window=False)
    assert code(graph_rules.check(PNID, {**text(), "recipient": BSUID})) == 100
    assert code(graph_rules.check(PNID, text(BSUID))) == 100  # a BSUID goes in recipient, not to


def test_the_window_is_found_by_business_scoped_user_id_too():
    graph_rules, _, _ = rules()
    by_user_id = {**text(), "recipient": BSUID}
    del by_user_id["to"]
    assert code(graph_rules.check(PNID, by_user_id)) == 131047
    graph_rules.customer_wrote(BSUID)
    assert graph_rules.check(PNID, by_user_id) is None


def test_a_group_message_is_taken_without_a_window():
    graph_rules, _, _ = rules()
    group = {**text(), "recipient_type": "group", "to": "Y2FwaV9ncm91cDoxMjM0"}
    assert graph_rules.check(PNID, group) is None
