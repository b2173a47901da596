"""Sender: takes outbound documents off the outbound queue and sends them through the Graph API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.masking import MaskingFormatter
from wacloud.sending import get_sender

logger = Logger(logger_formatter=MaskingFormatter())
tracer = Tracer()
metrics = Metrics()
# A failed send holds back only its own recipient's later messages (order per recipient).
batch = SqsFifoPartialProcessor(skip_group_on_error=True, logger=logger)
# Every record failing (e.g. Graph down) is reported record by record, not raised as a function
# error: the Errors alarm is kept for real crashes.
batch.raise_on_entire_batch_failure = False


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    attributes = record.raw_event.get("attributes", {})
    return get_sender().process_record(
        body=record.body,
        message_id=record.message_id,
        group_id=attributes.get("MessageGroupId"),
        attempt=int(attributes.get("ApproximateReceiveCount", 1)),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    sender = get_sender()
    sender.register_context(context)
    response = process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
    sender.schedule_retries(event.get("Records", []), response)
    return response
