"""How a number's messages leave: Meta's Cloud API (`cloud_api`: Graph, the app's token) or AWS End
User Messaging Social (`eum`: `SendWhatsAppMessage`, IAM). The sender picks the transport of the
document's number (`NumberEntry.transport`) and sees only this interface: one send, one media upload,
errors already translated into the Graph error classes (`adapters/graph.py`) either way.

- A Cloud API send answers with the wamid. An EUM send answers with AWS's own message id only: it is
  recorded `accepted` without a wamid, and the message's first status (which carries the
  confirmation marker) gives it its wamid (`outbound/outcomes.confirm_send`).
- Clients are made on the handler's thread (`warm`): boto3 sessions are not thread-safe, and the
  batch's recipients run on threads of their own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from wacloud.adapters.credentials import access_token
from wacloud.adapters.graph import MARGIN_SECONDS, GraphClient
from wacloud.adapters.s3 import Bucket, ObjectHead
from wacloud.adapters.social_messaging import MEDIA_TIMEOUT, SocialMessagingClient, social_messaging_client
from wacloud.config import Settings
from wacloud.errors import WacloudError
from wacloud.runtime.deadline import Deadline
from wacloud.runtime.logs import child_logger

if TYPE_CHECKING:
    from wacloud.models.number_entry import NumberEntry

logger = child_logger(__name__)

CLOUD_API, EUM = "cloud_api", "eum"


@dataclass(frozen=True)
class Sent:
    """A send's answer: the wamid (Graph's), or AWS's message id (an EUM send, wamid to come)."""

    wamid: str | None
    transport_message_id: str | None = None


class Transport(Protocol):
    name: str
    timeout: tuple[float, float]  # (connect, read) of a send: no send starts without their sum left

    def send(
        self,
        number: NumberEntry,
        body: dict[str, Any],
        *,
        deadline: Deadline,
        before_retry: Callable[[], None] | None,
        endpoint: str,
    ) -> Sent: ...

    def upload(
        self,
        number: NumberEntry,
        bucket: Bucket,
        key: str,
        head: ObjectHead,
        *,
        mime_type: str,
        deadline: Deadline,
        before_retry: Callable[[], None] | None,
    ) -> str: ...

    def warm(self, numbers: list[NumberEntry], *, media: bool) -> None:
        """Make the clients `numbers` send with, on the handler's thread; never raises."""


class GraphClients:
    """One Graph client per (secret, API version): each number's app authenticates with its own
    token; all share the default client's HTTP session (its kept-open connections)."""

    def __init__(self, default: GraphClient, settings: Settings) -> None:
        self.default = default
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], GraphClient] = {}

    def for_number(self, number: NumberEntry) -> GraphClient:
        secret = number.secret_name or self.settings.secret_name
        version = number.meta_api_version or self.default.api_version
        if secret == self.settings.secret_name and version == self.default.api_version:
            return self.default
        with self._lock:
            client = self._clients.get((secret, version))
            if client is None:
                client = GraphClient(
                    base_url=self.default.base_url,
                    api_version=version,
                    token=functools.partial(access_token, secret_name=secret),
                    session=self.default.session,
                    timeout=self.default.timeout,
                )
                self._clients[(secret, version)] = client
            return client


class GraphTransport:
    """Meta's Cloud API: `POST /{phone-number-id}/messages` with the number's app token."""

    name = CLOUD_API

    def __init__(self, clients: GraphClients) -> None:
        self.clients = clients
        self.timeout = clients.default.timeout

    def send(
        self,
        number: NumberEntry,
        body: dict[str, Any],
        *,
        deadline: Deadline,
        before_retry: Callable[[], None] | None,
        endpoint: str,
    ) -> Sent:
        graph = self.clients.for_number(number)
        response = graph.send_message(
            number.phone_number_id, body, deadline=deadline, before_retry=before_retry, endpoint=endpoint
        )
        return Sent(response.wamid)

    def upload(
        self,
        number: NumberEntry,
        bucket: Bucket,
        key: str,
        head: ObjectHead,
        *,
        mime_type: str,
        deadline: Deadline,
        before_retry: Callable[[], None] | None,
    ) -> str:
        """Streamed from S3 to Graph (this version of the object only), never held whole."""
        return self.clients.for_number(number).upload_media(
            number.phone_number_id,
            lambda: bucket.open(key, if_match=head.etag),
            length=head.length,
            filename=key.rsplit("/", 1)[-1],
            mime_type=mime_type,
            deadline=deadline,
            before_retry=before_retry,
        )

    def warm(self, numbers: list[NumberEntry], *, media: bool) -> None:
        """The HTTP session made and each app's token read once."""
        _ = self.clients.default.session
        for client in {id(c): c for c in map(self.clients.for_number, numbers)}.values():
            try:
                client.token()
            except WacloudError as exc:
                # Each document's own read fails then, and records why (`retrying`).
                logger.warning("Could not read the secret before the batch", extra={"error": str(exc)})


class EumTransport:
    """End User Messaging Social: `SendWhatsAppMessage` from the number's AWS id; media via S3."""

    name = EUM

    def __init__(self, client: SocialMessagingClient) -> None:
        self.client = client
        self.timeout = client.timeout

    def send(
        self,
        number: NumberEntry,
        body: dict[str, Any],
        *,
        deadline: Deadline,
        before_retry: Callable[[], None] | None,
        endpoint: str,
    ) -> Sent:
        # `marketing_messages` too: AWS sends Marketing Messages API templates through the same call.
        # No token to refresh (IAM signs), so `before_retry` never runs.
        deadline.require(sum(self.timeout) + MARGIN_SECONDS, "an End User Messaging Social call")
        return Sent(None, self.client.send(number, body) or None)

    def upload(
        self,
        number: NumberEntry,
        bucket: Bucket,
        key: str,
        head: ObjectHead,
        *,
        mime_type: str,
        deadline: Deadline,
        before_retry: Callable[[], None] | None,
    ) -> str:
        """The service reads the object from the bucket itself (the caller's grant) and uploads it."""
        deadline.require(sum(MEDIA_TIMEOUT) + MARGIN_SECONDS, "an End User Messaging Social media upload")
        return self.client.post_media(number, bucket.name, key)

    def warm(self, numbers: list[NumberEntry], *, media: bool) -> None:
        _ = self.client.send_client
        if media:
            _ = self.client.media_client


def transports(graph: GraphClient, settings: Settings) -> dict[str, Transport]:
    """Both transports: Graph clients sharing `graph`'s HTTP session, End User Messaging Social's
    clients made on first use."""
    return {CLOUD_API: GraphTransport(GraphClients(graph, settings)), EUM: EumTransport(social_messaging_client())}
