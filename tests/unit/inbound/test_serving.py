"""Which events of a verified body the stack serves: by number, by app, by WABA for fields that
name no number, and unparsed data always (the processor records it)."""

from __future__ import annotations

from typing import Any

from wacloud.inbound.serving import Ingress, event_number, partition
from wacloud.inbound.split import split_webhook
from wacloud.local.meta.webhooks import call_event, contact, status_update, text_message
from wacloud.models.number_entry import NumberEntry

SALES = NumberEntry("111", waba_id="901", app="sales", secret_name="s/sales")
SUPPORT = NumberEntry("222", waba_id="902")  # app "default"
EUM = NumberEntry("333", waba_id="903", transport="eum", eum_phone_number_id="phone-number-id-abc")


class Numbers:
    def __init__(self, *entries: NumberEntry) -> None:
        self.by_id = {entry.phone_number_id: entry for entry in entries}

    def get(self, phone_number_id: str) -> NumberEntry | None:
        return self.by_id.get(phone_number_id)

    def entries(self) -> list[NumberEntry]:
        return list(self.by_id.values())


NUMBERS = Numbers(SALES, SUPPORT, EUM)


def template_update(waba: str) -> dict[str, Any]:
    """A field that names no number: a template's status, matched by its WABA (the entry's id)."""
    value = {"event": "APPROVED", "message_template_id": 7, "message_template_name": "hello"}
    return {"entry": [{"id": waba, "changes": [{"field": "message_template_status_update", "value": value}]}]}


def reasons(body: Any, ingress: Ingress, **kwargs: Any) -> list[str | None]:
    """Per event of the body, in order: None if served, else the reason."""
    events = split_webhook(body)
    accepted, refused = partition(events, ingress, NUMBERS, **kwargs)
    why = {id(r.event): r.reason for r in refused}
    assert len(accepted) + len(refused) == len(events)
    return [why.get(id(event)) for event in events]


def test_a_number_of_the_app_is_served_and_one_of_no_app_or_another_app_is_refused_with_the_reason():
    ingress = Ingress.webhook("sales", NUMBERS)
    body = {
        "entry": [
            *text_message("hi", phone_number_id="111")["entry"],
            *text_message("hi", phone_number_id="999")["entry"],
            *status_update("wamid.A", "read", phone_number_id="222", recipient="1650")["entry"],
        ]
    }
    assert reasons(body, ingress) == [
        None,
        "phone number id 999 is not served by this stack (webhook of app 'sales')",
        "phone number id 222 belongs to app 'default', not 'sales' (webhook of app 'sales')",
    ]


def test_a_message_status_or_call_naming_no_number_is_refused_even_under_a_served_waba():
    """Downstream an event without a number is the default number's: a WABA the app serves must
    not let its secret speak for the default number's customers."""
    ingress = Ingress.webhook("sales", NUMBERS)
    message = text_message("hi", phone_number_id="111")
    status = status_update("wamid.A", "read", phone_number_id="111", recipient="1650")
    call = call_event("connect", "c1", phone_number_id="111", caller=contact("1650", "Ana"), timestamp=1)
    for body in (message, status, call):
        entry = body["entry"][0]
        entry["id"] = "901"  # sales' own WABA
        entry["changes"][0]["value"].pop("metadata")
    body = {"entry": [message["entry"][0], status["entry"][0], call["entry"][0]]}
    assert reasons(body, ingress) == ["the event names no phone number id (webhook of app 'sales')"] * 3


def test_a_field_naming_no_number_is_matched_by_its_waba():
    assert reasons(template_update("901"), Ingress.webhook("sales", NUMBERS)) == [None]
    assert reasons(template_update("902"), Ingress.webhook("sales", NUMBERS)) == [
        "WABA 902 is not served by app 'sales' (webhook of app 'sales')"
    ]


def test_an_app_with_a_number_of_unknown_waba_takes_number_less_fields_no_other_app_serves():
    # A single-number stack that never set WabaId keeps getting its template and account updates.
    numbers = Numbers(NumberEntry("222"), SALES)
    ingress = Ingress.webhook("default", numbers)
    events = split_webhook({"entry": template_update("555")["entry"] + template_update("901")["entry"]})
    accepted, refused = partition(events, ingress, numbers)
    assert [e.document["waba_id"] for e in accepted] == ["555"]
    assert [r.reason for r in refused] == ["WABA 901 is not served by app 'default' (webhook of app 'default')"]


def test_calls_are_matched_by_the_number_in_their_metadata():
    body = call_event("connect", "c1", phone_number_id="999", caller=contact("1650", "Ana"), timestamp=1)
    (event,) = split_webhook(body)
    assert event.kind == "change" and event_number(event.document) == "999"
    assert reasons(body, Ingress.webhook("default", NUMBERS)) == [
        "phone number id 999 is not served by this stack (webhook of app 'default')"
    ]


def test_unparsed_data_is_always_passed_on():
    assert reasons(b"not json", Ingress.webhook("sales", NUMBERS)) == [None]
    assert reasons({"entry": [{"id": "1", "changes": "x"}]}, Ingress.webhook("sales", NUMBERS)) == [None]


def test_end_user_messaging_social_serves_any_apps_number_of_the_envelopes_waba():
    body = {
        "entry": [
            *text_message("hi", phone_number_id="333")["entry"],
            *text_message("hi", phone_number_id="222")["entry"],  # the default app's: app not checked
            *text_message("hi", phone_number_id="999")["entry"],
        ]
    }
    wabas = {"903", "902"}
    assert reasons(body, Ingress.eum(wabas, NUMBERS), envelope_wabas=wabas) == [
        None,
        None,
        "phone number id 999 is not served by this stack (End User Messaging Social)",
    ]
    # A number whose WABA the envelope does not name (one WABA's topic carrying another's number).
    assert reasons(
        text_message("hi", phone_number_id="111"), Ingress.eum({"903"}, NUMBERS), envelope_wabas={"903"}
    ) == ["phone number id 111 belongs to WABA 901, not the event's (903) (End User Messaging Social)"]


def test_end_user_messaging_social_takes_number_less_fields_only_of_served_wabas():
    assert reasons(template_update("903"), Ingress.eum({"903"}, NUMBERS), envelope_wabas={"903"}) == [None]
    assert reasons(template_update("777"), Ingress.eum({"777"}, NUMBERS), envelope_wabas={"777"}) == [
        "WABA 777 is not served by this stack (End User Messaging Social)"
    ]
