"""The webhook's work: Meta's subscription check, and verify-split-queue for event POSTs.

Nothing slow happens here: no Graph calls, no DynamoDB. A POST is answered 200 only after every
event of the body is on the inbound queue; if queueing fails the caller answers 5xx and Meta
delivers the body again (the events' deduplication ids make that harmless).
"""

from __future__ import annotations

import hmac
import time

from wacloud.adapters.credentials import credential
from wacloud.adapters.queues import FifoQueue, QueueEntry
from wacloud.config import Settings, get_settings
from wacloud.errors import SignatureError, WacloudError
from wacloud.inbound.signature import verify_signature
from wacloud.inbound.split import SplitEvent, queue_document, split_webhook
from wacloud.models.keys import digest
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

logger = child_logger(__name__)


# A signature mismatch re-reads the app secret at most this often per environment.
SECRET_RECHECK_SECONDS = 60
# Meta's challenge is a number; echoing only digits means the answer can never be markup or script
# in anyone's name (the GET is open to the world). The bound is far above what Meta sends.
MAX_CHALLENGE_DIGITS = 64


class BadRequestError(WacloudError):
    """The request is malformed (missing parameters, undecodable body): 400."""


class ForbiddenError(WacloudError):
    """A subscription check with the wrong mode or verify token: 403."""


class PayloadTooLargeError(WacloudError):
    """A body larger than Meta ever sends: 413."""


class Webhook:
    def __init__(self, *, queue: FifoQueue, settings: Settings) -> None:
        self.queue = queue
        self.settings = settings
        self._last_recheck = float("-inf")

    def subscribe(self, mode: str | None, verify_token: str | None, challenge: str | None) -> str:
        """Meta's GET check: the challenge to echo if mode and token are right and the challenge is
        what Meta sends (digits)."""
        if not mode or verify_token is None or challenge is None:
            raise BadRequestError("hub.mode, hub.verify_token and hub.challenge are required")
        expected = credential("verify_token")
        token_ok = hmac.compare_digest(verify_token.encode("utf-8"), expected.encode("utf-8"))
        if mode != "subscribe" or not token_ok:
            count("SubscriptionRefused")
            raise ForbiddenError("verification refused")
        # Checked after the token: a caller without it learns nothing but 403.
        if not (challenge.isascii() and challenge.isdigit() and len(challenge) <= MAX_CHALLENGE_DIGITS):
            raise BadRequestError(f"hub.challenge must be 1 to {MAX_CHALLENGE_DIGITS} digits, as Meta sends it")
        return challenge

    def receive(self, body: bytes, signature: str | None) -> list[SplitEvent]:
        """Verify, split and queue a POST body; return the events queued."""
        if len(body) > self.settings.max_webhook_bytes:
            raise PayloadTooLargeError(f"body of {len(body)} bytes is over {self.settings.max_webhook_bytes}")
        try:
            self._verify(body, signature)
        except SignatureError:
            count("WebhookSignatureRejected")
            raise
        events, entries = [], []
        for split in split_webhook(body):
            event, document = queue_document(split)
            events.append(event)
            entries.append(QueueEntry(body=document, group_id=event.group, deduplication_id=digest(event.key)))
        self.queue.send(entries)
        kinds: dict[str, int] = {}
        for event in events:
            kinds[event.kind] = kinds.get(event.kind, 0) + 1
        logger.info("Webhook events queued", extra={"events": kinds})
        count("WebhookEventsQueued", len(events))
        return events

    def _verify(self, body: bytes, signature: str | None) -> None:
        """Check the signature; on a mismatch, re-read the secret first if it may have been rotated.

        After an app secret reset Meta signs with the new secret at once, while this environment
        still caches the old one. A mismatch re-reads the secret, but at most once per
        SECRET_RECHECK_SECONDS: forged requests cannot turn into a Secrets Manager call each.
        """
        try:
            verify_signature(body, signature, credential("app_secret"))
        except SignatureError as exc:
            now = time.monotonic()
            if exc.missing or now - self._last_recheck < SECRET_RECHECK_SECONDS:
                raise
            self._last_recheck = now
            fresh = credential("app_secret", force_fetch=True)
            verify_signature(body, signature, fresh)
            logger.info("Webhook signature verified with a re-read app secret (rotated)")
            count("AppSecretRefreshed")


@singleton
def get_webhook() -> Webhook:
    settings = get_settings()
    return Webhook(queue=FifoQueue(settings.inbound_queue_url), settings=settings)
