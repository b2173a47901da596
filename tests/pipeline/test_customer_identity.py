"""Customers as Meta names them in 2026, through the whole pipeline: one known only by business-scoped
user id and username is answered through Graph's `recipient`, and is the same customer when they
later write with their phone number (one window, one history, one opt-out)."""

from __future__ import annotations

from wacloud.adapters.store import Store
from wacloud.local.meta.webhooks import text_message
from wacloud.local.pipeline import LocalPipeline

PHONE = "16505551234"
USER_ID = "US.13491208655302741918"


def say(pipeline: LocalPipeline, text: str, **sender: str) -> str:
    body = text_message(text, phone_number_id=pipeline.phone_number_id, name="Ana", **sender)
    assert pipeline.post_webhook(body)[0] == 200
    pipeline.drain()
    return str(body["entry"][0]["changes"][0]["value"]["messages"][0]["id"])


def test_a_customer_without_a_phone_number_is_answered_and_is_the_same_customer_once_their_number_shows(pipeline):
    # A customer with a username writes; the webhook has no phone number at all.
    first = say(pipeline, "Where is my order?", sender="", user_id=USER_ID, username="ana.b")

    (reply,) = pipeline.graph.replies_to(first)
    assert reply.body["recipient"] == USER_ID and "to" not in reply.body
    assert Store().outbound.get(f"reply:{first}").state == "accepted"

    # They opt out, still without a number; later they write with their number.
    say(pipeline, "STOP", sender="", user_id=USER_ID, username="ana.b")
    later = say(pipeline, "Hello again", sender=PHONE, user_id=USER_ID)

    store = Store()
    by_user_id, by_phone, by_username = (
        store.customers.get(USER_ID),
        store.customers.get(PHONE),
        store.customers.get("@ana.b"),
    )
    assert by_user_id is not None and by_phone is not None and by_username is not None
    assert by_user_id.customer_id == by_phone.customer_id == by_username.customer_id
    assert by_phone.opted_out  # the opt-out follows them to their number
    assert by_phone.last_inbound_wamid == later  # one window
    history = [entry.wamid for entry in store.customers.history(by_phone.customer_id) if entry.direction == "in"]
    assert {first, later} <= set(history)  # one history
    assert pipeline.graph.replies_to(later) == []  # opted out: no answer
