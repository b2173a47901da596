"""wacloud.inbound.media_archive: a customer's media copied to the bucket, checked against Meta's size and digest."""

from __future__ import annotations

import base64
import hashlib

from wacloud.inbound.media_archive import digest_matches


def test_metas_sha256_is_matched_in_base64_or_hex():
    data = b"the bytes"
    raw = hashlib.sha256(data).digest()
    assert digest_matches(base64.b64encode(raw).decode(), raw)
    assert digest_matches(base64.urlsafe_b64encode(raw).decode().rstrip("="), raw)
    assert digest_matches(raw.hex().upper(), raw)
    assert digest_matches(None, raw)  # nothing to compare against
    assert not digest_matches(base64.b64encode(hashlib.sha256(b"other").digest()).decode(), raw)
    assert not digest_matches("not a digest at all!", raw)
