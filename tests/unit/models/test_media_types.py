"""What media WhatsApp takes, Meta's digests, and the streamed multipart upload body."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io

import pytest

from wacloud.adapters.graph import MultipartBody
from wacloud.inbound.media_archive import digest_matches
from wacloud.models import media_types
from wacloud.outbound.media_upload import s3_media


@pytest.mark.parametrize(
    ("kind", "mime_type", "size", "problem"),
    [
        ("image", "image/jpeg", 5 * 1024 * 1024, None),
        ("image", "image/jpeg", 5 * 1024 * 1024 + 1, "at most 5242880 bytes"),
        ("image", "image/gif", 10, "must be one of image/jpeg, image/png"),
        ("video", "video/mp4", 16 * 1024 * 1024, None),
        ("audio", "audio/ogg", 16 * 1024 * 1024 + 1, "at most"),
        ("document", "application/pdf", 100 * 1024 * 1024, None),
        ("document", "application/zip", 10, "document media must be one of"),
        ("sticker", "image/webp", 500 * 1024, None),
        ("sticker", "image/webp", 500 * 1024 + 1, "at most"),
        ("sticker", "image/png", 10, "sticker media must be one of image/webp"),
        ("document", "application/pdf", 0, "empty"),
        ("hologram", "image/png", 10, "not a media kind"),
    ],
)
def test_whatsapps_types_and_sizes_at_their_edges(kind, mime_type, size, problem):
    found = media_types.problem(kind, mime_type, size)
    assert (found is None) if problem is None else (problem in (found or "")), found


@pytest.mark.parametrize(
    ("key", "declared", "expected"),
    [
        ("a/b.JPG", None, "image/jpeg"),
        ("a/b.pdf", "binary/octet-stream", "application/pdf"),
        ("a/b.pdf", "application/octet-stream", "application/pdf"),
        ("voice.opus", "", "audio/ogg"),
        ("a/b.bin", "image/png", "image/png"),  # what the object was stored with wins
        ("a/b.ogg", "audio/ogg; codecs=opus", "audio/ogg"),
        ("noextension", None, ""),
    ],
)
def test_the_type_of_an_object(key, declared, expected):
    assert media_types.mime_type_for(key, declared) == expected


def test_extensions_of_types():
    assert media_types.extension_for("image/jpeg") == ".jpg"
    assert media_types.extension_for("audio/ogg; codecs=opus") == ".ogg"
    assert media_types.extension_for("application/vnd.ms-excel") == ".xls"
    assert media_types.extension_for("application/x-unknown") == ""


def test_metas_sha256_is_matched_in_base64_or_hex():
    data = b"the bytes"
    raw = hashlib.sha256(data).digest()
    assert digest_matches(base64.b64encode(raw).decode(), raw)
    assert digest_matches(base64.urlsafe_b64encode(raw).decode().rstrip("="), raw)
    assert digest_matches(raw.hex().upper(), raw)
    assert digest_matches(None, raw)  # nothing to compare against
    assert not digest_matches(base64.b64encode(hashlib.sha256(b"other").digest()).decode(), raw)
    assert not digest_matches("not a digest at all!", raw)


def test_the_multipart_body_streams_what_a_form_parser_reads_back():
    data = bytes(range(256)) * 1000
    body = MultipartBody(
        fields={"messaging_product": "whatsapp", "type": "application/pdf"},
        file=io.BytesIO(data),
        length=len(data),
        filename='in"voice.pdf',
        mime_type="application/pdf",
    )
    length = len(body)
    chunks = list(body)

    wire = b"".join(chunks)
    assert len(wire) == length  # the Content-Length requests sends is exact
    assert max(len(c) for c in chunks) <= 64 * 1024  # never the whole file at once
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + wire
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["messaging_product"].get_payload(decode=True) == b"whatsapp"
    assert parts["file"].get_payload(decode=True) == data
    assert parts["file"].get_content_type() == "application/pdf"
    assert parts["file"].get_filename() == "in_voice.pdf"


def test_reading_the_multipart_body_to_the_end_gives_all_of_it():
    body = MultipartBody(fields={}, file=io.BytesIO(b"x" * 200_000), length=200_000, filename="a", mime_type="a/b")
    assert len(body.read()) == len(body)
    assert body.read() == b""


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
