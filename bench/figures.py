"""Each figure of `make bench`, measured beside its baseline in the same run."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import requests

from bench.env import PHONE_NUMBER_ID, REGION, ROOT, SECRET, FakeGraph, Stack, drain, function_environment
from bench.sender_floor import FloorSender
from wacloud.inbound.signature import sign
from wacloud.local.front_door import proxy_event
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.local.pollers import lambda_record

CUSTOMER = "16505551234"


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


@contextmanager
def function_env(stack: Stack, logical_id: str, graph_url: str) -> Iterator[None]:
    """This process as the function: its variables set, every cache of the package reset."""
    from wacloud.runtime import singletons

    saved = dict(os.environ)
    os.environ.update(function_environment(stack, logical_id, graph_url))
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # no EMF lines on the benchmark's terminal
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    singletons.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        singletons.reset()


def handler(name: str) -> Callable[[dict, Any], Any]:
    return importlib.import_module(f"functions.{name}.app").lambda_handler


# --- webhook ingest ---------------------------------------------------------------------------


def webhook_bodies(kind: str, count: int) -> list[bytes]:
    """`count` distinct bodies of one kind: one text, one status, or a batch of 20 (10 + 10)."""
    bodies = []
    for _ in range(count):
        if kind == "text":
            body = text_message("Where is my order?", phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER)
        elif kind == "status":
            body = status_update(
                f"wamid.{uuid.uuid4().hex}", "delivered", phone_number_id=PHONE_NUMBER_ID, recipient=CUSTOMER
            )
        else:
            body = text_message("hi", phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER)
            value = body["entry"][0]["changes"][0]["value"]
            value["messages"] = [
                {**value["messages"][0], "id": f"wamid.{uuid.uuid4().hex}", "from": f"1650555{i:04d}"}
                for i in range(10)
            ]
            value["statuses"] = [
                status_update(f"wamid.{uuid.uuid4().hex}", "read", phone_number_id=PHONE_NUMBER_ID, recipient=CUSTOMER)[
                    "entry"
                ][0]["changes"][0]["value"]["statuses"][0]
                for _ in range(10)
            ]
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return bodies


def minimal_webhook(queue_url: str, app_secret: str) -> Callable[[dict], dict]:
    """The simplest hand-written webhook: HMAC, JSON parse, one SendMessageBatch per 10 events."""
    sqs = boto3.client("sqs", region_name=REGION)

    def handle(event: dict) -> dict:
        body = event["body"].encode()
        expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
        # An HTTP API (payload 2.0) hands header names lowercased.
        if not hmac.compare_digest(expected, event["headers"].get("x-hub-signature-256", "")):
            return {"statusCode": 403, "body": ""}
        entries = []
        for entry in json.loads(body)["entry"]:
            for change in entry["changes"]:
                value = change["value"]
                for item in value.get("messages", []) + value.get("statuses", []):
                    document = json.dumps(item)
                    entries.append(
                        {
                            "Id": str(len(entries)),
                            "MessageBody": document,
                            "MessageGroupId": item.get("from") or item.get("recipient_id") or "none",
                            "MessageDeduplicationId": hashlib.sha256(document.encode()).hexdigest(),
                        }
                    )
        for start in range(0, len(entries), 10):
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries[start : start + 10])
        return {"statusCode": 200, "body": json.dumps({"ok": True})}

    return handle


def ingest(stack: Stack, graph: FakeGraph, *, rounds: int = 60) -> dict[str, Any]:
    """Time per signed POST through the webhook handler over the minimal handler, per body kind."""
    queue_url = stack.queue_urls["InboundQueue"]
    figures: dict[str, Any] = {}
    with function_env(stack, "WebhookFunction", graph.url):
        ours, baseline = handler("webhook"), minimal_webhook(queue_url, SECRET["app_secret"])
        context = LocalContext(function_name="bench-webhook")
        for kind in ("text", "status", "batch20"):
            events = [
                proxy_event(
                    "POST",
                    "/webhook",
                    {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET["app_secret"])},
                    body,
                    "173.252.95.1",
                )
                for body in webhook_bodies(kind, rounds * 2)
            ]
            ours(events[0], context)  # warm: the first call pays for clients and the secret
            baseline(events[1])
            drain(queue_url)
            times: dict[str, list[float]] = {"ours": [], "baseline": []}
            for i in range(2, len(events) - 1, 2):  # interleaved, so both see the same queue depth
                for name, call, event in (("ours", ours, events[i]), ("baseline", baseline, events[i + 1])):
                    start = time.perf_counter()
                    answer = call(event, context) if name == "ours" else call(event)
                    times[name].append(time.perf_counter() - start)
                    assert answer["statusCode"] == 200, answer
                if i % 20 == 0:
                    drain(queue_url)
            drain(queue_url)
            figures[kind] = {
                "ours_ms": median_ms(times["ours"]),
                "baseline_ms": median_ms(times["baseline"]),
                "ratio": round(statistics.median(times["ours"]) / statistics.median(times["baseline"]), 3),
            }
    figures["ingest_ratio"] = max(figures[kind]["ratio"] for kind in ("text", "status", "batch20"))
    return figures


# --- cold starts ------------------------------------------------------------------------------

# Each child prints the system-wide monotonic clock once it has served (ours) or created its
# client (baseline): a Lambda cold start is init plus the first invoke, and interpreter shutdown
# (tearing down botocore's models takes 60-130 ms here) is not part of it.
COLD_OURS = """
import json, sys, time
from wacloud.local.lambda_context import LocalContext
event = json.loads(sys.stdin.read())
import functions.{name}.app as app
answer = app.lambda_handler(event, LocalContext(function_name="bench-{name}"))
print(time.monotonic(), flush=True)
"""
COLD_BASELINE = "import time\nimport boto3\nboto3.client({client!r})\nprint(time.monotonic(), flush=True)\n"
FIRST_EVENTS = {"webhook": "WebhookFunction", "processor": "ProcessorFunction", "sender": "SenderFunction"}
BASELINE_CLIENTS = {"webhook": "sqs", "processor": "dynamodb", "sender": "dynamodb"}


def first_event(name: str, stack: Stack) -> dict:
    body = text_message("Where is my order?", phone_number_id=PHONE_NUMBER_ID, sender=CUSTOMER)
    raw = json.dumps(body).encode()
    if name == "webhook":
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, SECRET["app_secret"])}
        return proxy_event("POST", "/webhook", headers, raw, "173.252.95.1")
    if name == "processor":
        from wacloud.inbound.split import split_webhook

        document = split_webhook(body)[0].body()
        group = CUSTOMER
    else:
        key = uuid.uuid4().hex
        document = json.dumps(
            {"idempotency_key": key, "message": {"type": "text", "to": f"+{CUSTOMER}", "text": {"body": "hi"}}}
        )
        group = CUSTOMER
    record = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": document}
    record["Attributes"] = {"MessageGroupId": group, "ApproximateReceiveCount": "1"}
    return {"Records": [lambda_record(record, f"arn:aws:sqs:{REGION}:123456789012:bench.fifo")]}


def _process_seconds(code: str, env: dict[str, str], stdin: str = "") -> float:
    """Seconds from starting a fresh interpreter to the moment the child says it is done."""
    start = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code], input=stdin, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return float(result.stdout.split()[-1]) - start


def coldstart(stack: Stack, graph: FakeGraph, *, runs: int = 11) -> dict[str, Any]:
    """A fresh process importing the handler and serving its first event, over a fresh process that
    imports boto3 and creates the one client the function needs."""
    figures: dict[str, Any] = {}
    for name, logical_id in FIRST_EVENTS.items():
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **function_environment(stack, logical_id, graph.url)}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "layers" / "wacloud")])  # this checkout
        ours, baseline = [], []
        for _ in range(runs):
            ours.append(_process_seconds(COLD_OURS.format(name=name), env, json.dumps(first_event(name, stack))))
            baseline.append(_process_seconds(COLD_BASELINE.format(client=BASELINE_CLIENTS[name]), env))
        figures[name] = {
            "coldstart_ms": median_ms(ours),
            "baseline_ms": median_ms(baseline),
            "coldstart_ratio": round(statistics.median(ours) / statistics.median(baseline), 3),
        }
    for queue in ("InboundQueue", "OutboundQueue"):
        drain(stack.queue_urls[queue])
    return figures


# --- package size -----------------------------------------------------------------------------


def _size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 2)


def package() -> dict[str, Any]:
    """Unzipped size of each function's code plus the layer, from `sam build`'s output."""
    build = ROOT / ".aws-sam" / "build"
    layer = build / "WacloudLayer"
    if not layer.is_dir():
        return {"skipped": "no .aws-sam/build (make build needs python3.13)"}
    figures: dict[str, Any] = {"layer_mb": _size_mb(layer)}
    for logical_id in ("WebhookFunction", "ProcessorFunction", "SenderFunction", "ApiFunction"):
        figures[logical_id] = round(_size_mb(build / logical_id) + figures["layer_mb"], 2)
    return figures


# --- the sender -------------------------------------------------------------------------------


def outbound_batch(recipients: list[str]) -> dict:
    records = []
    for i, to in enumerate(recipients):
        document = {"idempotency_key": uuid.uuid4().hex, "message": {"type": "text", "to": to, "text": {"body": "Hi"}}}
        record = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"r{i}", "Body": json.dumps(document)}
        record["Attributes"] = {"MessageGroupId": to.lstrip("+"), "ApproximateReceiveCount": "1"}
        records.append(lambda_record(record, f"arn:aws:sqs:{REGION}:123456789012:outbound.fifo"))
    return {"Records": records}


def bare_post_seconds(graph: FakeGraph, count: int) -> list[float]:
    session = requests.Session()
    url = f"{graph.url}/v25.0/{PHONE_NUMBER_ID}/messages"
    times = []
    for _ in range(count):
        body = {"messaging_product": "whatsapp", "to": f"+{CUSTOMER}", "type": "text", "text": {"body": "Hi"}}
        start = time.perf_counter()
        session.post(url, json=body, headers={"Authorization": "Bearer x"}, timeout=10).raise_for_status()
        times.append(time.perf_counter() - start)
    return times


def sender(stack: Stack, graph: FakeGraph, *, rounds: int = 5, messages: int = 40) -> dict[str, Any]:
    """A batch of 10 documents to 10 recipients over one Graph request (SendConcurrency 10); and
    per-message sender time over a bare `requests.Session.post` loop, both against the fake Graph
    API answering in 50 ms."""
    graph.latency = 0.05
    figures: dict[str, Any] = {"send_concurrency": 10}
    # The deployed default sends one recipient at a time (SendConcurrency 1, sized for Meta's
    # 80 messages/s); the figure is for a stack deployed with SendConcurrency 10.
    with function_env(stack, "SenderFunction", graph.url):
        os.environ["WACLOUD_SEND_CONCURRENCY"] = "10"
        # A number at Meta's 1,000/s tier: the shared rate (100 per 100 ms slot) never makes the
        # batch's ten sends wait; the throttle figure measures the rate itself.
        os.environ["WACLOUD_SEND_RATE_PER_SECOND"] = "1000"
        send = handler("sender")
        context = LocalContext(function_name="bench-sender", timeout_seconds=120)
        send(outbound_batch([f"+{CUSTOMER}"]), context)  # warm
        single = bare_post_seconds(graph, 20)
        batches = []
        for _ in range(rounds):
            event = outbound_batch([f"+1650555{i:04d}" for i in range(10)])
            start = time.perf_counter()
            answer = send(event, context)
            batches.append(time.perf_counter() - start)
            assert answer == {"batchItemFailures": []}, answer
        figures["batch_of_10_ms"] = median_ms(batches)
        figures["one_request_ms"] = median_ms(single)
        figures["sender_batch_ratio"] = round(statistics.median(batches) / statistics.median(single), 3)

        floor = FloorSender.from_environment()
        floor.handle(outbound_batch([f"+{CUSTOMER}"]))  # warm: its clients and the secret
        ours_times, floor_times = against_floor(graph, lambda event: send(event, context), floor.handle, messages)
        bare = bare_post_seconds(graph, messages)
        per_message = ours_times["wall"]
        figures["per_message_ms"] = median_ms(per_message)
        figures["bare_post_ms"] = median_ms(bare)
        figures["sender_overhead_ratio"] = round(statistics.median(per_message) / statistics.median(bare), 3)
        # The project's sender over the floor (bench/sender_floor.py), batches of one, interleaved.
        for prefix, times in (("", ours_times), ("floor_", floor_times)):
            figures[f"{prefix}cpu_ms_per_send"] = median_ms(times["cpu"])
            figures[f"{prefix}wall_ms_per_send"] = median_ms(times["wall"])
            figures[f"{prefix}process_cpu_ms_per_send"] = median_ms(times["process_cpu"])
        for measure in ("cpu", "wall"):
            ratio = statistics.median(ours_times[measure]) / statistics.median(floor_times[measure])
            figures[f"sender_{measure}_ratio"] = round(ratio, 3)
        # What the overhead is made of: the sender's own CPU (botocore's included: with one
        # interpreter lock, it is what ten recipients' threads cannot overlap), and the DynamoDB
        # round trips with what each costs here (moto), by operation. `cpu_ms_per_message` (the
        # name bench/compare.py reads) is the process's CPU, as it always was.
        figures["cpu_ms_per_message"] = figures["process_cpu_ms_per_send"]
        sends = 20
        timings = calls_by_operation(lambda: send(outbound_batch([f"+{CUSTOMER}"]), context), sends)
        floor_timings = calls_by_operation(lambda: floor.handle(outbound_batch([f"+{CUSTOMER}"])), sends)
        for prefix, calls in (("", timings), ("floor_", floor_timings)):
            dynamodb = sum(len(v) for (service, _), v in calls.items() if service == "dynamodb")
            figures[f"{prefix}dynamodb_calls_per_send"] = round(dynamodb / sends, 2)
        figures["dynamodb_ms_by_operation"] = {
            f"{operation} ({len(samples) // sends} per send)": median_ms(samples)
            for (service, operation), samples in sorted(timings.items())
            if service == "dynamodb"
        }
        figures["floor_dynamodb_ms_by_operation"] = {
            f"{operation} ({len(samples) // sends} per send)": median_ms(samples)
            for (service, operation), samples in sorted(floor_timings.items())
            if service == "dynamodb"
        }
        table = boto3.client("dynamodb", region_name=REGION)
        name = stack.table_names["MessagesTable"]
        lookups = []
        for _ in range(30):
            start = time.perf_counter()
            table.get_item(TableName=name, Key={"pk": {"S": "OUT#none"}, "sk": {"S": "OUTBOUND"}})
            lookups.append(time.perf_counter() - start)
        figures["dynamodb_call_ms"] = median_ms(lookups)
    graph.latency = 0.0
    return figures


def against_floor(
    graph: FakeGraph, ours: Callable[[dict], Any], floor: Callable[[dict], Any], messages: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per-send wall and CPU time of the project's sender and of the floor, batches of one (a text to
    a recipient in the window), alternately (which goes first alternates too) against the same moto
    server and fake Graph API; then proof that the floor did its job, so a broken floor makes no figure.

    CPU is the calling thread's (`time.thread_time`, Linux's per-thread clock): both run a batch of
    one on this thread (the project's sender starts no pool for one group), while moto runs in its
    own process and the fake Graph API answers on threads of this one, whose CPU `process_time`
    would add to both alike (`process_cpu_ms_per_send` shows it, with whatever else ran)."""
    senders = {"ours": ours, "floor": floor}
    times: dict[str, dict[str, list[float]]] = {who: {"wall": [], "cpu": [], "process_cpu": []} for who in senders}
    keys: dict[str, list[str]] = {who: [] for who in senders}
    accepted_before = graph.accepted
    for i in range(messages):
        for who in ("ours", "floor") if i % 2 == 0 else ("floor", "ours"):
            event = outbound_batch([f"+{CUSTOMER}"])
            keys[who].append(json.loads(event["Records"][0]["body"])["idempotency_key"])
            start, start_cpu, start_process = time.perf_counter(), time.thread_time(), time.process_time()
            answer = senders[who](event)
            times[who]["cpu"].append(time.thread_time() - start_cpu)
            times[who]["process_cpu"].append(time.process_time() - start_process)
            times[who]["wall"].append(time.perf_counter() - start)
            assert answer == {"batchItemFailures": []}, (who, answer)
    check_sent(graph, accepted_before, keys)
    return times["ours"], times["floor"]


def check_sent(graph: FakeGraph, accepted_before: int, keys: dict[str, list[str]]) -> None:
    """Every document got exactly one Graph call (Graph took as many as there were documents, and
    each document's confirmation marker reached it), and each floor document's records read back
    `accepted` with its wamid (through the project's own store and models)."""
    from wacloud.adapters.store import get_message, get_outbound
    from wacloud.models.outbound_state import OutboundState

    every = keys["ours"] + keys["floor"]
    if graph.accepted - accepted_before != len(every):
        raise RuntimeError(f"{graph.accepted - accepted_before} Graph calls for {len(every)} documents")
    missing = [key for key in every if key not in graph.delivered_keys]
    if missing:
        raise RuntimeError(f"no Graph call for {len(missing)} documents, e.g. {missing[0]}")
    for key in keys["floor"]:
        record = get_outbound(key)
        if record is None or record.state is not OutboundState.ACCEPTED or not record.wamid:
            raise RuntimeError(f"the floor's record of {key} reads {record!r}")
        message = get_message(record.wamid)
        if message is None or message.idempotency_key != key:
            raise RuntimeError(f"the floor's message record of {key} ({record.wamid}) reads {message!r}")


def calls_by_operation(send_one: Callable[[], Any], sends: int) -> dict[tuple[str, str], list[float]]:
    """The AWS calls of `sends` batches of one, timed, by (service, operation)."""
    with timing_calls() as timings:
        for _ in range(sends):
            send_one()
    return timings


# --- end to end, and what one inbound message costs in AWS calls --------------------------------


@contextmanager
def timing_calls() -> Iterator[dict[tuple[str, str], list[float]]]:
    """The wall time of every AWS API call this process makes, by (service, operation)."""
    timings: dict[tuple[str, str], list[float]] = {}
    original = botocore.client.BaseClient._make_api_call

    def timed(self: Any, operation: str, params: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, operation, params)
        finally:
            key = (self.meta.service_model.service_name, operation)
            timings.setdefault(key, []).append(time.perf_counter() - start)

    botocore.client.BaseClient._make_api_call = timed  # type: ignore[method-assign]
    try:
        yield timings
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def end_to_end(*, messages: int = 100) -> dict[str, Any]:
    """The local run (threads polling the queues like the event source mappings): a signed inbound
    POST until its reply reaches the fake Graph API; and the AWS calls and function time per message."""
    from moto import mock_aws

    from wacloud.local.meta.graph_rules import RuleSettings
    from wacloud.local.pipeline import LocalPipeline, PipelineOptions, wait_until

    os.environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto here
    rules = RuleSettings(enforce_window=False, throughput_per_second=None, pair_limit=None)
    # Meta's sent, delivered and read webhooks for each reply, soon after it.
    options = PipelineOptions(status_webhooks=True, status_delays=(0.01, 0.02, 0.03), rules=rules, retry_delay=1)
    latencies: list[float] = []
    durations: Counter[str] = Counter()
    invocations: Counter[str] = Counter()
    with mock_aws(), timing_calls() as calls:
        pipeline = LocalPipeline(options).start()
        original_invoke = pipeline.invoke

        def timed(logical_id: str, event: dict) -> Any:
            start = time.perf_counter()
            try:
                return original_invoke(logical_id, event)
            finally:
                durations[logical_id] += time.perf_counter() - start
                invocations[logical_id] += 1

        pipeline.invoke = timed  # type: ignore[method-assign]
        try:
            pipeline.customer_says("warm up", sender=CUSTOMER)
            wait_until(lambda: len(pipeline.graph.messages()) >= 2, timeout=30)
            time.sleep(1.0)  # the warm-up's statuses
            calls.clear()
            durations.clear()
            invocations.clear()
            graph_before = len(pipeline.graph.requests)
            for i in range(messages):
                wamid = f"wamid.E2E{i:04d}{uuid.uuid4().hex[:8]}"
                start = time.perf_counter()
                pipeline.customer_says(f"message {i}", sender=f"1650556{i:04d}", wamid=wamid)
                replied = wait_until(lambda w=wamid: bool(pipeline.graph.replies_to(w)), timeout=30, interval=0.002)
                assert replied, f"no reply to {wamid}"
                latencies.append(time.perf_counter() - start)
            wait_until(lambda: len(pipeline.graph.requests) >= graph_before + 2 * messages, timeout=30)
            time.sleep(2.0)  # the last read receipts and status webhooks settle
            graph_calls = len(pipeline.graph.requests) - graph_before
        finally:
            pipeline.stop()
    latencies.sort()
    per_message_calls = {f"{service}:{op}": round(len(v) / messages, 2) for (service, op), v in sorted(calls.items())}
    return {
        "e2e_ms_p50": round(latencies[len(latencies) // 2] * 1000, 1),
        "e2e_ms_p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "aws_calls_per_inbound_message": per_message_calls,
        "function_ms_per_inbound_message": {k: round(v / messages * 1000, 2) for k, v in durations.items()},
        "invocations_per_inbound_message": {k: round(v / messages, 2) for k, v in invocations.items()},
        "graph_calls_per_inbound_message": round(graph_calls / messages, 2),
    }
