"""wacloud.outbound.template_catalog: template definitions fetched, cached in the table and in memory,
and dropped when Meta says a template changed; the sender's check through them (fake Graph, moto)."""

from __future__ import annotations

import json
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
from wacloud.outbound.template_catalog import TemplateCatalog, fetch_templates

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

    # The table still has last hour's definition: before the template gained {{total}}.
    old = TemplateDefinition.model_validate(
        {**waba.templates[1], "components": [{"type": "BODY", "text": "Order {{order_id}} shipped."}]}
    )
    Store().templates.put(old, ttl_seconds=3600)

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
