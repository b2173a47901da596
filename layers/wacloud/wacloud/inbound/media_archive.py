"""Inbound media archived to the stack's media bucket while Meta still has it.

A customer's image, video, audio, document or sticker arrives as a media id. Meta's download URL
(`GET /{media-id}`) lives 5 minutes and the media id 7 days, so the processor copies the bytes to S3
within seconds (a `MediaEvent` queued after the message is handled, in a group of its own):
`inbound/<phone-number-id>/<yyyy>/<mm>/<dd>/<media id><ext>`, streamed (never whole in memory),
checked against the size and SHA-256 Meta gives, and records where on the message record.

- A failure retrying can fix (Graph 5xx or throttling, a timeout, a token refused even after the
  secret is re-read, S3 unavailable, a download that does not match its digest) raises: SQS delivers
  the event again, and after the last attempt it waits in the inbound DLQ (a redrive within Meta's
  7 days still finds the media). The conversation is not held back meanwhile.
- A failure for good (the media is gone, too large, refused) is recorded on the message
  (`media_error`, Meta's code) and the event carries on.
- A number End User Messaging Social carries has no token to download with: the service writes the
  media to the same place itself (`GetWhatsAppMessageMedia`, a key prefix it appends the media id
  and an extension to), and the object is then read back to check it against Meta's SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from urllib3.exceptions import HTTPError as Urllib3Error

from wacloud.adapters.graph import GraphClient, GraphError, GraphTransportError
from wacloud.adapters.s3 import Bucket, ObjectMissingError, S3Error
from wacloud.adapters.store.messages import MessageRecords
from wacloud.errors import TransientError
from wacloud.models import media_types
from wacloud.models.events import MediaEvent, MessageEvent
from wacloud.models.records import StoredMedia
from wacloud.outbound.error_policy import Action, action_for
from wacloud.runtime.logs import child_logger
from wacloud.runtime.masking import mask_wamid
from wacloud.runtime.metrics import count

if TYPE_CHECKING:
    from wacloud.adapters.registry import NumberRegistry
    from wacloud.adapters.social_messaging import SocialMessagingClient
    from wacloud.models.number_entry import NumberEntry

logger = child_logger(__name__)
READ_CHUNK = 1024 * 1024


class MediaArchiveError(TransientError):
    """The media could not be archived this time; the event is retried."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Digesting:
    """A read-only stream that hashes and counts what passes through it."""

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self._raw.read(size)
        except (OSError, Urllib3Error) as exc:  # the download broke off mid-stream
            raise MediaArchiveError(f"media download interrupted: {exc}") from exc
        self.sha256.update(chunk)
        self.size += len(chunk)
        return chunk


def digest_matches(expected: str | None, actual: bytes) -> bool:
    """Meta's `sha256` of a media file (base64; hex in some examples) against the bytes' digest."""
    if not expected:
        return True
    text = expected.strip()
    if text.lower() == actual.hex():
        return True
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            if decode(padded) == actual:
                return True
        except (binascii.Error, ValueError):
            continue
    return False


class MediaArchive:
    def __init__(
        self,
        *,
        graph: GraphClient,
        messages: MessageRecords,
        bucket: Bucket,
        clock: Callable[[], float] = time.time,
        numbers: NumberRegistry | None = None,
        social: SocialMessagingClient | None = None,
    ) -> None:
        self.graph = graph
        self.messages = messages
        self.bucket = bucket
        self._clock = clock
        self._numbers = numbers  # the registry and End User Messaging Social: the process's by default
        self._social = social

    def archive(self, event: MediaEvent | MessageEvent) -> StoredMedia | None:
        """Copy the message's media to the bucket and record it; None when there is nothing to copy
        or it cannot be copied for good (recorded as `media_error`)."""
        message = event.message
        media = message.media
        if media is None or not media.id:
            return None
        try:
            stored = self._copy(event, str(media.id))
        except GraphError as exc:
            if action_for(exc) is not Action.FAIL:
                # Retried later, also a token still refused after re-reading the secret: Meta keeps
                # the media 7 days, long enough for the secret to be fixed and the DLQ redriven.
                raise MediaArchiveError(f"media {media.id}: {exc}") from exc
            self.messages.record_media_error(message.id, exc.info())
            logger.warning(
                "Inbound media cannot be archived", extra={"wamid": mask_wamid(message.id), "error_code": exc.code}
            )
            count("MediaArchiveFailed")
            return None
        except GraphTransportError as exc:
            raise MediaArchiveError(f"media {media.id}: {exc}") from exc
        self.messages.record_media(message.id, stored)
        logger.info(
            "Inbound media archived",
            extra={"wamid": mask_wamid(message.id), "bytes": stored.size, "mime_type": stored.mime_type},
        )
        count("MediaArchived")
        return stored

    def _prefix(self, event: MediaEvent | MessageEvent) -> str:
        """`inbound/<phone-number-id>/<yyyy>/<mm>/<dd>/`: where a message's media goes."""
        day = time.strftime("%Y/%m/%d", time.gmtime(event.message.timestamp or self._clock()))
        return f"inbound/{event.phone_number_id or 'unknown-number'}/{day}/"

    def _eum_number(self, phone_number_id: str | None) -> NumberEntry | None:
        if not phone_number_id:
            return None
        if self._numbers is None:
            from wacloud.adapters.registry import get_registry

            self._numbers = get_registry()
        number = self._numbers.get(phone_number_id)
        return number if number is not None and number.transport == "eum" else None

    def _copy(self, event: MediaEvent | MessageEvent, media_id: str) -> StoredMedia:
        message = event.message
        declared = message.media.mime_type if message.media else None
        number = self._eum_number(event.phone_number_id)
        if number is not None:
            return self._copy_through_eum(event, media_id, number, declared)
        info = self.graph.media_info(media_id, phone_number_id=event.phone_number_id or None)
        mime_type = media_types.base_type(info.mime_type or declared) or "application/octet-stream"
        key = f"{self._prefix(event)}{media_id}{media_types.extension_for(mime_type)}"
        try:
            response = self.graph.download(info.url)
        except GraphError as exc:
            if exc.code is None and exc.http_status == 404:
                # The 5-minute URL expired already: the retry asks Meta for a new one.
                raise MediaArchiveError(f"media {media_id}: the download URL has expired") from exc
            raise
        try:
            response.raw.decode_content = True
            stream = _Digesting(response.raw)
            self.bucket.upload(stream, key, content_type=mime_type)
        finally:
            response.close()
        expected = info.sha256 or (message.media.sha256 if message.media else None)
        if not digest_matches(expected, stream.sha256.digest()) or (
            info.file_size is not None and info.file_size != stream.size
        ):
            # A cut-off or corrupted download: the retry downloads again over the same key.
            raise MediaArchiveError(f"media {media_id}: the download does not match Meta's size or SHA-256")
        return self._stored(key, mime_type, stream, media_id)

    def _copy_through_eum(
        self, event: MediaEvent | MessageEvent, media_id: str, number: NumberEntry, declared: str | None
    ) -> StoredMedia:
        """End User Messaging Social writes the media under the day's prefix; it is found (the name it
        gives is the prefix, the media id and an extension) and read back against Meta's SHA-256."""
        if self._social is None:
            from wacloud.adapters.social_messaging import social_messaging_client

            self._social = social_messaging_client()
        prefix = self._prefix(event)
        reported, _ = self._social.get_media(number, media_id, self.bucket.name, prefix)
        mime_type = media_types.base_type(reported or declared) or "application/octet-stream"
        key = self._written_key(prefix + media_id, mime_type)
        with self.bucket.open(key) as body:
            stream = _Digesting(body)
            while stream.read(READ_CHUNK):
                pass
        expected = event.message.media.sha256 if event.message.media else None
        if not digest_matches(expected, stream.sha256.digest()):
            # The retry has the service write it again over the same key.
            raise MediaArchiveError(f"media {media_id}: the object written does not match Meta's SHA-256")
        return self._stored(key, mime_type, stream, media_id)

    def _stored(self, key: str, mime_type: str, stream: _Digesting, media_id: str) -> StoredMedia:
        size, sha256 = stream.size, stream.sha256.hexdigest()
        return StoredMedia(
            bucket=self.bucket.name, key=key, mime_type=mime_type, size=size, sha256=sha256, media_id=media_id
        )

    def _written_key(self, stem: str, mime_type: str) -> str:
        """The key the service wrote: `stem` (prefix + media id) with our extension, with the MIME
        subtype as one, or with none. Without s3:ListBucket a missing key answers 403, not 404."""
        subtype = mime_type.partition("/")[2]
        candidates = dict.fromkeys([stem + media_types.extension_for(mime_type), f"{stem}.{subtype}", stem])
        for key in candidates:
            try:
                self.bucket.head(key)
            except (ObjectMissingError, S3Error):
                continue
            return key
        raise MediaArchiveError(f"{self.bucket.uri(stem)}*: End User Messaging Social wrote no object found there")
