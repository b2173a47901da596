"""The sender: one outbound document in, at most one completed Graph call out, an outcome recorded.

- A malformed document is recorded as `rejected` with the validation error and acknowledged.
- A send is idempotent per idempotency key (Powertools idempotency, and the stored outcome for as
  long as the record lives): a redelivered document whose send completed is acknowledged without
  calling Graph again. The outcome is written to the store after the idempotent call, so a failed
  write is retried without a second Graph call.
- Graph's answer decides (see `error_policy`): accepted -> record with the wamid; permanent error
  -> `failed` with Meta's error, acknowledged; transient -> `retrying` with the error, and the
  record is reported as a batch item failure so SQS delivers it again (to the DLQ at the end);
  expired token (190 / 401) -> the secret is re-read once and the send tried again.
- Anything else that stops a send (the secret unreadable, too little time left) is recorded as
  `retrying` with the reason before the document goes back to SQS.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from wacloud.config import Settings, get_settings
from wacloud.error_policy import Action, action_for
from wacloud.errors import ConfigurationError, TransientError, WacloudError
from wacloud.graph import GraphClient, GraphError, GraphTransportError
from wacloud.idempotency import make_idempotent, new_config, register_context
from wacloud.masking import mask_key, mask_phone, mask_wamid
from wacloud.models.graph import SendResponse
from wacloud.models.outbound import IDEMPOTENCY_KEY_PATTERN, OutboundMessage
from wacloud.models.records import ErrorInfo, OutboundState
from wacloud.secrets import get_credentials, require
from wacloud.store import MessageStore, StoreError
from wacloud.validation import describe

logger = Logger(child=True)
metrics = Metrics()
_FINAL = (OutboundState.ACCEPTED, OutboundState.FAILED)


class SendRetryableError(TransientError):
    """The send failed in a way a later attempt can fix; SQS will deliver the document again."""


class NotEnoughTimeError(TransientError):
    """Too little of the invocation is left for a Graph call: the document waits for the next one."""


class Sender:
    def __init__(self, *, store: MessageStore, graph: GraphClient, settings: Settings) -> None:
        self.store = store
        self.graph = graph
        self.settings = settings
        self.idempotency_config = new_config()
        self._context: LambdaContext | None = None
        self._send_once = make_idempotent(
            self._send, key_prefix="wacloud-outbound-send", config=self.idempotency_config
        )

    def register_context(self, context: LambdaContext | None) -> None:
        self._context = context
        register_context(self.idempotency_config, context)

    def process_document(self, body: str, *, message_id: str) -> dict[str, Any]:
        """Handle one outbound queue document; raise to have SQS deliver it again."""
        try:
            document = OutboundMessage.model_validate_json(body)
        except ValidationError as exc:
            return self._reject(body, message_id, describe(exc))
        phone_number_id = document.phone_number_id or self.settings.phone_number_id
        try:
            if not phone_number_id:
                raise ConfigurationError("no phone_number_id in the document and WACLOUD_PHONE_NUMBER_ID is empty")
            self._check_time_left(calls=1)
            outcome = self._send_once(key=document.idempotency_key, document=document, phone_number_id=phone_number_id)
        except WacloudError as exc:
            if not isinstance(exc, SendRetryableError):  # a Graph failure is recorded where it happens
                self._record_retry(document, ErrorInfo(title=type(exc).__name__, details=str(exc)), phone_number_id)
            raise
        # Recorded outside the idempotent call: if this write fails, SQS delivers the document again
        # and the stored outcome is recorded then, without a second Graph call.
        if outcome["state"] == OutboundState.ACCEPTED:
            self.store.record_accepted(document, outcome.get("wamid"), phone_number_id)
        elif outcome["state"] == OutboundState.FAILED:
            self.store.record_failed(document, ErrorInfo.model_validate(outcome["error"]), phone_number_id)
        return outcome

    def _reject(self, body: str, message_id: str, reason: str) -> dict[str, Any]:
        key = _idempotency_key_of(body) or f"sqs:{message_id}"
        self.store.record_rejected(key, f"invalid document: {reason}", raw=body)
        logger.warning("Outbound document rejected", extra={"idempotency_key": mask_key(key), "reason": reason})
        metrics.add_metric(name="SendRejected", unit=MetricUnit.Count, value=1)
        return {"state": OutboundState.REJECTED.value, "idempotency_key": key}

    def _send(self, *, key: str, document: OutboundMessage, phone_number_id: str) -> dict[str, Any]:
        """Call Graph once and classify the answer; runs at most once to completion per key."""
        log = {"idempotency_key": mask_key(key), "to": mask_phone(document.recipient), "type": document.kind}
        previous = self.store.get_outbound(key)
        if previous is not None and previous.state in _FINAL:
            # Completed long ago (its idempotency record has expired, the stored outcome has not).
            logger.info("Document already sent; not sending again", extra={**log, "state": previous.state})
            metrics.add_metric(name="DuplicateSendSkipped", unit=MetricUnit.Count, value=1)
            outcome: dict[str, Any] = {"state": previous.state.value, "wamid": previous.wamid}
            return outcome | ({"error": previous.error.model_dump(exclude_none=True)} if previous.error else {})
        try:
            response = self._call_graph(phone_number_id, document)
        except (GraphError, GraphTransportError) as exc:
            if action_for(exc) is Action.FAIL:
                logger.warning("Send failed permanently", extra={**log, "error_code": getattr(exc, "code", None)})
                metrics.add_metric(name="SendFailed", unit=MetricUnit.Count, value=1)
                return {"state": OutboundState.FAILED.value, "error": exc.info().model_dump(exclude_none=True)}
            logger.warning("Send failed, will retry", extra={**log, "error_code": getattr(exc, "code", None)})
            metrics.add_metric(name="SendRetried", unit=MetricUnit.Count, value=1)
            self._record_retry(document, exc.info(), phone_number_id)
            raise SendRetryableError(str(exc)) from exc
        logger.info("Message accepted by Graph", extra={**log, "wamid": mask_wamid(response.wamid)})
        metrics.add_metric(name="MessageSent", unit=MetricUnit.Count, value=1)
        return {"state": OutboundState.ACCEPTED.value, "wamid": response.wamid}

    def _record_retry(self, document: OutboundMessage, error: ErrorInfo, phone_number_id: str) -> None:
        try:
            self.store.record_retrying(document, error, phone_number_id)
        except StoreError as store_exc:
            # The retry happens anyway; only its bookkeeping is missing until the next attempt.
            logger.warning("Could not record the retry", extra={"error": str(store_exc)})

    def _check_time_left(self, *, calls: int) -> None:
        """Start no Graph call that could outlive the invocation (its outcome would be unknown)."""
        if self._context is None:
            return
        needed_ms = int((sum(self.graph.timeout) * calls + 2) * 1000)
        if self._context.get_remaining_time_in_millis() < needed_ms:
            raise NotEnoughTimeError("not enough time left in this invocation for a Graph call")

    def _call_graph(self, phone_number_id: str, document: OutboundMessage) -> SendResponse:
        body = document.graph_body()
        token = require(get_credentials(), "access_token")
        try:
            return self.graph.send_message(phone_number_id, body, token=token)
        except GraphError as exc:
            if action_for(exc) is not Action.REFRESH_TOKEN:
                raise
            # The token expired or was rotated: read the secret again (bypassing the cache), once.
            logger.warning("Graph rejected the token; re-reading the secret", extra={"error_code": exc.code})
            metrics.add_metric(name="TokenRefreshed", unit=MetricUnit.Count, value=1)
            fresh = require(get_credentials(force_fetch=True), "access_token")
            self._check_time_left(calls=1)
            return self.graph.send_message(phone_number_id, body, token=fresh)


def _idempotency_key_of(body: str) -> str | None:
    """The producer's key from a document that failed validation, if it has a usable one."""
    try:
        key = json.loads(body).get("idempotency_key")
    except (ValueError, AttributeError):
        return None
    return key if isinstance(key, str) and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) else None


@cache
def get_sender() -> Sender:
    """The sender of this Lambda environment, built on first use (one HTTP session, reused)."""
    settings = get_settings()
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version)
    return Sender(store=MessageStore(), graph=graph, settings=settings)
