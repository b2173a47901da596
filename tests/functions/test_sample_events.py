"""Every file in events/ (the `sam local invoke -e` samples) runs through its function."""

from __future__ import annotations

import importlib
import json

import pytest
import responses

from tests.conftest import EVENTS, GRAPH_URL, PHONE_NUMBER_ID, customers_wrote, load_event, queue_bodies
from wacloud.adapters.store import Store
from wacloud.inbound.parse import event_from
from wacloud.local.cloudformation import Stack
from wacloud.local.defaults import local_numbers
from wacloud.local.deliveries import register_numbers
from wacloud.models.events import MessageEvent, StatusEvent
from wacloud.runtime import singletons

FUNCTIONS = {
    "webhook": "functions.webhook.app",
    "processor": "functions.processor.app",
    "sender": "functions.sender.app",
    "api": "functions.api.app",
    "eum_ingest": "functions.eum_ingest.app",
}
SAMPLES = sorted(path.name for path in EVENTS.glob("*.json"))


def test_every_function_has_samples():
    assert {name.split("-", 1)[0] for name in SAMPLES} == set(FUNCTIONS)


@pytest.fixture
def eum_ingest(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The ingest's own environment (its topic, the stack's) and the local run's registry of numbers,
    whose second number (on End User Messaging Social) the EUM sample is for."""
    for name, value in aws.environments["EumIngestFunction"].items():
        monkeypatch.setenv(name, value)
    register_numbers(aws.parameters["SecretName"], local_numbers(), default=PHONE_NUMBER_ID)
    singletons.reset()
    return aws


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_event_succeeds(name, lambda_context, request):
    customers_wrote("16505551234")  # the samples' customer wrote recently: free-form replies allowed
    if name.startswith("eum_ingest-"):
        request.getfixturevalue("eum_ingest")
    handler = importlib.import_module(FUNCTIONS[name.split("-", 1)[0]]).lambda_handler
    with responses.RequestsMock(assert_all_requests_are_fired=False) as graph:
        graph.add(
            responses.POST,
            f"{GRAPH_URL}/v26.0/{PHONE_NUMBER_ID}/messages",
            json={"messages": [{"id": "wamid.SAMPLE"}], "success": True},
        )
        result = handler(load_event(name), lambda_context)
    if name == "webhook-get-verify.json":
        assert (result["statusCode"], result["body"]) == (200, "1158201444")
    elif name == "api-post-message.json":
        assert (result["statusCode"], json.loads(result["body"])["idempotency_key"]) == (202, "order-1234-shipped")
    elif name == "api-get-message.json":
        assert result["statusCode"] == 404  # nothing sent yet under this key in a new stack
    elif name.startswith("webhook-"):
        assert (result["statusCode"], json.loads(result["body"])) == (200, {"ok": True, "events": 1})
    elif name.startswith("eum_ingest-"):
        # Taken: its topic is the stack's, its account this one's, its number served (else refused).
        assert result == {"records": 1, "events": 1, "refused": 0}
        (queued,) = queue_bodies(request.getfixturevalue("aws"), "InboundQueue")
        second = local_numbers()[1].phone_number_id
        assert (queued["body"]["kind"], queued["body"]["phone_number_id"]) == ("message", second)
    elif name.startswith("processor-"):
        assert result == {"batchItemFailures": []}
        assert_every_event_was_handled_as_what_it_is(load_event(name))
    else:
        assert result == {"batchItemFailures": []}
        assert_every_document_was_sent(load_event(name))


def assert_every_event_was_handled_as_what_it_is(event: dict) -> None:
    """Stored (a message), applied (a status): not recorded as a rejection, as unparsed data would be."""
    store = Store()
    for record in event["Records"]:
        assert store.rejections.get("inbound-queue", record["messageId"]) is None, record["messageId"]
        typed = event_from(record["body"])
        if isinstance(typed, MessageEvent):
            message = store.messages.get(typed.message.id)
            assert message is not None and message.direction == "in"
        elif isinstance(typed, StatusEvent):
            message = store.messages.get(typed.status.id)
            assert message is not None and typed.status.status in message.status_history
        else:
            pytest.fail(f"a sample event is {typed.kind}, not a message or a status")


def assert_every_document_was_sent(event: dict) -> None:
    for record in event["Records"]:
        key = json.loads(record["body"])["idempotency_key"]
        outbound = Store().outbound.get(key)
        assert outbound is not None and outbound.state == "accepted", (key, outbound)
