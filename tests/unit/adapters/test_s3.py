"""wacloud.adapters.s3: a bucket's objects read, streamed and written over moto, and S3's failures
as the package's errors (missing, changed, retry later)."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from urllib3.exceptions import ProtocolError

from wacloud.adapters.s3 import Bucket, ObjectChangedError, ObjectHead, ObjectMissingError, S3Error, s3_client
from wacloud.errors import TransientError
from wacloud.local.cloudformation import Stack
from wacloud.runtime.singletons import reset

BODY = b"%PDF-1.7 an invoice"


@pytest.fixture
def bucket(aws: Stack) -> Bucket:
    name = aws.bucket_names["MediaBucket"]
    boto3.client("s3").put_object(Bucket=name, Key="docs/invoice.pdf", Body=BODY, ContentType="application/pdf")
    return Bucket(name)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "Operation")


def stored(bucket: Bucket, key: str) -> dict[str, Any]:
    return boto3.client("s3").get_object(Bucket=bucket.name, Key=key)


def test_head_gives_the_objects_type_length_and_etag(bucket: Bucket) -> None:
    etag = boto3.client("s3").head_object(Bucket=bucket.name, Key="docs/invoice.pdf")["ETag"]

    assert bucket.head("docs/invoice.pdf") == ObjectHead("application/pdf", len(BODY), etag)


def test_read_gives_the_whole_object_and_open_streams_it_in_parts(bucket: Bucket) -> None:
    assert bucket.read("docs/invoice.pdf") == BODY
    with bucket.open("docs/invoice.pdf") as stream:
        assert stream.read(4) == BODY[:4]
        assert stream.read() == BODY[4:]
        assert stream.read(10) == b""


def test_open_with_the_current_etag_reads_that_version(bucket: Bucket) -> None:
    etag = bucket.head("docs/invoice.pdf").etag
    with bucket.open("docs/invoice.pdf", if_match=etag) as stream:
        assert stream.read() == BODY


def test_open_with_a_stale_etag_is_an_object_changed_error(bucket: Bucket) -> None:
    # GIVEN the object was replaced after its head was read
    stale = bucket.head("docs/invoice.pdf").etag
    boto3.client("s3").put_object(Bucket=bucket.name, Key="docs/invoice.pdf", Body=b"another file")

    with pytest.raises(ObjectChangedError, match="changed while it was being read") as raised:
        bucket.open("docs/invoice.pdf", if_match=stale)
    assert isinstance(raised.value, S3Error)  # retried like any other S3 failure


@pytest.mark.parametrize("operation", ["head", "open", "read"])
def test_a_missing_key_is_an_object_missing_error_not_a_retry(bucket: Bucket, operation: str) -> None:
    with pytest.raises(ObjectMissingError, match=f"s3://{bucket.name}/docs/nothing.pdf does not exist") as raised:
        getattr(bucket, operation)("docs/nothing.pdf")
    assert not isinstance(raised.value, TransientError)


@pytest.mark.parametrize(
    "failure",
    [client_error("AccessDenied"), client_error("SlowDown"), EndpointConnectionError(endpoint_url="https://s3")],
    ids=["access-denied", "throttled", "unreachable"],
)
@pytest.mark.parametrize(("operation", "method"), [("head", "head_object"), ("read", "get_object")])
def test_other_failures_are_s3_errors_to_retry(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch, failure: Exception, operation: str, method: str
) -> None:
    def fail(**kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(bucket.client, method, fail)

    with pytest.raises(S3Error, match=f"s3://{bucket.name}/docs/invoice.pdf could not be read") as raised:
        getattr(bucket, operation)("docs/invoice.pdf")
    assert isinstance(raised.value, TransientError) and raised.value.__cause__ is failure


class BreakingBody:
    """An object's body whose connection drops after the first part."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.closed = False
        self.reads = 0

    def read(self, size: int | None = None) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise self.failure
        return b"first part"

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "failure",
    [ReadTimeoutError(endpoint_url="https://s3"), ProtocolError("connection broken"), ConnectionResetError()],
    ids=["botocore", "urllib3", "os"],
)
def test_a_stream_that_breaks_off_is_an_s3_error_and_is_closed(failure: Exception) -> None:
    body = BreakingBody(failure)

    class Client:
        def get_object(self, **kwargs: Any) -> dict[str, Any]:
            return {"Body": body}

    with pytest.raises(S3Error, match="s3://b/k could not be read to the end"), Bucket("b", Client()).open("k") as s:
        assert s.read(10) == b"first part"
        s.read(10)
    assert body.closed


def test_upload_writes_the_stream_with_its_content_type(bucket: Bucket) -> None:
    bucket.upload(io.BytesIO(b"\x89PNG image"), "in/photo.png", content_type="image/png")

    written = stored(bucket, "in/photo.png")
    assert written["Body"].read() == b"\x89PNG image"
    assert written["ContentType"] == "image/png"


def test_a_stream_larger_than_one_part_is_written_whole(bucket: Bucket) -> None:
    data = bytes(range(256)) * (9 * 1024 * 4)  # 9 MiB: two parts of a multipart upload

    bucket.upload(io.BytesIO(data), "in/video.mp4", content_type="video/mp4")

    head = bucket.head("in/video.mp4")
    assert bucket.read("in/video.mp4") == data
    assert (head.content_type, head.length) == ("video/mp4", len(data))


@pytest.mark.usefixtures("aws")
def test_an_upload_s3_refuses_is_an_s3_error() -> None:
    with pytest.raises(S3Error, match="s3://no-such-bucket/k could not be written"):
        Bucket("no-such-bucket").upload(io.BytesIO(b"x"), "k", content_type="text/plain")


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://s3"),
        S3UploadFailedError("part 2 failed"),
        client_error("SlowDown"),
    ],
    ids=["unreachable", "upload-failed", "throttled"],
)
def test_an_upload_that_fails_in_s3_is_an_s3_error(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(bucket.client, "upload_fileobj", fail)
    with pytest.raises(S3Error, match=f"s3://{bucket.name}/k could not be written") as raised:
        bucket.upload(io.BytesIO(b"x"), "k", content_type="text/plain")
    assert raised.value.__cause__ is failure


def test_the_streams_own_failure_passes_through_unchanged(bucket: Bucket) -> None:
    class SourceBrokeOffError(Exception):
        pass

    class BrokenSource(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise SourceBrokeOffError("the download from Graph broke off")

    with pytest.raises(SourceBrokeOffError):
        bucket.upload(BrokenSource(), "in/broken.bin", content_type="application/octet-stream")
    with pytest.raises(ObjectMissingError):
        bucket.head("in/broken.bin")


def test_uri_names_the_bucket_and_key() -> None:
    assert Bucket("media").uri("in/a b.png") == "s3://media/in/a b.png"


def test_one_s3_client_per_process_unless_a_bucket_is_given_its_own() -> None:
    shared = s3_client()
    own = object()

    assert s3_client() is shared and Bucket("a").client is shared
    assert Bucket("a", client=own).client is own
    reset()
    assert s3_client() is not shared
