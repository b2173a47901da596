"""Faults injected into the running pipeline: every message still goes out once, in order per
recipient, and every document ends in a state that says what happened."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from wacloud.adapters.store import Store
from wacloud.local.meta.fake_graph import ScriptedAnswer, graph_error, lost_reply
from wacloud.local.pipeline import LocalPipeline
from wacloud.ops import dead_letters as dlq
from wacloud.ops.redrive import redrive

A, B = "+16505550001", "+16505550002"
GRAPH_ONLY = (
    "a Cloud API fault: End User Messaging Social has no token, and botocore's own connections"
    " are tested in test_social_messaging"
)


@pytest.fixture(params=["cloud_api", "eum"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every fault here on both ways out: Graph, and End User Messaging Social (the default number
    moved to it: its sends, and its events through SNS)."""
    return str(request.param)


def text(key: str, to: str, body: str | None = None) -> dict[str, Any]:
    return {"idempotency_key": key, "message": {"to": to, "type": "text", "text": {"body": body or key}}}


def accepted_sends(pipeline: LocalPipeline) -> list[tuple[str, str]]:
    """(recipient, text) of every send Graph accepted, in the order Graph accepted them."""
    return [(r.body["to"], r.body["text"]["body"]) for r in pipeline.graph.messages()]


def outbound_state(key: str) -> str:
    record = Store().outbound.get(key)
    assert record is not None, f"no record for {key}"
    return record.state.value


TRANSIENT = {
    "500-html": ScriptedAnswer(status=500, body={}),
    "503-code-2": graph_error(2, "Service temporarily unavailable", status=503),
    "429-130429": graph_error(130429, "Rate limit hit", status=429),
    "131056-pair-rate": graph_error(131056, "Pair rate limit hit"),
    "131000": graph_error(131000, "Something went wrong", status=500),
}


# Meta's code, relayed by End User Messaging Social, decides as on Graph; a bare 5xx does not: AWS may
# have handed the message on before it failed (test_an_eum_5xx_...).
MAYBE_SENT_ON_EUM = {"500-html"}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sender's outcome metrics, by name."""
    from wacloud.outbound import outcomes

    names: list[str] = []
    monkeypatch.setattr(outcomes, "count", lambda name, value=1: names.append(name))
    return names


@pytest.mark.parametrize("fault", list(TRANSIENT), ids=list(TRANSIENT))
def test_transient_graph_faults_then_success_send_each_message_once_in_order(pipeline, fault, transport):
    if transport == "eum" and fault in MAYBE_SENT_ON_EUM:
        pytest.skip("not retried on End User Messaging Social: test_an_eum_5xx_before_the_message_was_handed_on")
    # GIVEN Graph fails the first three calls, then recovers
    pipeline.graph.script(TRANSIENT[fault], TRANSIENT[fault], TRANSIENT[fault])
    for i in range(3):
        pipeline.send_outbound(text(f"a{i}", A))
        pipeline.send_outbound(text(f"b{i}", B))

    # WHEN everything queued is processed
    pipeline.drain()

    # THEN each message went out exactly once, and each recipient's in the order queued
    sends = accepted_sends(pipeline)
    assert sorted(body for _, body in sends) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert [body for to, body in sends if to == A] == ["a0", "a1", "a2"]
    assert [body for to, body in sends if to == B] == ["b0", "b1", "b2"]
    assert {outbound_state(k) for k in ("a0", "a1", "a2", "b0", "b1", "b2")} == {"accepted"}


@pytest.mark.parametrize("transport", ["eum"])
def test_an_eum_5xx_before_the_message_was_handed_on_is_unconfirmed_and_never_sent_again(pipeline, counted):
    # GIVEN Meta fails the first three sends with a bare 500, which AWS relays as a 5xx naming no
    # Meta code (DependencyException): the caller cannot tell whether AWS handed the message on
    pipeline.graph.script(*[TRANSIENT["500-html"]] * 3)
    keys = [f"{to}{i}" for i in range(3) for to in "ab"]
    for key in keys:
        pipeline.send_outbound(text(key, A if key[0] == "a" else B))

    pipeline.drain()

    # THEN the three are unconfirmed (counted, never retried) and the others went out once, in order
    states = {key: outbound_state(key) for key in keys}
    unconfirmed = sorted(key for key, state in states.items() if state == "unconfirmed")
    assert len(unconfirmed) == 3 and counted.count("SendUnconfirmed") == 3, states
    assert sorted(states.values()) == ["accepted"] * 3 + ["unconfirmed"] * 3
    asked = sorted(r.body["text"]["body"] for r in pipeline.graph.requests_to("eum_send"))
    assert asked == sorted(keys)  # each document was handed to AWS once: none a second time
    sends = accepted_sends(pipeline)
    assert sorted(body for _, body in sends) == sorted(key for key in keys if states[key] == "accepted")
    for to in (A, B):
        order = [body for t, body in sends if t == to]
        assert order == sorted(order)
    # AWS's error code is kept on the record
    record = Store().outbound.get(unconfirmed[0])
    assert record is not None and record.error is not None
    assert "DependencyException" in (record.error.details or "")


@pytest.mark.parametrize("transport", ["eum"])
@pytest.mark.parametrize("error_type", ["InternalServiceException", "DependencyException"])
def test_an_eum_5xx_after_the_message_was_handed_on_is_confirmed_by_its_status(pipeline, counted, error_type):
    # GIVEN AWS hands the message to Meta, then answers the send with a 5xx naming no Meta code
    pipeline.eum.fail_after_send(error_type)
    pipeline.send_outbound(text("taken", A))
    pipeline.send_outbound(text("next", A))

    pipeline.drain()

    # THEN it is recorded unconfirmed (counted), not sent again, and its first status (carrying the
    # marker) makes it accepted with its wamid; the recipient's next message is not held back
    assert counted.count("SendUnconfirmed") == 1
    assert accepted_sends(pipeline) == [(A, "taken"), (A, "next")]
    assert [r.body["text"]["body"] for r in pipeline.graph.requests_to("eum_send")] == ["taken", "next"]
    record = Store().outbound.get("taken")
    (taken,) = [r for r in pipeline.graph.messages() if r.body["text"]["body"] == "taken"]
    assert record is not None and (record.state, record.wamid) == ("accepted", taken.wamid)
    message = Store().messages.get(taken.wamid)
    assert message is not None and message.idempotency_key == "taken"


def test_lost_replies_are_not_resent_and_their_statuses_confirm_them(pipeline):
    pipeline.graph.script(lost_reply(), lost_reply())
    for key in ("lost-1", "lost-2", "fine"):
        pipeline.send_outbound(text(key, A))
    pipeline.drain()
    assert [body for _, body in accepted_sends(pipeline)] == ["lost-1", "lost-2", "fine"]
    assert [outbound_state(k) for k in ("lost-1", "lost-2", "fine")] == ["accepted"] * 3


def test_connect_timeouts_are_retried(pipeline, monkeypatch, transport):
    if transport == "eum":
        pytest.skip(GRAPH_ONLY)
    import requests

    real_request, calls = requests.Session.request, []

    def flaky_request(self, method, *args, **kwargs):
        calls.append(method)
        if len(calls) <= 2:
            raise requests.ConnectTimeout("connect timed out")
        return real_request(self, method, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", flaky_request)
    pipeline.send_outbound(text("slow-network", A))
    pipeline.drain()
    assert calls == ["POST"] * 3
    assert accepted_sends(pipeline) == [(A, "slow-network")]
    assert outbound_state("slow-network") == "accepted"


@pytest.mark.parametrize(
    ("code", "title"), [(131047, "Re-engagement message"), (131026, "Undeliverable"), (100, "Invalid parameter")]
)
def test_permanent_errors_are_recorded_and_never_retried(pipeline, code, title):
    pipeline.graph.script(graph_error(code, title))
    pipeline.send_outbound(text("doomed", A))
    pipeline.send_outbound(text("next", A))
    pipeline.drain()
    record = Store().outbound.get("doomed")
    assert record is not None and record.state == "failed" and record.error is not None
    assert (record.error.code, record.error.title) == (code, title)
    assert len([r for r in pipeline.graph.requests if r.body.get("text", {}).get("body") == "doomed"]) == 1
    assert accepted_sends(pipeline) == [(A, "next")]  # the recipient's next message is not held back


def test_token_rotated_in_secrets_manager_is_picked_up_after_a_190(pipeline, transport):
    if transport == "eum":
        pytest.skip(GRAPH_ONLY)
    secrets = boto3.client("secretsmanager")
    name = "whatsapp/cloud-api"
    pipeline.send_outbound(text("before", A))
    pipeline.drain()  # the old token is now cached
    current = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({**current, "access_token": "rotated"}))
    pipeline.graph.access_token = "rotated"  # Meta now accepts only the new token

    pipeline.send_outbound(text("after", A))
    pipeline.drain()

    assert accepted_sends(pipeline) == [(A, "before"), (A, "after")]
    refused = [r for r in pipeline.graph.requests if r.status == 401]
    assert len(refused) == 1 and refused[0].response["error"]["code"] == 190


class Outage:
    """Make a boto3 call fail for the next `n` calls, then work again."""

    def __init__(self, n: int, code: str) -> None:
        self.n, self.code = n, code

    def wrap(self, real):
        def call(*args, **kwargs):
            if self.n > 0:
                self.n -= 1
                raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, "Injected")
            return real(*args, **kwargs)

        return call


def test_secrets_manager_outage_delays_but_loses_nothing(pipeline, monkeypatch):
    from wacloud.adapters.credentials import secrets_provider
    from wacloud.runtime import singletons

    singletons.reset()  # nothing cached: the next send must read the secret
    provider = secrets_provider()
    monkeypatch.setattr(
        provider.client, "get_secret_value", Outage(3, "ServiceUnavailable").wrap(provider.client.get_secret_value)
    )
    for i in range(3):
        pipeline.send_outbound(text(f"s{i}", A))
    pipeline.drain()
    assert [body for _, body in accepted_sends(pipeline)] == ["s0", "s1", "s2"]


def test_dynamodb_outage_delays_but_loses_nothing(pipeline, monkeypatch):
    from wacloud.adapters.table import shared_table

    client = shared_table(pipeline.stack.table_names["MessagesTable"]).client
    monkeypatch.setattr(
        client, "update_item", Outage(4, "ProvisionedThroughputExceededException").wrap(client.update_item)
    )
    body, _ = pipeline.customer_says("hello during an outage")
    pipeline.drain()
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    replies = pipeline.graph.replies_to(wamid)
    assert len(replies) == 1
    record = Store().messages.get(replies[0].wamid)
    assert record is not None and record.status == "read"


def test_poison_document_reaches_the_dlq_with_its_reason_and_redrive_sends_it(pipeline):
    # GIVEN Graph fails this document on every attempt the queue allows (MaxReceiveCount = 5)
    pipeline.graph.script(*[graph_error(2, "Service temporarily unavailable", status=503)] * 5)
    pipeline.send_outbound(text("poison", A))
    pipeline.drain()
    pipeline.drain()  # SQS moves it to the DLQ on the receive after the last attempt

    record = Store().outbound.get("poison")
    assert record is not None and record.state == "dead_lettered"
    assert record.error is not None and record.error.code == 2 and record.attempts == 5
    urls = pipeline.stack.queue_urls
    (letter,) = dlq.inspect(urls["OutboundDLQ"])
    assert json.loads(letter.body)["idempotency_key"] == "poison"

    # WHEN Graph is back and the DLQ is redriven
    result = redrive(urls["OutboundDLQ"], urls["OutboundQueue"])
    pipeline.drain()

    # THEN it is sent once, and recorded as accepted
    assert (result.moved, result.failed) == (1, 0)
    assert accepted_sends(pipeline) == [(A, "poison")]
    assert outbound_state("poison") == "accepted"
    assert dlq.inspect(urls["OutboundDLQ"]) == []
