"""A whole exchange with the shipped rules file (functions/processor/rules.json), through the local
pipeline: webhook, processor, sender, the fake Graph API and the status webhooks back."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ROOT
from wacloud.adapters.store import Store
from wacloud.local.meta.webhooks import interactive_reply
from wacloud.local.pipeline import LocalPipeline

CUSTOMER = "16505551234"
RULES = json.loads((ROOT / "functions" / "processor" / "rules.json").read_text())
REPLIES = {rule["name"]: rule["reply"] for rule in RULES["rules"]}


def said(pipeline: LocalPipeline, wamid: str) -> list[str]:
    """What the business answered to one customer message, as Graph received it."""
    texts = []
    for request in pipeline.graph.replies_to(wamid):
        body = request.body
        texts.append(body["text"]["body"] if body["type"] == "text" else body["interactive"]["body"]["text"])
    return texts


def text_of(rule: str, **values: str) -> str:
    reply = REPLIES[rule][0] if isinstance(REPLIES[rule], list) else REPLIES[rule]
    text = reply["text"]["body"] if reply["type"] == "text" else reply["interactive"]["body"]["text"]
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def customer(pipeline: LocalPipeline, words: str) -> str:
    body, (status, _) = pipeline.customer_says(words, sender=CUSTOMER, name="Ana")
    assert status == 200
    pipeline.drain()
    return body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def taps(pipeline: LocalPipeline, choice: str, title: str) -> str:
    body: dict[str, Any] = interactive_reply(
        "button_reply", choice, title, phone_number_id=pipeline.phone_number_id, sender=CUSTOMER, name="Ana"
    )
    assert pipeline.post_webhook(body)[0] == 200
    pipeline.drain()
    return body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def test_a_customer_is_greeted_uses_the_menu_is_handed_over_opts_out_and_back_in(pipeline):
    # A first message: the greeting, with the read receipt showing "typing..." first
    hello = customer(pipeline, "Good morning")
    assert said(pipeline, hello) == [text_of("greeting", profile_name="Ana")]
    receipt = next(r for r in pipeline.graph.requests if r.body.get("message_id") == hello)
    assert receipt.body["typing_indicator"] == {"type": "text"}

    # The menu by keyword, then a tap on one of its buttons, then an order number by regex
    menu = customer(pipeline, "menu")
    assert said(pipeline, menu) == [text_of("menu", profile_name="Ana")]
    assert said(pipeline, taps(pipeline, "order-status", "Where's my order?")) == [text_of("order-status")]
    order = customer(pipeline, "It is #1234")
    assert said(pipeline, order) == [text_of("order-number", text="It is #1234")]

    # Asking for a person hands the customer over: automatic replies stop
    assert said(pipeline, taps(pipeline, "agent", "Talk to a person")) == [text_of("agent")]
    assert said(pipeline, customer(pipeline, "hello? anyone?")) == []
    Store().customers.release_handover(CUSTOMER)  # the colleague is done

    # STOP is honoured before any rule; START brings the answers back
    assert said(pipeline, customer(pipeline, "STOP")) == []
    assert Store().customers.get(CUSTOMER).opted_out
    again = customer(pipeline, "START")
    assert said(pipeline, again) in ([text_of("after-hours")], [RULES["fallback"]["reply"]["text"]["body"]])

    # Every answer went out once, and its statuses came back
    store = Store()
    for request in pipeline.graph.messages():
        assert store.messages.get(request.wamid).status == "read"
    assert len({r.body["biz_opaque_callback_data"] for r in pipeline.graph.messages()}) == len(
        pipeline.graph.messages()
    )
    # The conversation is in the history, answers tagged with what decided them, each answer after
    # the message it answered (messages within one second are ordered by id: Meta's timestamps
    # have a one-second resolution)
    history = store.customers.history(CUSTOMER, limit=50)
    assert {h.rule for h in history if h.direction == "out"} >= {
        "greeting",
        "menu",
        "order-status",
        "order-number",
        "agent",
    }
    assert {h.text for h in history if h.direction == "in"} >= {
        "Good morning",
        "menu",
        "Where's my order?",
        "It is #1234",
    }
    for position, entry in enumerate(history):
        if entry.direction == "out":
            asked = [h for h in history[:position] if h.direction == "in" and h.wamid == entry.wamid]
            assert asked, f"{entry.text!r} comes before the message it answers"
