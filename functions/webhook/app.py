"""Webhook: `GET /webhook` answers Meta's subscription check, `POST /webhook` verifies the
signature and puts each event of the body on the inbound queue (`wacloud.inbound.webhook_http`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.inbound.webhook_http import answer
from wacloud.runtime.masking import MaskingFormatter
from wacloud.runtime.tracing import trace_handler

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer(event)
