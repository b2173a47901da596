"""The simulated Meta side of the local run, driven through the whole pipeline: customers who write
any message type, Graph refusing what Graph refuses, statuses (failed too), faults on request, a
token rotation, and what the chat view reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from wacloud.adapters.store import Store
from wacloud.local.meta.graph_rules import RuleSettings
from wacloud.local.pipeline import LocalPipeline, PipelineOptions

CUSTOMER = "16505551234"
HELLO = {"type": "text", "text": {"body": "Hello"}}


def start(**options: Any) -> LocalPipeline:
    return LocalPipeline(PipelineOptions(**{"background": False, "retry_delay": 0, **options})).start()


@pytest.fixture
def pipeline() -> Iterator[LocalPipeline]:
    with mock_aws():
        local = start()
        try:
            yield local
        finally:
            local.stop()


def send(pipeline: LocalPipeline, key: str, to: str = CUSTOMER, **message: Any) -> None:
    body = message or {"type": "text", "text": {"body": key}}
    pipeline.send_outbound({"idempotency_key": key, "message": {"to": f"+{to}", **body}})


def outbound(key: str) -> Any:
    record = Store().outbound.get(key)
    assert record is not None, key
    return record


def conversation(pipeline: LocalPipeline, wa_id: str = CUSTOMER) -> list[dict[str, Any]]:
    customer = next(c for c in pipeline.simulator.state()["customers"] if c["wa_id"] == wa_id)
    return customer["bubbles"]


def inbound_types(pipeline: LocalPipeline) -> list[str]:
    return [b["type"] for b in conversation(pipeline) if b["direction"] == "in"]


def test_a_customer_can_send_every_kind_of_message_and_the_processor_stores_it(pipeline):
    photo = pipeline.graph.add_media(b"\xff\xd8\xff\xe0 photo", "image/jpeg")
    messages = [
        {"type": "text", "text": {"body": "Hi"}},
        {"type": "image", "image": {"id": photo, "mime_type": "image/jpeg", "caption": "receipt"}},
        {"type": "location", "location": {"latitude": 37.48, "longitude": -122.14, "name": "HQ"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+1 650"}]}]},
        {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes"}}},
        {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row"}}},
        {"type": "button", "button": {"payload": "STOP_PROMOS", "text": "Stop promotions"}},
    ]
    wamids = []
    for message in messages:
        body, status, _ = pipeline.simulator.customer_sends(CUSTOMER, message, name="Ana")
        assert status == 200
        wamids.append(body["entry"][0]["changes"][0]["value"]["messages"][0]["id"])
    pipeline.drain()

    store = Store()
    assert [store.messages.get(w).type for w in wamids] == [m["type"] for m in messages]
    assert store.messages.get(wamids[1]).media is not None  # the photo was archived from the simulator
    assert inbound_types(pipeline) == [m["type"] for m in messages]
    # The business read them (read receipts): the customer sees blue ticks on every message.
    assert {b["status"] for b in conversation(pipeline) if b["direction"] == "in"} == {"read"}


def test_a_reaction_lands_on_the_message_it_reacts_to(pipeline):
    send(pipeline, "hello-ana")
    pipeline.simulator.customer_sends(CUSTOMER, {"type": "text", "text": {"body": "hi"}})  # opens the window
    pipeline.drain()
    sent = next(b for b in conversation(pipeline) if b["direction"] == "out" and b["type"] == "text")

    pipeline.simulator.customer_sends(
        CUSTOMER, {"type": "reaction", "reaction": {"message_id": sent["id"], "emoji": "👍"}}
    )
    pipeline.drain()

    assert next(b for b in conversation(pipeline) if b["id"] == sent["id"])["reaction"] == "👍"
    assert "reaction" not in inbound_types(pipeline)  # a reaction is not a message of its own


def test_graph_refuses_free_form_messages_outside_the_window_with_131047():
    with mock_aws():
        local = start(parameters={"EnforceCustomerServiceWindow": "false"})  # the sender does not refuse first
        try:
            send(local, "cold-outreach", to="447700900123")
            local.drain()
            record = outbound("cold-outreach")
            assert (record.state, record.error.code) == ("failed", 131047)
            assert "24 hours" in record.error.details
        finally:
            local.stop()


def test_past_the_numbers_throughput_sends_are_retried_and_none_is_lost():
    import time

    with mock_aws():
        local = start(
            # One message a second: five sends at once pass it even on a slow, busy machine.
            rules=RuleSettings(enforce_window=False, throughput_per_second=1, pair_limit=None),
            parameters={"EnforceCustomerServiceWindow": "false"},
            retry_delay=1,  # the sender backs off (1 s, then 2 s, ...) as it does deployed (30 s, ...)
        )
        try:
            for i in range(5):
                send(local, f"campaign-{i}", to=f"44770090{i:04d}")
            deadline = time.monotonic() + 90  # the retries back off 1, 2, 4 s...: done well before
            while len(local.graph.messages()) < 5 and time.monotonic() < deadline:
                local.drain()
                time.sleep(0.3)
            refused = [r for r in local.graph.requests_to("messages") if r.status == 400]
            assert refused and {r.response["error"]["code"] for r in refused} == {130429}
            assert sorted(r.body["to"] for r in local.graph.messages()) == [f"+44770090{i:04d}" for i in range(5)]
            assert all(outbound(f"campaign-{i}").state == "accepted" for i in range(5))
        finally:
            local.stop()


def test_an_unreachable_customer_gets_a_failed_status_with_metas_error(pipeline):
    pipeline.simulator.customer_sends(CUSTOMER, {"type": "text", "text": {"body": "hi"}})
    pipeline.drain()
    pipeline.simulator.configure_customer(CUSTOMER, unreachable=131026)

    send(pipeline, "to-a-lost-phone")
    pipeline.drain()

    record = Store().messages.get(outbound("to-a-lost-phone").wamid)
    assert (record.status, record.error.code, record.error.title) == ("failed", 131026, "Message undeliverable")
    bubble = next(b for b in conversation(pipeline) if b["id"] == record.wamid)
    assert (bubble["status"], bubble["error"]["code"]) == ("failed", 131026)


def test_an_error_rate_makes_sends_fail_and_retry_until_it_is_lifted(pipeline):
    pipeline.simulator.customer_sends(CUSTOMER, {"type": "text", "text": {"body": "hi"}})
    pipeline.drain()
    pipeline.simulator.configure({"error_rate": 1.0})

    send(pipeline, "during-outage")
    for _ in range(3):
        pipeline.pollers[1].poll_once()
    assert (outbound("during-outage").state, outbound("during-outage").error.code) == ("retrying", 131000)

    pipeline.simulator.configure({"error_rate": 0})
    pipeline.drain()
    assert outbound("during-outage").state == "accepted"


def test_a_token_rotation_is_picked_up_by_the_sender(pipeline):
    pipeline.simulator.customer_sends(CUSTOMER, {"type": "text", "text": {"body": "hi"}})
    pipeline.drain()
    before = len(pipeline.graph.requests_to("messages"))

    pipeline.simulator.rotate_token()
    send(pipeline, "after-rotation")
    pipeline.drain()

    statuses = [r.status for r in pipeline.graph.requests_to("messages")[before:]]
    assert statuses[:2] == [401, 200]  # the cached token refused once, the secret re-read
    assert outbound("after-rotation").state == "accepted"


def test_a_template_shows_with_its_parameters_filled_in(pipeline):
    template = {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "order_id", "text": "1234"},
                    {"type": "text", "parameter_name": "total", "text": "$12.50"},
                ],
            },
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1234"}]},
        ],
    }
    send(pipeline, "template-1", type="template", template=template)
    pipeline.drain()

    (bubble,) = [b for b in conversation(pipeline) if b["type"] == "template"]
    assert bubble["rendered"]["body"] == "Your order 1234 is on its way. Total: $12.50."
    assert bubble["rendered"]["buttons"] == [{"type": "URL", "text": "Track it", "url": "https://example.com/t/1234"}]
    assert bubble["status"] == "read"


def test_the_simulator_api_over_http(pipeline):
    import requests

    base, ours = pipeline.graph.url, {"X-Wacloud-Simulator": "1"}
    page = requests.get(f"{base}/", timeout=5)
    assert page.status_code == 200 and "WhatsApp simulator" in page.text
    answer = requests.post(
        f"{base}/_sim/customers/{CUSTOMER}/messages", json={"text": "Hi", "name": "Ana"}, headers=ours, timeout=5
    )
    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200
    uploaded = requests.post(
        f"{base}/_sim/customers/{CUSTOMER}/media",
        data=b"\x89PNG...",
        headers={"Content-Type": "image/png", **ours},
        timeout=5,
    ).json()
    assert requests.get(f"{base}/_sim/media/{uploaded['id']}", timeout=5).content == b"\x89PNG..."
    refused = requests.post(f"{base}/_sim/settings", json={"error_rat": 1}, headers=ours, timeout=5)
    assert refused.status_code == 400 and "unknown setting" in refused.json()["error"]
    wrong = requests.post(f"{base}/_sim/settings", json={"latency_ms": 5, "pair_limit": [1]}, headers=ours, timeout=5)
    assert wrong.status_code == 400 and "wrong type" in wrong.json()["error"]
    assert pipeline.simulator.settings()["latency_ms"] == 0  # all or nothing
    assert (
        requests.post(f"{base}/_sim/settings", json={"enforce_window": "false"}, headers=ours, timeout=5).json()[
            "enforce_window"
        ]
        is False
    )
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert [c["name"] for c in state["customers"]] == ["Ana"]
    assert json.dumps(state)  # all of it is JSON


def test_the_simulator_refuses_cross_site_and_rebound_requests(pipeline):
    import requests

    base = pipeline.graph.url
    # A page elsewhere can POST text/plain without a preflight, but it cannot add the header.
    forged = requests.post(f"{base}/_sim/rotate-token", data="{}", headers={"Content-Type": "text/plain"}, timeout=5)
    assert forged.status_code == 403
    # DNS rebinding: the same port, reached under another name.
    rebound = requests.get(f"{base}/_sim/state", headers={"Host": "evil.example"}, timeout=5)
    assert rebound.status_code == 403
    assert pipeline.graph.access_token == pipeline.secret["access_token"]  # nothing rotated


def test_a_message_that_reached_the_webhook_without_the_simulator_opens_the_window_too(pipeline):
    import boto3

    from wacloud.inbound.parse import parse_webhook
    from wacloud.local.meta.webhooks import text_message
    from wacloud.models.events import dump_event

    # Straight to the front door (curl, another client): Meta would have delivered it.
    direct = text_message("from curl", phone_number_id=pipeline.phone_number_id, sender="447700900001")
    assert pipeline._post(direct)[0] == 200
    # Straight onto the inbound queue (as `wacloud invoke webhook` does): the store knows of it.
    (event,) = parse_webhook(
        text_message("from invoke", phone_number_id=pipeline.phone_number_id, sender="447700900002")
    )
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=pipeline.stack.queue_urls["InboundQueue"],
        MessageBody=dump_event(event),
        MessageGroupId=event.group,
        MessageDeduplicationId="invoke-1",
    )
    pipeline.drain()

    replies = {r.body["to"]: r.status for r in pipeline.graph.requests_to("messages") if r.body.get("type") == "text"}
    assert replies == {"+447700900001": 200, "+447700900002": 200}  # no 131047
    assert "447700900001" in pipeline.simulator.customers  # and the chat view shows the conversation


def answers_to(pipeline: LocalPipeline, wamid: str) -> set[tuple[str, str]]:
    """(route, number) of what the business sent about a message: its read receipt and its replies."""
    with pipeline.graph._lock:
        requests = list(pipeline.graph.requests)
    sent = [r for r in requests if isinstance(r.body, dict) and r.body.get("message_id") == wamid]
    return {(r.route, r.phone_number_id) for r in [*sent, *pipeline.graph.replies_to(wamid)]}


@pytest.fixture
def answering(tmp_path) -> Iterator[LocalPipeline]:
    """A pipeline whose business answers every message, a group's too (a fallback `in_groups`)."""
    rules = tmp_path / "rules.json"
    fallback = {"reply": {"type": "text", "text": {"body": "Thanks, we are on it"}}, "in_groups": True}
    rules.write_text(json.dumps({"version": 1, "rules": [], "fallback": fallback}), encoding="utf-8")
    with mock_aws():
        local = start(parameters={"ConversationRules": str(rules)})
        try:
            yield local
        finally:
            local.stop()


def test_a_group_of_the_second_number_is_that_numbers_both_ways(answering):
    """Made through the second number, or first written to through it: its webhooks name that number,
    a participant's later message too (without naming one), and the answers leave from it."""
    pipeline = answering
    second = pipeline.eum_number.phone_number_id
    pipeline.simulator.group("GROUP-MADE", subject="Made there", participants=[CUSTOMER], phone_number_id=second)
    made, status, answer = pipeline.simulator.customer_sends(CUSTOMER, HELLO, group_id="GROUP-MADE")
    assert status == 200, answer
    written, _, _ = pipeline.simulator.customer_sends(CUSTOMER, HELLO, group_id="GROUP-NEW", phone_number_id=second)
    again, _, _ = pipeline.simulator.customer_sends(CUSTOMER, HELLO, group_id="GROUP-NEW")
    pipeline.drain()

    store = Store()
    for body in (made, written, again):
        assert body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] == second
        wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        stored = store.messages.get(wamid)
        assert stored is not None and stored.phone_number_id == second
        assert pipeline.graph.replies_to(wamid), "the group was answered"
        assert answers_to(pipeline, wamid) == {("eum_send", second)}
    groups = {g["id"]: g for g in pipeline.simulator.state()["groups"]}
    assert {g["phone_number_id"] for g in groups.values()} == {second}
    assert {b["phone_number_id"] for g in groups.values() for b in g["bubbles"]} == {second}
    first = pipeline.phone_number_id  # a group keeps its number
    with pytest.raises(ValueError, match="is number"):
        pipeline.simulator.customer_sends(CUSTOMER, HELLO, group_id="GROUP-NEW", phone_number_id=first)


def test_a_group_first_written_to_without_a_number_is_the_default_numbers(answering):
    pipeline = answering
    body, _, _ = pipeline.simulator.customer_sends(CUSTOMER, HELLO, group_id="GROUP-DEFAULT")
    pipeline.drain()
    assert body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] == pipeline.phone_number_id
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert answers_to(pipeline, wamid) == {("messages", pipeline.phone_number_id)}
