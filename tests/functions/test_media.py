"""Media both ways, over real HTTP to the fake Graph API and moto's S3:

- outbound: a document naming an object in the media bucket (`s3_key`) is uploaded to
  `/{phone-number-id}/media` and sent by the returned id; unusable objects are rejected with the reason;
- inbound: a customer's media is downloaded with the token and archived in the bucket, and the
  message record says where (or why not)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import boto3
import pytest

from tests.conftest import ACCESS_TOKEN, PHONE_NUMBER_ID, SECRET, customers_wrote, queue_bodies, sqs_batch
from wacloud.adapters.credentials import get_credentials
from wacloud.adapters.store import Store
from wacloud.inbound.parse import parse_webhook
from wacloud.local.account import REGION
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.fake_graph import FakeGraph, ScriptedAnswer, graph_error
from wacloud.local.meta.webhooks import media_message
from wacloud.models.events import dump_event

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
    record = Store().outbound.get(key)
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
    record = Store().messages.get(json.loads(document)["message"]["id"])
    assert record is not None
    return record


def handle_message(processor, context, aws, document: str) -> str:
    """The processor handles the message; its media is queued as an event of its own: return it."""
    assert processor.lambda_handler(sqs_event(document, queue="inbound"), context) == {"batchItemFailures": []}
    (queued,) = queue_bodies(aws, "InboundQueue")
    assert queued["body"]["kind"] == "media"
    assert queued["attributes"]["MessageGroupId"].startswith("media-")  # not the customer's group
    return json.dumps(queued["body"])


def archive(processor, context, media_event: str) -> dict[str, Any]:
    return processor.lambda_handler(sqs_event(media_event, queue="inbound"), context)


def test_a_customers_image_is_archived_and_the_record_says_where(processor, context, fake_graph, s3, bucket, aws):
    sent_at = int(time.time()) - 60
    document = inbound_media(fake_graph, JPEG, "image/jpeg", caption="my receipt", timestamp=sent_at)

    media_event = handle_message(processor, context, aws, document)
    # The conversation goes on at once: read receipt and reply are queued before any download.
    assert [q["body"]["idempotency_key"][:5] for q in queue_bodies(aws, "OutboundQueue")] == ["read:", "reply"]
    assert fake_graph.requests == []
    assert archive(processor, context, media_event) == {"batchItemFailures": []}

    media = message_record(document).media
    media_id = json.loads(document)["message"]["image"]["id"]
    day = time.strftime("%Y/%m/%d", time.gmtime(sent_at))
    assert media.key == f"inbound/{PHONE_NUMBER_ID}/{day}/{media_id}.jpg"
    assert (media.bucket, media.mime_type, media.size, media.media_id) == (bucket, "image/jpeg", len(JPEG), media_id)
    assert media.sha256 == hashlib.sha256(JPEG).hexdigest()
    stored = s3.get_object(Bucket=bucket, Key=media.key)
    assert (stored["Body"].read(), stored["ContentType"]) == (JPEG, "image/jpeg")
    # Downloaded with the token, from the URL Graph gave.
    assert [(r.route, r.authorization) for r in fake_graph.requests] == [
        ("media_info", f"Bearer {ACCESS_TOKEN}"),
        ("download", f"Bearer {ACCESS_TOKEN}"),
    ]


def test_a_repeated_media_event_is_archived_once(processor, context, fake_graph, aws):
    media_event = handle_message(processor, context, aws, inbound_media(fake_graph, JPEG, "image/jpeg"))

    archive(processor, context, media_event)
    archive(processor, context, media_event)

    assert len(fake_graph.requests_to("download")) == 1


def test_a_voice_note_keeps_its_base_type_and_extension(processor, context, fake_graph, aws):
    document = inbound_media(fake_graph, b"OggS" + b"\x00" * 500, "audio/ogg; codecs=opus", kind="audio", voice=True)

    archive(processor, context, handle_message(processor, context, aws, document))

    media = message_record(document).media
    assert media.key.endswith(".ogg") and media.mime_type == "audio/ogg"


def test_media_meta_no_longer_has_is_recorded_for_good(processor, context, aws):
    body = media_message("document", "424242", phone_number_id=PHONE_NUMBER_ID, mime_type="application/pdf")
    document = dump_event(parse_webhook(body)[0])

    assert archive(processor, context, handle_message(processor, context, aws, document)) == {"batchItemFailures": []}

    record = message_record(document)
    assert record.media is None
    assert record.media_error.code == 100
    assert "does not exist" in record.media_error.title


@pytest.mark.parametrize(
    "faults",
    [
        [graph_error(2, "Service temporarily unavailable", status=503)],
        [graph_error(190, "Error validating access token", status=401)] * 2,  # refused even after re-reading
        [ScriptedAnswer(status=502)],
    ],
    ids=["graph-503", "token-still-refused", "proxy-502"],
)
def test_a_failure_that_can_pass_retries_the_media_event_alone(processor, context, fake_graph, aws, faults):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_event = handle_message(processor, context, aws, document)
    fake_graph.script(*faults)

    assert archive(processor, context, media_event) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    record = message_record(document)
    assert (record.media, record.media_error) == (None, None)  # not given up on

    assert archive(processor, context, media_event) == {"batchItemFailures": []}
    assert message_record(document).media is not None


def test_a_rotated_token_is_picked_up_for_the_download(processor, context, fake_graph, aws):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_event = handle_message(processor, context, aws, document)
    get_credentials()  # the old token is cached
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=aws.parameters["SecretName"], SecretString=json.dumps({**SECRET, "access_token": "rotated"})
    )
    fake_graph.access_token = "rotated"

    assert archive(processor, context, media_event) == {"batchItemFailures": []}

    assert [r.status for r in fake_graph.requests] == [401, 200, 200]
    assert message_record(document).media is not None


def test_a_download_that_does_not_match_metas_digest_is_retried(processor, context, fake_graph, s3, bucket, aws):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_event = handle_message(processor, context, aws, document)
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

    assert archive(processor, context, media_event) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert message_record(document).media is None

    assert archive(processor, context, media_event) == {"batchItemFailures": []}
    media = message_record(document).media
    assert s3.get_object(Bucket=bucket, Key=media.key)["Body"].read() == JPEG


def test_an_expired_download_url_is_retried_with_a_new_one(processor, context, fake_graph, aws):
    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_event = handle_message(processor, context, aws, document)
    fake_graph.script(None, ScriptedAnswer(status=404))  # media info fine, then the URL has expired

    assert archive(processor, context, media_event) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert archive(processor, context, media_event) == {"batchItemFailures": []}
    assert message_record(document).media is not None


def test_no_download_starts_with_too_little_time_left(processor, fake_graph, context, aws):
    media_event = handle_message(processor, context, aws, inbound_media(fake_graph, JPEG, "image/jpeg"))
    hurried = LocalContext(function_name="test", timeout_seconds=20)  # less than a download may take

    assert archive(processor, hurried, media_event) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert fake_graph.requests == []


def test_the_token_is_never_sent_to_a_plain_http_media_url(processor, context, fake_graph, aws, monkeypatch):
    import requests

    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    media_event = handle_message(processor, context, aws, document)
    media_id = json.loads(document)["message"]["image"]["id"]
    fake_graph.script(ScriptedAnswer(status=200, body={"url": f"http://cdn.example/{media_id}", "id": media_id}))
    sent_to: list[str] = []
    real_request = requests.Session.request
    monkeypatch.setattr(
        requests.Session,
        "request",
        lambda self, method, url, **kw: sent_to.append(url) or real_request(self, method, url, **kw),
    )

    assert archive(processor, context, media_event) == {"batchItemFailures": []}

    assert not any(url.startswith("http://cdn.example") for url in sent_to)
    assert "not HTTPS" in message_record(document).media_error.title


def test_archiving_can_be_switched_off(fake_graph, context, monkeypatch, aws):
    monkeypatch.setenv("WACLOUD_ARCHIVE_MEDIA", "false")
    from functions.processor import app

    document = inbound_media(fake_graph, JPEG, "image/jpeg")
    assert app.lambda_handler(sqs_event(document, queue="inbound"), context) == {"batchItemFailures": []}

    assert queue_bodies(aws, "InboundQueue") == []  # nothing queued to archive
    assert fake_graph.requests == []
    assert message_record(document).media is None


# -- outbound: harder cases ------------------------------------------------------------------------------


def carousel(key: str, *s3_keys: str) -> str:
    cards = [
        {
            "card_index": i,
            "components": [{"type": "header", "parameters": [{"type": "image", "image": {"s3_key": k}}]}],
        }
        for i, k in enumerate(s3_keys)
    ]
    template = {
        "name": "winter_sale",
        "language": {"code": "en_US"},
        "components": [{"type": "carousel", "cards": cards}],
    }
    return json.dumps(
        {"idempotency_key": key, "message": {"to": f"+{CUSTOMER}", "type": "template", "template": template}}
    )


def test_every_object_of_a_carousel_is_uploaded_within_one_invocation(sender, context, fake_graph, s3, bucket):
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"cards/{i}.png", Body=b"\x89PNG" + bytes([i]) * 100, ContentType="image/png")

    assert sender.lambda_handler(sqs_event(carousel("sale", "cards/0.png", "cards/1.png", "cards/2.png")), context) == {
        "batchItemFailures": []
    }

    assert len(fake_graph.requests_to("media")) == 3
    (sent,) = fake_graph.messages()
    cards = sent.body["template"]["components"][0]["cards"]
    assert [c["components"][0]["parameters"][0]["image"]["id"] in fake_graph.files for c in cards] == [True] * 3
    assert outbound("sale").state == "accepted"


def test_customers_archived_media_cannot_be_forwarded(sender, context, fake_graph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="inbound/1/2025/12/01/42.jpg", Body=JPEG, ContentType="image/jpeg")

    sender.lambda_handler(sqs_event(carousel("forward", "inbound/1/2025/12/01/42.jpg")), context)

    record = outbound("forward")
    assert record.state == "rejected" and "inbound/ is customers' media" in record.reason
    assert fake_graph.requests == []


def test_a_reused_media_id_graph_refuses_is_uploaded_again(sender, context, fake_graph: FakeGraph, s3, bucket):
    s3.put_object(Bucket=bucket, Key="promo/banner.jpg", Body=JPEG, ContentType="image/jpeg")
    sender.lambda_handler(sqs_event(media_document("first", "image", {"s3_key": "promo/banner.jpg"})), context)
    fake_graph.files.clear()  # Meta no longer has the media it was given: it answers 131009

    second = media_document("second", "image", {"s3_key": "promo/banner.jpg"}, to="16505550002")
    assert sender.lambda_handler(sqs_event(second), context) == {"batchItemFailures": []}

    assert len(fake_graph.requests_to("media")) == 2  # uploaded again
    assert [r.status for r in fake_graph.requests_to("messages")] == [200, 400, 200]
    assert outbound("second").state == "accepted"


def test_an_s3_read_that_breaks_during_the_upload_is_retried_and_recorded(
    sender, context, fake_graph, s3, bucket, monkeypatch
):
    from botocore.exceptions import ResponseStreamingError

    from wacloud.adapters.s3 import Bucket

    s3.put_object(Bucket=bucket, Key="docs/manual.pdf", Body=PDF, ContentType="application/pdf")

    class Broken:
        def __init__(self, body: Any) -> None:
            self.body, self.reads = body, 0

        def read(self, size: int = -1) -> bytes:
            self.reads += 1
            if self.reads > 1:
                raise ResponseStreamingError(error="connection reset by S3")
            return self.body.read(size)

        def close(self) -> None:
            self.body.close()

    real_call = Bucket._call

    def breaking(self, operation, key, **kwargs):  # type: ignore[no-untyped-def]
        answer = real_call(self, operation, key, **kwargs)
        return {**answer, "Body": Broken(answer["Body"])} if operation == "get_object" else answer

    monkeypatch.setattr(Bucket, "_call", breaking)

    event = sqs_event(media_document("manual", "document", {"s3_key": "docs/manual.pdf"}))
    assert sender.lambda_handler(event, context) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    record = outbound("manual")
    assert (record.state, record.error.title) == ("retrying", "S3Error")
    assert "could not be read to the end" in record.error.details

    monkeypatch.setattr(Bucket, "_call", real_call)
    assert sender.lambda_handler(event, context) == {"batchItemFailures": []}
    assert outbound("manual").state == "accepted"
