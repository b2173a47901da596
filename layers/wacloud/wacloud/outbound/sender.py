"""The sender: one outbound document in, at most one completed Graph call out, an outcome recorded.

- A malformed document is recorded as `rejected` with the validation error and acknowledged.
- A send is idempotent per idempotency key (Powertools idempotency, and the stored outcome for as
  long as the record lives): a redelivered document whose send completed is acknowledged without
  calling Graph again (read receipts, harmless to repeat, rely on the stored outcome alone). The
  outcome is written to the store after the idempotent call, so a failed write is retried without
  a second Graph call.
- Graph's answer decides (see `error_policy`): accepted -> record with the wamid; permanent error
  -> `failed` with Meta's error, acknowledged; transient -> `retrying` with the error, and the
  record is reported as a batch item failure so SQS delivers it again (to the DLQ at the end);
  expired token (190 / 401) -> the secret is re-read once and the send tried again.
- Policy before spending a call (`policy.refusal`): a document to a customer who opted out, or a
  free-form message outside the 24-hour customer service window, is recorded as `rejected` with
  the reason, and never sent; so is a template document that does not fit its template's known
  definition (`template_catalog`).
- Every Graph send first takes its turn in the phone number's throughput tier, shared with every
  other sender (`rate_limit`, `SendRatePerSecond`); a send that cannot get one before the
  invocation's time runs out goes back to the queue unsent.
- Media named by `s3_key` is uploaded from the media bucket first and sent by id (`media_upload`);
  an object WhatsApp cannot take is `rejected` with the reason.
- Anything else that stops a send (the secret unreadable, too little time left) is recorded as
  `retrying` with the reason before the document goes back to SQS.
- Retries back off: after a batch, each failed record's visibility is set to base x 2^(attempt-1)
  seconds, jittered and capped (a recipient's later records wait with it, keeping their order). The
  last attempt's failure is recorded as `dead_lettered`: SQS moves the document to the DLQ.
- A message send that Graph received but did not answer (read timeout, connection reset after the
  request was written) is NOT retried: a retry could deliver it twice, and Graph has no idempotency
  key. It is recorded as `unconfirmed`. The send carries `biz_opaque_callback_data =
  "wacloud-key:<idempotency key>"` (unless the producer set its own), so if Meta did take it, its
  first status webhook turns the record into `accepted` with the wamid. Read receipts, harmless to
  repeat, are retried.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from wacloud.adapters.credentials import access_token, get_credentials, secrets_provider
from wacloud.adapters.graph import UPLOAD_TIMEOUT, GraphClient, GraphError, GraphTransportError
from wacloud.adapters.queues import FifoQueue
from wacloud.adapters.store import MessageStore, StoreError
from wacloud.config import Settings, get_settings
from wacloud.errors import ConfigurationError, TransientError, WacloudError
from wacloud.models.graph import SendResponse
from wacloud.models.outbound import (
    CALLBACK_PREFIX,
    IDEMPOTENCY_KEY_PATTERN,
    OutboundMessage,
    ReadReceipt,
    TemplateMessage,
)
from wacloud.models.records import ContactRecord, ErrorInfo, OutboundRecord, OutboundState
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import parse_document
from wacloud.outbound.error_policy import Action, action_for, rule_for
from wacloud.outbound.media_upload import MediaRejectedError, MediaUploader, ResolvedBody, names_bucket_object, s3_media
from wacloud.outbound.policy import refusal
from wacloud.outbound.send_rate import SendRateLimiter
from wacloud.outbound.template_catalog import TemplateCatalog
from wacloud.runtime.idempotency import make_idempotent, new_config, register_context
from wacloud.runtime.masking import mask_key, mask_phone, mask_wamid
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

logger = Logger(child=True)
metrics = Metrics()
_FINAL = (OutboundState.ACCEPTED, OutboundState.FAILED, OutboundState.UNCONFIRMED, OutboundState.REJECTED)
PAIR_RATE_MIN_SECONDS = 6  # Meta's pair rate: about one message per 6 s to the same user
# What Graph answers when a media id is not (or no longer) one it knows.
REUSED_MEDIA_ERRORS = frozenset({100, 131009, 131053})


class SendRetryableError(TransientError):
    """The send failed in a way a later attempt can fix; SQS will deliver the document again."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotEnoughTimeError(TransientError):
    """Too little of the invocation is left for a Graph call: the document waits for the next one."""


class Sender:
    def __init__(
        self,
        *,
        store: MessageStore,
        graph: GraphClient,
        queue: FifoQueue,
        settings: Settings,
        media: MediaUploader | None = None,
        templates: TemplateCatalog | None = None,
    ) -> None:
        self.store = store
        self.graph = graph
        self.queue = queue
        self.settings = settings
        self.media = media or MediaUploader(graph=graph, store=store, bucket=settings.media_bucket)
        self.templates = templates or TemplateCatalog(store=store, graph=graph, settings=settings)
        self.rate_limit = SendRateLimiter(table=lambda: self.store.table, rate_per_second=settings.send_rate_per_second)
        self.idempotency_config = new_config("DuplicateSendSkipped")
        self._context: LambdaContext | None = None
        self._retry_after: dict[str, int] = {}  # FIFO group -> seconds, for this invocation's failures
        self._handled: set[str] = set()  # SQS message ids this invocation actually worked on
        self._send_once = make_idempotent(
            self._send, key_prefix="wacloud-outbound-send", config=self.idempotency_config
        )

    def register_context(self, context: LambdaContext | None, records: list[dict[str, Any]] | None = None) -> None:
        """Start of an invocation, on the handler's thread: shared clients are created here, not
        by the first of the recipients' threads to need them (boto3 sessions are not thread-safe).
        The S3 client only when a document of the batch names a bucket object (`records` None:
        always): creating it costs a text-only cold start about 25 ms."""
        self._context = context
        self._retry_after = {}
        self._handled = set()
        register_context(self.idempotency_config, context)
        secrets_provider()
        self._warm_secret()
        _ = self.store.table
        _ = self.graph.session
        if self.settings.media_bucket and (records is None or any(names_bucket_object(r) for r in records)):
            _ = self.media.s3

    def _warm_secret(self) -> None:
        """Read the secret into the cache before the recipients' threads start: on a cold start each
        would otherwise find it empty and read it too (ten calls for `SendConcurrency` 10). If it
        cannot be read, each document's own read fails and records why (`retrying`)."""
        try:
            get_credentials()
        except WacloudError as exc:
            logger.warning("Could not read the secret before the batch", extra={"error": str(exc)})

    def process_record(self, *, body: str, message_id: str, group_id: str | None, attempt: int) -> dict[str, Any]:
        """Handle one SQS record; on a transient failure, remember how long its group should wait."""
        self._handled.add(message_id)
        try:
            return self.process_document(body, message_id=message_id, attempt=attempt)
        except TransientError as exc:
            group = group_id or message_id
            self._retry_after[group] = max(self._retry_after.get(group, 0), self.retry_delay(attempt, exc))
            raise

    def process_document(self, body: str, *, message_id: str, attempt: int = 1) -> dict[str, Any]:
        """Handle one outbound queue document; raise to have SQS deliver it again."""
        try:
            document = parse_document(body)
        except ValidationError as exc:
            return self._reject(body, message_id, describe(exc))
        phone_number_id = document.phone_number_id or self.settings.phone_number_id
        last_attempt = attempt >= self.settings.max_receive_count
        try:
            if not phone_number_id:
                raise ConfigurationError("no phone_number_id in the document and WACLOUD_PHONE_NUMBER_ID is empty")
            self._check_time_left()
            # A read receipt is harmless to repeat (Meta marks the message read again) and never
            # `unconfirmed`: no idempotency record for it, two writes fewer per inbound message. Its
            # stored outcome still answers a redelivered one without a Graph call (only a receipt
            # whose outcome could not be written goes to Graph again).
            send = self._send if isinstance(document.message, ReadReceipt) else self._send_once
            outcome = send(
                key=document.idempotency_key,
                document=document,
                phone_number_id=phone_number_id,
                last_attempt=last_attempt,
            )
        except WacloudError as exc:
            if not isinstance(exc, SendRetryableError):  # a Graph failure is recorded where it happens
                error = ErrorInfo(title=type(exc).__name__, details=str(exc))
                if last_attempt:
                    count("SendDeadLettered")
                self._record_retry(document, error, phone_number_id, last_attempt=last_attempt)
            raise
        # Recorded outside the idempotent call: if this write fails, SQS delivers the document again
        # and the stored outcome is recorded then, without a second Graph call.
        state = outcome["state"]
        if state == OutboundState.ACCEPTED:
            self.store.record_accepted(document, outcome.get("wamid"), phone_number_id)
        elif state == OutboundState.FAILED:
            self.store.record_failed(document, ErrorInfo.model_validate(outcome["error"]), phone_number_id)
        elif state == OutboundState.UNCONFIRMED:
            self.store.record_unconfirmed(document, ErrorInfo.model_validate(outcome["error"]), phone_number_id)
        elif state == OutboundState.REJECTED:
            self.store.record_policy_rejection(document, outcome["reason"], phone_number_id)
        return outcome

    def retry_delay(self, attempt: int, exc: Exception | None = None) -> int:
        """Seconds before the next attempt: base x 2^(attempt-1), capped, with jitter."""
        settings = self.settings
        if isinstance(exc, NotEnoughTimeError) or attempt >= settings.max_receive_count:
            # Nothing went wrong / nothing is left to wait for: SQS moves it to the DLQ on the next receive.
            return 0
        delay = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(0, attempt - 1))
        delay = round(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not cryptography)
        if isinstance(exc, SendRetryableError) and exc.code == 131056 and settings.retry_base_seconds:
            delay = max(delay, PAIR_RATE_MIN_SECONDS)
        return delay

    def schedule_retries(self, records: Sequence[dict[str, Any]], response: dict[str, Any]) -> None:
        """After a batch: make each failed record visible again after its group's back-off delay.

        A record held back behind its group's failure waits as long as that failure, so the group keeps
        its order, and its document's record says why it waits; a record that failed for an
        unexpected reason backs off by its own attempt count.
        """
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        entries = []
        for record in records:
            if record["messageId"] not in failed:
                continue
            attributes = record.get("attributes", {})
            group = attributes.get("MessageGroupId") or record["messageId"]
            attempt = int(attributes.get("ApproximateReceiveCount", 1))
            delay = self._retry_after.get(group, self.retry_delay(attempt))
            if record["messageId"] not in self._handled:
                self._record_held_back(record.get("body", ""), attempt)
                if attempt >= self.settings.max_receive_count:
                    delay = 0
            entries.append({"ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": delay})
        if entries:
            self.queue.delay(entries)

    def _record_held_back(self, body: str, attempt: int) -> None:
        """A document not tried because an earlier one to the same recipient failed."""
        try:
            document = parse_document(body)
        except ValidationError:
            return  # it will be rejected with its reason when its turn comes
        error = ErrorInfo(
            title="held back", details="not tried: an earlier message to the same recipient failed and goes first"
        )
        phone_number_id = document.phone_number_id or self.settings.phone_number_id
        last_attempt = attempt >= self.settings.max_receive_count
        if last_attempt:
            count("SendDeadLettered")
        self._record_retry(document, error, phone_number_id, last_attempt=last_attempt)

    def _reject(self, body: str, message_id: str, reason: str) -> dict[str, Any]:
        key = _idempotency_key_of(body) or f"sqs:{message_id}"
        self.store.record_rejected(key, f"invalid document: {reason}", raw=body)
        logger.warning("Outbound document rejected", extra={"idempotency_key": mask_key(key), "reason": reason})
        count("SendRejected")
        return {"state": OutboundState.REJECTED.value, "idempotency_key": key}

    def _send(self, *, key: str, document: OutboundMessage, phone_number_id: str, last_attempt: bool) -> dict[str, Any]:
        """Call Graph once and classify the answer; runs at most once to completion per key."""
        log = {"idempotency_key": mask_key(key), "to": mask_phone(document.recipient), "type": document.kind}
        # The document's own record and its recipient's contact, in one round trip.
        previous, contact = self.store.get_send_context(key, document.recipient)
        settled = self._settled(previous, log)
        if settled is not None:
            return settled
        reason = self._refusal(document, contact)
        if reason is None:
            try:
                response = self._call_graph(phone_number_id, document)
            except MediaRejectedError as exc:
                reason = str(exc)
            except GraphTransportError as exc:
                if exc.maybe_sent and document.recipient is not None:
                    logger.warning("Send outcome unknown; not retried", extra={**log, "error": str(exc)})
                    count("SendUnconfirmed")
                    return {"state": OutboundState.UNCONFIRMED.value, "error": exc.info().model_dump(exclude_none=True)}
                self._retrying(document, exc, phone_number_id, log, last_attempt=last_attempt)
            except GraphError as exc:
                _count_error(exc)
                if action_for(exc) is Action.FAIL:
                    logger.warning("Send failed permanently", extra={**log, "error_code": exc.code})
                    count("SendFailed")
                    return {"state": OutboundState.FAILED.value, "error": exc.info().model_dump(exclude_none=True)}
                self._retrying(document, exc, phone_number_id, log, last_attempt=last_attempt)
        if reason is not None:
            logger.info("Send refused before any Graph call", extra={**log, "reason": reason})
            count("SendRejected")
            return {"state": OutboundState.REJECTED.value, "reason": reason}
        logger.info("Message accepted by Graph", extra={**log, "wamid": mask_wamid(response.wamid)})
        count("MessageSent")
        return {"state": OutboundState.ACCEPTED.value, "wamid": response.wamid}

    def _settled(self, previous: OutboundRecord | None, log: dict[str, Any]) -> dict[str, Any] | None:
        """The outcome of a document already sent (or known to be taken by Meta), or None."""
        if previous is not None and previous.state in _FINAL:
            # Completed long ago (its idempotency record has expired, the stored outcome has not).
            logger.info("Document already sent; not sending again", extra={**log, "state": previous.state})
            count("DuplicateSendSkipped")
            outcome: dict[str, Any] = {
                "state": previous.state.value,
                "wamid": previous.wamid,
                "reason": previous.reason,
            }
            return outcome | ({"error": previous.error.model_dump(exclude_none=True)} if previous.error else {})
        if previous is not None and previous.confirmed_wamid:
            # A status webhook already named this document: Meta has it (e.g. a redrive after a lost reply).
            logger.info("Document already taken by Meta; not sending again", extra=log)
            count("DuplicateSendSkipped")
            return {"state": OutboundState.ACCEPTED.value, "wamid": previous.confirmed_wamid}
        return None

    def _refusal(self, document: OutboundMessage, contact: ContactRecord | None) -> str | None:
        """Why the document must not be sent (sending rules, its template's definition), or None."""
        reason = refusal(document, contact, self.settings, int(time.time()))
        if reason is None and isinstance(document.message, TemplateMessage):
            reason = self.templates.refusal(document.message.template, token=access_token)
        return reason

    def _retrying(
        self,
        document: OutboundMessage,
        exc: GraphError | GraphTransportError,
        phone_number_id: str,
        log: dict[str, Any],
        *,
        last_attempt: bool,
    ) -> NoReturn:
        code = getattr(exc, "code", None)
        logger.warning(
            "Send failed, will retry" if not last_attempt else "Send failed on the last attempt",
            extra={**log, "error_code": code},
        )
        count("SendRetried" if not last_attempt else "SendDeadLettered")
        self._record_retry(document, exc.info(), phone_number_id, last_attempt=last_attempt)
        raise SendRetryableError(str(exc), code=code) from exc

    def _record_retry(
        self, document: OutboundMessage, error: ErrorInfo, phone_number_id: str, *, last_attempt: bool
    ) -> None:
        try:
            self.store.record_retrying(document, error, phone_number_id, last_attempt=last_attempt)
        except StoreError as store_exc:
            # The retry happens anyway; only its bookkeeping is missing until the next attempt.
            logger.warning("Could not record the retry", extra={"error": str(store_exc)})

    def _check_time_left(self, *, uploads: int = 0) -> None:
        """Start no Graph call that could outlive the invocation (its outcome would be unknown)."""
        if self._context is None:
            return
        needed_ms = int((sum(self.graph.timeout) + sum(UPLOAD_TIMEOUT) * uploads + 2) * 1000)
        if self._context.get_remaining_time_in_millis() < needed_ms:
            raise NotEnoughTimeError("not enough time left in this invocation for a Graph call")

    def _call_graph(self, phone_number_id: str, document: OutboundMessage) -> SendResponse:
        body = document.graph_body()
        if document.recipient is not None and "biz_opaque_callback_data" not in body:
            # Comes back in this message's status webhooks: confirms a send whose answer was lost.
            body["biz_opaque_callback_data"] = CALLBACK_PREFIX + document.idempotency_key
        has_media = next(s3_media(body), None) is not None

        def deliver(token: str, *, reupload: bool = False) -> SendResponse:
            ready = ResolvedBody(body)
            if has_media:
                ready = self.media.resolve(
                    body,
                    phone_number_id=phone_number_id,
                    token=token,
                    before_upload=lambda: self._check_time_left(uploads=1),
                    reupload=reupload,
                )
            self._check_time_left()
            self.rate_limit.acquire(phone_number_id, before_wait=self._check_time_left)
            self._check_time_left()  # the wait for the rate may have used it up
            try:
                return self.graph.send_message(phone_number_id, ready.body, token=token)
            except GraphError as exc:
                if not ready.reused or reupload or exc.code not in REUSED_MEDIA_ERRORS:
                    raise
                # Graph refused an id uploaded days ago (it may have dropped it): the message was not
                # sent, so upload afresh and send once more.
                logger.warning("Graph refused a reused media id; uploading again", extra={"error_code": exc.code})
                return deliver(token, reupload=True)

        try:
            return deliver(access_token())
        except GraphError as exc:
            if action_for(exc) is not Action.REFRESH_TOKEN:
                raise
            # The token expired or was rotated: read the secret again (bypassing the cache), once.
            logger.warning("Graph rejected the token; re-reading the secret", extra={"error_code": exc.code})
            count("TokenRefreshed")
            return deliver(access_token(fresh=True))


def _count_error(exc: GraphError) -> None:
    """Count Graph errors by code (a dimension: codes are few), and those a person must fix."""
    if rule_for(exc).needs_human:
        count("SendNeedsAttention")
    if is_metrics_disabled():
        return  # single_metric prints whatever POWERTOOLS_METRICS_DISABLED says
    with single_metric(name="GraphError", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="error_code", value=str(exc.code if exc.code is not None else exc.http_status))


def _idempotency_key_of(body: str) -> str | None:
    """The producer's key from a document that failed validation, if it has a usable one."""
    try:
        key = json.loads(body).get("idempotency_key")
    except (ValueError, AttributeError, RecursionError):  # RecursionError: hostile nesting
        return None
    return key if isinstance(key, str) and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) else None


@singleton
def get_sender() -> Sender:
    """The sender of this Lambda environment, built on first use (one HTTP session, reused)."""
    settings = get_settings()
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version)
    queue = FifoQueue(settings.outbound_queue_url)
    return Sender(store=MessageStore(), graph=graph, queue=queue, settings=settings)
