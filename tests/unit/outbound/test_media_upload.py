"""wacloud.outbound.media_upload: bucket objects named by a document, checked, uploaded once and sent by id."""

from __future__ import annotations

from wacloud.outbound.media_upload import s3_media


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
