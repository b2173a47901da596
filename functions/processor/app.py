"""Processor: takes inbound events off the inbound queue, stores them and queues replies."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.inbound.processor import process_batch
from wacloud.runtime.masking_formatter import MaskingFormatter
from wacloud.runtime.tracing import trace_handler

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Each customer's events in order; a failed event holds back only its own customer's later ones.
    return process_batch(event, context)
