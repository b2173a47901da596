"""wacloud.inbound.media_archive: a customer's media copied to the bucket, checked against Meta's size and digest."""

from __future__ import annotations

import base64
import hashlib
import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from wacloud.adapters.graph import GraphTransportError
from wacloud.adapters.s3 import Bucket
from wacloud.adapters.social_messaging import ServiceError
from wacloud.adapters.store import Store
from wacloud.inbound.media_archive import MediaArchive, MediaArchiveError, digest_matches
from wacloud.inbound.parse import parse_webhook
from wacloud.local.meta.webhooks import media_message
from wacloud.models.events import MediaEvent, MessageEvent
from wacloud.models.number_entry import NumberEntry


def test_metas_sha256_is_matched_in_base64_or_hex():
    data = b"the bytes"
    raw = hashlib.sha256(data).digest()
    assert digest_matches(base64.b64encode(raw).decode(), raw)
    assert digest_matches(base64.urlsafe_b64encode(raw).decode().rstrip("="), raw)
    assert digest_matches(raw.hex().upper(), raw)
    assert digest_matches(None, raw)  # nothing to compare against
    assert not digest_matches(base64.b64encode(hashlib.sha256(b"other").digest()).decode(), raw)
    assert not digest_matches("not a digest at all!", raw)


EUM_NUMBER = NumberEntry("100000000000002", transport="eum", eum_phone_number_id="phone-number-id-" + "ab" * 16)
PHOTO = b"\xff\xd8 a customer's photo"


class StubSocial:
    """End User Messaging Social's media call: writes `data` where the service would (the prefix,
    the media id, then `extension`) and reports the MIME type."""

    def __init__(self, data: bytes = PHOTO, *, extension: str = ".jpeg", error: Exception | None = None) -> None:
        self.data, self.extension, self.error = data, extension, error
        self.calls: list[tuple[str, str, str, str]] = []

    def get_media(self, entry: NumberEntry, media_id: str, bucket: str, key_prefix: str) -> tuple[str, int]:
        self.calls.append((entry.phone_number_id, media_id, bucket, key_prefix))
        if self.error is not None:
            raise self.error
        key = key_prefix + media_id + self.extension
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=self.data, ContentType="image/jpeg")
        return "image/jpeg", len(self.data)


class NoGraph:
    def media_info(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an End User Messaging Social number's media is not downloaded from Graph")


def photo_event(sha256: str | None) -> MediaEvent:
    (event,) = parse_webhook(
        media_message(
            "image", "9876543210", phone_number_id=EUM_NUMBER.phone_number_id, mime_type="image/jpeg", sha256=sha256
        )
    )
    assert isinstance(event, MessageEvent)
    Store().messages.record_inbound(event)  # the processor stored the message before its media event
    return MediaEvent(phone_number_id=event.phone_number_id, message=event.message)


def archive_on(aws: Any, social: StubSocial) -> MediaArchive:
    return MediaArchive(
        graph=NoGraph(),  # type: ignore[arg-type]
        messages=Store().messages,
        bucket=Bucket(aws.bucket_names["MediaBucket"]),
        numbers=SimpleNamespace(get={EUM_NUMBER.phone_number_id: EUM_NUMBER}.get),  # type: ignore[arg-type]
        social=social,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("extension", [".jpg", ".jpeg", ""], ids=["ours", "mime-subtype", "none"])
def test_an_eum_numbers_media_is_written_by_the_service_then_checked_and_recorded(aws, extension):
    event = photo_event(base64.b64encode(hashlib.sha256(PHOTO).digest()).decode())
    social = StubSocial(extension=extension)

    stored = archive_on(aws, social).archive(event)

    assert stored is not None
    (call,) = social.calls
    day = time.strftime("%Y/%m/%d", time.gmtime(event.message.timestamp))
    prefix = f"inbound/{EUM_NUMBER.phone_number_id}/{day}/"
    assert call == (EUM_NUMBER.phone_number_id, "9876543210", aws.bucket_names["MediaBucket"], prefix)
    assert (stored.key, stored.mime_type, stored.size) == (f"{prefix}9876543210{extension}", "image/jpeg", len(PHOTO))
    assert stored.sha256 == hashlib.sha256(PHOTO).hexdigest()
    record = Store().messages.get(event.message.id)
    assert record is not None and record.media is not None and record.media.key == stored.key


def test_an_eum_copy_that_does_not_match_metas_digest_is_retried(aws):
    event = photo_event(base64.b64encode(hashlib.sha256(b"something else").digest()).decode())
    with pytest.raises(MediaArchiveError, match="SHA-256"):
        archive_on(aws, StubSocial()).archive(event)


def test_an_eum_object_found_under_no_expected_key_is_retried(aws):
    with pytest.raises(MediaArchiveError, match="no object"):
        archive_on(aws, StubSocial(extension=".bin")).archive(photo_event(None))


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (ServiceError("ResourceNotFoundException", 404, "media not found"), False),
        (ServiceError("ThrottledRequestException", 429, "Rate exceeded"), True),
        (GraphTransportError("read timeout", maybe_sent=False), True),
    ],
)
def test_awss_refusal_is_recorded_for_good_or_retried(aws, error, retried):
    event = photo_event(None)
    archive = archive_on(aws, StubSocial(error=error))
    if retried:
        with pytest.raises(MediaArchiveError):
            archive.archive(event)
        return
    assert archive.archive(event) is None
    record = Store().messages.get(event.message.id)
    assert record is not None and record.media_error is not None and record.media_error.http_status == 404
