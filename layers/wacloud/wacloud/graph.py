"""The Graph API client: `POST /{version}/{phone-number-id}/messages` on one keep-alive session."""

from __future__ import annotations

from typing import Any

import requests
from pydantic import ValidationError

from wacloud.errors import WacloudError
from wacloud.models.graph import GraphErrorBody, SendResponse
from wacloud.models.records import ErrorInfo

# (connect, read) seconds. The sender starts no call with less than their sum (+2 s) left to run.
DEFAULT_TIMEOUT = (3.05, 10.0)


class GraphError(WacloudError):
    """Graph answered with an error: Meta's code, subcode, title, details and fbtrace_id."""

    def __init__(self, http_status: int, body: GraphErrorBody | None, text: str = "") -> None:
        self.http_status = http_status
        self.body = body or GraphErrorBody()
        self.code = self.body.code
        self.subcode = self.body.error_subcode
        self.title = self.body.message or (text[:200] if text else None)
        self.details = self.body.error_data.details if self.body.error_data else None
        self.fbtrace_id = self.body.fbtrace_id
        super().__init__(f"Graph API error {self.code} (HTTP {http_status}): {self.title or 'no message'}")

    def info(self) -> ErrorInfo:
        return ErrorInfo(
            code=self.code,
            subcode=self.subcode,
            title=self.title,
            message=self.body.error_user_msg,
            details=self.details,
            fbtrace_id=self.fbtrace_id,
            http_status=self.http_status,
        )


class GraphTransportError(WacloudError):
    """No answer from Graph. `maybe_sent` is True when the request may have reached Meta."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent

    def info(self) -> ErrorInfo:
        return ErrorInfo(title="transport error", details=str(self))


class GraphClient:
    """A thin client: it sends and translates failures into `GraphError`/`GraphTransportError`.

    Retrying is the caller's job (the sender retries through SQS), so nothing here loops.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.session = session or requests.Session()
        self.timeout = timeout

    def send_message(self, phone_number_id: str, body: dict[str, Any], *, token: str) -> SendResponse:
        """Send a message (or read receipt) body; return Graph's answer."""
        url = f"{self.base_url}/{self.api_version}/{phone_number_id}/messages"
        try:
            response = self.session.post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout
            )
        except requests.ConnectTimeout as exc:
            raise GraphTransportError(f"connect timeout: {exc}", maybe_sent=False) from exc
        except requests.ConnectionError as exc:
            # A refused or reset connection before any response: the request may have been written.
            raise GraphTransportError(f"connection error: {exc}", maybe_sent=_maybe_sent(exc)) from exc
        except requests.Timeout as exc:
            raise GraphTransportError(f"read timeout: {exc}", maybe_sent=True) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            return SendResponse.model_validate(response.json())
        except (ValueError, ValidationError):
            # 200 with a body we cannot read: Meta took the message, we just don't know its wamid.
            return SendResponse()


def _error_from(response: requests.Response) -> GraphError:
    try:
        payload = response.json()
        body = GraphErrorBody.model_validate(payload["error"])
    except (ValueError, KeyError, TypeError, ValidationError):
        # Not Meta's JSON error (a proxy's HTML 502, an empty 503): keep the status and some text.
        return GraphError(response.status_code, None, response.text)
    return GraphError(response.status_code, body)


def _maybe_sent(exc: requests.ConnectionError) -> bool:
    # urllib3 wraps "connection refused"/DNS failures in NewConnectionError: nothing was sent then.
    text = repr(exc)
    return not any(marker in text for marker in ("NewConnectionError", "NameResolutionError"))
