"""wacloud.outbound.media_upload: bucket objects named by a document, checked, uploaded once and sent by id."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from wacloud.adapters.s3 import Bucket
from wacloud.adapters.store import Store
from wacloud.models.number_entry import NumberEntry
from wacloud.outbound.media_upload import MediaUploader, s3_media


def test_media_naming_bucket_objects_are_found_anywhere_in_a_body():
    body = {
        "type": "template",
        "template": {
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"s3_key": "a.png"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "image"}]},
            ]
        },
        "document": {"id": "1"},
    }
    assert list(s3_media(body)) == [("image", {"s3_key": "a.png"})]


class StubTransport:
    """A transport's upload: records what it was asked to upload and answers with a new media id."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.uploads: list[tuple[str, str, str, str]] = []

    def upload(self, number: Any, bucket: Bucket, key: str, head: Any, *, mime_type: str, **_: Any) -> str:
        self.uploads.append((number.phone_number_id, bucket.name, key, mime_type))
        return f"{self.name}.{len(self.uploads)}"


@pytest.fixture
def uploader(aws: Any) -> MediaUploader:
    bucket = Bucket(aws.bucket_names["MediaBucket"])
    boto3.client("s3").put_object(
        Bucket=bucket.name, Key="promo/banner.jpg", Body=b"\xff\xd8jpeg", ContentType="image/jpeg"
    )
    return MediaUploader(uploads=Store().media_uploads, bucket=bucket)


def test_an_object_is_uploaded_through_the_numbers_transport_once_per_transport(uploader: MediaUploader) -> None:
    number = NumberEntry("100000000000002")
    cloud, eum = StubTransport("cloud_api"), StubTransport("eum")
    body = {"type": "image", "image": {"s3_key": "promo/banner.jpg"}}

    first = uploader.resolve(body, number=number, transport=eum)
    again = uploader.resolve(body, number=number, transport=eum)
    other = uploader.resolve(body, number=number, transport=cloud)

    assert eum.uploads == [(number.phone_number_id, uploader.bucket.name, "promo/banner.jpg", "image/jpeg")]  # type: ignore[union-attr]
    assert (first.body["image"], first.reused) == ({"id": "eum.1"}, [])
    assert (again.body["image"], again.reused) == ({"id": "eum.1"}, ["eum.1"])  # an earlier upload of its own
    assert other.body["image"] == {"id": "cloud_api.1"} and len(cloud.uploads) == 1  # not the other's id
    assert body["image"] == {"s3_key": "promo/banner.jpg"}  # the document's body is left as it was


def test_a_cloud_api_upload_keeps_the_cache_key_of_before(uploader: MediaUploader) -> None:
    # Uploads cached before numbers had transports are still found (their key names no transport).
    head = uploader.bucket.head("promo/banner.jpg")  # type: ignore[union-attr]
    source = f"100000000000002|{uploader.bucket.name}|promo/banner.jpg|{head.etag}"  # type: ignore[union-attr]
    uploader.uploads.put(source, "media.BEFORE")
    body = {"type": "image", "image": {"s3_key": "promo/banner.jpg"}}
    resolved = uploader.resolve(body, number=NumberEntry("100000000000002"), transport=StubTransport("cloud_api"))
    assert resolved.body["image"] == {"id": "media.BEFORE"}
