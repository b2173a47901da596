"""The webhook's work: Meta's subscription check, and verify-split-queue for event POSTs.

One path per Meta app (`/webhook` is app `default`, `/webhook/<app>` any other): each app signs with
its own app secret, named by the registry of numbers (`adapters/registry.py`), and a POST does not
say which app signed it until it is verified. An app no number belongs to is unknown (404).

Nothing slow happens here: no Graph calls, and DynamoDB only to record events of numbers this stack
does not serve (`inbound/serving.py`, `inbound/refusals.py`: answered 200, never queued). A POST is
answered 200 only after every served event of the body is on the inbound queue and every other one
recorded; if either fails the caller answers 5xx and Meta delivers the body again (the events'
deduplication ids and the refusals' keys make that harmless).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from wacloud.adapters.credentials import credential
from wacloud.adapters.queues import FifoQueue
from wacloud.adapters.registry import NumberRegistry, get_registry
from wacloud.config import Settings, get_settings
from wacloud.errors import SignatureError, WacloudError
from wacloud.inbound.refusals import record_refusals
from wacloud.inbound.serving import Ingress, partition
from wacloud.inbound.signature import verify_signature
from wacloud.inbound.split import SplitEvent, queue_entries, split_webhook
from wacloud.models.number_entry import DEFAULT_APP
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

logger = child_logger(__name__)


# A signature mismatch re-reads an app's secret at most this often per environment.
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


class UnknownAppError(WacloudError):
    """A webhook path naming an app that no number of the registry belongs to: 404."""


@dataclass(frozen=True)
class Received:
    """What a POST came to: the events queued, and how many were refused (recorded, not queued)."""

    events: list[SplitEvent]
    refused: int = 0


class Webhook:
    def __init__(self, *, queue: FifoQueue, settings: Settings, numbers: NumberRegistry | None = None) -> None:
        self.queue = queue
        self.settings = settings
        self._numbers = numbers
        self._last_recheck: dict[str, float] = {}  # per secret

    @property
    def numbers(self) -> NumberRegistry:
        return self._numbers if self._numbers is not None else get_registry()

    def subscribe(
        self, mode: str | None, verify_token: str | None, challenge: str | None, *, app: str = DEFAULT_APP
    ) -> str:
        """Meta's GET check: the challenge to echo if mode and the app's token are right and the
        challenge is what Meta sends (digits)."""
        secret = self._secret_of(app)
        if not mode or verify_token is None or challenge is None:
            raise BadRequestError("hub.mode, hub.verify_token and hub.challenge are required")
        expected = credential("verify_token", secret_name=secret)
        token_ok = hmac.compare_digest(verify_token.encode("utf-8"), expected.encode("utf-8"))
        if mode != "subscribe" or not token_ok:
            count("SubscriptionRefused")
            raise ForbiddenError("verification refused")
        # Checked after the token: a caller without it learns nothing but 403.
        if not (challenge.isascii() and challenge.isdigit() and len(challenge) <= MAX_CHALLENGE_DIGITS):
            raise BadRequestError(f"hub.challenge must be 1 to {MAX_CHALLENGE_DIGITS} digits, as Meta sends it")
        return challenge

    def receive(self, body: bytes, signature: str | None, *, app: str = DEFAULT_APP) -> Received:
        """Verify with the app's secret, split, queue the events of numbers the app serves and
        record the others (`inbound/serving.py`)."""
        if len(body) > self.settings.max_webhook_bytes:
            raise PayloadTooLargeError(f"body of {len(body)} bytes is over {self.settings.max_webhook_bytes}")
        secret = self._secret_of(app)
        try:
            self._verify(body, signature, secret)
        except SignatureError:
            count("WebhookSignatureRejected")
            raise
        accepted, refused = partition(split_webhook(body), Ingress.webhook(app, self.numbers), self.numbers)
        events, entries = queue_entries(accepted)
        self.queue.send(entries)
        record_refusals(refused)
        kinds: dict[str, int] = {}
        for event in events:
            kinds[event.kind] = kinds.get(event.kind, 0) + 1
        logger.info("Webhook events queued", extra={"events": kinds})
        count("WebhookEventsQueued", len(events))
        return Received(events, len(refused))

    def _secret_of(self, app: str) -> str:
        """The secret holding `app`'s credentials, or `UnknownAppError` (the registry reads itself
        again first, rate-limited: an app added while this environment is warm is served at once)."""
        secret = self.numbers.secret_for_app(app)
        if secret is None:
            count("WebhookUnknownApp")
            raise UnknownAppError(f"no number of this stack belongs to app {app[:64]!r}")
        return secret

    def _verify(self, body: bytes, signature: str | None, secret: str) -> None:
        """Check the signature; on a mismatch, re-read the secret first if it may have been rotated.

        After an app secret reset Meta signs with the new secret at once, while this environment
        still caches the old one. A mismatch re-reads the secret, but at most once per
        SECRET_RECHECK_SECONDS per secret: forged requests cannot turn into a Secrets Manager call each.
        """
        try:
            verify_signature(body, signature, credential("app_secret", secret_name=secret))
        except SignatureError as exc:
            now = time.monotonic()
            if exc.missing or now - self._last_recheck.get(secret, float("-inf")) < SECRET_RECHECK_SECONDS:
                raise
            self._last_recheck[secret] = now
            fresh = credential("app_secret", force_fetch=True, secret_name=secret)
            verify_signature(body, signature, fresh)
            logger.info("Webhook signature verified with a re-read app secret (rotated)")
            count("AppSecretRefreshed")


@singleton
def get_webhook() -> Webhook:
    settings = get_settings()
    return Webhook(queue=FifoQueue(settings.inbound_queue_url), settings=settings)
