"""A soak: hundreds of documents and webhooks through the local pipeline while every fault happens at
once (transient Graph errors, lost replies, lagging and shuffled status webhooks, a token rotated
twice, DynamoDB throttling), then the guarantees: no key accepted twice by Graph, every key settled
or dead-lettered, every inbound event stored once, every POST answered 200, nothing left queued.
On both transports: the default number on Graph, or on End User Messaging Social (its sends through
AWS, its events through SNS; no token to rotate there).

`make soak` runs it with its figures (`-s`); the default run leaves it out (`-m "not soak"`)."""

from __future__ import annotations

import faulthandler
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.faults.conftest import start_pipeline
from wacloud.local.meta.fake_graph import GraphRequest, ScriptedAnswer, graph_error, lost_reply
from wacloud.local.meta.webhooks import new_wamid, status_update, text_message
from wacloud.local.pipeline import LocalPipeline
from wacloud.models.confirmation_marker import named_key
from wacloud.ops import dead_letters as dlq
from wacloud.ops.redrive import redrive

pytestmark = pytest.mark.soak

SEED = 18
ROUNDS = 25
DOCUMENTS_PER_ROUND = 21  # 525 documents, plus the producers' duplicates
MESSAGES_PER_ROUND = 12  # 300 customer messages, plus Meta's redeliveries
RECIPIENTS = [f"+1650555{n:04d}" for n in range(60)]
CUSTOMERS = [f"1650777{n:04d}" for n in range(80)]
TRANSIENT_RATE, LOST_RATE, THROTTLE_RATE = 0.06, 0.025, 0.02
ROTATE_AT = (8, 16)
BATCHES = {"processor": 15, "sender": 8}  # batches of 10 each function takes per round
SETTLED = {"accepted", "failed", "rejected", "unconfirmed"}
RANK = {"sent": 1, "delivered": 2, "read": 3}
TRANSIENT: dict[str, Callable[[], ScriptedAnswer]] = {
    "500": lambda: ScriptedAnswer(status=500, body={}),
    "131000": lambda: graph_error(131000, "Something went wrong", status=500),
    "130429": lambda: graph_error(130429, "Rate limit hit", status=429),
    "2/503": lambda: graph_error(2, "Service temporarily unavailable", status=503),
}


class Throttle:
    """DynamoDB refusing a share of the calls to the stack's tables (the messages table and
    Powertools' idempotency table), while `on`: botocore's one entry point for every API call."""

    def __init__(self, rng: random.Random, tables: dict[str, str]) -> None:
        self.rng, self.on, self.count = rng, True, Counter[str]()
        self.tables = {name: logical.removesuffix("Table") for logical, name in tables.items()}

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            names = [params.get("TableName"), *params.get("RequestItems", {})]
            table = next((self.tables[n] for n in names if n in self.tables), None)
            if table and self.on and self.rng.random() < THROTTLE_RATE:
                self.count[f"{table} {operation}"] += 1
                error = {"Code": "ProvisionedThroughputExceededException", "Message": "injected by the soak"}
                raise ClientError({"Error": error}, operation)
            return real(client, operation, params)

        return call


@dataclass
class Soak:
    pipeline: LocalPipeline
    rng: random.Random
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    inbound: list[dict[str, Any]] = field(default_factory=list)  # bodies, for redelivery
    posts: Counter[int] = field(default_factory=Counter)
    webhooks: int = 0
    redeliveries: int = 0
    scheduled: set[int] = field(default_factory=set)  # Graph requests whose statuses are planned
    silent: set[str] = field(default_factory=set)  # keys whose statuses Meta never sends
    due: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    posted_statuses: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    dead_letters: Counter[str] = field(default_factory=Counter)

    def post(self, body: dict[str, Any]) -> None:
        self.webhooks += 1
        self.posts[self.pipeline.deliver(body)[0]] += 1  # POSTed, or published on the EUM topic

    def produce(self, round_: int) -> None:
        """This round's documents (text and templates), and some of earlier ones put again."""
        for i in range(DOCUMENTS_PER_ROUND):
            key = f"soak-{round_:02d}-{i:02d}"
            document = {"idempotency_key": key, "message": self.message(key, self.rng.choice(RECIPIENTS))}
            self.documents[key] = document
            self.pipeline.send_outbound(document)
        for key in self.rng.sample(sorted(self.documents), k=min(4, len(self.documents))):
            self.duplicates += 1  # a producer retrying: past SQS's deduplication, to the sender's
            self.pipeline.send_outbound(self.documents[key], deduplication_id=f"{key}-again-{self.duplicates}")

    def message(self, key: str, to: str) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.6:
            return {"to": to, "type": "text", "text": {"body": f"soak {key}"}}
        if roll < 0.8:
            return {"to": to, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
        if roll < 0.97:
            named = [{"type": "text", "parameter_name": n, "text": key} for n in ("order_id", "total")]
            button = {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1"}]}
            components = [{"type": "body", "parameters": named}, button]
            template = {"name": "order_update", "language": {"code": "en_US"}, "components": components}
            return {"to": to, "type": "template", "template": template}
        paused = {"name": "spring_sale", "language": {"code": "en_US"}}  # PAUSED: rejected before a call
        return {"to": to, "type": "template", "template": paused}

    def customers_write(self, round_: int) -> None:
        """New customer messages, and Meta delivering some earlier bodies again, out of order."""
        for i in range(MESSAGES_PER_ROUND):
            customer = self.rng.choice(CUSTOMERS)
            body = text_message(
                f"hello {round_}.{i}",
                phone_number_id=self.pipeline.phone_number_id,
                sender=customer,
                name=f"Customer {customer[-4:]}",
                wamid=new_wamid(),
            )
            self.inbound.append(body)
            self.post(body)
        for body in self.rng.sample(self.inbound, k=min(8, len(self.inbound))):
            self.redeliveries += 1
            self.post(body)

    def plan_statuses(self, round_: int) -> None:
        """Each message Graph took gets its statuses some rounds later, shuffled and some twice;
        some only one or two of them; a few none (a lost reply then stays unconfirmed)."""
        for index, request in enumerate(self.pipeline.graph.requests):
            if index in self.scheduled or not request.is_message or request.wamid is None:
                continue
            self.scheduled.add(index)
            callback = request.body.get("biz_opaque_callback_data")
            if self.rng.random() < (0.25 if request.reply_dropped else 0.03):
                self.silent.add(named_key(callback) or "")
                continue
            for name in self.rng.sample(sorted(RANK), k=self.rng.randint(1, 3)):
                for _ in range(2 if self.rng.random() < 0.15 else 1):
                    body = status_update(
                        request.wamid,
                        name,
                        phone_number_id=self.pipeline.phone_number_id,
                        recipient=str(request.body["to"]).lstrip("+"),
                        timestamp=int(time.time()) + RANK[name],
                        callback_data=callback,
                    )
                    self.due[round_ + self.rng.randint(0, 3)].append(body)

    def post_statuses(self, round_: int) -> None:
        """The statuses due by this round, shuffled, batched up to four per body as Meta batches them."""
        bodies = [body for due in sorted(self.due) if due <= round_ for body in self.due.pop(due)]
        self.rng.shuffle(bodies)
        for start in range(0, len(bodies), 4):
            batch = bodies[start : start + 4]
            statuses = [s for body in batch for s in body["entry"][0]["changes"][0]["value"]["statuses"]]
            for status in statuses:
                self.posted_statuses[status["id"]].add(status["status"])
            merged = json.loads(json.dumps(batch[0]))
            merged["entry"][0]["changes"][0]["value"]["statuses"] = statuses
            self.post(merged)

    def script_faults(self, calls: int) -> None:
        answers: list[ScriptedAnswer | None] = []
        for _ in range(calls):
            roll = self.rng.random()
            if roll < TRANSIENT_RATE:
                answers.append(TRANSIENT[self.rng.choice(sorted(TRANSIENT))]())
            elif roll < TRANSIENT_RATE + LOST_RATE:
                answers.append(lost_reply())
            else:
                answers.append(None)
        self.pipeline.graph.script(*answers)

    def redrive_letters(self) -> bool:
        """Both DLQs back to their queues, as an operator would: True when anything moved."""
        urls = self.pipeline.stack.queue_urls if self.pipeline.stack else {}
        moved = False
        for direction in ("Inbound", "Outbound"):
            letters = dlq.inspect(urls[f"{direction}DLQ"])
            self.dead_letters[direction.lower()] += len(letters)
            if letters:
                moved = redrive(urls[f"{direction}DLQ"], urls[f"{direction}Queue"]).moved > 0 or moved
        return moved


@pytest.fixture(params=["cloud_api", "eum"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def soak(monkeypatch: pytest.MonkeyPatch, transport: str) -> Iterator[tuple[Soak, Throttle]]:
    with mock_aws():
        pipeline = start_pipeline(transport, EnforceCustomerServiceWindow="false", LogLevel="ERROR")
        pipeline.simulator.status_webhooks = False  # the soak sends them: late, shuffled, twice
        rng = random.Random(SEED)
        assert pipeline.stack is not None
        throttle = Throttle(random.Random(SEED + 1), pipeline.stack.table_names)
        monkeypatch.setattr(BaseClient, "_make_api_call", throttle.wrap(BaseClient._make_api_call))
        try:
            yield Soak(pipeline, rng), throttle
        finally:
            pipeline.stop()


def queued(pipeline: LocalPipeline, queue: str) -> int:
    assert pipeline.stack is not None
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=pipeline.stack.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def table_items(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    assert pipeline.stack is not None
    table = boto3.resource("dynamodb").Table(pipeline.stack.table_names["MessagesTable"])
    page = table.scan()
    items: list[dict[str, Any]] = page["Items"]
    while "LastEvaluatedKey" in page:
        page = table.scan(ExclusiveStartKey=page["LastEvaluatedKey"])
        items.extend(page["Items"])
    return items


def faults_seen(requests: list[GraphRequest]) -> Counter[str]:
    """The faults Graph's answers show, by kind."""
    seen = Counter[str]()
    for request in requests:
        code = request.response.get("error", {}).get("code") if isinstance(request.response, dict) else None
        if request.reply_dropped:
            seen["lost reply"] += 1
        elif request.status == 401:
            seen["old token refused (190)"] += 1
        elif request.status >= 429:
            seen[f"graph {code or request.status}"] += 1
    return seen


def drive(run: Soak, throttle: Throttle) -> tuple[float, float]:
    """The faulty rounds, then drained until quiet: (seconds with faults, seconds in all)."""
    pipeline, started = run.pipeline, time.monotonic()
    for round_ in range(ROUNDS):
        run.produce(round_)
        run.customers_write(round_)
        if round_ in ROTATE_AT and pipeline.numbers[0].transport == "cloud_api":
            pipeline.rotate_token()  # the secret changes; Graph refuses the token the sender holds
        run.script_faults(calls=DOCUMENTS_PER_ROUND + 3 * MESSAGES_PER_ROUND)
        for poller in pipeline.pollers:
            for _ in range(BATCHES.get(poller.name, 2)):  # at most this much: a backlog carries over
                if not poller.poll_once().received:
                    break
        run.plan_statuses(round_)
        run.post_statuses(round_)
    throttle.on = False
    faulty = time.monotonic() - started
    for round_ in range(ROUNDS, ROUNDS + 30):
        pipeline.drain()
        run.plan_statuses(round_)
        run.post_statuses(round_ + 3)
        if not run.due and not run.redrive_letters() and queued(pipeline, "InboundQueue") == 0:
            break
    pipeline.drain()
    return faulty, time.monotonic() - started


def check_outbound(run: Soak, items: list[dict[str, Any]], in_dlq: set[str]) -> Counter[str | None]:
    """No key accepted by Graph twice; every key settled, or dead-lettered and in the DLQ."""
    accepted_by_graph = Counter(
        named_key(r.body.get("biz_opaque_callback_data")) for r in run.pipeline.graph.messages()
    )
    twice = {key: n for key, n in accepted_by_graph.items() if n > 1}
    assert twice == {}, f"sent more than once: {twice}"
    assert None not in accepted_by_graph, "a message went out without a confirmation marker"
    records = {i["pk"].removeprefix("OUT#"): i for i in items if i["sk"] == "OUTBOUND"}
    assert set(run.documents) <= set(records), f"no record: {set(run.documents) - set(records)}"
    for key, record in records.items():
        state = record.get("state")
        if state == "dead_lettered":
            assert key in in_dlq, f"{key} is dead_lettered but not in the DLQ"
            continue
        assert state in SETTLED, f"{key} ended {state}"
        if state == "unconfirmed":
            assert record.get("reason") or record.get("error"), f"{key} unconfirmed without a reason"
        if key in accepted_by_graph and key not in run.silent:
            assert state == "accepted", f"{key}: Graph took it and its statuses came, the record says {state}"
    return Counter(r.get("state") for r in records.values())


def check_inbound(run: Soak, items: list[dict[str, Any]]) -> None:
    """Every customer message stored once (its record, one history line), every status applied."""
    sent_in = {b["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for b in run.inbound}
    stored_in = {i["pk"].removeprefix("MSG#") for i in items if i["sk"] == "MESSAGE" and i.get("direction") == "in"}
    assert stored_in == sent_in, f"missing: {sent_in - stored_in}, unexpected: {stored_in - sent_in}"
    lines = Counter(i["sk"].split("#")[3] for i in items if i["sk"].startswith("HIST#") and "#in#" in i["sk"])
    assert {w: n for w, n in lines.items() if n != 1} == {}, "history lines stored twice"
    assert set(lines) == sent_in
    messages = {i["pk"].removeprefix("MSG#"): i for i in items if i["sk"] == "MESSAGE"}
    for wamid, names in run.posted_statuses.items():
        item = messages.get(wamid)
        assert item is not None, f"no record for a message with statuses {names}"
        assert {f"at_{n}" for n in names} <= set(item), f"{wamid}: statuses lost"
        assert item["status"] == max(names, key=RANK.__getitem__), f"{wamid}: not at its latest status"
    assert run.posts == Counter({200: run.webhooks}), "a webhook POST was not answered 200"


def test_soak_every_guarantee_holds_under_all_faults_at_once(soak: tuple[Soak, Throttle]) -> None:
    faulthandler.dump_traceback_later(600)  # pytest's two minutes before a stack dump are too few here
    run, throttle = soak
    pipeline = run.pipeline

    # GIVEN producers and customers at work while Graph, Meta's webhooks and DynamoDB all misbehave;
    # WHEN the faults stop and everything is drained, late statuses posted, the DLQs redriven
    faulty, wall = drive(run, throttle)

    # THEN nothing is left queued, no key went out twice, every key and every event is recorded
    assert pipeline.stack is not None
    urls = pipeline.stack.queue_urls
    assert queued(pipeline, "OutboundQueue") == 0 and queued(pipeline, "InboundQueue") == 0
    letters = {q: dlq.inspect(urls[q]) for q in ("InboundDLQ", "OutboundDLQ", "EumIngestDLQ") if q in urls}
    items = table_items(pipeline)
    states = check_outbound(run, items, {json.loads(x.body).get("idempotency_key") for x in letters["OutboundDLQ"]})
    check_inbound(run, items)
    assert not letters.get("EumIngestDLQ"), "an End User Messaging Social event was dead-lettered"

    figures = {
        "documents (unique / re-put)": f"{len(run.documents)} / {run.duplicates}",
        "webhooks posted (messages / redelivered / status bodies)": (
            f"{run.webhooks} ({len(run.inbound)} / {run.redeliveries} / "
            f"{run.webhooks - len(run.inbound) - run.redeliveries})"
        ),
        "statuses posted": sum(len(v) for v in run.posted_statuses.values()),
        "outbound keys (with replies and read receipts)": sum(states.values()),
        "Graph calls / accepted messages": f"{len(pipeline.graph.requests)} / {len(pipeline.graph.messages())}",
        "final states": dict(sorted((str(k), n) for k, n in states.items())),
        "keys Meta never sent a status for": len(run.silent),
        "dead letters seen (redriven)": dict(run.dead_letters),
        "left in the DLQs": {q: [x.describe() for x in v] for q, v in letters.items()},
        "faults: Graph": dict(sorted(faults_seen(pipeline.graph.requests).items())),
        "transport of the default number": pipeline.numbers[0].transport,
        "faults: token rotations": len(ROTATE_AT) if pipeline.numbers[0].transport == "cloud_api" else 0,
        "faults: DynamoDB throttled calls": dict(sorted(throttle.count.items())),
        "wall time (s): with faults, in all": f"{faulty:.1f}, {wall:.1f}",
    }
    print("\nsoak figures:")
    for name, value in figures.items():
        print(f"  {name:<58} {value}")
