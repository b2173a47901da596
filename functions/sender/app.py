"""Sender: takes outbound documents off the outbound queue and sends them through the Graph API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.outbound.batch import process_groups_concurrently
from wacloud.outbound.sender import get_sender
from wacloud.runtime.masking import MaskingFormatter
from wacloud.runtime.tracing import trace_handler, trace_method

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()


@trace_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    attributes = record.raw_event.get("attributes", {})
    return get_sender().process_record(
        body=record.body,
        message_id=record.message_id,
        group_id=attributes.get("MessageGroupId"),
        attempt=int(attributes.get("ApproximateReceiveCount", 1)),
    )


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    sender = get_sender()
    sender.register_context(context, event.get("Records") or [])
    # Recipients side by side, each recipient's messages in order; a failed send holds back only
    # its own recipient's later messages.
    response = process_groups_concurrently(
        event, record_handler, context=context, logger=logger, max_workers=sender.settings.send_concurrency
    )
    sender.schedule_retries(event.get("Records", []), response)
    return response
