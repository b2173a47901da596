"""A FIFO batch runs its message groups side by side, each group in order, and a failure holds back
only the rest of its own group."""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wacloud.local.pollers import lambda_record
from wacloud.outbound.batch import by_group, process_groups_concurrently

ARN = "arn:aws:sqs:us-east-1:123456789012:outbound.fifo"


def batch(*pairs: tuple[str, str]) -> dict:
    return {
        "Records": [
            lambda_record(
                {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body, "Attributes": {"MessageGroupId": group}},
                ARN,
            )
            for i, (group, body) in enumerate(pairs)
        ]
    }


def test_records_are_split_by_group_in_order():
    event = batch(("a", "1"), ("b", "2"), ("a", "3"))
    assert [[r["body"] for r in group] for group in by_group(event["Records"])] == [["1", "3"], ["2"]]


def test_groups_run_side_by_side():
    # Three groups meet at a barrier: run one after the other, the first would wait there in vain.
    barrier = threading.Barrier(3, timeout=10)

    def handler(record: SQSRecord) -> None:
        barrier.wait()

    event = batch(("a", "1"), ("b", "2"), ("c", "3"))
    answer = process_groups_concurrently(event, handler, context=None, logger=Logger(), max_workers=10)
    assert answer == {"batchItemFailures": []}


def test_each_group_keeps_its_order_and_a_failure_holds_back_only_its_own_group():
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def handler(record: SQSRecord) -> None:
        group = record.attributes.message_group_id or ""
        seen[group].append(record.body)
        if record.body == "a2":
            raise RuntimeError("Graph is down for this one")

    event = batch(("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3"), ("b", "b3"))
    answer = process_groups_concurrently(event, handler, context=None, logger=Logger(), max_workers=10)

    assert seen == {"a": ["a1", "a2"], "b": ["b1", "b2", "b3"]}
    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == ["m2", "m4"]  # a2 and a3


def test_one_worker_runs_the_groups_one_after_the_other():
    order: list[str] = []

    def handler(record: SQSRecord) -> None:
        order.append(record.body)

    event = batch(("a", "1"), ("b", "2"), ("a", "3"))
    process_groups_concurrently(event, handler, context=None, logger=Logger(), max_workers=1)
    assert order == ["1", "3", "2"]
