"""Outbound media from the stack's media bucket: a document names an object (`"s3_key"`) instead of a
`link` or an `id`; before the send, the object is uploaded to `POST /{phone-number-id}/media` and the
message goes out by the media id Graph returns.

- The object is checked first (it exists; its type and size are ones WhatsApp takes for that kind of
  media): a document naming a missing or unsuitable object is rejected with the reason.
- An upload is reused for 29 days (Graph keeps media for 30): a campaign sending one image to many
  customers uploads it once per number and object version (its ETag). Should Graph refuse a reused
  id, the sender uploads again (`reupload`) and sends once more.
- The file is streamed from S3 to Graph, never held in memory whole.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

from wacloud.adapters.graph import GraphClient
from wacloud.adapters.store import MessageStore
from wacloud.errors import TransientError, WacloudError
from wacloud.models import media_types
from wacloud.models.interactive import S3_KEY
from wacloud.runtime.singletons import singleton

logger = Logger(child=True)
_MISSING = ("404", "NoSuchKey", "NotFound")


class MediaRejectedError(WacloudError):
    """The document names a bucket object WhatsApp cannot be sent (missing, wrong type, too large)."""


class MediaSourceError(TransientError):
    """The media bucket could not be read (throttled, unavailable, permissions): retry later."""


@singleton
def _s3_client() -> Any:
    return boto3.client("s3")


def names_bucket_object(record: dict[str, Any]) -> bool:
    """Whether an SQS record's document may name a bucket object: a look at the raw body for the
    key, before any parsing (a key spelled with JSON escapes still works, its client just made later)."""
    return "s3_key" in (record.get("body") or "")


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


class _S3Stream:
    """The object's body as the upload reads it: a broken S3 read is a retryable media error, not an
    exception no one expects half-way through an HTTP request."""

    def __init__(self, body: Any, where: str) -> None:
        self._body = body
        self._where = where

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read(size)
        except (BotoCoreError, OSError, Urllib3Error) as exc:
            raise MediaSourceError(f"{self._where} could not be read to the end: {exc}") from exc


class MediaUploader:
    def __init__(self, *, graph: GraphClient, store: MessageStore, bucket: str, s3: Any = None) -> None:
        self.graph = graph
        self.store = store
        self.bucket = bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        return self._s3 or _s3_client()

    def resolve(
        self,
        body: dict[str, Any],
        *,
        phone_number_id: str,
        token: str,
        before_upload: Callable[[], None] = lambda: None,
        reupload: bool = False,
    ) -> ResolvedBody:
        """A copy of `body` with every `s3_key` replaced by the `id` of the uploaded object.

        `before_upload` runs before each upload (the sender's time check); `reupload` ignores
        uploads made earlier."""
        resolved = ResolvedBody(copy.deepcopy(body))
        for kind, media in s3_media(resolved.body):
            key = media.pop("s3_key")
            media["id"], reused = self._media_id(
                kind, key, phone_number_id=phone_number_id, token=token, before_upload=before_upload, reupload=reupload
            )
            if reused:
                resolved.reused.append(media["id"])
            if kind == "document" and "filename" not in media:
                media["filename"] = key.rsplit("/", 1)[-1]  # what the customer's phone shows
        return resolved

    def _media_id(
        self,
        kind: str,
        key: str,
        *,
        phone_number_id: str,
        token: str,
        before_upload: Callable[[], None],
        reupload: bool,
    ) -> tuple[str, bool]:
        """The object's media id, and whether it is an earlier upload's."""
        if not self.bucket:
            raise MediaRejectedError("the document names an s3_key, but this stack has no media bucket configured")
        if not re.fullmatch(S3_KEY, key):
            # Keys inside components passed on as given (a carousel's cards) were not validated yet.
            raise MediaRejectedError(f"{key!r} is not a key this sender may send (inbound/ is customers' media)")
        head = self._call("head_object", key)
        mime_type = media_types.mime_type_for(key, head.get("ContentType"))
        size = int(head.get("ContentLength", 0))
        problem = media_types.problem(kind, mime_type, size)
        if problem is not None:
            raise MediaRejectedError(f"s3://{self.bucket}/{key}: {problem}")
        source = f"{phone_number_id}|{self.bucket}|{key}|{head.get('ETag', '')}"
        media_id = None if reupload else self.store.get_uploaded_media(source)
        if media_id is not None:
            return media_id, True
        before_upload()
        obj = self._call("get_object", key, IfMatch=head["ETag"]) if head.get("ETag") else self._call("get_object", key)
        try:
            media_id = self.graph.upload_media(
                phone_number_id,
                _S3Stream(obj["Body"], f"s3://{self.bucket}/{key}"),
                length=int(obj.get("ContentLength", size)),
                filename=key.rsplit("/", 1)[-1],
                mime_type=mime_type,
                token=token,
            )
        finally:
            obj["Body"].close()
        self.store.put_uploaded_media(source, media_id)
        logger.info("Media uploaded to Graph", extra={"kind": kind, "bytes": size, "mime_type": mime_type})
        return media_id, False

    def _call(self, operation: str, key: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.s3, operation)(Bucket=self.bucket, Key=key, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise MediaRejectedError(f"s3://{self.bucket}/{key} does not exist") from exc
            if code == "PreconditionFailed":
                raise MediaSourceError(f"s3://{self.bucket}/{key} changed while it was being read") from exc
            raise MediaSourceError(f"s3://{self.bucket}/{key} could not be read: {code}") from exc
        except BotoCoreError as exc:
            raise MediaSourceError(f"s3://{self.bucket}/{key} could not be read: {exc}") from exc
