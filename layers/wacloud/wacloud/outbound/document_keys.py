"""What an idempotency key may name: one document (Stripe's rule for keys).

- The same document again (whatever its spacing or key order: `contract.document_digest`) is
  answered from its record and never sent twice.
- Another document under a key in use is refused with that reason, recorded apart
  (`REJECT#outbound#<key>#<body digest>`): the key's own record is never touched.
- A document refused as invalid (it broke the contract) saves no result: its corrected version may
  reuse the key, and a malformed duplicate of a valid document changes nothing of that one's record.
"""

from __future__ import annotations

import json
import re

from wacloud.adapters.store import Store
from wacloud.errors import WacloudError
from wacloud.models.outbound import IDEMPOTENCY_KEY_PATTERN, OutboundMessage
from wacloud.models.outbound_state import OutboundState, SendOutcome
from wacloud.outbound.contract import deduplication_id
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_key
from wacloud.runtime.metrics import count

logger = child_logger(__name__)


# Far deeper than any document of the contract, far shallower than any call stack's limit.
MAX_NESTING = 100
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class KeyInUseError(WacloudError):
    """Another document under an idempotency key that names one already."""


def reused_key(state: OutboundState | None) -> str:
    """Why a document under a key in use is refused."""
    return (
        f"idempotency key already used by a different document (that one is {state.value if state else 'recorded'}):"
        " a key names one document; give this one a new key"
    )


def reject_invalid(store: Store, body: str, message_id: str, reason: str) -> SendOutcome:
    """A document that breaks the contract: recorded under its key where no valid document holds
    it, else apart; counted."""
    key = idempotency_key_of(body) or f"sqs:{message_id}"
    outcome = SendOutcome.rejected(f"invalid document: {reason}")
    if not store.outbound.record_invalid(key, outcome.reason or "", raw=body):
        _record_apart(store, key, body, outcome.reason or "")
    logger.warning("Outbound document rejected", extra={"idempotency_key": mask_key(key), "reason": reason})
    count("SendRejected")
    return outcome


def refuse_reused_key(store: Store, document: OutboundMessage, body: str, reason: str) -> SendOutcome:
    """Another document under a key in use: refused, recorded apart, counted."""
    key = document.idempotency_key
    _record_apart(store, key, body, reason)
    logger.warning("Outbound document refused", extra={"idempotency_key": mask_key(key), "reason": reason})
    count("SendRejected")
    return SendOutcome.rejected(reason)


def _record_apart(store: Store, key: str, body: str, reason: str) -> None:
    """A refusal that must not touch the key's own record: one item per key and body."""
    store.rejections.record("outbound", f"{key}#{deduplication_id(body)[:16]}", reason, body)


def idempotency_key_of(body: str) -> str | None:
    """The producer's key from a document that failed validation, if it has a usable one.

    None for a document nested deeper than `MAX_NESTING`: past it, whether `json.loads` could read
    the key would depend on how deep the caller's own stack is (the sender's, a test's, the API's),
    and the record must be found under the same key by every reader."""
    if _nesting(body) > MAX_NESTING:
        return None
    try:
        key = json.loads(body).get("idempotency_key")
    except (ValueError, AttributeError, RecursionError):  # RecursionError: a caller already very deep
        return None
    return key if isinstance(key, str) and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) else None


def _nesting(body: str) -> int:
    """How deep a JSON text's arrays and objects go (brackets inside strings not counted)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", body)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
