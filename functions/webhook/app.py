"""Webhook: `GET /webhook` answers Meta's subscription check, `POST /webhook` verifies the
signature and puts each event of the body on the inbound queue."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.errors import SignatureError
from wacloud.inbound.webhook import BadRequestError, ForbiddenError, PayloadTooLargeError, get_webhook
from wacloud.runtime.http_answers import add_error_answers, json_response, plain_text_response, raw_body
from wacloud.runtime.masking import MaskingFormatter
from wacloud.runtime.tracing import trace_handler

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()
app = APIGatewayRestResolver()


@app.get("/webhook")
def subscribe() -> Response:
    params = app.current_event.query_string_parameters or {}
    challenge = get_webhook().subscribe(
        params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
    )
    return plain_text_response(200, challenge)


@app.post("/webhook")
def receive() -> Response:
    event = app.current_event
    body = raw_body(event.body, is_base64_encoded=event.is_base64_encoded)
    events = get_webhook().receive(body, event.headers.get("x-hub-signature-256"))
    return json_response(200, {"ok": True, "events": len(events)})


# Every failure maps to a status here, with a body that says what is wrong and nothing internal.
@app.exception_handler(SignatureError)
def _signature(exc: SignatureError) -> Response:
    logger.warning("Webhook signature rejected", extra={"reason": exc.reason})
    return json_response(401 if exc.missing else 403, {"error": "invalid signature"})


@app.exception_handler(ForbiddenError)
def _forbidden(exc: ForbiddenError) -> Response:
    return json_response(403, {"error": "forbidden"})


@app.exception_handler(BadRequestError)
def _bad_request(exc: BadRequestError) -> Response:
    return json_response(400, {"error": str(exc)})


@app.exception_handler(PayloadTooLargeError)
def _too_large(exc: PayloadTooLargeError) -> Response:
    return json_response(413, {"error": "payload too large"})


# Meta delivers a body answered 503 again later: nothing was acknowledged.
add_error_answers(app, logger, name="Webhook")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
