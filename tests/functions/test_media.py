"""Media both ways, over real HTTP to the fake Graph API and moto's S3:

- outbound: a document naming an object in the media bucket (`s3_key`) is uploaded to
  `/{phone-number-id}/media` and sent by the returned id; unusable objects are rejected with the reason;
- inbound: a customer's media is downloaded with the token and archived in the bucket, and the
  message record says where (or why not)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import boto3
import pytest

from tests.conftest import ACCESS_TOKEN, PHONE_NUMBER_ID, SECRET, customers_wrote, queue_bodies, sqs_batch
from wacloud.inbound import dump_event, parse_webhook
from wacloud.local.fake_graph import FakeGraph, ScriptedAnswer, graph_error
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta_webhooks import media_message
from wacloud.local.template import REGION
from wacloud.secrets import get_credentials
from wacloud.store import MessageStore

CUSTOMER = "16505551234"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 1200  # ~300 KB: more than one streamed chunk
JPEG = b"\xff\xd8\xff\xe0" + b"fake jpeg " * 1000


@pytest.fixture
def bucket(aws) -> str:
    return aws.bucket_names["MediaBucket"]


@pytest.fixture
def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def context() -> LocalContext:
    return LocalContext(function_name="test", timeout_seconds=90)


def sqs_event(*bodies: str, queue: str = "outbound") -> dict[str, Any]:
    return sqs_batch(*bodies, queue=queue, group=CUSTOMER)


# -- outbound: documents naming a bucket object ------------------------------------------------------


@pytest.fixture
def sender(fake_graph):
    from functions.sender import app

    customers_wrote(CUSTOMER, "16505550002")
    return app


def media_document(key: str, kind: str, media: dict[str, Any], to: str = CUSTOMER) -> str:
    return json.dumps({"idempotency_key": key, "message": {"to": f"+{to}", "type": kind, kind: media}})


def outbound(key: str) -> Any:
    record = MessageStore().get_outbound(key)
    assert record is not None
    return record


def test_a_bucket_object_is_uploaded_then_sent_by_its_media_id(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="invoices/order-1234.pdf", Body=PDF, ContentType="application/pdf")
    document = media_document("invoice", "document", {"s3_key": "invoices/order-1234.pdf", "caption": "Invoice"})

    assert sender.lambda_handler(sqs_event(document), context) == {"batchItemFailures": []}

    (upload,) = fake_graph.requests_to("media")
    assert upload.authorization == f"Bearer {ACCESS_TOKEN}" and upload.phone_number_id == PHONE_NUMBER_ID
    media_id = upload.response["id"]
    assert fake_graph.files[media_id].data == PDF  # streamed across in chunks, intact
    assert fake_graph.files[media_id].mime_type == "application/pdf"
    (sent,) = fake_graph.messages()
    # The customer's phone shows the object's file name; nothing of the bucket reaches Meta.
    assert sent.body["document"] == {"id": media_id, "caption": "Invoice", "filename": "order-1234.pdf"}
    assert outbound("invoice").state == "accepted"


def test_an_upload_is_reused_until_the_object_changes(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="promo/banner.jpg", Body=JPEG, ContentType="image/jpeg")
    first = media_document("promo-a", "image", {"s3_key": "promo/banner.jpg"})
    second = media_document("promo-b", "image", {"s3_key": "promo/banner.jpg"}, to="16505550002")
    sender.lambda_handler(sqs_event(first, second), context)

    s3.put_object(Bucket=bucket, Key="promo/banner.jpg", Body=JPEG + b"v2", ContentType="image/jpeg")
    sender.lambda_handler(sqs_event(media_document("promo-c", "image", {"s3_key": "promo/banner.jpg"})), context)

    uploads = fake_graph.requests_to("media")
    sends = [r.body["image"]["id"] for r in fake_graph.messages()]
    assert len(uploads) == 2
    assert sends == [uploads[0].response["id"], uploads[0].response["id"], uploads[1].response["id"]]
    assert fake_graph.files[uploads[1].response["id"]].data == JPEG + b"v2"


@pytest.mark.parametrize(
    ("key", "body", "content_type", "kind", "reason"),
    [
        ("missing.jpg", None, None, "image", "does not exist"),
        ("photo.pdf", PDF, "application/pdf", "image", "image media must be one of image/jpeg, image/png"),
        ("huge.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024), "image/png", "image", "image media is at most 5242880"),
        ("mystery.bin", b"data", "binary/octet-stream", "document", "not unknown (no Content-Type"),
        ("empty.pdf", b"", "application/pdf", "document", "the file is empty"),
    ],
    ids=["missing", "wrong-type", "too-large", "unknown-type", "empty"],
)
def test_an_object_whatsapp_cannot_take_is_rejected_with_the_reason(
    sender, context, fake_graph: FakeGraph, s3, bucket, key, body, content_type, kind, reason
):
    if body is not None:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    assert sender.lambda_handler(sqs_event(media_document("bad", kind, {"s3_key": key})), context) == {
        "batchItemFailures": []
    }

    record = outbound("bad")
    assert record.state == "rejected"
    assert reason in (record.reason or "")
    assert fake_graph.requests == []  # no upload, no send


def test_the_type_comes_from_the_extension_when_the_object_has_none(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="stickers/thanks.webp", Body=b"RIFF0000WEBPVP8 ")  # binary/octet-stream

    sender.lambda_handler(sqs_event(media_document("sticker", "sticker", {"s3_key": "stickers/thanks.webp"})), context)

    (upload,) = fake_graph.requests_to("media")
    assert fake_graph.files[upload.response["id"]].mime_type == "image/webp"
    assert outbound("sticker").state == "accepted"


def test_an_upload_graph_refuses_is_a_failed_send_with_metas_error(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42", ContentType="video/mp4")
    fake_graph.script(graph_error(131053, "Media upload error", details="Unsupported video codec"))

    assert sender.lambda_handler(sqs_event(media_document("clip", "video", {"s3_key": "clip.mp4"})), context) == {
        "batchItemFailures": []
    }

    record = outbound("clip")
    assert (record.state, record.error.code, record.error.details) == ("failed", 131053, "Unsupported video codec")
    assert fake_graph.messages() == []


def test_an_upload_outage_is_retried_and_then_sent(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42", ContentType="video/mp4")
    fake_graph.script(graph_error(2, "Service temporarily unavailable", status=503))
    event = sqs_event(media_document("clip", "video", {"s3_key": "clip.mp4"}))

    assert sender.lambda_handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert (outbound("clip").state, outbound("clip").error.code) == ("retrying", 2)

    assert sender.lambda_handler(event, context) == {"batchItemFailures": []}
    assert outbound("clip").state == "accepted"
    assert len(fake_graph.messages()) == 1


def test_a_rotated_token_is_picked_up_for_the_upload(sender, context, fake_graph: FakeGraph, s3, bucket, aws):
    s3.put_object(Bucket=bucket, Key="clip.mp4", Body=b"\x00\x00\x00\x18ftypmp42", ContentType="video/mp4")
    get_credentials()  # the old token is cached
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=aws.parameters["SecretName"], SecretString=json.dumps({**SECRET, "access_token": "rotated"})
    )
    fake_graph.access_token = "rotated"

    sender.lambda_handler(sqs_event(media_document("clip", "video", {"s3_key": "clip.mp4"})), context)

    assert [r.status for r in fake_graph.requests_to("media")] == [401, 200]
    assert outbound("clip").state == "accepted"


def test_template_header_media_can_name_a_bucket_object(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="headers/clinic.png", Body=b"\x89PNG....", ContentType="image/png")
    template = {
        "name": "appointment_reminder",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"s3_key": "headers/clinic.png"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "Monday"}]},
        ],
    }
    document = json.dumps(
        {"idempotency_key": "remind", "message": {"to": f"+{CUSTOMER}", "type": "template", "template": template}}
    )

    sender.lambda_handler(sqs_event(document), context)

    (upload,) = fake_graph.requests_to("media")
    (sent,) = fake_graph.messages()
    header = sent.body["template"]["components"][0]["parameters"][0]
    assert header == {"type": "image", "image": {"id": upload.response["id"]}}


# -- inbound: customers' media archived --------------------------------------------------------------


@pytest.fixture
def processor(fake_graph):
    from functions.processor import app

    return app


def inbound_media(fake_graph: FakeGraph, data: bytes, mime_type: str, kind: str = "image", **extra: Any) -> str:
    media_id = fake_graph.add_media(data, mime_type)
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    body = media_message(
        kind, media_id, phone_number_id=PHONE_NUMBER_ID, mime_type=mime_type, sha256=sha, sender=CUSTOMER, **extra
    )
    (event,) = parse_webhook(body)
    return dump_event(event)


def message_record(document: str) -> Any:
    record = MessageStore().get_message(json.loads(document)["message"]["id"])
    assert record is not None
    return record


def test_a_customers_image_is_archived_and_the_record_says_where(processor, context, fake_graph, s3, bucket, aws):
    document = inbound_media(fake_graph, JPEG, "image/jpeg", caption="my receipt", timestamp=1764547200)

    assert processor.lambda_handler(sqs_event(document, queue="inbound"), context) == {"batchItemFailures": []}

    media = message_record(document).media
    media_id = json.loads(document)["message"]["image"]["id"]
    assert media.key == f"inbound/{PHONE_NUMBER_ID}/2025/12/01/{media_id}.jpg"
    assert (media.bucket, media.mime_type, media.size, media.media_id) == (bucket, "image/jpeg", len(JPEG), media_id)
    assert media.sha256 == hashlib.sha256(JPEG).hexdigest()
    stored = s3.get_object(Bucket=bucket, Key=media.key)
    assert (stored["Body"].read(), stored["ContentType"]) == (JPEG, "image/jpeg")
    # Downloaded with the token, from the URL Graph gave.
    assert [(r.route, r.authorization) for r in fake_graph.requests] == [
        ("media_info", f"Bearer {ACCESS_TOKEN}"),
        ("download", f"Bearer {ACCESS_TOKEN}"),
    ]
    assert [q["body"]["idempotency_key"][:5] for q in queue_bodies(aws, "OutboundQueue")] == ["read:", "reply"]


def test_a_voice_note_keeps_its_base_type_and_extension(processor, context, fake_graph, bucket):
    document = inbound_media(fake_graph, b"OggS" + b"\x00" * 500, "audio/ogg; codecs=opus", kind="audio", voice=True)

    processor.lambda_handler(sqs_event(document, queue="inbound"), context)

    media = message_record(document).media
    assert media.key.endswith(".ogg") and media.mime_type == "audio/ogg"


def test_media_meta_no_longer_has_is_recorded_and_the_message_still_handled(processor, context, aws):
    body = media_message("document", "424242", phone_number_id=PHONE_NUMBER_ID, mime_type="application/pdf")
    document = dump_event(parse_webhook(body)[0])

    assert processor.lambda_handler(sqs_event(document, queue="inbound"), context) == {"batchItemFailures": []}

    record = message_record(document)
    assert record.media is None
    assert record.media_error.code == 100
    assert "does not exist" in record.media_error.title
    assert len(queue_bodies(aws, "OutboundQueue")) == 2  # read receipt and reply all the same


def test_a_graph_outage_retries_the_event_until_the_media_is_archived(processor, context, fake_graph, aws):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    fake_graph.script(graph_error(2, "Service temporarily unavailable", status=503))
    event = sqs_event(document, queue="inbound")

    assert processor.lambda_handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert message_record(document).media is None
    assert queue_bodies(aws, "OutboundQueue") == []  # replies wait for the retry

    assert processor.lambda_handler(event, context) == {"batchItemFailures": []}
    assert message_record(document).media is not None
    assert len(queue_bodies(aws, "OutboundQueue")) == 2


def test_a_download_that_does_not_match_metas_digest_is_retried(processor, context, fake_graph, s3, bucket):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_id = json.loads(document)["message"]["image"]["id"]
    fake_graph.script(
        ScriptedAnswer(
            status=200,
            body={
                "url": f"{fake_graph.url}/download/{media_id}",
                "mime_type": "image/jpeg",
                "sha256": base64.b64encode(hashlib.sha256(b"something else").digest()).decode(),
                "file_size": len(JPEG),
                "id": media_id,
            },
        )
    )
    event = sqs_event(document, queue="inbound")

    assert processor.lambda_handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert message_record(document).media is None

    assert processor.lambda_handler(event, context) == {"batchItemFailures": []}
    media = message_record(document).media
    assert s3.get_object(Bucket=bucket, Key=media.key)["Body"].read() == JPEG


def test_an_expired_download_url_is_retried_with_a_new_one(processor, context, fake_graph):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    fake_graph.script(None, ScriptedAnswer(status=404))  # media info fine, then the URL has expired
    event = sqs_event(document, queue="inbound")

    assert processor.lambda_handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert processor.lambda_handler(event, context) == {"batchItemFailures": []}
    assert message_record(document).media is not None


def test_archiving_can_be_switched_off(fake_graph, context, monkeypatch):
    monkeypatch.setenv("WACLOUD_ARCHIVE_MEDIA", "false")
    from functions.processor import app

    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    app.lambda_handler(sqs_event(document, queue="inbound"), context)

    assert fake_graph.requests == []
    assert message_record(document).media is None


def test_no_download_starts_with_too_little_time_left(processor, fake_graph):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    hurried = LocalContext(function_name="test", timeout_seconds=20)  # less than a download may take

    assert processor.lambda_handler(sqs_event(document, queue="inbound"), hurried) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    assert fake_graph.requests == []


def test_the_token_is_never_sent_to_a_plain_http_media_url(processor, context, fake_graph, monkeypatch):
    import requests

    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_id = json.loads(document)["message"]["image"]["id"]
    fake_graph.script(ScriptedAnswer(status=200, body={"url": f"http://cdn.example/{media_id}", "id": media_id}))
    sent_to: list[str] = []
    real_request = requests.Session.request
    monkeypatch.setattr(
        requests.Session,
        "request",
        lambda self, method, url, **kw: sent_to.append(url) or real_request(self, method, url, **kw),
    )

    assert processor.lambda_handler(sqs_event(document, queue="inbound"), context) == {"batchItemFailures": []}

    assert not any(url.startswith("http://cdn.example") for url in sent_to)
    assert "not HTTPS" in message_record(document).media_error.title
