"""wacloud.adapters.multipart: a form body that streams its file."""

from __future__ import annotations

import email.parser
import email.policy
import io

from wacloud.adapters.graph import MultipartBody


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
