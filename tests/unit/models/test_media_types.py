"""What media WhatsApp takes, Meta's digests, and the streamed multipart upload body."""

from __future__ import annotations

import pytest

from wacloud.models import media_types


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
