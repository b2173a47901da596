"""Webhook: `GET /webhook` answers Meta's subscription check, `POST /webhook` verifies the
signature and puts each event of the body on the inbound queue (`wacloud.inbound.webhook_http`);
`/webhook/<app>` does the same for another Meta app, with its own secret. Events of numbers the
stack does not serve are recorded, not queued.

Logs and metrics without Powertools (`LeanLogger`, `LeanMetrics`: the same JSON lines and EMF):
its import is a tenth of this function's cold start, and Meta asks for fast answers.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from wacloud.inbound.webhook_http import answer, request_id
from wacloud.runtime.lean_metrics import LeanMetrics
from wacloud.runtime.logs import LeanLogger
from wacloud.runtime.tracing import trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = LeanLogger()
metrics = LeanMetrics()
# What the imports made lives as long as the process: out of the collector's sight, the full
# collection the first request's boto3 clients trigger scans none of it (about 20 ms).
gc.freeze()


@logger.inject_lambda_context(correlation_id=request_id)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer(event)
