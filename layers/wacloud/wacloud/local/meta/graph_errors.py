"""Graph's error answers as Meta shapes them: HTTP 400 and
`{"error": {"message", "type": "OAuthException", "code", "error_data": {"messaging_product", "details"},
"fbtrace_id"}}`.

Reference: ../shared/reference/whatsapp-cloud-api.md 2.3 and 2.4 (the codes).
"""

from __future__ import annotations

import secrets
from typing import Any

# Graph's answer when it refuses a request: (HTTP status, error body).
Refusal = tuple[int, dict[str, Any]]


def graph_error_body(code: int, message: str, details: str | None = None) -> dict[str, Any]:
    """An error body as Graph answers it (a fresh trace id each time, as Meta's are)."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return {"error": error}


def refusal(code: int, message: str, details: str) -> Refusal:
    """Graph's 400 with this code, title and details."""
    return 400, graph_error_body(code, message, details)
