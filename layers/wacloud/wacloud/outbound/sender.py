"""The sender: one outbound document in, at most one completed Graph call out, its outcome recorded.

- A malformed document is recorded as `rejected` with the validation error and acknowledged.
- A send is idempotent per idempotency key (Powertools idempotency, and the stored outcome for as
  long as the record lives): a redelivered document whose send completed is acknowledged without
  calling Graph again (read receipts, harmless to repeat, rely on the stored outcome alone). The
  outcome is written to the store after the idempotent call, so a failed write is retried without
  a second Graph call (`outcomes.record_outcome`).
- Policy before spending a call (`policy.refusal`): a document to a customer who opted out, or a
  free-form message outside the 24-hour customer service window, is `rejected` with the reason;
  so is a template document that does not fit its template's known definition (`template_catalog`).
- Every Graph send first takes its turn in the phone number's throughput tier, shared with every
  other sender (`send_rate`); media named by `s3_key` is uploaded first (`media_upload`).
- Graph's answer decides (`error_policy`): accepted -> the wamid; permanent error -> `failed` with
  Meta's error; transient -> `retrying`, raised so SQS delivers the document again (to the DLQ at
  the end); a refused token is re-read once by the Graph client itself.
- A message send that Graph received but did not answer (read timeout, connection reset after the
  request was written) is NOT retried: a retry could deliver it twice, and Graph has no idempotency
  key. It is `unconfirmed`; the send carries a confirmation marker only the sender can make in
  `biz_opaque_callback_data` (after the producer's own data, if any: `models/confirmation_marker.py`), so its
  first status webhook turns the record into `accepted`.
- Anything else that stops a send (the secret unreadable, too little time left) is recorded as
  `retrying` with the reason before the document goes back to SQS.
"""

from __future__ import annotations

import json
import re
import time
from typing import NoReturn

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from wacloud.adapters.credentials import access_token, credential
from wacloud.adapters.graph import MARGIN_SECONDS, GraphClient, GraphError, GraphTransportError
from wacloud.adapters.s3 import Bucket
from wacloud.adapters.store import Store, StoreError, get_store
from wacloud.adapters.store.caches import TemplateChanges
from wacloud.config import Settings, get_settings
from wacloud.errors import ConfigurationError, TransientError, WacloudError
from wacloud.models.confirmation_marker import room_for_producer, stamp
from wacloud.models.graph import SendResponse
from wacloud.models.outbound import (
    IDEMPOTENCY_KEY_PATTERN,
    OutboundMessage,
    ReadReceipt,
    TemplateMessage,
)
from wacloud.models.outbound_state import OutboundRecord, SendOutcome
from wacloud.models.records import ContactRecord, ErrorInfo
from wacloud.models.templates import TemplateBody
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import parse_document
from wacloud.outbound.error_policy import Action, action_for, rule_for
from wacloud.outbound.media_upload import MediaRejectedError, MediaUploader, s3_media
from wacloud.outbound.outcomes import record_outcome
from wacloud.outbound.policy import refusal
from wacloud.outbound.send_rate import SendRateLimiter
from wacloud.outbound.template_catalog import TemplateCatalog
from wacloud.runtime.deadline import NO_DEADLINE, Deadline
from wacloud.runtime.idempotency import Idempotent
from wacloud.runtime.masking import mask_key, mask_phone, mask_wamid
from wacloud.runtime.metrics import count, count_by
from wacloud.runtime.singletons import singleton

logger = Logger(child=True)
# What Graph answers when a media id is not (or no longer) one it knows.
REUSED_MEDIA_ERRORS = frozenset({100, 131009, 131053})
HELD_BACK = ErrorInfo(
    title="held back", details="not tried: an earlier message to the same recipient failed and goes first"
)


class SendRetryableError(TransientError):
    """The send failed in a way a later attempt can fix; SQS will deliver the document again."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Sender:
    """Thread-safe: the recipients' threads of a batch share it (the batch owns the invocation)."""

    def __init__(
        self,
        *,
        store: Store,
        graph: GraphClient,
        settings: Settings,
        media: MediaUploader,
        templates: TemplateCatalog,
        rate: SendRateLimiter,
    ) -> None:
        self.store = store
        self.graph = graph
        self.settings = settings
        self.media = media
        self.templates = templates
        self.rate = rate
        self.idempotency = Idempotent(
            self._send, key_prefix="wacloud-outbound-send", duplicate_metric="DuplicateSendSkipped", output=SendOutcome
        )

    def start_invocation(self, context: LambdaContext | None, *, may_name_bucket_objects: bool) -> None:
        """On the handler's thread, before the recipients' threads start: the shared clients are made
        here (boto3 sessions are not thread-safe), and the secret read once. The S3 client only for
        a batch that may name a bucket object: it costs a text-only cold start about 25 ms."""
        self.idempotency.register_lambda_context(context)
        try:
            self.graph.token()
        except WacloudError as exc:
            # Each document's own read fails then, and records why (`retrying`).
            logger.warning("Could not read the secret before the batch", extra={"error": str(exc)})
        _ = self.store.table.client
        _ = self.graph.session
        if self.media.bucket is not None and may_name_bucket_objects:
            _ = self.media.bucket.client

    def send(self, body: str, *, message_id: str, attempt: int = 1, deadline: Deadline = NO_DEADLINE) -> SendOutcome:
        """Handle one outbound queue document; raise (a `TransientError`) to have SQS deliver it again."""
        try:
            document = parse_document(body)
        except ValidationError as exc:
            return self._reject_invalid(body, message_id, describe(exc))
        phone_number_id = self._sending_number(document)
        last_attempt = attempt >= self.settings.max_receive_count
        try:
            if not phone_number_id:
                raise ConfigurationError("no phone_number_id in the document and WACLOUD_PHONE_NUMBER_ID is empty")
            deadline.require(sum(self.graph.timeout) + MARGIN_SECONDS, "a Graph call")
            # A read receipt is harmless to repeat (Meta marks the message read again) and never
            # `unconfirmed`: no idempotency record for it, two writes fewer per inbound message. Its
            # stored outcome still answers a redelivered one without a Graph call.
            send = self._send if isinstance(document.message, ReadReceipt) else self.idempotency.run
            outcome = send(
                key=document.idempotency_key,
                document=document,
                phone_number_id=phone_number_id,
                last_attempt=last_attempt,
                deadline=deadline,
            )
        except WacloudError as exc:
            if not isinstance(exc, SendRetryableError):  # a Graph failure is recorded where it happens
                self._record_retry(document, ErrorInfo(title=type(exc).__name__, details=str(exc)), last_attempt)
            raise
        # Recorded outside the idempotent call: if this write fails, SQS delivers the document again
        # and the stored outcome is recorded then, without a second Graph call.
        record_outcome(self.store, document, outcome, phone_number_id)
        return outcome

    def record_held_back(self, body: str, attempt: int) -> None:
        """A document not tried because an earlier one to the same recipient failed."""
        try:
            document = parse_document(body)
        except ValidationError:
            return  # it will be rejected with its reason when its turn comes
        self._record_retry(document, HELD_BACK, attempt >= self.settings.max_receive_count)

    def _sending_number(self, document: OutboundMessage) -> str:
        return document.phone_number_id or self.settings.phone_number_id

    def _reject_invalid(self, body: str, message_id: str, reason: str) -> SendOutcome:
        key = _idempotency_key_of(body) or f"sqs:{message_id}"
        outcome = SendOutcome.rejected(f"invalid document: {reason}")
        self.store.outbound.record_invalid(key, outcome.reason or "", raw=body)
        logger.warning("Outbound document rejected", extra={"idempotency_key": mask_key(key), "reason": reason})
        count("SendRejected")
        return outcome

    def _send(
        self, *, key: str, document: OutboundMessage, phone_number_id: str, last_attempt: bool, deadline: Deadline
    ) -> SendOutcome:
        """Call Graph once and classify the answer; runs at most once to completion per key."""
        log = {"idempotency_key": mask_key(key), "to": mask_phone(document.recipient), "type": document.kind}
        # The document's own record, its recipient's contact and its template's changes, in one round trip.
        template = document.message.template.name if isinstance(document.message, TemplateMessage) else None
        previous, contact, changes = self.store.send_context(key, _person(document), template)
        settled = _settled(previous, log)
        if settled is not None:
            return settled
        reason = self._refusal(document, contact, changes)
        if reason is None:
            try:
                response = self._call_graph(phone_number_id, document, deadline)
            except MediaRejectedError as exc:
                reason = str(exc)
            except GraphTransportError as exc:
                if exc.maybe_sent and document.recipient is not None:
                    logger.warning("Send outcome unknown; not retried", extra={**log, "error": str(exc)})
                    count("SendUnconfirmed")
                    return SendOutcome.unconfirmed(exc.info())
                self._retrying(document, exc, log, last_attempt=last_attempt)
            except GraphError as exc:
                _count_error(exc)
                if action_for(exc) is Action.FAIL:
                    logger.warning("Send failed permanently", extra={**log, "error_code": exc.code})
                    count("SendFailed")
                    return SendOutcome.failed(exc.info())
                self._retrying(document, exc, log, last_attempt=last_attempt)
        if reason is not None:
            logger.info("Send refused before any Graph call", extra={**log, "reason": reason})
            count("SendRejected")
            return SendOutcome.rejected(reason)
        logger.info("Message accepted by Graph", extra={**log, "wamid": mask_wamid(response.wamid)})
        count("MessageSent")
        return SendOutcome.accepted(response.wamid)

    def _refusal(
        self, document: OutboundMessage, contact: ContactRecord | None, changes: TemplateChanges | None
    ) -> str | None:
        """Why the document must not be sent (sending rules, what is known of its template), or None."""
        reason = refusal(document, contact, self.settings, int(time.time())) or _no_room_for_marker(document)
        if reason is None and isinstance(document.message, TemplateMessage):
            reason = self.templates.refusal(document.message.template, recipient=document.recipient, changes=changes)
            if reason is None and contact is not None and contact.marketing_stopped:
                reason = self._stopped_marketing(document, document.message.template)
        return reason

    def _stopped_marketing(self, document: OutboundMessage, template: TemplateBody) -> str | None:
        """A marketing template to a customer who stopped marketing messages at Meta (who would answer
        131050); other templates still go. Asked only of such customers: the category may need a read."""
        definition = self.templates.definition(template.name, template.language.code)
        category = (definition.category or "") if definition is not None else ""
        if document.marketing_messages or category.upper() == "MARKETING":
            return (
                "the recipient stopped marketing messages (Meta would answer 131050); "
                "nothing marketing is sent until they resume"
            )
        return None

    def _retrying(
        self,
        document: OutboundMessage,
        exc: GraphError | GraphTransportError,
        log: dict[str, str],
        *,
        last_attempt: bool,
    ) -> NoReturn:
        code = getattr(exc, "code", None)
        logger.warning(
            "Send failed, will retry" if not last_attempt else "Send failed on the last attempt",
            extra={**log, "error_code": code},
        )
        count("SendRetried" if not last_attempt else "SendDeadLettered")
        self._record_retry(document, exc.info(), last_attempt, counted=True)
        raise SendRetryableError(str(exc), code=code) from exc

    def _record_retry(
        self, document: OutboundMessage, error: ErrorInfo, last_attempt: bool, *, counted: bool = False
    ) -> None:
        """The document goes back to SQS (or, after the last attempt, to the DLQ): say why."""
        if last_attempt and not counted:
            count("SendDeadLettered")
        outcome = SendOutcome.retrying(error, last_attempt=last_attempt)
        try:
            self.store.outbound.record(document, outcome, self._sending_number(document))
        except StoreError as store_exc:
            # The retry happens anyway; only its bookkeeping is missing until the next attempt.
            logger.warning("Could not record the retry", extra={"error": str(store_exc)})

    def _call_graph(self, phone_number_id: str, document: OutboundMessage, deadline: Deadline) -> SendResponse:
        body = document.graph_body()
        if document.recipient is not None:
            # Comes back in this message's status webhooks: confirms a send whose answer was lost.
            body["biz_opaque_callback_data"] = stamp(
                body.get("biz_opaque_callback_data"), document.idempotency_key, credential("app_secret")
            )
        has_media = next(s3_media(body), None) is not None
        needed = sum(self.graph.timeout) + MARGIN_SECONDS

        def take_turn() -> None:
            """Time for the call, then the call's turn in the number's shared send rate (again before
            the call is made once more with a fresh token)."""
            deadline.require(needed, "a Graph call")
            self.rate.acquire(phone_number_id, before_wait=lambda: deadline.require(needed, "a Graph call"))

        reupload = False
        while True:
            ready = body
            reused: list[str] = []
            if has_media:
                resolved = self.media.resolve(
                    body, phone_number_id=phone_number_id, deadline=deadline, reupload=reupload
                )
                ready, reused = resolved.body, resolved.reused
            take_turn()
            try:
                return self.graph.send_message(
                    phone_number_id, ready, deadline=deadline, before_retry=take_turn, endpoint=document.endpoint
                )
            except GraphError as exc:
                if not reused or reupload or exc.code not in REUSED_MEDIA_ERRORS:
                    raise
                # Graph refused an id uploaded days ago (it may have dropped it): the message was not
                # sent, so upload afresh and send once more.
                logger.warning("Graph refused a reused media id; uploading again", extra={"error_code": exc.code})
                reupload = True


def _no_room_for_marker(document: OutboundMessage) -> str | None:
    """Why the producer's callback data leaves no room for the confirmation marker, or None."""
    data = None if isinstance(document.message, ReadReceipt) else document.message.biz_opaque_callback_data
    room = room_for_producer(document.idempotency_key)
    if data and len(data) > room:
        return (
            f"biz_opaque_callback_data is {len(data)} characters: with the confirmation marker the sender adds "
            f"for this idempotency key, at most {room} fit Meta's 512"
        )
    return None


def _person(document: OutboundMessage) -> str | None:
    """The customer whose choices a document is checked against: none for a group (its members' are
    their own) or a read receipt."""
    message = document.message
    return None if isinstance(message, ReadReceipt) or message.recipient_type == "group" else message.address


def _settled(previous: OutboundRecord | None, log: dict[str, str]) -> SendOutcome | None:
    """The outcome of a document already sent (or known to be taken by Meta), or None."""
    outcome = previous.outcome() if previous is not None else None
    if outcome is not None:
        # Completed long ago (its idempotency record has expired, the stored outcome has not), or a
        # status webhook already named it (a redrive after a lost reply): Meta has it.
        logger.info("Document already sent; not sending again", extra={**log, "state": outcome.state})
        count("DuplicateSendSkipped")
    return outcome


def _count_error(exc: GraphError) -> None:
    """Count Graph errors by code (a dimension: codes are few), and those a person must fix."""
    if rule_for(exc).needs_human:
        count("SendNeedsAttention")
    count_by("GraphError", dimension="error_code", value=str(exc.code if exc.code is not None else exc.http_status))


def _idempotency_key_of(body: str) -> str | None:
    """The producer's key from a document that failed validation, if it has a usable one."""
    try:
        key = json.loads(body).get("idempotency_key")
    except (ValueError, AttributeError, RecursionError):  # RecursionError: hostile nesting
        return None
    return key if isinstance(key, str) and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) else None


def build_sender(settings: Settings, store: Store) -> Sender:
    """A sender with its own Graph client (one HTTP session), on `store`."""
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version, token=access_token)
    return Sender(
        store=store,
        graph=graph,
        settings=settings,
        media=MediaUploader(
            graph=graph,
            uploads=store.media_uploads,
            bucket=Bucket(settings.media_bucket) if settings.media_bucket else None,
        ),
        templates=TemplateCatalog(definitions=store.templates, graph=graph, settings=settings),
        rate=SendRateLimiter(counters=store.rate_counters, rate_per_second=settings.send_rate_per_second),
    )


@singleton
def get_sender() -> Sender:
    """The sender of this Lambda environment, built on first use."""
    return build_sender(get_settings(), get_store())
