"""Refused inbound input, recorded with the reason (`REJECT#<source>#<ref>`) and counted: events of a
number or WABA the stack does not serve (`inbound/serving.py`), SNS records from a topic or account
that is not ours (`inbound/eum_ingest.py`). Answered as delivered (Meta would retry a refusal for a
week) but never queued, never lost from sight.

The rare path: the store (and the pydantic models it brings) is imported here, on the first
refusal, never on a plain event's way (the webhook's cold start, `tests/functions/test_cold_imports.py`).
A failed write raises the store's `StoreError` (transient): the caller answers 503 (Meta delivers the
body again) or raises (Lambda retries the SNS event); a refusal recorded once is not written again.
"""

from __future__ import annotations

from collections.abc import Sequence

from wacloud.inbound.serving import Refusal
from wacloud.models.keys import digest
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count

logger = child_logger(__name__)

UNSERVED = "unserved"  # REJECT#unserved#<sha256 of the event key>
REFUSED_METRIC = "WebhookEventRefused"


def record_refusals(refused: Sequence[Refusal]) -> None:
    """Record each refused event once (its key's digest: a redelivery finds it recorded) and count them."""
    if not refused:
        return
    for refusal in refused:
        record_rejection(UNSERVED, digest(refusal.event.key), refusal.reason, refusal.event.body())
    count(REFUSED_METRIC, len(refused))
    # Reasons name numbers and WABAs: the records keep them, the log only how many and of what kind.
    kinds: dict[str, int] = {}
    for refusal in refused:
        kinds[refusal.event.kind] = kinds.get(refusal.event.kind, 0) + 1
    logger.warning("Events of numbers this stack does not serve refused and recorded", extra={"refused": kinds})


def record_rejection(source: str, ref: str, reason: str, raw: str | None) -> None:
    """One `REJECT#<source>#<ref>` record (kept once; the raw data truncated by the store)."""
    from wacloud.adapters.store import get_store  # the rare path only (see the module's docstring)

    get_store().rejections.record(source, ref, reason, raw)
