"""End User Messaging Social ingest: each SNS record's WhatsApp events on the inbound queue, as the
webhook puts them there (`wacloud.inbound.eum_ingest`).

Logs and metrics without Powertools (`LeanLogger`, `LeanMetrics`), like the webhook: the same code
path, so the same cold start. A raise (the inbound queue unavailable) makes Lambda retry the event.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from wacloud.inbound.eum_ingest import ingest
from wacloud.runtime.lean_metrics import LeanMetrics
from wacloud.runtime.logs import LeanLogger
from wacloud.runtime.tracing import trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = LeanLogger()
metrics = LeanMetrics()
gc.freeze()  # as the webhook: what the imports made is never collected, so never scanned


def sns_message_id(event: dict[str, Any]) -> str | None:
    """The first record's SNS message id: the log lines' correlation id."""
    records = event.get("Records")
    first = records[0] if isinstance(records, list) and records and isinstance(records[0], dict) else {}
    sns = first.get("Sns")
    return str(sns["MessageId"]) if isinstance(sns, dict) and "MessageId" in sns else None


@logger.inject_lambda_context(correlation_id=sns_message_id)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return ingest(event, context)
