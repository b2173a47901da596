"""Messages API (IAM-authorized): `POST /messages` queues an outbound document, `GET /messages/{id}`
answers what happened to it (by idempotency key or wamid)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.errors import TransientError
from wacloud.messages_api import DocumentTooLargeError, InvalidDocumentError, get_messages_api

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


@app.post("/messages")
def submit() -> Response:
    return _json(202, get_messages_api().submit(app.current_event.decoded_body))


@app.get("/messages/<identifier>")
def status(identifier: str) -> Response:
    found = get_messages_api().status(identifier)
    if found is None:
        return _json(404, {"error": "no outbound document with this idempotency key and no message with this wamid"})
    return _json(200, found)


@app.exception_handler(InvalidDocumentError)
def _invalid(exc: InvalidDocumentError) -> Response:
    return _json(400, {"error": "invalid document", "reason": str(exc)})


@app.exception_handler(DocumentTooLargeError)
def _too_large(exc: DocumentTooLargeError) -> Response:
    return _json(413, {"error": str(exc)})


@app.exception_handler(TransientError)
def _unavailable(exc: TransientError) -> Response:
    logger.error("Messages API dependency unavailable", extra={"error": str(exc)})
    return _json(503, {"error": "temporarily unavailable"})


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    return _json(exc.status_code, {"error": exc.msg})


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("Unexpected messages API error")
    return _json(500, {"error": "internal error"})


def _json(status: int, body: dict) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
