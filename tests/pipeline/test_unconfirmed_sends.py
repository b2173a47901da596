"""The check of unconfirmed sends through the whole local pipeline, built from template.yaml: the
sender puts a delayed check on the check queue, the check function reads the outbound record later
and counts the send when it is still `unconfirmed`, or (End User Messaging Social) still without
the wamid its first status brings (UnconfirmedSendsAlarm's metric)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto import mock_aws

from wacloud.adapters.queues import QueueError
from wacloud.adapters.store import Store
from wacloud.local.meta.fake_graph import lost_reply
from wacloud.local.meta.graph_rules import RuleSettings
from wacloud.local.pipeline import LocalPipeline, PipelineOptions
from wacloud.outbound import unconfirmed_check

CUSTOMER = "16505551234"
DELAY = 1  # UnconfirmedAlarmSeconds, short for the test (deployed: up to 900)


@contextmanager
def running(*, status_webhooks: bool, transport: str = "cloud_api") -> Iterator[LocalPipeline]:
    parameters = {"UnconfirmedAlarmSeconds": str(DELAY)}
    rules = RuleSettings()
    if transport == "eum":  # no customer message first: its read receipt and answer would be sends too
        parameters["EnforceCustomerServiceWindow"] = "false"
        rules = RuleSettings(enforce_window=False)
    options = PipelineOptions(
        background=False,
        retry_delay=0,
        status_webhooks=status_webhooks,
        parameters=parameters,
        default_transport=transport,
        rules=rules,
    )
    with mock_aws(), LocalPipeline(options) as pipeline:
        yield pipeline


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    monkeypatch.setattr(unconfirmed_check, "count", lambda name, value=1: names.append(name))
    return names


@pytest.fixture
def no_statuses() -> Iterator[LocalPipeline]:
    """Meta's status webhooks never come: nothing confirms a send whose answer was lost."""
    with running(status_webhooks=False) as pipeline:
        yield pipeline


@pytest.fixture
def with_statuses() -> Iterator[LocalPipeline]:
    with running(status_webhooks=True) as pipeline:
        yield pipeline


@pytest.fixture
def eum_no_statuses() -> Iterator[LocalPipeline]:
    """The default number on End User Messaging Social, and no status ever comes back."""
    with running(status_webhooks=False, transport="eum") as pipeline:
        yield pipeline


@pytest.fixture
def eum_with_statuses() -> Iterator[LocalPipeline]:
    with running(status_webhooks=True, transport="eum") as pipeline:
        yield pipeline


def send_with_lost_answer(pipeline: LocalPipeline, key: str) -> None:
    send(pipeline, key, lost_answer=True)


def send(pipeline: LocalPipeline, key: str, *, lost_answer: bool = False, open_window: bool = True) -> None:
    if open_window:
        pipeline.customer_says("hi", sender=CUSTOMER)  # opens the 24-hour window for a free-form text
        pipeline.drain()
    if lost_answer:
        pipeline.graph.script(lost_reply())
    pipeline.send_outbound(
        {
            "idempotency_key": key,
            "message": {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "Your order shipped"}},
        }
    )
    pipeline.drain()


def wait_for_the_check(pipeline: LocalPipeline) -> int:
    """Let the check's delay pass, then run it; how many checks ran."""
    time.sleep(DELAY + 0.5)
    poller = next(p for p in pipeline.pollers if p.name == "unconfirmed_check")
    received = 0
    for _ in range(20):
        got = poller.poll_once().received
        received += got
        if received and not got:
            return received
        time.sleep(0.1)
    return received


def sends_of(pipeline: LocalPipeline) -> list[Any]:
    return [r for r in pipeline.graph.requests if r.body.get("text", {}).get("body") == "Your order shipped"]


def test_a_send_nothing_confirms_is_counted_when_its_check_comes(no_statuses, counted):
    send_with_lost_answer(no_statuses, "order-1")
    assert Store().outbound.get("order-1").state == "unconfirmed"
    assert counted == []  # not before its delay
    assert wait_for_the_check(no_statuses) == 1
    assert counted == ["SendStillUnconfirmed"]
    assert len(sends_of(no_statuses)) == 1  # the check sends nothing


def test_a_send_its_status_confirmed_in_between_counts_nothing(with_statuses, counted):
    send_with_lost_answer(with_statuses, "order-2")
    assert Store().outbound.get("order-2").state == "accepted"  # its status webhook confirmed it
    assert wait_for_the_check(with_statuses) == 1
    assert counted == []


def test_a_check_that_cannot_be_scheduled_fails_nothing_and_is_counted(no_statuses, counted, monkeypatch):
    def refused(*args: Any) -> None:
        raise QueueError("SendMessage failed: AccessDenied")

    monkeypatch.setattr(unconfirmed_check, "send_delayed", refused)
    send_with_lost_answer(no_statuses, "order-3")
    # The send was made once and recorded; the outbound queue did not deliver it again.
    assert len(sends_of(no_statuses)) == 1
    assert Store().outbound.get("order-3").state == "unconfirmed"
    assert counted == ["UnconfirmedCheckNotScheduled"]
    assert wait_for_the_check(no_statuses) == 0


def test_an_eum_send_no_status_ever_confirms_is_counted_when_its_check_comes(eum_no_statuses, counted):
    send(eum_no_statuses, "eum-1", open_window=False)
    record = Store().outbound.get("eum-1")
    # AWS took it (its id kept), but only a status would give it its wamid.
    assert (record.state, record.wamid, record.transport) == ("accepted", None, "eum")
    assert record.transport_message_id
    assert counted == []  # not before its delay
    assert wait_for_the_check(eum_no_statuses) == 1
    assert counted == ["SendStillUnconfirmed"]
    assert len(sends_of(eum_no_statuses)) == 1  # the check sends nothing


def test_an_eum_send_its_status_confirmed_in_between_counts_nothing(eum_with_statuses, counted):
    send(eum_with_statuses, "eum-2", open_window=False)
    record = Store().outbound.get("eum-2")
    assert (record.state, record.transport) == ("accepted", "eum") and record.wamid  # its status gave the wamid
    assert wait_for_the_check(eum_with_statuses) == 1
    assert counted == []
