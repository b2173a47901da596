"""SQS FIFO batches processed one message group per thread, each group in order.

Lambda hands the sender up to 10 records from several message groups (recipients). Sending them one
after the other makes the batch as slow as the sum of its Graph calls; Graph calls to different
recipients are independent, so each group runs on its own thread, in order, through its own
Powertools `SqsFifoPartialProcessor(skip_group_on_error=True)`: a failure still holds back only the
later records of its own group, and the batch's answer is the union of the groups' failures.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext


def by_group(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The records split by `MessageGroupId`, each group in the order SQS gave it."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        group = (record.get("attributes") or {}).get("MessageGroupId") or record.get("messageId", "")
        groups.setdefault(group, []).append(record)
    return list(groups.values())


def process_groups_concurrently(
    event: dict[str, Any],
    record_handler: Callable[..., Any],
    *,
    context: LambdaContext | None,
    logger: Logger,
    max_workers: int,
) -> dict[str, Any]:
    """`process_partial_response` for a FIFO batch, its groups run side by side (at most `max_workers`)."""
    groups = by_group(event.get("Records") or [])

    def run(records: list[dict[str, Any]]) -> list[dict[str, str]]:
        processor = SqsFifoPartialProcessor(skip_group_on_error=True, logger=logger)
        # Every record failing (e.g. Graph down) is reported record by record, not raised as a
        # function error: the Errors alarm is kept for real crashes.
        processor.raise_on_entire_batch_failure = False
        answer = process_partial_response(
            event={"Records": records}, record_handler=record_handler, processor=processor, context=context
        )
        return answer["batchItemFailures"]

    if len(groups) <= 1 or max_workers <= 1:
        failures = [failure for records in groups for failure in run(records)]
    else:
        with ThreadPoolExecutor(max_workers=min(max_workers, len(groups)), thread_name_prefix="group") as pool:
            failures = [failure for result in pool.map(run, groups) for failure in result]
    return {"batchItemFailures": failures}
