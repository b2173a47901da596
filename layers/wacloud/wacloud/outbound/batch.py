"""One invocation of the sender: its batch of outbound records, its recipients side by side, and the
retry delay of every record that failed.

Lambda hands the sender up to 10 records from several message groups (recipients). Graph calls to
different recipients are independent, so each group runs on its own thread, in order, through its
own Powertools `SqsFifoPartialProcessor(skip_group_on_error=True)`: a failure holds back only the
later records of its own group, and the batch's answer is the union of the groups' failures.

Retries back off: after the batch, each failed record's visibility is set to base x 2^(attempt-1)
seconds, jittered and capped; a record held back behind its group's failure waits as long (the group
keeps its order) and its document's record says why it waits. The last attempt's failure is not
delayed: SQS moves the document to the DLQ on its next receive.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.adapters.queues import FifoQueue
from wacloud.config import Settings, get_settings
from wacloud.errors import TransientError
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.media_upload import names_bucket_object
from wacloud.outbound.sender import Sender, SendRetryableError, get_sender
from wacloud.runtime.deadline import Deadline, NotEnoughTimeError
from wacloud.runtime.logs import child_logger
from wacloud.runtime.tracing import trace_method

logger = child_logger(__name__)
PAIR_RATE_MIN_SECONDS = 6  # Meta's pair rate: about one message per 6 s to the same user


def retry_delay(settings: Settings, attempt: int, exc: Exception | None = None) -> int:
    """Seconds before the next attempt: base x 2^(attempt-1), capped, with jitter."""
    if isinstance(exc, NotEnoughTimeError) or attempt >= settings.max_receive_count:
        # Nothing went wrong / nothing is left to wait for: SQS moves it to the DLQ on the next receive.
        return 0
    delay = min(settings.retry_max_seconds, settings.retry_base_seconds << max(0, attempt - 1))
    delay = round(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not cryptography)
    if isinstance(exc, SendRetryableError) and exc.code == 131056 and settings.retry_base_seconds:
        delay = max(delay, PAIR_RATE_MIN_SECONDS)
    return delay


class SendBatch:
    """The state of one invocation: its records, its deadline, each failed group's retry delay and
    the records it actually worked on (the others were held back behind a failure)."""

    def __init__(self, sender: Sender, queue: FifoQueue, event: dict[str, Any], context: LambdaContext | None) -> None:
        self.sender = sender
        self.queue = queue
        self.settings = sender.settings
        self.raw_records: list[dict[str, Any]] = list(event.get("Records") or [])
        self.context = context
        self.deadline = Deadline(context)
        self._lock = threading.Lock()
        self._retry_after: dict[str, int] = {}  # FIFO group -> seconds
        self._handled: set[str] = set()  # SQS message ids worked on
        self._record_handler = trace_method(self._handle)

    def run(self) -> PartialItemFailureResponse:
        """Send the batch; the records to deliver again (`batchItemFailures`)."""
        may_name_objects = any(names_bucket_object(raw.get("body") or "") for raw in self.raw_records)
        self.sender.start_invocation(may_name_bucket_objects=may_name_objects)
        groups = _by_group(self.raw_records)
        workers = min(self.settings.send_concurrency, len(groups))
        if workers <= 1:
            failures = [failure for records in groups for failure in self._run_group(records)]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="group") as pool:
                failures = [failure for result in pool.map(self._run_group, groups) for failure in result]
        response: PartialItemFailureResponse = {"batchItemFailures": failures}
        self._schedule_retries(response)
        return response

    def _run_group(self, records: list[dict[str, Any]]) -> list[PartialItemFailures]:
        # Failures' tracebacks go to the package's logger: the function's formatter masks them.
        processor = SqsFifoPartialProcessor(skip_group_on_error=True, logger=logger)
        # Every record failing (e.g. Graph down) is reported record by record, not raised as a
        # function error: the Errors alarm is kept for real crashes.
        processor.raise_on_entire_batch_failure = False
        answer = process_partial_response(
            event={"Records": records}, record_handler=self._record_handler, processor=processor, context=self.context
        )
        return answer["batchItemFailures"]

    def _handle(self, record: SQSRecord) -> SendOutcome:
        """One record; on a transient failure, remember how long its group should wait."""
        group, attempt = group_and_attempt(record)
        with self._lock:
            self._handled.add(record.message_id)
        try:
            return self.sender.send(record.body, message_id=record.message_id, attempt=attempt, deadline=self.deadline)
        except TransientError as exc:
            delay = retry_delay(self.settings, attempt, exc)
            with self._lock:
                self._retry_after[group] = max(self._retry_after.get(group, 0), delay)
            raise

    def _schedule_retries(self, response: PartialItemFailureResponse) -> None:
        """Make each failed record visible again after its group's delay; a record held back behind
        a failure is recorded as such; one that failed unexpectedly backs off by its own attempts."""
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        entries = []
        for record in (SQSRecord(raw) for raw in self.raw_records):
            if record.message_id not in failed:
                continue
            group, attempt = group_and_attempt(record)
            delay = self._retry_after.get(group, retry_delay(self.settings, attempt))
            if record.message_id not in self._handled:
                self.sender.record_held_back(record.body, attempt)
                if attempt >= self.settings.max_receive_count:
                    delay = 0
            entries.append({"ReceiptHandle": record.receipt_handle, "VisibilityTimeout": delay})
        if entries:
            self.queue.delay(entries)


def group_and_attempt(record: SQSRecord) -> tuple[str, int]:
    """A record's FIFO group and receive count. Lambda always sends both; a hand-made event may not:
    then the record is a group of its own, on its first attempt."""
    try:
        attributes = record.attributes
        return attributes.message_group_id or record.message_id, int(attributes.approximate_receive_count or 1)
    except KeyError:
        return record.message_id, 1


def _by_group(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The records split by `MessageGroupId`, each group in the order SQS gave it."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for raw in records:
        record = SQSRecord(raw)
        groups.setdefault(group_and_attempt(record)[0], []).append(raw)
    return list(groups.values())


def process_batch(event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
    """The sender function's work: one invocation's batch."""
    return SendBatch(get_sender(), FifoQueue(get_settings().outbound_queue_url), event, context).run()
