"""`throttle_efficiency`: several sender processes (Lambda environments) draining one outbound queue
against a fake Graph API that enforces a throughput limit with Meta's 130429.

Each worker is a separate Python process running the sender function behind an SQS poller, as
Lambda's event source mapping would; they share nothing but moto (the queue, the tables: the
shared rate limit's counters) and the fake Graph API. The figure is what the fake accepted per
second over what its limit lets through in that time (its rate x the run, plus the one second's
worth its bucket starts with), and every document must arrive exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

import boto3

from bench.env import REGION, ROOT, FakeGraph, Stack, function_environment


def enqueue(stack: Stack, count: int, recipients: int, per_second: float | None = None) -> set[str]:
    """`count` text documents to `recipients` customers on the outbound queue (at `per_second`, or at
    once); their keys."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = stack.queue_urls["OutboundQueue"]
    keys: set[str] = set()
    entries = []
    for i in range(count):
        key = f"bench-{uuid.uuid4().hex}"
        to = f"1650555{i % recipients:04d}"
        document = {"idempotency_key": key, "message": {"type": "text", "to": f"+{to}", "text": {"body": f"#{i}"}}}
        entries.append(
            {"Id": str(len(entries)), "MessageBody": json.dumps(document), "MessageGroupId": to,
             "MessageDeduplicationId": key}
        )  # fmt: skip
        keys.add(key)
        if len(entries) == 10:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
            entries = []
            if per_second:
                time.sleep(10 / per_second)
    if entries:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    return keys


def queue_depth(stack: Stack, name: str) -> int:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.queue_urls[name],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def throttle(
    stack: Stack,
    graph: FakeGraph,
    *,
    limit: float = 5.0,
    messages: int = 2000,
    senders: int = 3,
    send_concurrency: int = 10,
    latency: float = 0.05,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Drain `messages` documents with `senders` worker processes against a Graph limited to `limit`/s.

    The documents are fed to the queue at 1.2 x the limit, as a campaign's producer would: more
    than the limit lets through, without a queue of thousands (moto's FIFO receive slows down with
    the queue's length, which would measure moto instead of the senders).
    """
    keys: set[str] = set()

    def produce() -> None:
        keys.update(enqueue(stack, messages, recipients=max(50, messages // 10), per_second=1.2 * limit))

    producer = threading.Thread(target=produce, daemon=True)
    env = {
        **os.environ,
        **function_environment(stack, "SenderFunction", graph.url),
        "WACLOUD_SEND_CONCURRENCY": str(send_concurrency),
        "WACLOUD_SEND_RATE_PER_SECOND": str(limit),
        # A document throttled anyway comes back after seconds, not the deployed 30 s, so a run
        # that loses nothing also ends.
        "WACLOUD_RETRY_BASE_SECONDS": "2",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "ERROR"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "wacloud")]),
    }
    graph.latency = latency
    graph.limit(limit)
    # The workers' logs (BENCH_WORKER_LOG_LEVEL=WARNING shows why a send failed) go to BENCH_WORKER_LOG.
    log = open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "a")  # noqa: SIM115 - closed below
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.throttle"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        for _ in range(senders)
    ]
    producer.start()
    deadline = time.monotonic() + timeout
    try:
        while (producer.is_alive() or len(graph.delivered_keys & keys) < len(keys)) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # anything still in flight (a duplicate would show up now)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        log.close()
    delivered = graph.delivered_keys & keys
    first, last = graph.accepted_at[0], graph.accepted_at[-1]
    seconds = last - first
    figures = {
        "limit_per_second": limit,
        "messages": messages,
        "senders": senders,
        "send_concurrency": send_concurrency,
        "graph_latency_ms": latency * 1000,
        "seconds": round(seconds, 1),
        "delivered_per_second": round(graph.accepted / seconds, 2),
        "throttle_efficiency": round(graph.accepted / (limit * seconds + limit), 3),
        "answered_130429": graph.throttled,
        "delivered": len(delivered),
        "lost": len(keys - delivered),
        "duplicates": graph.accepted - len(delivered),
        "left_on_queue": queue_depth(stack, "OutboundQueue"),
        "dead_lettered": queue_depth(stack, "OutboundDLQ"),
    }
    figures["not_accepted"] = not_accepted(stack)
    graph.limit(None)
    graph.latency = 0.0
    return figures


def not_accepted(stack: Stack) -> dict[str, int]:
    """Outbound records not (yet) accepted, counted by state and error: why a document did not arrive."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.table_names["MessagesTable"])
    reasons: Counter[str] = Counter()
    scan: dict[str, Any] = {}
    while True:
        page = table.scan(**scan)
        for item in page["Items"]:
            if item["sk"] == "OUTBOUND" and item.get("state") != "accepted":
                error = item.get("error") or {}
                reasons[f"{item.get('state')}: {error.get('title', '')} {error.get('details', '')}".strip()] += 1
        if "LastEvaluatedKey" not in page:
            return dict(reasons)
        scan = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def worker() -> None:
    """One sender environment: poll the outbound queue, run the handler, until terminated."""
    from functions.sender.app import lambda_handler
    from wacloud.local.lambda_context import LocalContext
    from wacloud.local.pollers import QueuePoller

    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    sqs = boto3.client("sqs", region_name=REGION)
    url = os.environ["WACLOUD_OUTBOUND_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    poller = QueuePoller(
        name="sender",
        sqs=sqs,
        queue_url=url,
        queue_arn=arn,
        invoke=lambda event: lambda_handler(event, LocalContext(function_name="bench-sender", timeout_seconds=90)),
        batch_size=5,  # the template's BatchSize
    )
    while not stopping:
        poller.poll_once(wait_seconds=1)


if __name__ == "__main__":
    worker()
