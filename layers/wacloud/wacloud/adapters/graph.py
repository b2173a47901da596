"""The Graph API client, on one keep-alive session: sending messages, uploading and downloading
media, listing message templates."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from wacloud.errors import WacloudError
from wacloud.models.graph import GraphErrorBody, MediaInfo, MediaUploaded, SendResponse, TemplatesPage
from wacloud.models.records import ErrorInfo

if TYPE_CHECKING:
    import requests

# (connect, read) seconds. The sender starts no call with less than their sum (+2 s) left to run.
DEFAULT_TIMEOUT = (3.05, 10.0)
# Graph may take a while to answer once a large upload is written.
UPLOAD_TIMEOUT = (3.05, 30.0)
# Downloads stream: the read timeout is per chunk, not for the whole file.
DOWNLOAD_TIMEOUT = (3.05, 20.0)


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
    """No answer from Graph. `maybe_sent` is True when a message may have reached Meta (only ever for
    a message send: repeating an upload, a download or a read is harmless)."""

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
        self._session = session
        self.timeout = timeout

    @property
    def session(self) -> requests.Session:
        """The HTTP session (its connections kept open), made on first use: `requests` costs a cold
        start about 30 ms, and the processor calls Graph only for media and templates."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            # With `trust_env`, requests reads the whole environment on every request, looking for
            # proxy and CA bundle settings (about 0.5 ms of CPU per send); Lambda sets none.
            self._session.trust_env = _environment_configures_http()
        return self._session

    def send_message(self, phone_number_id: str, body: dict[str, Any], *, token: str) -> SendResponse:
        """Send a message (or read receipt) body; return Graph's answer."""
        response = self._request(
            "POST", f"{phone_number_id}/messages", token=token, json=body, timeout=self.timeout, is_send=True
        )
        try:
            return SendResponse.model_validate(response.json())
        except (ValueError, ValidationError):
            # 200 with a body we cannot read: Meta took the message, we just don't know its wamid.
            return SendResponse()

    def upload_media(
        self, phone_number_id: str, file: IO[bytes], *, length: int, filename: str, mime_type: str, token: str
    ) -> str:
        """`POST /{phone-number-id}/media`: upload a file (streamed, never held in memory); its media id."""
        body = MultipartBody(
            fields={"messaging_product": "whatsapp", "type": mime_type},
            file=file,
            length=length,
            filename=filename,
            mime_type=mime_type,
        )
        response = self._request(
            "POST",
            f"{phone_number_id}/media",
            token=token,
            data=body,
            headers={"Content-Type": body.content_type},
            timeout=UPLOAD_TIMEOUT,
        )
        try:
            return MediaUploaded.model_validate(response.json()).id
        except (ValueError, ValidationError) as exc:
            text = f"upload answered without a media id: {response.text[:200]}"
            raise GraphError(response.status_code, None, text) from exc

    def media_info(self, media_id: str, *, token: str, phone_number_id: str | None = None) -> MediaInfo:
        """`GET /{media-id}`: the media's download URL (valid for 5 minutes), MIME type, size, SHA-256."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        response = self._request("GET", media_id, token=token, params=params, timeout=self.timeout)
        try:
            return MediaInfo.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise GraphError(response.status_code, None, f"media answer without a URL: {response.text}") from exc

    def download(self, url: str, *, token: str) -> requests.Response:
        """Open a media URL (with the token, which Meta requires); the caller reads and closes it."""
        if not url.startswith("https://") and not url.startswith(self.base_url + "/"):
            # The token goes along: never over plain HTTP (the local fake serves its own host).
            raise GraphError(400, None, "refusing to send the token to a media URL that is not HTTPS")
        return self._request("GET", url, token=token, timeout=DOWNLOAD_TIMEOUT, stream=True, absolute=True)

    def message_templates(
        self, waba_id: str, *, token: str, name: str | None = None, after: str | None = None, limit: int = 100
    ) -> TemplatesPage:
        """`GET /{waba-id}/message_templates`: one page of the account's templates."""
        params: dict[str, Any] = {"limit": limit, "fields": TEMPLATE_FIELDS}
        if name:
            params["name"] = name
        if after:
            params["after"] = after
        path = f"{waba_id}/message_templates"
        response = self._request("GET", path, token=token, params=params, timeout=self.timeout)
        try:
            return TemplatesPage.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise GraphError(response.status_code, None, f"unexpected template list: {response.text[:200]}") from exc

    def _request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        timeout: tuple[float, float],
        headers: dict[str, str] | None = None,
        is_send: bool = False,
        absolute: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """One request; Graph's errors as `GraphError`, no answer as `GraphTransportError`."""
        import requests  # already loaded by `session`

        url = path if absolute else f"{self.base_url}/{self.api_version}/{path}"
        try:
            response = self.session.request(
                method, url, headers={"Authorization": f"Bearer {token}", **(headers or {})}, timeout=timeout, **kwargs
            )
        except requests.ConnectTimeout as exc:
            raise GraphTransportError(f"connect timeout: {exc}", maybe_sent=False) from exc
        except requests.ConnectionError as exc:
            # A refused or reset connection before any response: the request may have been written.
            raise GraphTransportError(f"connection error: {exc}", maybe_sent=is_send and _maybe_sent(exc)) from exc
        except requests.Timeout as exc:
            raise GraphTransportError(f"read timeout: {exc}", maybe_sent=is_send) from exc
        if response.status_code >= 400:
            error = _error_from(response)
            response.close()
            raise error
        return response


_CA_BUNDLE_VARIABLES = frozenset({"requests_ca_bundle", "curl_ca_bundle"})


def _environment_configures_http() -> bool:
    """Whether requests would find proxy or CA bundle settings: a variable (a proxy, `NO_PROXY`, a CA
    bundle) or, on macOS and Windows (the command line on a laptop), the system's proxy settings."""
    return sys.platform != "linux" or any(
        name.lower().endswith("_proxy") or name.lower() in _CA_BUNDLE_VARIABLES for name in os.environ
    )


TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components"


class MultipartBody:
    """A multipart/form-data body that streams its file: requests sends it with a Content-Length,
    reading it chunk by chunk, so a 100 MB document never sits in memory."""

    def __init__(self, *, fields: dict[str, str], file: IO[bytes], length: int, filename: str, mime_type: str) -> None:
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        quoted = filename.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
            f"Content-Type: {mime_type}\r\n\r\n"
        ).encode()
        self._parts: Iterator[IO[bytes] | bytes] = iter([head, file, f"\r\n--{boundary}--\r\n".encode()])
        self._length = len(head) + length + len(f"\r\n--{boundary}--\r\n")
        self._current: IO[bytes] | bytes | None = next(self._parts)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` is negative, as file objects do)."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self._read_chunk(64 * 1024), b""))
        return self._read_chunk(size or 64 * 1024)

    def _read_chunk(self, size: int) -> bytes:
        while self._current is not None:
            if isinstance(self._current, bytes):
                chunk, self._current = self._current, None
            else:
                chunk = self._current.read(size)
                if not chunk:
                    self._current = None
            if self._current is None:
                self._current = next(self._parts, None)
            if chunk:
                return chunk
        return b""


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
