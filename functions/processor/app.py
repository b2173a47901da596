"""Processor: takes inbound events off the inbound queue, stores them and queues replies."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.inbound.processor import get_processor
from wacloud.runtime.masking import MaskingFormatter
from wacloud.runtime.tracing import trace_handler, trace_method

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()
# A failed event holds back only its own customer's later events, not other customers'.
batch = SqsFifoPartialProcessor(skip_group_on_error=True, logger=logger)
# Every record failing (e.g. Graph down) is reported record by record, not raised as a function
# error: the Errors alarm is kept for real crashes.
batch.raise_on_entire_batch_failure = False


@trace_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    return get_processor().process_document(record.body, message_id=record.message_id)


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    get_processor().register_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
