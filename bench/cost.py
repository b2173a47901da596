"""The AWS bill for one million inbound messages, each answered with one reply (plus its read
receipt and the reply's three status webhooks), from the calls and function time measured in the
end-to-end run. The arithmetic is printed in docs/PERFORMANCE.md."""

from __future__ import annotations

from typing import Any

# us-east-1 public prices (arm64 Lambda), USD. https://aws.amazon.com/<service>/pricing/
PRICES = {
    "lambda_gb_second": 0.0000133334,  # arm64
    "lambda_request": 0.20 / 1e6,
    "api_gateway_http_request": 1.00 / 1e6,  # HTTP API, first 300 million a month, per 512 KB
    "sqs_fifo_request": 0.50 / 1e6,  # each 64 KB chunk of a request
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, per write request unit (1 KB)
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand, per read request unit (4 KB, strongly consistent)
    "secrets_manager_call": 0.05 / 1e4,
}
MEMORY_GB = 256 / 1024  # template.yaml Globals MemorySize
# Graph answers in a few hundred milliseconds; the sender waits for it and is billed for the wait.
GRAPH_LATENCY_SECONDS = 0.25
# Write units per call: the processor's BatchWriteItem puts a message and its answer into the history.
WRITE_UNITS = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1, "BatchWriteItem": 2}
# Read units per call: a BatchGetItem is billed per key; the sender's asks for a reply's outbound
# record and its recipient's two contact items (3), or a read receipt's outbound record (1).
READ_UNITS = {"GetItem": 1, "Query": 1, "BatchGetItem": 2}


def per_million(e2e: dict[str, Any]) -> dict[str, Any]:
    calls: dict[str, float] = e2e["aws_calls_per_inbound_message"]
    invocations: dict[str, float] = e2e["invocations_per_inbound_message"]
    function_ms: dict[str, float] = e2e["function_ms_per_inbound_message"]
    graph_calls = e2e["graph_calls_per_inbound_message"]

    def count(service: str, operations: tuple[str, ...]) -> float:
        return sum(n for name, n in calls.items() if name.split(":")[0] == service and name.split(":")[1] in operations)

    read_units = sum(n * READ_UNITS.get(name.removeprefix("dynamodb:"), 0) for name, n in calls.items())
    write_units = sum(n * WRITE_UNITS.get(name.removeprefix("dynamodb:"), 0) for name, n in calls.items())

    seconds = sum(function_ms.values()) / 1000 + graph_calls * GRAPH_LATENCY_SECONDS
    sqs_requests = count("sqs", ("SendMessage", "SendMessageBatch"))
    # The event source mappings receive and delete (in batches, as the local pollers do).
    sqs_requests += 2 * (invocations.get("ProcessorFunction", 0) + invocations.get("SenderFunction", 0))
    lines = {
        "lambda_compute": seconds * MEMORY_GB * PRICES["lambda_gb_second"],
        "lambda_requests": sum(invocations.values()) * PRICES["lambda_request"],
        "api_gateway": invocations.get("WebhookFunction", 0) * PRICES["api_gateway_http_request"],
        "sqs_fifo": sqs_requests * PRICES["sqs_fifo_request"],
        "dynamodb_writes": write_units * PRICES["dynamodb_write_unit"],
        "dynamodb_reads": read_units * PRICES["dynamodb_read_unit"],
        "secrets_manager": count("secretsmanager", ("GetSecretValue",)) * PRICES["secrets_manager_call"],
    }
    usd = {name: round(value * 1e6, 2) for name, value in lines.items()}
    return {
        "cost_per_million_usd": round(sum(usd.values()), 2),
        "lines_usd": usd,
        "inputs_per_inbound_message": {
            "function_seconds": round(seconds, 4),
            "invocations": round(sum(invocations.values()), 2),
            "webhook_posts": invocations.get("WebhookFunction", 0),
            "sqs_requests": round(sqs_requests, 2),
            "dynamodb_writes": round(write_units, 2),
            "dynamodb_reads": round(read_units, 2),
            "secrets_manager_calls": count("secretsmanager", ("GetSecretValue",)),
            "graph_calls": graph_calls,
        },
        "assumptions": {
            "memory_gb": MEMORY_GB,
            "graph_latency_seconds": GRAPH_LATENCY_SECONDS,
            "dynamodb": "1 write unit per write, 1 read unit per item read (items under 1 KB)",
        },
    }
