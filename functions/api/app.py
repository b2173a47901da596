"""Messages API (IAM-authorized): `POST /messages` queues an outbound document, `GET /messages/{id}`
answers what happened to it (by idempotency key or wamid)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.outbound.messages_api import (
    DocumentTooLargeError,
    InvalidDocumentError,
    KeyConflictError,
    get_messages_api,
)
from wacloud.runtime.masking_formatter import MaskingFormatter
from wacloud.runtime.resolver_answers import add_error_answers, json_response
from wacloud.runtime.tracing import trace_handler

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()
app = APIGatewayHttpResolver()  # HTTP API, payload format 2.0


@app.post("/messages")
def submit() -> Response:
    event = app.current_event
    return json_response(202, get_messages_api().submit(event.body, is_base64_encoded=event.is_base64_encoded))


@app.get("/messages/<identifier>")
def status(identifier: str) -> Response:
    found = get_messages_api().status(identifier)
    if found is None:
        return json_response(
            404, {"error": "no outbound document with this idempotency key and no message with this wamid"}
        )
    return json_response(200, found)


@app.exception_handler(InvalidDocumentError)
def _invalid(exc: InvalidDocumentError) -> Response:
    return json_response(400, {"error": "invalid document", "reason": str(exc)})


@app.exception_handler(KeyConflictError)
def _key_conflict(exc: KeyConflictError) -> Response:
    return json_response(409, {"error": "idempotency key in use", "reason": str(exc)})


@app.exception_handler(DocumentTooLargeError)
def _too_large(exc: DocumentTooLargeError) -> Response:
    return json_response(413, {"error": str(exc)})


add_error_answers(app, logger, name="Messages API")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
