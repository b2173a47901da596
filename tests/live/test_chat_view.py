"""The chat view in headless Chromium (Debian's, driven by Playwright), against a live local run: a
customer types and gets the reply with its ticks, taps the buttons and list rows the business sends,
and sees a failed delivery with Meta's reason. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from wacloud.adapters.store import Store
from wacloud.local.pipeline import LocalPipeline, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
MARIA = "16505550123"
# As the machine's probe ran it: no sandbox as root, and no background traffic to a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser tests: Chromium (apt) or playwright (pip) is missing")
        pytest.skip("no Chromium here: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, live: LocalPipeline) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(live.graph.url + "/")
    try:
        yield page
    finally:
        context.close()


def stored(wamid_predicate: Any) -> bool:
    return wait_until(wamid_predicate, timeout=20)


def business_sends(live: LocalPipeline, key: str, message: dict[str, Any]) -> None:
    live.send_outbound({"idempotency_key": key, "message": {"to": f"+{MARIA}", **message}})


def last_inbound(live: LocalPipeline) -> dict[str, Any]:
    customer = next(c for c in live.simulator.state()["customers"] if c["wa_id"] == MARIA)
    return [b for b in customer["bubbles"] if b["direction"] == "in"][-1]


def test_a_customer_chats_taps_replies_and_sees_the_ticks(page, live):
    # A new customer, typing as them.
    page.fill("#new-customer input[name=wa_id]", MARIA)
    page.fill("#new-customer input[name=name]", "Maria")
    page.click("#new-customer button")
    page.wait_for_selector("text=Maria (+16505550123)")
    page.fill("[data-testid=composer]", "Hola! Is my order ready?")
    page.press("[data-testid=composer]", "Enter")

    # The auto-reply arrives, quoting the message, and its ticks turn read; the customer's message is read too.
    reply = page.locator("[data-testid=bubble-out]", has_text="Thanks for your message")
    reply.wait_for()
    page.wait_for_selector("[data-testid=bubble-out][data-status=read]")
    page.wait_for_selector("[data-testid=bubble-in][data-status=read]")
    assert "Hola! Is my order ready?" in reply.locator(".quote").inner_text()

    # The business asks with reply buttons; the customer taps one.
    business_sends(
        live,
        "ask-delivery-day",
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Order 1234"},
                "body": {"text": "Your order is ready. When should we deliver it?"},
                "footer": {"text": "Reply to choose"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "today", "title": "Today"}},
                        {"type": "reply", "reply": {"id": "tomorrow", "title": "Tomorrow"}},
                    ]
                },
            },
        },
    )
    page.click("[data-testid=reply-button] >> text=Tomorrow")
    page.wait_for_selector("[data-testid=bubble-in] >> text=Tomorrow")
    tapped = last_inbound(live)
    store = Store()
    assert stored(lambda: store.messages.get(tapped["id"]) is not None)
    assert tapped["message"]["interactive"]["button_reply"] == {"id": "tomorrow", "title": "Tomorrow"}
    asked = Store().outbound.get("ask-delivery-day")
    assert tapped["message"]["context"]["id"] == asked.wamid  # a reply to the business's message

    # A list: open it, choose a row.
    business_sends(
        live,
        "menu",
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "What can we help you with?"},
                "action": {
                    "button": "Menu",
                    "sections": [{"title": "Orders", "rows": [{"id": "track", "title": "Track an order"}]}],
                },
            },
        },
    )
    page.click("[data-testid=list-open]")
    page.click("[data-testid=list-row] >> text=Track an order")
    page.wait_for_selector("[data-testid=bubble-in] >> text=Track an order")
    assert last_inbound(live)["message"]["interactive"]["list_reply"]["id"] == "track"

    # A phone that cannot be reached: the delivery fails, with Meta's reason.
    page.check("[data-testid=unreachable]")
    assert wait_until(lambda: live.simulator.customers[MARIA].unreachable == 131026, timeout=5)
    business_sends(live, "lost", {"type": "text", "text": {"body": "Are you there?"}})
    failed = page.locator("[data-testid=bubble-out][data-status=failed]", has_text="Are you there?")
    failed.wait_for()
    assert "Message undeliverable (131026)" in failed.locator("[data-testid=error]").inner_text()
    page.uncheck("[data-testid=unreachable]")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-view.png"))
    assert (ARTIFACTS / "chat-view.png").stat().st_size > 10_000


def test_what_a_customer_types_is_shown_as_text_never_run(page, live):
    live.simulator.customer_sends(
        "16505550999", {"type": "text", "text": {"body": "<img src=x onerror=window.pwned=1>"}}, name="Eve"
    )
    page.click("[data-testid=customer] >> text=Eve")
    bubble = page.locator("[data-testid=bubble-in]", has_text="<img src=x onerror=window.pwned=1>")
    bubble.wait_for()
    assert page.evaluate("window.pwned") is None
    assert bubble.locator("img").count() == 0


def test_a_customer_picks_the_number_they_write_to_and_each_conversation_says_which(page, live):
    second = live.numbers[1]
    live.simulator.customer_sends("16505550777", {"type": "text", "text": {"body": "to the first"}}, name="Noor")
    page.click("[data-testid=customer] >> text=Noor")
    page.select_option("[data-testid=number]", second.phone_number_id)
    page.fill("[data-testid=composer]", "to the second")
    page.press("[data-testid=composer]", "Enter")

    # Two conversations, each labelled with its number and transport; the reply comes from the second.
    label = page.locator(f"[data-testid=customer][data-number='{second.phone_number_id}']", has_text="Noor")
    label.wait_for()
    assert "to +15550783882 (End User Messaging Social)" in label.inner_text()
    page.wait_for_selector("[data-testid=bubble-out][data-status=read]")
    conversation = page.locator("[data-testid=conversation]").inner_text()
    assert "to the second" in conversation and "to the first" not in conversation
    noor = live.simulator.customers["16505550777"]
    out = [b for b in noor.bubbles if b.direction == "out"]
    assert {b.phone_number_id for b in out} >= {second.phone_number_id}


def test_a_call_and_a_group_of_the_second_number_say_that_number(page, live):
    second = live.numbers[1]
    live.simulator.customer_sends("16505550666", {"type": "text", "text": {"body": "hi"}}, name="Omar")
    page.click("[data-testid=customer] >> text=Omar")
    page.select_option("[data-testid=number]", second.phone_number_id)
    page.click("[data-testid=call]")
    assert page.locator("[data-testid=call-to]").first.inner_text().startswith("📞 Call to +15550783882")

    live.simulator.group(
        "GROUP-EUM", subject="Second's group", participants=["16505550666"], phone_number_id=second.phone_number_id
    )
    group = page.locator("[data-testid=group]", has_text="Second's group")
    group.wait_for()
    assert "+15550783882 (End User Messaging Social)" in group.inner_text()
    group.click()
    page.fill("[data-testid=composer]", "hello group")
    page.press("[data-testid=composer]", "Enter")
    assert wait_until(
        lambda: any(
            b.message.get("text", {}).get("body") == "hello group"
            for b in live.simulator.directory.groups["GROUP-EUM"].bubbles
        ),
        timeout=20,
    )
    (typed,) = [b for b in live.simulator.directory.groups["GROUP-EUM"].bubbles if b.direction == "in"]
    assert typed.phone_number_id == second.phone_number_id
