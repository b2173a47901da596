"""Outbound media from the stack's media bucket: a document names an object (`"s3_key"`) instead of a
`link` or an `id`; before the send, the object is uploaded through the number's transport (Graph's
`POST /{phone-number-id}/media`, or End User Messaging Social's `PostWhatsAppMessageMedia`, which
reads the object itself) and the message goes out by the media id it returns.

- The object is checked first (it exists; its type and size are ones WhatsApp takes for that kind of
  media): a document naming a missing or unsuitable object is rejected with the reason.
- An upload is reused for 29 days (Graph keeps media for 30): a campaign sending one image to many
  customers uploads it once per number, transport and object version (its ETag). Should Graph refuse
  a reused id, the sender uploads again (`reupload`) and sends once more.
- The file is streamed from S3 to Graph, never held in memory whole.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wacloud.adapters.graph import DEFAULT_TIMEOUT, MARGIN_SECONDS, UPLOAD_TIMEOUT
from wacloud.adapters.s3 import Bucket, ObjectMissingError
from wacloud.adapters.store.caches import UploadedMedia
from wacloud.errors import WacloudError
from wacloud.models import media_types
from wacloud.models.interactive import S3_KEY
from wacloud.runtime.deadline import NO_DEADLINE, Deadline
from wacloud.runtime.logs import child_logger

if TYPE_CHECKING:
    from wacloud.models.number_entry import NumberEntry
    from wacloud.outbound.transports import Transport

logger = child_logger(__name__)
# An upload starts only with time left for it and for the send after it.
UPLOAD_NEEDS_SECONDS = sum(UPLOAD_TIMEOUT) + sum(DEFAULT_TIMEOUT) + MARGIN_SECONDS


class MediaRejectedError(WacloudError):
    """The document names a bucket object WhatsApp cannot be sent (missing, wrong type, too large)."""


def names_bucket_object(body: str) -> bool:
    """Whether a document may name a bucket object: a look at the raw body for the key, before any
    parsing (a key spelled with JSON escapes still works, its S3 client just made later)."""
    return "s3_key" in body


def s3_media(body: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, media object) for every media object of a Graph body that names a bucket object:
    a media message's, an interactive header's, a template header parameter's."""
    if isinstance(body, list):
        for item in body:
            yield from s3_media(item)
    elif isinstance(body, dict):
        for key, value in body.items():
            if key in media_types.KINDS and isinstance(value, dict) and "s3_key" in value:
                yield key, value
            else:
                yield from s3_media(value)


@dataclass
class ResolvedBody:
    """A Graph body with every `s3_key` replaced by a media id, and which ids were reused uploads."""

    body: dict[str, Any]
    reused: list[str] = field(default_factory=list)


class MediaUploader:
    def __init__(self, *, uploads: UploadedMedia, bucket: Bucket | None) -> None:
        self.uploads = uploads
        self.bucket = bucket

    def resolve(
        self,
        body: dict[str, Any],
        *,
        number: NumberEntry,
        transport: Transport,
        deadline: Deadline = NO_DEADLINE,
        reupload: bool = False,
    ) -> ResolvedBody:
        """A copy of `body` with every `s3_key` replaced by the `id` of the object uploaded through
        `transport` for `number` (`reupload`: ignoring uploads made earlier)."""
        resolved = ResolvedBody(copy.deepcopy(body))
        for kind, media in s3_media(resolved.body):
            key = media.pop("s3_key")
            media["id"], reused = self._media_id(
                kind, key, number=number, transport=transport, deadline=deadline, reupload=reupload
            )
            if reused:
                resolved.reused.append(media["id"])
            if kind == "document" and "filename" not in media:
                media["filename"] = key.rsplit("/", 1)[-1]  # what the customer's phone shows
        return resolved

    def _media_id(
        self, kind: str, key: str, *, number: NumberEntry, transport: Transport, deadline: Deadline, reupload: bool
    ) -> tuple[str, bool]:
        """The object's media id, and whether it is an earlier upload's."""
        if self.bucket is None:
            raise MediaRejectedError("the document names an s3_key, but this stack has no media bucket configured")
        bucket = self.bucket
        if not re.fullmatch(S3_KEY, key):
            # Keys inside components passed on as given (a carousel's cards) were not validated yet.
            raise MediaRejectedError(f"{key!r} is not a key this sender may send (inbound/ is customers' media)")
        try:
            head = bucket.head(key)
        except ObjectMissingError as exc:
            raise MediaRejectedError(str(exc)) from exc
        mime_type = media_types.mime_type_for(key, head.content_type)
        problem = media_types.problem(kind, mime_type, head.length)
        if problem is not None:
            raise MediaRejectedError(f"{bucket.uri(key)}: {problem}")
        source = f"{number.phone_number_id}|{bucket.name}|{key}|{head.etag or ''}"
        if transport.name != "cloud_api":
            source += f"|{transport.name}"  # its own upload (the Cloud API's keys are those of before)
        media_id = None if reupload else self.uploads.get(source)
        if media_id is not None:
            return media_id, True

        def enough_time() -> None:
            deadline.require(UPLOAD_NEEDS_SECONDS, "a media upload and its send")

        enough_time()
        media_id = transport.upload(
            number, bucket, key, head, mime_type=mime_type, deadline=deadline, before_retry=enough_time
        )
        self.uploads.put(source, media_id)
        extra = {"kind": kind, "bytes": head.length, "mime_type": mime_type, "transport": transport.name}
        logger.info("Media uploaded", extra=extra)
        return media_id, False
