"""wacloud.inbound.signature: Meta's `X-Hub-Signature-256` over the raw body bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from tests.conftest import APP_SECRET
from wacloud.errors import SignatureError
from wacloud.inbound.signature import PREFIX, sign, verify_signature

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def meta_signature(body: bytes, secret: str = APP_SECRET) -> str:
    """The header as Meta computes it, independently of the code under test."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_sign_matches_meta_algorithm() -> None:
    assert sign(BODY, APP_SECRET) == meta_signature(BODY)
    assert PREFIX == "sha256="


def test_valid_signature_passes() -> None:
    # Given a body signed with the app secret, When verified, Then nothing is raised.
    assert verify_signature(BODY, meta_signature(BODY), APP_SECRET) is None


@pytest.mark.parametrize(
    ("body", "header", "secret", "missing"),
    [
        pytest.param(BODY + b" ", meta_signature(BODY), APP_SECRET, False, id="tampered-body"),
        pytest.param(BODY.replace(b"[]", b"[{}]"), meta_signature(BODY), APP_SECRET, False, id="tampered-content"),
        pytest.param(BODY, meta_signature(BODY, "another-secret"), APP_SECRET, False, id="wrong-secret"),
        pytest.param(BODY, None, APP_SECRET, True, id="missing-header"),
        pytest.param(BODY, "", APP_SECRET, True, id="empty-header"),
        pytest.param(BODY, meta_signature(BODY).removeprefix("sha256="), APP_SECRET, None, id="no-prefix"),
        pytest.param(BODY, meta_signature(BODY).replace("sha256=", "sha1="), APP_SECRET, None, id="other-prefix"),
        pytest.param(BODY, "sha256=", APP_SECRET, False, id="prefix-only"),
        pytest.param(BODY, meta_signature(BODY)[:-2], APP_SECRET, False, id="truncated-hex"),
        pytest.param(BODY, meta_signature(BODY) + "00", APP_SECRET, False, id="extra-hex"),
        pytest.param(BODY, meta_signature(BODY)[:-1] + "é", APP_SECRET, False, id="non-ascii-header"),
    ],
)
def test_bad_signatures_raise(body: bytes, header: str | None, secret: str, missing: bool | None) -> None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(body, header, secret)
    if missing is not None:
        assert caught.value.missing is missing


@pytest.mark.parametrize("secret", ["", None], ids=["empty", "none"])
def test_empty_app_secret_is_refused_even_with_matching_signature(secret: str | None) -> None:
    # An HMAC with an empty key is computable by anyone: it must never be accepted.
    header = meta_signature(BODY, "")
    with pytest.raises(SignatureError, match="app secret"):
        verify_signature(BODY, header, secret)  # type: ignore[arg-type]


def test_missing_header_error_is_flagged_missing() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(BODY, None, APP_SECRET)
    assert caught.value.missing is True
    assert "missing" in caught.value.reason


def test_mismatch_is_not_flagged_missing() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(BODY, meta_signature(b"other"), APP_SECRET)
    assert caught.value.missing is False


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("café crème", id="latin-accent"),
        pytest.param("thanks 🙏🎉 👨‍👩‍👧", id="emoji"),
        pytest.param("مرحبا، هل طلبي في الطريق؟", id="arabic"),
    ],
)
def test_non_ascii_body_signed_over_raw_bytes_verifies(text: str) -> None:
    # Given Meta's body with unicode escaped the way Meta sends it (\uXXXX), signed over those bytes
    raw = json.dumps({"entry": [{"text": text}]}).encode("utf-8")
    assert b"\\u" in raw
    # When verified over the same bytes, Then it passes
    verify_signature(raw, meta_signature(raw), APP_SECRET)
    # And a body carrying the characters as literal UTF-8 also verifies over its own bytes
    literal = json.dumps({"entry": [{"text": text}]}, ensure_ascii=False).encode("utf-8")
    verify_signature(literal, meta_signature(literal), APP_SECRET)


def _reserialise_plain(raw: bytes) -> bytes:
    return json.dumps(json.loads(raw)).encode("utf-8")


def _reserialise_unescaped(raw: bytes) -> bytes:
    # Same compact separators as Meta: only the unicode escaping differs.
    return json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize("reserialise", [_reserialise_plain, _reserialise_unescaped], ids=["dumps-loads", "unescaped"])
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("café", id="latin-accent"),
        pytest.param("🎉", id="emoji"),
        pytest.param("مرحبا", id="arabic"),
    ],
)
def test_reserialised_json_does_not_verify(text: str, reserialise: Callable[[bytes], bytes]) -> None:
    # Given the raw body Meta signed: compact, with unicode escaped (\uXXXX)
    raw = json.dumps({"entry": [{"text": text}]}, separators=(",", ":")).encode("utf-8")
    assert b"\\u" in raw
    header = meta_signature(raw)
    # When the body is parsed and serialised again (what a framework does with a parsed body)
    reserialised = reserialise(raw)
    assert json.loads(reserialised) == json.loads(raw)  # the same document...
    # Then the signature no longer matches: only the raw bytes verify
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(reserialised, header, APP_SECRET)
    verify_signature(raw, header, APP_SECRET)


def test_uppercase_hex_is_accepted() -> None:
    digest = meta_signature(BODY).removeprefix("sha256=")
    verify_signature(BODY, "sha256=" + digest.upper(), APP_SECRET)


def test_surrounding_whitespace_in_header_is_tolerated() -> None:
    verify_signature(BODY, f"  {meta_signature(BODY)}\n", APP_SECRET)
