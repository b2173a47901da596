"""wacloud.outbound.template_catalog: template definitions fetched, cached in the table and in memory,
and dropped when Meta says a template changed; the sender's check through them (fake Graph, moto)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import ACCESS_TOKEN, customers_wrote, sqs_batch
from wacloud.adapters.graph import GraphClient
from wacloud.adapters.store import Store
from wacloud.config import get_settings
from wacloud.inbound.parse import parse_webhook
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.fake_graph import FakeGraph, graph_error
from wacloud.local.meta.webhooks import DEFAULT_WABA_ID
from wacloud.models.events import dump_event
from wacloud.models.graph import TemplateDefinition
from wacloud.models.outbound import TemplateMessage
from wacloud.models.templates import TemplateBody
from wacloud.outbound.template_catalog import REFETCH_SECONDS, TemplateCatalog, fetch_templates

CUSTOMER = "16505551234"


@pytest.fixture
def waba(monkeypatch, fake_graph) -> FakeGraph:
    monkeypatch.setenv("WACLOUD_WABA_ID", DEFAULT_WABA_ID)
    get_settings.cache_clear()
    return fake_graph


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def catalog(clock: Clock | None = None) -> TemplateCatalog:
    settings = get_settings()
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version, token=token)
    definitions = Store(clock=clock or Clock()).templates
    return TemplateCatalog(definitions=definitions, graph=graph, settings=settings, clock=clock or Clock())


def token(*, fresh: bool = False) -> str:
    return ACCESS_TOKEN


def template_fetches(graph: FakeGraph) -> int:
    return len(graph.requests_to("templates"))


def test_all_pages_of_an_account_are_read(waba: FakeGraph):
    waba.templates = [{**waba.templates[0], "id": str(i), "name": f"t{i:03d}"} for i in range(230)]
    graph = GraphClient(base_url=waba.url, api_version="v25.0", token=token)

    found = fetch_templates(graph, DEFAULT_WABA_ID)

    assert [t.name for t in found] == [f"t{i:03d}" for i in range(230)]
    assert template_fetches(waba) == 3  # 100 per page


def test_a_definition_is_fetched_once_then_served_from_the_table_and_memory(waba: FakeGraph):
    clock = Clock()
    first = catalog(clock).definition("order_update", "en_US")

    assert first is not None and first.parameter_format == "NAMED"
    assert template_fetches(waba) == 1
    (fetch,) = waba.requests_to("templates")
    assert fetch.authorization == f"Bearer {ACCESS_TOKEN}"
    # A new function instance (empty memory) reads the table, not Graph.
    assert catalog(clock).definition("order_update", "en_US") == first
    assert template_fetches(waba) == 1
    cached = Store().templates.get("order_update", "en_US")
    assert cached is not None and cached[0] == first


def test_a_stale_definition_is_fetched_again(waba: FakeGraph):
    clock = Clock()
    catalog(clock).definition("order_update", "en_US")
    clock.now += get_settings().template_cache_seconds + 1

    catalog(clock).definition("order_update", "en_US")

    assert template_fetches(waba) == 2


def test_an_unknown_template_or_language_is_not_checked(waba: FakeGraph):
    shared = catalog()
    assert shared.definition("order_update", "pt_BR") is None
    assert shared.definition("no_such_template", "en_US") is None
    assert shared.definition("no_such_template", "en_US") is None  # remembered a while
    assert template_fetches(waba) == 2


def test_a_graph_failure_skips_the_check_instead_of_failing_the_send(waba: FakeGraph):
    waba.script(graph_error(200, "Requires whatsapp_business_management permission", status=403))

    assert catalog().definition("order_update", "en_US") is None


def test_without_an_account_id_only_synced_definitions_are_used(fake_graph: FakeGraph):
    definition = TemplateDefinition.model_validate(fake_graph.templates[1])
    Store(clock=Clock()).templates.put(definition, ttl_seconds=3600)

    assert catalog().definition("order_update", "en_US") == definition
    assert catalog().definition("hello_world", "en_US") is None
    assert template_fetches(fake_graph) == 0


def test_a_cache_time_of_zero_turns_the_check_off(waba: FakeGraph, monkeypatch):
    monkeypatch.setenv("WACLOUD_TEMPLATE_CACHE_SECONDS", "0")
    get_settings.cache_clear()

    assert catalog().definition("order_update", "en_US") is None
    assert template_fetches(waba) == 0


# -- the sender refuses what does not fit, sends what does ------------------------------------------------


def sqs_event(*documents: dict[str, Any] | str, queue: str = "outbound") -> dict[str, Any]:
    bodies = [json.dumps(d) if isinstance(d, dict) else d for d in documents]
    return sqs_batch(*bodies, queue=queue, group=CUSTOMER)


def order_update(key: str, *names: str) -> dict[str, Any]:
    parameters = [{"type": "text", "parameter_name": name, "text": "x"} for name in names]
    template = {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": parameters},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1234"}]},
        ],
    }
    return {"idempotency_key": key, "message": {"to": f"+{CUSTOMER}", "type": "template", "template": template}}


def test_the_sender_refuses_a_template_document_that_does_not_fit(waba: FakeGraph):
    from functions.sender import app

    context = LocalContext(function_name="sender", timeout_seconds=90)
    response = app.lambda_handler(
        sqs_event(order_update("wrong", "order_id"), order_update("right", "order_id", "total")), context
    )

    assert response == {"batchItemFailures": []}
    store = Store()
    wrong, right = store.outbound.get("wrong"), store.outbound.get("right")
    assert wrong.state == "rejected"
    assert wrong.reason == (
        "template 'order_update' (en_US): the body takes the named parameters {{order_id}}, {{total}}; "
        "missing: total (Meta would answer 132000)"
    )
    assert right.state == "accepted"
    assert [m.body["template"]["name"] for m in waba.messages()] == ["order_update"]  # only the one that fits


def test_a_template_webhook_drops_the_cached_definition(waba: FakeGraph):
    from functions.processor import app

    catalog().definition("order_update", "en_US")
    assert Store().templates.get("order_update", "en_US") is not None
    update = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": DEFAULT_WABA_ID,
                "time": 1764547200,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "PAUSED",
                            "message_template_id": 900000000000002,
                            "message_template_name": "order_update",
                            "message_template_language": "en_US",
                            "reason": None,
                            "other_info": {"title": "FIRST_PAUSE", "description": "Quality is low"},
                        },
                    }
                ],
            }
        ],
    }
    (event,) = parse_webhook(update)

    context = LocalContext(function_name="processor", timeout_seconds=60)
    assert app.lambda_handler(sqs_event(dump_event(event), queue="inbound"), context) == {"batchItemFailures": []}

    assert Store().templates.get("order_update", "en_US") is None


def test_customers_in_the_window_still_get_free_form_messages(waba: FakeGraph):
    # The template check leaves other message types alone.
    from functions.sender import app

    customers_wrote(f"+{CUSTOMER}")
    text = {"idempotency_key": "hi", "message": {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "hi"}}}
    app.lambda_handler(sqs_event(text), LocalContext(function_name="sender", timeout_seconds=90))

    assert Store().outbound.get("hi").state == "accepted"
    assert template_fetches(waba) == 0


def test_a_cached_definition_is_checked_again_at_graph_before_it_refuses(waba: FakeGraph):
    from functions.sender import app

    # The table still has a definition fetched two minutes ago: before the template gained {{total}}.
    old = TemplateDefinition.model_validate(
        {**waba.templates[1], "components": [{"type": "BODY", "text": "Order {{order_id}} shipped."}]}
    )
    Store(clock=lambda: time.time() - 2 * REFETCH_SECONDS).templates.put(old, ttl_seconds=3600)

    app.lambda_handler(
        sqs_event(order_update("edited", "order_id", "total")), LocalContext(function_name="s", timeout_seconds=90)
    )

    assert Store().outbound.get("edited").state == "accepted"
    assert template_fetches(waba) == 1  # the refusal was checked against Meta's current definition
    assert Store().templates.get("order_update", "en_US")[0].components[0].text.endswith("Total: {{total}}.")


def test_dropping_a_template_without_a_language_drops_every_language(waba: FakeGraph):
    shared = catalog()
    waba.templates.append({**waba.templates[1], "id": "900000000000009", "language": "es"})
    shared.definition("order_update", "en_US")
    assert Store().templates.get("order_update", "es") is not None
    (event,) = parse_webhook(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": DEFAULT_WABA_ID,
                    "changes": [
                        {
                            "field": "template_category_update",
                            "value": {"message_template_name": "order_update", "new_category": "MARKETING"},
                        }
                    ],
                }
            ],
        }
    )

    assert shared.on_change(event) is True

    assert Store().templates.get("order_update", "en_US") is None
    assert Store().templates.get("order_update", "es") is None
    shared.definition("order_update", "en_US")
    assert template_fetches(waba) == 2  # memory forgot it too


# -- Meta's template webhooks reach every warm sender within seconds ------------------------------------

BSUID = "US.13491208655302741918"


def template_change(field: str, *, waba_id: str = DEFAULT_WABA_ID, **value: Any) -> str:
    """A template webhook as the processor gets it from the inbound queue."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "time": 1764547200, "changes": [{"field": field, "value": value}]}],
    }
    (event,) = parse_webhook(body)
    return dump_event(event)


def process(*changes: str) -> None:
    from functions.processor import app

    context = LocalContext(function_name="processor", timeout_seconds=60)
    for change in changes:
        assert app.lambda_handler(sqs_event(change, queue="inbound"), context) == {"batchItemFailures": []}


def paused(name: str = "order_update", event: str = "PAUSED", *, waba_id: str = DEFAULT_WABA_ID) -> str:
    return template_change(
        "message_template_status_update",
        waba_id=waba_id,
        event=event,
        message_template_id=900000000000002,
        message_template_name=name,
        message_template_language="en_US",
        other_info={"title": "FIRST_PAUSE", "description": "Quality is low"},
    )


def send(*documents: dict[str, Any]) -> None:
    from functions.sender import app

    context = LocalContext(function_name="sender", timeout_seconds=90)
    assert app.lambda_handler(sqs_event(*documents), context) == {"batchItemFailures": []}


def states(*keys: str) -> list[str]:
    return [Store().outbound.get(key).state for key in keys]


def synced(fake_graph: FakeGraph, name: str = "order_update") -> None:
    """`wacloud templates list --sync`: the definitions a stack without an account id checks against."""
    for template in fake_graph.templates:
        if template["name"] == name:
            Store().templates.put(TemplateDefinition.model_validate(template), ttl_seconds=3600)


def test_a_warm_sender_refuses_a_template_as_soon_as_its_pause_is_processed(fake_graph: FakeGraph):
    synced(fake_graph)  # no account id: the webhook alone says it is paused
    send(order_update("before", "order_id", "total"))  # the sender is warm: the definition in memory

    process(paused())
    send(order_update("after", "order_id", "total"))

    assert states("before", "after") == ["accepted", "rejected"]
    assert Store().outbound.get("after").reason == (
        "template 'order_update' (en_US) is PAUSED at Meta: Meta would answer 132015: it was paused for low "
        "quality; send another template, or wait until it is resumed (its status webhook says APPROVED again)"
    )
    assert len(fake_graph.messages()) == 1  # the refused one never reached Graph


def test_with_an_account_id_the_pause_is_confirmed_by_graph_and_refused_too(waba: FakeGraph):
    send(order_update("before", "order_id", "total"))
    waba.templates[1] = {**waba.templates[1], "status": "DISABLED"}  # Meta's state, which its webhook announces

    process(paused(event="DISABLED"))
    send(order_update("after", "order_id", "total"))

    assert states("before", "after") == ["accepted", "rejected"]
    assert "is DISABLED at Meta: Meta would answer 132016" in (Store().outbound.get("after").reason or "")
    assert template_fetches(waba) == 2  # once warm, once after the change: not once per send


def test_another_wabas_pause_of_a_template_of_the_same_name_does_not_refuse_ours(waba: FakeGraph):
    # The stack serves numbers of several WABAs (issue 20); the catalog knows its own WABA's templates.
    send(order_update("before", "order_id", "total"))  # warm: our definition fetched

    process(paused(waba_id="999999999999999"))
    # A fetch of ours that began before that change lands after it: a pause counted against our
    # template would be newer than it, and within REFETCH_SECONDS it would refuse without asking Graph.
    Store().templates.put(TemplateDefinition.model_validate(waba.templates[1]), ttl_seconds=3600, version=0)
    send(order_update("after", "order_id", "total"))

    assert states("before", "after") == ["accepted", "accepted"]
    assert Store().templates.changes("order_update").version == 0  # nothing recorded against ours
    assert template_fetches(waba) == 1  # nor our definition dropped


def test_a_template_resumed_by_meta_is_sent_again(fake_graph: FakeGraph):
    synced(fake_graph)
    process(paused())
    send(order_update("while-paused", "order_id", "total"))

    process(paused(event="APPROVED"))
    send(order_update("resumed", "order_id", "total"))

    assert states("while-paused", "resumed") == ["rejected", "accepted"]


def test_a_pause_is_known_even_for_a_template_never_fetched(fake_graph: FakeGraph):
    process(paused())

    send(order_update("never-fetched", "order_id", "total"))

    assert states("never-fetched") == ["rejected"]
    assert fake_graph.messages() == []


def test_a_warm_send_with_no_change_reads_nothing_more_than_its_one_batch(waba: FakeGraph, monkeypatch):
    from wacloud.adapters.table import Table

    send(order_update("warm", "order_id", "total"))
    calls: list[str] = []
    for method in ("get", "batch_get", "query"):
        real = getattr(Table, method)
        monkeypatch.setattr(
            Table, method, lambda self, *a, _m=method, _r=real, **k: calls.append(_m) or _r(self, *a, **k)
        )

    send(order_update("again", "order_id", "total"))
    reads, calls[:] = list(calls), []

    assert reads == ["batch_get"]  # the record, the contact and the template's changes together
    assert states("again") == ["accepted"]
    assert template_fetches(waba) == 1


def test_a_components_change_makes_warm_senders_forget_their_copy(waba: FakeGraph):
    send(order_update("old-shape", "order_id", "total"))
    # The template now takes {{order_id}} only.
    waba.templates[1] = {**waba.templates[1], "components": [{"type": "BODY", "text": "Order {{order_id}}."}]}

    process(
        template_change(
            "message_template_components_update",
            message_template_name="order_update",
            message_template_language="en_US",
        )
    )
    send(order_update("new-shape", "order_id", "total"))

    assert states("old-shape", "new-shape") == ["accepted", "rejected"]
    assert "the body takes the named parameters {{order_id}}" in (Store().outbound.get("new-shape").reason or "")


def bsuid_document(key: str, name: str = "order_update") -> dict[str, Any]:
    document = order_update(key, "order_id", "total")
    # A user id goes in `recipient` where the contract has it (earlier, in `to`).
    field = "recipient" if "recipient" in TemplateMessage.model_fields else "to"
    document["message"].pop("to")
    document["message"][field] = BSUID
    document["message"]["template"]["name"] = name
    return document


def test_an_authentication_template_to_a_user_id_is_refused_once_meta_recategorises_it(fake_graph: FakeGraph):
    synced(fake_graph)
    send(bsuid_document("utility"))  # UTILITY: a user id is fine

    process(
        template_change(
            "template_category_update",
            message_template_id=900000000000002,
            message_template_name="order_update",
            message_template_language="en_US",
            previous_category="UTILITY",
            new_category="AUTHENTICATION",
        )
    )
    send(bsuid_document("authentication"), order_update("to-a-phone", "order_id", "total"))

    utility, authentication, to_a_phone = (Store().outbound.get(k) for k in ("utility", "authentication", "to-a-phone"))
    assert utility.state != "rejected" and to_a_phone.state == "accepted"  # both went to Graph
    assert authentication.state == "rejected" and "Meta would answer 131062" in (authentication.reason or "")
    assert len(fake_graph.requests_to("messages")) == 2


def test_an_authentication_template_listed_by_graph_is_refused_to_a_user_id(waba: FakeGraph):
    waba.templates.append(
        {**waba.templates[1], "id": "900000000000010", "name": "login_code", "category": "AUTHENTICATION"}
    )

    send(bsuid_document("code", name="login_code"))

    assert states("code") == ["rejected"]
    assert "is an AUTHENTICATION template" in (Store().outbound.get("code").reason or "")
    assert waba.messages() == []


def test_a_definition_fetched_after_the_webhook_outranks_it_and_one_fetched_before_does_not(fake_graph: FakeGraph):
    clock = Clock()
    templates = Store(clock=clock).templates
    hello = TemplateBody.model_validate({"name": "hello_world", "language": {"code": "en_US"}})
    definition = TemplateDefinition.model_validate(fake_graph.templates[0])  # APPROVED
    templates.record_change("hello_world", "en_US", status="PAUSED")  # change 1

    templates.put(definition, ttl_seconds=3600, version=0)  # a fetch that began before the pause
    assert "is PAUSED at Meta" in (catalog(clock).refusal(hello) or "")
    templates.put(definition, ttl_seconds=3600, version=1)  # one that began after: Meta resumed it since
    assert catalog(clock).refusal(hello) is None


def test_a_campaign_to_a_template_refused_moments_ago_makes_no_graph_call_per_send(waba: FakeGraph):
    from functions.sender import app

    old = TemplateDefinition.model_validate(
        {**waba.templates[1], "components": [{"type": "BODY", "text": "Order {{order_id}} shipped."}]}
    )
    Store().templates.put(old, ttl_seconds=3600)  # fetched just now
    for key in ("c1", "c2", "c3"):
        app.lambda_handler(
            sqs_event(order_update(key, "order_id", "total")), LocalContext(function_name="s", timeout_seconds=90)
        )
    assert [Store().outbound.get(key).state for key in ("c1", "c2", "c3")] == ["rejected"] * 3
    assert template_fetches(waba) == 0
