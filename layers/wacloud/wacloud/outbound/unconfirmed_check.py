"""A delayed look at every send only a status can confirm: is it still unconfirmed
`UnconfirmedAlarmSeconds` later?

A send is recorded `unconfirmed` when Graph (or End User Messaging Social) received the request but
its answer was lost, or AWS failed it with a 5xx after which it may have gone; the status webhook
carrying our confirmation marker turns it into `accepted` (`outcomes.confirm_send`). An End User
Messaging Social send is recorded `accepted` without a wamid (AWS answers with its own id), and its
first status gives it the wamid. Either one left so may never have reached Meta (or AWS never
handed it on), and nothing else would notice it:

    sender ──unconfirmed, or EUM accepted──▶ check queue (standard, DelaySeconds) ──later──▶ unconfirmed check
                                                 still unconfirmed, or still without a wamid: SendStillUnconfirmed

- `schedule_check` is called where each such outcome is written (`outcomes`). It never raises: the
  send is done and recorded, and a failing put must neither fail it nor have it sent again. A check
  that could not be scheduled counts `UnconfirmedCheckNotScheduled`, which the same alarm adds to
  `SendStillUnconfirmed` (a send nobody will look at is one to look at now).
- `check_batch` is the consumer (functions/unconfirmed_check): it reads the outbound record and
  counts `SendStillUnconfirmed` when it is still `unconfirmed`, or an EUM acceptance still without
  its wamid (template: UnconfirmedSendsAlarm). A record it cannot read fails the message, which SQS
  delivers again and then dead-letters.

SQS delays a message by at most 900 s, so the check waits at most that (the parameter's maximum).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.adapters.queues import send_delayed
from wacloud.adapters.store import get_store
from wacloud.config import get_settings
from wacloud.models.outbound_state import OutboundState
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_key
from wacloud.runtime.metrics import count

logger = child_logger(__name__)


def schedule_check(idempotency_key: str) -> bool:
    """Have the send under `idempotency_key` looked at again later; never raises.

    True when the check is on its queue; False when checks are off (no queue URL) or the put failed."""
    try:
        settings = get_settings()
        url, delay = settings.unconfirmed_check_queue_url, settings.unconfirmed_check_seconds
        if not url:
            return False
        send_delayed(url, check_body(idempotency_key), delay)
    except Exception as exc:  # the send is recorded: nothing here may fail it or send it again
        logger.warning(
            "Could not schedule the check of an unconfirmed send",
            extra={"idempotency_key": mask_key(idempotency_key), "error": str(exc)[:300]},
        )
        count("UnconfirmedCheckNotScheduled")
        return False
    return True


def check_body(idempotency_key: str) -> str:
    return json.dumps({"idempotency_key": idempotency_key}, separators=(",", ":"))


def check(body: str) -> bool:
    """Look at the send one check message names; True when it is still `unconfirmed`, or accepted by
    End User Messaging Social and still without its wamid (counted).

    A body that names no send is dropped with a warning (only the sender writes here, so it is a bug,
    and no retry fixes it); a store error raises, for SQS to deliver the message again."""
    try:
        document = json.loads(body)
        idempotency_key = document["idempotency_key"]
        if not isinstance(idempotency_key, str) or not idempotency_key:
            raise TypeError("idempotency_key is not a string")
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        logger.warning("Dropped a check that names no send", extra={"reason": type(exc).__name__})
        return False
    record = get_store().outbound.get(idempotency_key)
    if record is None:
        return False
    # An EUM send AWS took: only its first status (with the marker) says Meta has it.
    without_wamid = record.state is OutboundState.ACCEPTED and not record.wamid and bool(record.transport)
    if record.state is not OutboundState.UNCONFIRMED and not without_wamid:
        return False
    count("SendStillUnconfirmed")
    extra: dict[str, object] = {
        "idempotency_key": mask_key(idempotency_key),
        "state": record.state.value if record.state else None,
        "phone_number_id": record.phone_number_id,
        "attempt_at": record.updated_at,
        # A status named it but the record was not turned `accepted` (yet): Meta has it.
        "confirmation_noted": bool(record.confirmed_wamid),
    }
    if record.transport:
        # AWS's id: what End User Messaging Social's support and its event logs know the send by.
        extra.update({"transport": record.transport, "transport_message_id": record.transport_message_id})
    if record.error is not None:
        extra["error"] = record.error.details or record.error.title
    message = "EUM send still without its wamid (no status came)" if without_wamid else "Send still unconfirmed"
    logger.warning(message, extra=extra)
    return True


def check_batch(event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
    """One invocation of the consumer: each check on its own; failed ones are delivered again."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=_handle_record, processor=processor, context=context)


def _handle_record(record: SQSRecord) -> None:
    check(record.body)
