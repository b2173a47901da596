"""S3 buckets: the media bucket (outbound files read, inbound media archived) and a rules file's
bucket. The one place S3's errors become the package's own: `ObjectMissingError` for a key that
is not there, `S3Error` (retry later) for everything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

from wacloud.adapters.aws_session import default_session
from wacloud.errors import TransientError, WacloudError
from wacloud.runtime.singletons import singleton

_MISSING = ("404", "NoSuchKey", "NotFound")
# Parts of 8 MiB, one at a time: a 100 MB document costs 8 MiB of memory, not 100.
_TRANSFER = TransferConfig(multipart_chunksize=8 * 1024 * 1024, max_concurrency=1, use_threads=False)


class S3Error(TransientError):
    """A bucket could not be read or written (throttled, unavailable, permissions): retry later."""


class ObjectChangedError(S3Error):
    """The object changed between two reads of it (its ETag no longer matches)."""


class ObjectMissingError(WacloudError):
    """No object under this key."""


@dataclass(frozen=True)
class ObjectHead:
    content_type: str | None
    length: int
    etag: str | None


@singleton
def s3_client() -> Any:
    """The process's S3 client, made on first use (a text-only cold start never needs it)."""
    return default_session().client("s3")


class Bucket:
    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or s3_client()

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def head(self, key: str) -> ObjectHead:
        head = self._call("head_object", key)
        return ObjectHead(head.get("ContentType"), int(head.get("ContentLength", 0)), head.get("ETag"))

    def open(self, key: str, *, if_match: str | None = None) -> IO[bytes]:
        """The object's body, to stream (`if_match`: only this version of it); the caller closes it."""
        extra = {"IfMatch": if_match} if if_match else {}
        return _Stream(self._call("get_object", key, **extra)["Body"], self.uri(key))  # type: ignore[return-value]

    def read(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def upload(self, stream: Any, key: str, *, content_type: str) -> None:
        """Write a stream (read in 8 MiB parts) to `key`. A failure of the stream itself (its
        source broke off) is the stream's own exception."""
        try:
            self.client.upload_fileobj(
                stream, self.name, key, ExtraArgs={"ContentType": content_type}, Config=_TRANSFER
            )
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise S3Error(f"{self.uri(key)} could not be written: {exc}") from exc

    def _call(self, operation: str, key: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(Bucket=self.name, Key=key, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectMissingError(f"{self.uri(key)} does not exist") from exc
            if code == "PreconditionFailed":
                raise ObjectChangedError(f"{self.uri(key)} changed while it was being read") from exc
            raise S3Error(f"{self.uri(key)} could not be read: {code}") from exc
        except BotoCoreError as exc:
            raise S3Error(f"{self.uri(key)} could not be read: {exc}") from exc
        return answer


class _Stream:
    """An object's body as a reader reads it: a broken read is an `S3Error`, not an exception no one
    expects half-way through an upload to Graph."""

    def __init__(self, body: Any, where: str) -> None:
        self._body = body
        self._where = where

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._body.read(size if size >= 0 else None)
        except (BotoCoreError, OSError, Urllib3Error) as exc:
            raise S3Error(f"{self._where} could not be read to the end: {exc}") from exc
        return data

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
