"""The sender: one outbound document in, at most one Graph call out, its outcome recorded.

- A document that breaks the contract is `rejected` with the validation error and saves no result:
  its key is free for the corrected document (`document_keys`, which also refuses another document
  under a key in use).
- Idempotent per key, the document's outbound record (`OUT#<key>`) its only lock: a settled record
  answers a redelivery without a Graph call; a record of another digest refuses the document
  (`KeyInUseError`). `mark_sending` is the lock: a conditional write of `sending` (over no record or
  an open one of this digest) just before the call; it fails when another attempt holds `sending`,
  the record settled meanwhile, or another document took the key: raised as retryable, and the
  redelivery reads the record (then `unconfirmed`, its outcome, or refused by digest). Of two
  documents racing under one new key, one wins and the other is refused on its next delivery.
- From `sending` on no failure makes the send run again: an attempt that finds `sending` (the first
  died, or failed after the call) records `unconfirmed`, and a status carrying the marker makes it
  `accepted`. So does a failed outcome write after Graph's answer: it is not retried here, as
  botocore already tried DynamoDB 10 times (about 25 s, throttling, 5xx, connection errors) and
  what gets through is an outage or a refusal more tries would not outlast. Only Graph's own
  refusal makes it `retrying` (by the owner of `sending`); reporting an answer never raises.
- Policy before spending a call (`policy.refusal`, `template_catalog`): opted out, outside the
  window, not fitting its template -> `rejected` with the reason.
- Every Graph send takes its turn in the number's rate (`send_rate`); media first (`media_upload`).
- Graph's answer decides (`error_policy`): accepted -> the wamid; permanent -> `failed` with Meta's
  error; transient -> `retrying`, raised so SQS delivers it again (the DLQ at the end).
- A call Graph received but did not answer (read timeout, reset after the request was written) is
  `unconfirmed`, never retried: the send carries a marker only the sender can make in
  `biz_opaque_callback_data` (`models/confirmation_marker.py`), so its first status confirms it.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from pydantic import ValidationError

from wacloud.adapters.credentials import access_token, credential
from wacloud.adapters.graph import MARGIN_SECONDS, GraphClient, GraphError, GraphTransportError
from wacloud.adapters.s3 import Bucket
from wacloud.adapters.store import Store, StoreError, get_store
from wacloud.adapters.store.caches import TemplateChanges
from wacloud.config import Settings, get_settings
from wacloud.errors import ConfigurationError, TransientError, WacloudError
from wacloud.models.confirmation_marker import no_room, stamp
from wacloud.models.graph import SendResponse
from wacloud.models.outbound import (
    OutboundMessage,
    ReadReceipt,
    TemplateMessage,
)
from wacloud.models.outbound_state import OutboundRecord, SendOutcome
from wacloud.models.records import ContactRecord, ErrorInfo
from wacloud.models.templates import TemplateBody
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import document_digest, parse_document
from wacloud.outbound.document_keys import KeyInUseError, refuse_reused_key, reject_invalid, reused_key
from wacloud.outbound.error_policy import Action, action_for, rule_for
from wacloud.outbound.media_upload import MediaRejectedError, MediaUploader, s3_media
from wacloud.outbound.outcomes import record_outcome
from wacloud.outbound.policy import refusal
from wacloud.outbound.send_rate import SendRateLimiter
from wacloud.outbound.template_catalog import TemplateCatalog
from wacloud.runtime.deadline import NO_DEADLINE, Deadline
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_key, mask_phone, mask_wamid
from wacloud.runtime.metrics import count, count_by
from wacloud.runtime.singletons import singleton

logger = child_logger(__name__)
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

    def start_invocation(self, *, may_name_bucket_objects: bool) -> None:
        """On the handler's thread, before the recipients' threads start: the shared clients are made
        here (boto3 sessions are not thread-safe), and the secret read once. The S3 client only for
        a batch that may name a bucket object: it costs a text-only cold start about 25 ms."""
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
            return reject_invalid(self.store, body, message_id, describe(exc))
        phone_number_id = self._sending_number(document)
        last_attempt = attempt >= self.settings.max_receive_count
        digest = document_digest(document)
        request = SendRequest(document, phone_number_id, digest, last_attempt, deadline, owner=uuid.uuid4().hex)
        try:
            if not phone_number_id:
                raise ConfigurationError("no phone_number_id in the document and WACLOUD_PHONE_NUMBER_ID is empty")
            deadline.require(sum(self.graph.timeout) + MARGIN_SECONDS, "a Graph call")
            outcome = self._send(request)
        except KeyInUseError as exc:
            return refuse_reused_key(self.store, document, body, str(exc))
        except WacloudError as exc:
            # Anything but Graph's own refusal (recorded where it happens) stops a send before its call
            # or between two (the rate's store, too little time for a call again): none is in flight.
            if not isinstance(exc, SendRetryableError):
                error = ErrorInfo(title=type(exc).__name__, details=str(exc))
                self._record_retry(request, error)
            raise
        # If this write fails, SQS delivers the document again: a settled record answers it, a record
        # left `sending` makes it `unconfirmed` (the marker's status confirms it); never a second call.
        record_outcome(self.store, document, outcome, phone_number_id, digest=digest)
        return outcome

    def record_held_back(self, body: str, attempt: int) -> None:
        """A document not tried because an earlier one to the same recipient failed."""
        try:
            document = parse_document(body)
        except ValidationError:
            return  # it will be rejected with its reason when its turn comes
        last_attempt = attempt >= self.settings.max_receive_count
        number = self._sending_number(document)
        held = SendRequest(document, number, document_digest(document), last_attempt, NO_DEADLINE, owner="")
        self._record_retry(held, HELD_BACK)

    def _sending_number(self, document: OutboundMessage) -> str:
        return document.phone_number_id or self.settings.phone_number_id

    def _send(self, request: SendRequest) -> SendOutcome:
        """Call Graph once and classify the answer; the record makes it run at most once per key."""
        document, key = request.document, request.document.idempotency_key
        log = {"idempotency_key": mask_key(key), "to": mask_phone(document.recipient), "type": document.kind}
        # The document's own record, its recipient's contact and its template's changes, in one round trip.
        template = document.message.template.name if isinstance(document.message, TemplateMessage) else None
        previous, contact, changes = self.store.send_context(key, _person(document), template)
        if previous is not None and previous.names_another_document(request.digest):
            raise KeyInUseError(reused_key(previous.state))
        settled = _settled(previous, log)
        if settled is not None:
            return settled
        reason = self._refusal(document, contact, changes)
        if reason is not None:
            logger.info("Send refused before any Graph call", extra={**log, "reason": reason})
            count("SendRejected")
            return SendOutcome.rejected(reason)
        return self._attempt(request, log)

    def _attempt(self, request: SendRequest, log: dict[str, str]) -> SendOutcome:
        """The Graph call and its answer. Once the call may have started (`sending` is recorded), no
        failure lets the send run again: only Graph's refusal makes it `retrying`."""
        document = request.document
        try:
            response = self._call_graph(request)
        except MediaRejectedError as exc:
            logger.info("Send refused before any Graph call", extra={**log, "reason": str(exc)})
            count("SendRejected")
            return SendOutcome.rejected(str(exc))
        except GraphTransportError as exc:
            if exc.maybe_sent and document.recipient is not None:
                extra = {**log, "error": str(exc)}
                unknown = SendOutcome.unconfirmed(exc.info())
                return _reported(unknown, "SendUnconfirmed", "Send outcome unknown; not retried", extra)
            self._retrying(request, exc, log)
        except GraphError as exc:
            if action_for(exc) is Action.FAIL:
                _count_error(exc)
                failed = SendOutcome.failed(exc.info())
                return _reported(failed, "SendFailed", "Send failed permanently", {**log, "error_code": exc.code})
            self._retrying(request, exc, log)
        extra = {**log, "wamid": mask_wamid(response.wamid)}
        accepted = SendOutcome.accepted(response.wamid)
        return _reported(accepted, "MessageSent", "Message accepted by Graph", extra, warn=False)

    def _refusal(
        self, document: OutboundMessage, contact: ContactRecord | None, changes: TemplateChanges | None
    ) -> str | None:
        """Why the document must not be sent (sending rules, what is known of its template), or None."""
        data = None if isinstance(document.message, ReadReceipt) else document.message.biz_opaque_callback_data
        reason = refusal(document, contact, self.settings, int(time.time())) or no_room(data, document.idempotency_key)
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

    def _retrying(self, request: SendRequest, exc: GraphError | GraphTransportError, log: dict[str, str]) -> NoReturn:
        """Graph refused the call for now (or never got it): SQS delivers the document again."""
        code = getattr(exc, "code", None)
        if isinstance(exc, GraphError):
            _count_error(exc)
        logger.warning(
            "Send failed, will retry" if not request.last_attempt else "Send failed on the last attempt",
            extra={**log, "error_code": code},
        )
        count("SendRetried" if not request.last_attempt else "SendDeadLettered")
        self._record_retry(request, exc.info(), counted=True)
        raise SendRetryableError(str(exc), code=code) from exc

    def _record_retry(self, request: SendRequest, error: ErrorInfo, *, counted: bool = False) -> None:
        """The document goes back to SQS (or, after the last attempt, to the DLQ): say why. Never
        over `sending` but by the attempt that wrote it (`owner`): another attempt's call may be out."""
        if request.last_attempt and not counted:
            count("SendDeadLettered")
        outcome = SendOutcome.retrying(error, last_attempt=request.last_attempt)
        document, number = request.document, request.phone_number_id
        try:
            self.store.outbound.record(document, outcome, number, owner=request.owner, digest=request.digest)
        except StoreError as store_exc:
            # The retry happens anyway; only its bookkeeping is missing until the next attempt. (A
            # record left `sending` makes the next attempt `unconfirmed`: never a second call.)
            logger.warning("Could not record the retry", extra={"error": str(store_exc)})

    def _call_graph(self, request: SendRequest) -> SendResponse:
        document, phone_number_id, deadline = request.document, request.phone_number_id, request.deadline
        body = document.graph_body()
        if document.recipient is not None:
            # Comes back in this message's status webhooks: confirms a send whose answer was lost.
            body["biz_opaque_callback_data"] = stamp(
                body.get("biz_opaque_callback_data"), document.idempotency_key, credential("app_secret")
            )
        marked = isinstance(document.message, ReadReceipt)  # harmless to repeat: no `sending` for it
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
            if not marked:
                marked = self.store.outbound.mark_sending(
                    document, phone_number_id, owner=request.owner, digest=request.digest
                )
                if not marked:  # another attempt holds `sending`, or the record settled or names another document
                    raise SendRetryableError("the document's record changed while it was being sent")
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


@dataclass(frozen=True)
class SendRequest:
    """One document's send."""

    document: OutboundMessage
    phone_number_id: str
    digest: str
    last_attempt: bool
    deadline: Deadline
    owner: str  # names this attempt on the `sending` it records ("": it makes no call)


def _reported(
    outcome: SendOutcome, metric: str, message: str, extra: Mapping[str, object], *, warn: bool = True
) -> SendOutcome:
    """The outcome of a Graph call that was made, counted and logged. Reporting must never make the
    send run again: a log call that fails is told on stderr (the function's log); the outcome stays."""
    try:
        count(metric)
        (logger.warning if warn else logger.info)(message, extra=dict(extra))
    except Exception as exc:
        sys.stderr.write(f"wacloud: could not log a send's outcome ({outcome.state.value}): {exc!r}\n")
    return outcome


def _person(document: OutboundMessage) -> str | None:
    """The customer whose choices a document is checked against: none for a group (its members' are
    their own) or a read receipt."""
    message = document.message
    return None if isinstance(message, ReadReceipt) or message.recipient_type == "group" else message.address


def _settled(previous: OutboundRecord | None, log: dict[str, str]) -> SendOutcome | None:
    """The outcome of a document already sent (or known to be taken by Meta), or None."""
    outcome = previous.outcome() if previous is not None else None
    if outcome is not None:
        # Completed, or a status webhook already named it (a redrive after a lost reply): Meta has it;
        # or a call started and left no answer (`sending`): `unconfirmed`, never sent again.
        logger.info("Document already sent; not sending again", extra={**log, "state": outcome.state})
        count("DuplicateSendSkipped")
    return outcome


def _count_error(exc: GraphError) -> None:
    """Count Graph errors by code (a dimension: codes are few), and those a person must fix."""
    if rule_for(exc).needs_human:
        count("SendNeedsAttention")
    count_by("GraphError", dimension="error_code", value=str(exc.code if exc.code is not None else exc.http_status))


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
