"""The sender: one outbound document in, at most one send call out, its outcome recorded.

- The document goes out of its number (`phone_number_id`, else the registry's default) through that
  number's transport (`outbound/transports.py`: Graph, or End User Messaging Social); a number this
  stack does not serve is `rejected` with the reason before any call.

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
- Every send takes its turn in the number's rate (`send_rate`, the number's own rate if it has one);
  media first (`media_upload`). Templates are checked before the call for the stack's own WABA only.
- Graph's answer decides (`error_policy`): accepted -> the wamid; permanent -> `failed` with Meta's
  error; transient -> `retrying`, raised so SQS delivers it again (the DLQ at the end).
- A call Graph received but did not answer (read timeout, reset after the request was written) is
  `unconfirmed`, never retried: the send carries a marker only the sender can make in
  `biz_opaque_callback_data` (`models/confirmation_marker.py`), so its first status confirms it. An
  End User Messaging Social send is `accepted` without a wamid (AWS answers with its own id): the same
  marker gives it its wamid with its first status.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from wacloud.adapters.credentials import access_token, marker_key
from wacloud.adapters.graph import MARGIN_SECONDS, GraphClient, GraphError, GraphTransportError
from wacloud.adapters.registry import get_registry
from wacloud.adapters.s3 import Bucket
from wacloud.adapters.store import Store, StoreError, get_store
from wacloud.adapters.store.caches import TemplateChanges
from wacloud.config import Settings, get_settings
from wacloud.errors import ConfigurationError, TransientError, WacloudError
from wacloud.models.confirmation_marker import no_room, stamp
from wacloud.models.outbound import OutboundMessage, ReadReceipt, TemplateMessage, unserved_number
from wacloud.models.outbound_state import SendOutcome
from wacloud.models.records import ContactRecord, ErrorInfo
from wacloud.models.templates import TemplateBody
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import document_digest, parse_document
from wacloud.outbound.document_keys import KeyInUseError, refuse_reused_key, reject_invalid, reused_key
from wacloud.outbound.error_policy import Action, action_for, count_error
from wacloud.outbound.media_upload import MediaRejectedError, MediaUploader, s3_media
from wacloud.outbound.outcomes import record_outcome, reported, settled
from wacloud.outbound.policy import refusal
from wacloud.outbound.send_rate import SendRateLimiter
from wacloud.outbound.template_catalog import TemplateCatalog
from wacloud.outbound.transports import CLOUD_API, Sent, Transport, transports
from wacloud.runtime.deadline import NO_DEADLINE, Deadline
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_key, mask_phone, mask_wamid
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

if TYPE_CHECKING:
    from wacloud.adapters.registry import NumberRegistry
    from wacloud.models.number_entry import NumberEntry

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
        transports: Mapping[str, Transport],
        numbers: NumberRegistry,
        settings: Settings,
        media: MediaUploader,
        templates: TemplateCatalog,
        rate: SendRateLimiter,
        rate_for: Callable[[float], SendRateLimiter] | None = None,
    ) -> None:
        self.store = store
        self.transports = transports
        self.numbers = numbers
        self.settings = settings
        self.media = media
        self.templates = templates
        self.rate = rate  # the stack's rate; `rate_for` makes one for a number with its own
        self.rate_for = rate_for

    def start_invocation(self, *, may_name_bucket_objects: bool) -> None:
        """On the handler's thread, before the recipients' threads start: the shared clients are made
        here (boto3 sessions are not thread-safe), the secrets read once. S3's only for a batch that
        may name a bucket object: it costs a text-only cold start about 25 ms."""
        _ = self.store.table.client
        try:  # the transports the numbers use: a Cloud API stack makes no End User Messaging Social client
            numbers = self.numbers.entries()
        except WacloudError as exc:  # each document's own read fails then, and records why
            numbers = []
            logger.warning("Could not read the registry before the batch", extra={"error": str(exc)})
        for name, transport in self.transports.items():
            if used := [number for number in numbers if number.transport == name]:
                transport.warm(used, media=may_name_bucket_objects)
        if self.media.bucket is not None and may_name_bucket_objects:
            _ = self.media.bucket.client

    def send(self, body: str, *, message_id: str, attempt: int = 1, deadline: Deadline = NO_DEADLINE) -> SendOutcome:
        """Handle one outbound queue document; raise (a `TransientError`) to have SQS deliver it again."""
        try:
            document = parse_document(body)
        except ValidationError as exc:
            return reject_invalid(self.store, body, message_id, describe(exc))
        last_attempt = attempt >= self.settings.max_receive_count
        number, digest = self._recorded_number(document), document_digest(document)
        request = SendRequest(document, number, digest, last_attempt, deadline, owner=uuid.uuid4().hex)
        try:
            request = self._with_number(request)
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
        record_outcome(self.store, document, outcome, request.phone_number_id, digest=digest)
        return outcome

    def record_held_back(self, body: str, attempt: int) -> None:
        """A document not tried because an earlier one to the same recipient failed."""
        try:
            document = parse_document(body)
        except ValidationError:
            return  # it will be rejected with its reason when its turn comes
        last_attempt = attempt >= self.settings.max_receive_count
        number = self._recorded_number(document)
        held = SendRequest(document, number, document_digest(document), last_attempt, NO_DEADLINE, owner="")
        self._record_retry(held, HELD_BACK)

    def _recorded_number(self, document: OutboundMessage) -> str:
        return document.phone_number_id or self.settings.phone_number_id  # before the registry is read

    def _with_number(self, request: SendRequest) -> SendRequest:
        """The request with its number's entry and transport, and time for its call; no entry for a
        number the stack does not serve (`_send` rejects it, after the record's own checks)."""
        named = request.document.phone_number_id
        number = self.numbers.get(named) if named else self.numbers.default()
        if number is None:
            if not named:
                raise ConfigurationError("no phone_number_id in the document and the stack has no default number")
            return request
        transport = self.transports.get(number.transport)
        if transport is None:
            raise ConfigurationError(f"no {number.transport!r} transport for number {number.phone_number_id}")
        request.deadline.require(sum(transport.timeout) + MARGIN_SECONDS, "a send")
        return dataclasses.replace(request, phone_number_id=number.phone_number_id, number=number, transport=transport)

    def _send(self, request: SendRequest) -> SendOutcome:
        """Send once and classify the answer; the record makes it run at most once per key."""
        document, key = request.document, request.document.idempotency_key
        log = {"idempotency_key": mask_key(key), "to": mask_phone(document.recipient), "type": document.kind}
        # The document's own record, its recipient's contact and its template's changes, in one round trip.
        template = document.message.template.name if isinstance(document.message, TemplateMessage) else None
        previous, contact, changes = self.store.send_context(key, document.person, template, entry=request.number)
        if previous is not None and previous.names_another_document(request.digest):
            raise KeyInUseError(reused_key(previous.state))
        answer = settled(previous, log)
        if answer is not None:
            return answer
        number, named = request.number, request.phone_number_id
        reason = self._refusal(document, number, contact, changes) if number else unserved_number(named)
        if reason is not None:
            logger.info("Send refused before any call", extra={**log, "reason": reason})
            count("SendRejected")
            return SendOutcome.rejected(reason)
        return self._attempt(request, log)

    def _attempt(self, request: SendRequest, log: dict[str, str]) -> SendOutcome:
        """The send call and its answer. Once the call may have started (`sending` is recorded), no
        failure lets the send run again: only a refusal makes it `retrying`."""
        document = request.document
        try:
            sent = self._call(request)
        except MediaRejectedError as exc:
            logger.info("Send refused before any call", extra={**log, "reason": str(exc)})
            count("SendRejected")
            return SendOutcome.rejected(str(exc))
        except GraphTransportError as exc:
            if exc.maybe_sent and document.recipient is not None:
                extra = {**log, "error": str(exc)}
                unknown = SendOutcome.unconfirmed(exc.info())
                return reported(unknown, "SendUnconfirmed", "Send outcome unknown; not retried", extra)
            self._retrying(request, exc, log)
        except GraphError as exc:
            if action_for(exc) is Action.FAIL:
                count_error(exc)
                failed = SendOutcome.failed(exc.info())
                return reported(failed, "SendFailed", "Send failed permanently", {**log, "error_code": exc.code})
            self._retrying(request, exc, log)
        if request.transport is not None and request.transport.name != CLOUD_API:  # its first status brings the wamid
            aws_id, name = sent.transport_message_id, request.transport.name
            taken = SendOutcome.accepted(sent.wamid, transport=name, transport_message_id=aws_id)
            said = {**log, "transport_message_id": aws_id or ""}
            return reported(taken, "MessageSent", "Message accepted by End User Messaging Social", said, warn=False)
        extra = {**log, "wamid": mask_wamid(sent.wamid)}
        return reported(SendOutcome.accepted(sent.wamid), "MessageSent", "Message accepted by Graph", extra, warn=False)

    def _refusal(
        self,
        document: OutboundMessage,
        number: NumberEntry,
        contact: ContactRecord | None,
        changes: TemplateChanges | None,
    ) -> str | None:
        """Why the document must not be sent (sending rules, what is known of its template), or None.
        Templates are known for the stack's WABA (through Graph): another's are Meta's to check."""
        data = None if isinstance(document.message, ReadReceipt) else document.message.biz_opaque_callback_data
        reason = refusal(document, contact, self.settings, int(time.time()), entry=number)
        reason = reason or no_room(data, document.idempotency_key)
        own = number.transport == CLOUD_API and number.waba_id in ("", self.settings.waba_id)
        if reason is None and isinstance(document.message, TemplateMessage):
            template = document.message.template
            if own:
                reason = self.templates.refusal(template, recipient=document.recipient, changes=changes)
            if reason is None and contact is not None and contact.marketing_stopped:
                reason = self._stopped_marketing(document, template, own=own)
        return reason

    def _stopped_marketing(self, document: OutboundMessage, template: TemplateBody, *, own: bool) -> str | None:
        """A marketing template to a customer who stopped marketing messages at Meta (who would answer
        131050); other templates still go. Asked only of such customers: the category may need a read
        (of the stack's own templates: another WABA's are known by the document's flag only)."""
        definition = self.templates.definition(template.name, template.language.code) if own else None
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
            count_error(exc)
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

    def _rate(self, number: NumberEntry) -> SendRateLimiter:
        own = number.send_rate_per_second
        return self.rate if own is None or own == self.rate.rate or self.rate_for is None else self.rate_for(own)

    def _call(self, request: SendRequest) -> Sent:
        document, deadline = request.document, request.deadline
        number, transport = request.number, request.transport
        assert number is not None and transport is not None  # noqa: S101 (set by `_with_number`)
        body = document.graph_body()
        if document.recipient is not None:
            # Comes back in this message's status webhooks: confirms a send whose answer was lost, and
            # gives an End User Messaging Social send its wamid.
            body["biz_opaque_callback_data"] = stamp(
                body.get("biz_opaque_callback_data"), document.idempotency_key, marker_key()
            )
        marked = isinstance(document.message, ReadReceipt)  # harmless to repeat: no `sending` for it
        has_media = next(s3_media(body), None) is not None
        needed, rate = sum(transport.timeout) + MARGIN_SECONDS, self._rate(number)
        way = None if transport.name == CLOUD_API else transport.name  # on the record from `sending` on

        def take_turn() -> None:
            """Time for the call, then the call's turn in the number's shared send rate (again before
            the call is made once more with a fresh token)."""
            deadline.require(needed, "a send")
            rate.acquire(number.phone_number_id, before_wait=lambda: deadline.require(needed, "a send"))

        reupload = False
        while True:
            ready = body
            reused: list[str] = []
            if has_media:
                resolved = self.media.resolve(
                    body, number=number, transport=transport, deadline=deadline, reupload=reupload
                )
                ready, reused = resolved.body, resolved.reused
            take_turn()
            if not marked:
                marked = self.store.outbound.mark_sending(
                    document, number.phone_number_id, owner=request.owner, digest=request.digest, transport=way
                )
                if not marked:  # another attempt holds `sending`, or the record settled or names another document
                    raise SendRetryableError("the document's record changed while it was being sent")
            try:
                return transport.send(
                    number, ready, deadline=deadline, before_retry=take_turn, endpoint=document.endpoint
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
    number: NumberEntry | None = None  # None: not served (or not looked up yet)
    transport: Transport | None = None


def build_sender(settings: Settings, store: Store) -> Sender:
    """A sender with both transports (`transports`), on `store`."""
    graph = GraphClient(base_url=settings.graph_base_url, api_version=settings.graph_api_version, token=access_token)

    @functools.cache
    def rate_for(rate: float) -> SendRateLimiter:
        # Two made for one rate by racing threads still share the budget: it is in the table.
        return SendRateLimiter(counters=store.rate_counters, rate_per_second=rate)

    return Sender(
        store=store,
        transports=transports(graph, settings),
        numbers=get_registry(),
        settings=settings,
        media=MediaUploader(
            uploads=store.media_uploads, bucket=Bucket(settings.media_bucket) if settings.media_bucket else None
        ),
        templates=TemplateCatalog(definitions=store.templates, graph=graph, settings=settings),
        rate=rate_for(settings.send_rate_per_second),
        rate_for=rate_for,
    )


@singleton
def get_sender() -> Sender:
    """The sender of this Lambda environment, built on first use."""
    return build_sender(get_settings(), get_store())
