"""The Graph API client, on one keep-alive session: sending messages, uploading and downloading
media, listing message templates.

Every call authenticates with a token from the token source it was built with, and every call that
Graph answers with an expired or refused token (190, 0, or HTTP 401 without a code) asks the source
for a fresh one (a rotated token is picked up at once) and is made once more: here, and nowhere
else. Failures are translated here, once: Graph's answers into `GraphError`, no answer into
`GraphTransportError`. Retrying anything else is the caller's job (the sender retries through SQS).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from wacloud.adapters.multipart import MultipartBody
from wacloud.errors import WacloudError
from wacloud.models.records import ErrorInfo
from wacloud.runtime.deadline import NO_DEADLINE, Deadline
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count

if TYPE_CHECKING:
    import requests

    from wacloud.models.graph import GraphErrorBody, MediaInfo, SendResponse, TemplatesPage

logger = child_logger(__name__)

# (connect, read) seconds. No call starts with less than their sum (+2 s) left in the invocation.
DEFAULT_TIMEOUT = (3.05, 10.0)
# Graph may take a while to answer once a large upload is written.
UPLOAD_TIMEOUT = (3.05, 30.0)
# Downloads stream: the read timeout is per chunk, not for the whole file.
DOWNLOAD_TIMEOUT = (3.05, 20.0)
MARGIN_SECONDS = 2
TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components"
# Meta's codes for a token that expired, was invalidated or rotated.
TOKEN_REFUSED_CODES = frozenset({0, 190})


class TokenSource(Protocol):
    """Where the access token comes from: `fresh=True` bypasses any cache."""

    def __call__(self, *, fresh: bool = False) -> str: ...


class GraphError(WacloudError):
    """Graph answered with an error: Meta's code, subcode, title, details and fbtrace_id."""

    def __init__(self, http_status: int, body: GraphErrorBody | None, text: str = "") -> None:
        from wacloud.models.graph import GraphErrorBody  # Graph's answers are typed when one comes

        self.http_status = http_status
        self.body = body or GraphErrorBody()
        self.code = self.body.code
        self.subcode = self.body.error_subcode
        self.title = self.body.message or (text[:200] if text else None)
        self.details = self.body.error_data.details if self.body.error_data else None
        self.fbtrace_id = self.body.fbtrace_id
        super().__init__(f"Graph API error {self.code} (HTTP {http_status}): {self.title or 'no message'}")

    @property
    def token_refused(self) -> bool:
        """The token expired or was rotated: a fresh one may succeed."""
        return self.code in TOKEN_REFUSED_CODES or (self.code is None and self.http_status == 401)

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
    """A thin client: one request per call (two after a refused token), failures translated."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        token: TokenSource,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.token = token
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

    def send_message(
        self,
        phone_number_id: str,
        body: dict[str, Any],
        *,
        deadline: Deadline = NO_DEADLINE,
        before_retry: Callable[[], None] | None = None,
        endpoint: str = "messages",
    ) -> SendResponse:
        """Send a message (or read receipt) body to `endpoint` (`messages`, or `marketing_messages`:
        Meta's Marketing Messages API); return Graph's answer. `before_retry` runs before the send is
        made again with a fresh token (the sender takes its turn in the send rate again)."""
        response = self._request(
            "POST",
            f"{phone_number_id}/{endpoint}",
            json=body,
            timeout=self.timeout,
            is_send=True,
            deadline=deadline,
            before_retry=before_retry,
        )
        from wacloud.models.graph import SendResponse

        try:
            return SendResponse.model_validate(response.json())
        except (ValueError, ValidationError):
            # 200 with a body we cannot read: Meta took the message, we just don't know its wamid.
            return SendResponse()

    def upload_media(
        self,
        phone_number_id: str,
        open_file: Callable[[], IO[bytes]],
        *,
        length: int,
        filename: str,
        mime_type: str,
        deadline: Deadline = NO_DEADLINE,
        before_retry: Callable[[], None] | None = None,
    ) -> str:
        """`POST /{phone-number-id}/media`: upload a file, streamed (never held in memory) from what
        `open_file` opens (once per attempt); its media id."""

        def body() -> MultipartBody:
            fields = {"messaging_product": "whatsapp", "type": mime_type}
            return MultipartBody(fields=fields, file=open_file(), length=length, filename=filename, mime_type=mime_type)

        response = self._request(
            "POST",
            f"{phone_number_id}/media",
            body=body,
            timeout=UPLOAD_TIMEOUT,
            deadline=deadline,
            before_retry=before_retry,
        )
        from wacloud.models.graph import MediaUploaded

        try:
            return MediaUploaded.model_validate(response.json()).id
        except (ValueError, ValidationError) as exc:
            text = f"upload answered without a media id: {response.text[:200]}"
            raise GraphError(response.status_code, None, text) from exc

    def media_info(self, media_id: str, *, phone_number_id: str | None = None) -> MediaInfo:
        """`GET /{media-id}`: the media's download URL (valid for 5 minutes), MIME type, size, SHA-256."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        response = self._request("GET", media_id, params=params, timeout=self.timeout)
        from wacloud.models.graph import MediaInfo

        try:
            return MediaInfo.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise GraphError(response.status_code, None, f"media answer without a URL: {response.text}") from exc

    def download(self, url: str) -> requests.Response:
        """Open a media URL (with the token, which Meta requires); the caller reads and closes it."""
        if not url.startswith("https://") and not url.startswith(self.base_url + "/"):
            # The token goes along: never over plain HTTP (the local fake serves its own host).
            raise GraphError(400, None, "refusing to send the token to a media URL that is not HTTPS")
        return self._request("GET", url, timeout=DOWNLOAD_TIMEOUT, stream=True, absolute=True)

    def message_templates(
        self, waba_id: str, *, name: str | None = None, after: str | None = None, limit: int = 100
    ) -> TemplatesPage:
        """`GET /{waba-id}/message_templates`: one page of the account's templates."""
        params: dict[str, Any] = {"limit": limit, "fields": TEMPLATE_FIELDS}
        if name:
            params["name"] = name
        if after:
            params["after"] = after
        response = self._request("GET", f"{waba_id}/message_templates", params=params, timeout=self.timeout)
        from wacloud.models.graph import TemplatesPage

        try:
            return TemplatesPage.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise GraphError(response.status_code, None, f"unexpected template list: {response.text[:200]}") from exc

    def _request(
        self,
        method: str,
        path: str,
        *,
        timeout: tuple[float, float],
        deadline: Deadline = NO_DEADLINE,
        body: Callable[[], MultipartBody] | None = None,
        before_retry: Callable[[], None] | None = None,
        **options: Any,
    ) -> requests.Response:
        """The request with the cached token, and once more with a fresh one if Graph refuses it
        (`before_retry` first: the caller's own checks before a second call)."""
        try:
            return self._attempt(method, path, self.token(), timeout=timeout, deadline=deadline, body=body, **options)
        except GraphError as exc:
            if not exc.token_refused:
                raise
            logger.warning("Graph refused the token; asking for a fresh one", extra={"error_code": exc.code})
            count("TokenRefreshed")
        fresh = self.token(fresh=True)
        if before_retry is not None:
            before_retry()
        return self._attempt(method, path, fresh, timeout=timeout, deadline=deadline, body=body, **options)

    def _attempt(
        self,
        method: str,
        path: str,
        token: str,
        *,
        timeout: tuple[float, float],
        deadline: Deadline,
        body: Callable[[], MultipartBody] | None,
        is_send: bool = False,
        absolute: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """One request; Graph's errors as `GraphError`, no answer as `GraphTransportError`."""
        import requests  # already loaded by `session`

        deadline.require(sum(timeout) + MARGIN_SECONDS, "a Graph call")
        url = path if absolute else f"{self.base_url}/{self.api_version}/{path}"
        headers = {"Authorization": f"Bearer {token}"}
        data = body() if body is not None else None
        if data is not None:
            headers["Content-Type"] = data.content_type
            kwargs["data"] = data
        try:
            response = self.session.request(method, url, headers=headers, timeout=timeout, **kwargs)
        except requests.ConnectTimeout as exc:
            raise GraphTransportError(f"connect timeout: {exc}", maybe_sent=False) from exc
        except requests.ConnectionError as exc:
            # A refused or reset connection before any response: the request may have been written.
            raise GraphTransportError(f"connection error: {exc}", maybe_sent=is_send and _maybe_sent(exc)) from exc
        except requests.Timeout as exc:
            raise GraphTransportError(f"read timeout: {exc}", maybe_sent=is_send) from exc
        finally:
            if data is not None:
                data.close()
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


def _error_from(response: requests.Response) -> GraphError:
    from wacloud.models.graph import GraphErrorBody

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
