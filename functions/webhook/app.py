"""Webhook: `GET /webhook` answers Meta's subscription check, `POST /webhook` verifies the
signature and puts each event of the body on the inbound queue."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.errors import ConfigurationError, SignatureError, TransientError
from wacloud.ingest import BadRequestError, ForbiddenError, PayloadTooLargeError, get_ingest, raw_body

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


@app.get("/webhook")
def subscribe() -> Response:
    params = app.current_event.query_string_parameters or {}
    challenge = get_ingest().subscribe(
        params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
    )
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body=challenge)


@app.post("/webhook")
def receive() -> Response:
    event = app.current_event
    body = raw_body(event.body, is_base64_encoded=event.is_base64_encoded)
    events = get_ingest().receive(body, event.headers.get("x-hub-signature-256"))
    return _json(200, {"ok": True, "events": len(events)})


# Every failure maps to a status here, with a body that says what is wrong and nothing internal.
@app.exception_handler(SignatureError)
def _signature(exc: SignatureError) -> Response:
    logger.warning("Webhook signature rejected", extra={"reason": exc.reason})
    return _json(401 if exc.missing else 403, {"error": "invalid signature"})


@app.exception_handler(ForbiddenError)
def _forbidden(exc: ForbiddenError) -> Response:
    return _json(403, {"error": "forbidden"})


@app.exception_handler(BadRequestError)
def _bad_request(exc: BadRequestError) -> Response:
    return _json(400, {"error": str(exc)})


@app.exception_handler(PayloadTooLargeError)
def _too_large(exc: PayloadTooLargeError) -> Response:
    return _json(413, {"error": "payload too large"})


@app.exception_handler(TransientError)
def _unavailable(exc: TransientError) -> Response:
    # Meta delivers the body again later; nothing was acknowledged.
    logger.error("Webhook not accepted: dependency unavailable", extra={"error": str(exc)})
    return _json(503, {"error": "temporarily unavailable"})


@app.exception_handler(ConfigurationError)
def _misconfigured(exc: ConfigurationError) -> Response:
    logger.error("Webhook misconfigured", extra={"error": str(exc)})
    return _json(500, {"error": "internal error"})


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    # Powertools' own: 404 for any other path or method, as API Gateway would answer.
    return _json(exc.status_code, {"error": exc.msg})


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("Unexpected webhook error")
    return _json(500, {"error": "internal error"})


def _json(status: int, body: dict) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
