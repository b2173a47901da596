"""Unconfirmed check: takes the sender's delayed checks off their queue and counts the sends still
`unconfirmed` (SendStillUnconfirmed, UnconfirmedSendsAlarm)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.outbound.unconfirmed_check import check_batch
from wacloud.runtime.masking_formatter import MaskingFormatter
from wacloud.runtime.tracing import trace_handler

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return check_batch(event, context)
