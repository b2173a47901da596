"""Sender: takes outbound documents off the outbound queue and sends them through the Graph API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.outbound.batch import process_batch
from wacloud.runtime.masking_formatter import MaskingFormatter
from wacloud.runtime.tracing import trace_handler

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Recipients side by side, each recipient's messages in order; a failed send holds back only
    # its own recipient's later messages.
    return process_batch(event, context)
