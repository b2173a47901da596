"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`."""

from __future__ import annotations

import hashlib
import hmac

from wacloud.errors import SignatureError

PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta would send for `body` (used by the local run and tests)."""
    return PREFIX + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Raise `SignatureError` unless `header` is Meta's signature of exactly these bytes.

    The HMAC is taken over the raw bytes as received: re-serialised JSON changes escaping and
    breaks the signature on non-ASCII text. The comparison is constant time.
    """
    if not app_secret:
        # An empty key would make the signature computable by anyone.
        raise SignatureError("no app secret configured")
    if not header:
        raise SignatureError("missing X-Hub-Signature-256 header", missing=True)
    header = header.strip()
    if not header.startswith(PREFIX):
        raise SignatureError("signature header does not start with 'sha256='", missing=True)
    expected = sign(body, app_secret)
    if not hmac.compare_digest(expected.encode("ascii"), header.lower().encode("ascii", "replace")):
        raise SignatureError("signature does not match the body")
