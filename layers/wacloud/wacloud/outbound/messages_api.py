"""The messages API (IAM-authorized, beside the webhook): `POST /messages` puts an outbound document on
the queue as any producer would; `GET /messages/{id}` tells what happened to it, by idempotency key
or by wamid (inbound messages too).

The document is checked against the contract first, so a producer hears at once (400, with the
reason) what the sender would only have recorded as `rejected` (also a `phone_number_id` this stack
does not serve); and a key already naming another document is refused at once (409), as the sender
would refuse it (`outbound.document_keys`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from pydantic import ValidationError

from wacloud.adapters.queues import MAX_BATCH_BYTES, FifoQueue, QueueEntry
from wacloud.adapters.registry import get_registry
from wacloud.adapters.store import Store, get_store
from wacloud.config import get_settings
from wacloud.errors import WacloudError
from wacloud.models.outbound import unserved_number
from wacloud.models.validation_errors import describe
from wacloud.outbound.contract import deduplication_id, document_digest, message_group_id, parse_document
from wacloud.outbound.document_keys import reused_key
from wacloud.runtime.http_answers import raw_body
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_key
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

if TYPE_CHECKING:
    from wacloud.adapters.registry import NumberRegistry

logger = child_logger(__name__)


class InvalidDocumentError(WacloudError):
    """The document breaks the outbound contract: 400 with the reason."""


class DocumentTooLargeError(WacloudError):
    """Larger than one SQS message: 413."""


class KeyConflictError(WacloudError):
    """The idempotency key names another document already: 409 with the reason."""


class MessagesApi:
    def __init__(self, *, store: Store, queue: FifoQueue, numbers: NumberRegistry) -> None:
        self.store = store
        self.queue = queue
        self.numbers = numbers

    def submit(self, body: str | None, *, is_base64_encoded: bool = False) -> dict[str, Any]:
        """Check a document (the body as API Gateway hands it over) and queue it; what to answer (202)."""
        raw = raw_body(body, is_base64_encoded=is_base64_encoded)
        if len(raw) > MAX_BATCH_BYTES:
            raise DocumentTooLargeError(f"a document is at most {MAX_BATCH_BYTES} bytes (one SQS message)")
        try:
            document = parse_document(raw)
        except ValidationError as exc:
            raise InvalidDocumentError(describe(exc)) from exc
        if document.phone_number_id and self.numbers.get(document.phone_number_id) is None:
            raise InvalidDocumentError(unserved_number(document.phone_number_id))
        key = document.idempotency_key
        queued = document.model_dump_json(exclude_none=True)  # with the contract's defaults filled in
        if len(queued.encode("utf-8")) > MAX_BATCH_BYTES:
            raise DocumentTooLargeError(f"a document is at most {MAX_BATCH_BYTES} bytes (one SQS message)")
        record = self.store.outbound.get(key)
        if record is not None and record.names_another_document(document_digest(document)):
            raise KeyConflictError(reused_key(record.state))
        self.queue.send(
            [
                QueueEntry(
                    body=queued,
                    group_id=message_group_id(document.recipient or key),
                    deduplication_id=deduplication_id(queued),
                )
            ]
        )
        logger.info("Outbound document queued", extra={"idempotency_key": mask_key(key), "type": document.kind})
        count("ApiDocumentQueued")
        return {"idempotency_key": key, "status": "queued", "status_path": f"/messages/{quote(key, safe='')}"}

    def status(self, identifier: str) -> dict[str, Any] | None:
        """The outbound record (by key) and the message (by its wamid, or `identifier` as a wamid):
        its status history and, once a status webhook gave it, Meta's `pricing` (model, type, category)."""
        identifier = unquote(identifier)
        outbound = self.store.outbound.get(identifier)
        wamid = (outbound.wamid or outbound.confirmed_wamid) if outbound is not None else identifier
        message = self.store.messages.get(wamid) if wamid else None
        if outbound is None and message is None:
            return None
        answer: dict[str, Any] = {"id": identifier}
        if outbound is not None:
            answer["outbound"] = outbound.model_dump(mode="json", exclude_none=True)
        if message is not None:
            answer["message"] = message.model_dump(mode="json", exclude_none=True)
        return answer


@singleton
def get_messages_api() -> MessagesApi:
    return MessagesApi(store=get_store(), queue=FifoQueue(get_settings().outbound_queue_url), numbers=get_registry())
