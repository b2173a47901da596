"""AWS End User Messaging Social (boto3 `socialmessaging`): sending a number's messages and moving its
media through S3, for the numbers the registry says it carries (`transport: "eum"`).

- A send is one request, never retried by botocore (`total_max_attempts: 1`): the service's 500 and 502
  carry the `retryable` trait, and one may come after AWS handed the message to Meta. Retrying is
  the sender's decision (through SQS), as for Graph.
- AWS's errors are translated here, once, into the Graph error classes the sender and its error
  policy already know: a refusal is a `ServiceError` (a `GraphError` with AWS's error code, and
  Meta's code where the message names one as `(#131047)`); no answer is a `GraphTransportError`,
  `maybe_sent` when the request may have been written (a read timeout, a closed connection). A
  send's 5xx naming no Meta code is `SendMaybeTaken` (a `GraphTransportError`, `maybe_sent`): AWS
  may have handed the message to Meta before it failed, so the sender records it `unconfirmed` and
  never sends it again; a media call's 5xx stays a `ServiceError` (repeating it is harmless).
- Media goes through the stack's bucket: `post_media` hands the service an object to upload to Meta,
  `get_media` has it write a customer's media to a key prefix (the service appends the media id).
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ParamValidationError
from botocore.exceptions import ConnectionError as BotoConnectionError

from wacloud.adapters.aws_session import default_session
from wacloud.adapters.graph import DEFAULT_TIMEOUT, UPLOAD_TIMEOUT, GraphError, GraphTransportError
from wacloud.config import get_settings
from wacloud.models.records import ErrorInfo
from wacloud.runtime.logs import child_logger
from wacloud.runtime.metrics import count
from wacloud.runtime.singletons import singleton

if TYPE_CHECKING:
    from wacloud.models.number_entry import NumberEntry

logger = child_logger(__name__)

# (connect, read) seconds: a send as Graph's; media calls wait while the service moves the file.
SEND_TIMEOUT = DEFAULT_TIMEOUT
MEDIA_TIMEOUT = UPLOAD_TIMEOUT
# Meta's error code as AWS relays it in the exception's message: "(#131047) Re-engagement message".
_META_CODE = re.compile(r"\(#(\d{1,9})\)")
_META_CODE_FIRST = re.compile(r"^\s*\(#\d{1,9}\)\s*")
# AWS's codes for its own answers, by HTTP status (the model's; a ClientError may lack the status).
AWS_STATUS = {
    "ValidationException": 400,
    "InvalidParametersException": 400,
    "AccessDeniedException": 403,
    "AccessDeniedByMetaException": 403,
    "ResourceNotFoundException": 404,
    "ThrottledRequestException": 429,
    "InternalServiceException": 500,
    "DependencyException": 502,
}
PARAMETERS_REFUSED = "ParamValidationError"  # botocore's own check, before any request


class ServiceError(GraphError):
    """End User Messaging Social refused the call: AWS's error code (`aws_code`), its message, and
    Meta's code when the message names one (then the Graph rules decide, else AWS's: `error_policy`)."""

    def __init__(self, aws_code: str, http_status: int, message: str) -> None:
        from wacloud.models.graph import GraphErrorBody

        self.aws_code = aws_code
        # The title as Graph gives it: Meta's code is the code, not the start of the title.
        title = _META_CODE_FIRST.sub("", message, count=1)
        super().__init__(http_status, GraphErrorBody(code=meta_code(message), type=aws_code, message=title[:500]))
        self.args = (f"End User Messaging Social {aws_code} (HTTP {http_status}): {self.title or 'no message'}",)

    @property
    def token_refused(self) -> bool:
        return False  # IAM authorises these calls: there is no token of ours to refresh

    def info(self) -> ErrorInfo:
        return super().info().model_copy(update={"details": f"End User Messaging Social: {self.aws_code}"})


class SendMaybeTaken(GraphTransportError):
    """A send AWS failed with a 5xx naming no Meta code (InternalServiceException, DependencyException,
    ...): AWS may have handed the message to Meta first, so it may have gone (`maybe_sent`). Its
    first status, carrying the confirmation marker, confirms it."""

    def __init__(self, aws_code: str, http_status: int, message: str) -> None:
        self.aws_code = aws_code
        self.http_status = http_status
        self.aws_message = message[:500]
        said = f": {self.aws_message}" if self.aws_message else ""
        super().__init__(f"End User Messaging Social {aws_code} (HTTP {http_status}) on a send{said}", maybe_sent=True)

    def info(self) -> ErrorInfo:
        return ErrorInfo(
            title=self.aws_message or f"{self.aws_code} (HTTP {self.http_status})",
            details=f"End User Messaging Social: {self.aws_code}; AWS may have handed the message to Meta",
            http_status=self.http_status,
        )


def meta_code(message: str | None) -> int | None:
    """Meta's code in an AWS error message (`(#131047) ...`), or None."""
    found = _META_CODE.search(message or "")
    return int(found.group(1)) if found else None


def translate(exc: Exception, *, is_send: bool) -> GraphError | GraphTransportError:
    """An exception of a `socialmessaging` call as the package's error (`is_send`: a message send,
    which a lost answer or AWS's 5xx may have delivered; repeating a media call is harmless)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "Unknown")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or AWS_STATUS.get(code, 500))
        message = str(error.get("Message") or "")
        if is_send and status >= 500 and meta_code(message) is None:
            # Without Meta's code nothing says where it failed: before or after AWS handed it on.
            return SendMaybeTaken(code, status, message)
        return ServiceError(code, status, message)
    if isinstance(exc, ParamValidationError):
        # Refused before any request (a number without its AWS id, a body too large).
        return ServiceError(PARAMETERS_REFUSED, 400, str(exc))
    if isinstance(exc, BotoConnectionError):
        # No connection (refused, DNS, connect timeout, TLS): nothing was written.
        return GraphTransportError(f"End User Messaging Social unreachable: {exc}", maybe_sent=False)
    if isinstance(exc, HTTPClientError):
        # Read timeout, connection closed or broken response: the request was written and may have gone.
        return GraphTransportError(f"End User Messaging Social did not answer: {exc}", maybe_sent=is_send)
    # Anything else of botocore's (no credentials, a signing failure) fails before the request.
    return GraphTransportError(f"End User Messaging Social call not made: {exc}", maybe_sent=False)


def _config(timeout: tuple[float, float]) -> Config:
    # `total_max_attempts` counts the first request; Config's `max_attempts` counts retries only (1
    # would allow one retry: botocore's args.py adds one to it).
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=timeout[0],
        read_timeout=timeout[1],
    )


class SocialMessagingClient:
    """Two boto3 clients on the process's session, each made on first use (a Cloud API-only
    environment never makes one): sends with the send timeout, media calls with the longer one.
    Failures come out translated (`translate`)."""

    timeout = SEND_TIMEOUT

    def __init__(self, *, send_client: Any = None, media_client: Any = None, api_version: str = "") -> None:
        self._clients: dict[str, Any] = {"send": send_client, "media": media_client}
        self._lock = threading.Lock()  # a boto3 session makes one client at a time safely
        self.api_version = api_version

    @property
    def send_client(self) -> Any:
        return self._client("send", SEND_TIMEOUT)

    @property
    def media_client(self) -> Any:
        return self._client("media", MEDIA_TIMEOUT)

    def _client(self, name: str, timeout: tuple[float, float]) -> Any:
        made = self._clients[name]
        if made is None:
            with self._lock:
                made = self._clients[name]
                if made is None:
                    made = default_session().client("socialmessaging", config=_config(timeout))
                    self._clients[name] = made
        return made

    def send(self, entry: NumberEntry, body: dict[str, Any]) -> str:
        """`SendWhatsAppMessage`: Meta's message JSON from the number's AWS id; AWS's message id (not a
        wamid: the message's statuses bring that, with the confirmation marker)."""
        message = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        version = entry.meta_api_version or self.api_version or get_settings().graph_api_version
        answer = self._call(
            "send_whatsapp_message",
            is_send=True,
            originationPhoneNumberId=entry.eum_phone_number_id,
            message=message,
            metaApiVersion=version,
        )
        return str(answer.get("messageId") or "")

    def post_media(self, entry: NumberEntry, bucket: str, key: str) -> str:
        """`PostWhatsAppMessageMedia`: the service uploads a bucket object to Meta; its media id."""
        answer = self._call(
            "post_whatsapp_message_media",
            is_send=False,
            originationPhoneNumberId=entry.eum_phone_number_id,
            sourceS3File={"bucketName": bucket, "key": key},
        )
        media_id = answer.get("mediaId")
        if not media_id:
            raise ServiceError("NoMediaId", 502, "PostWhatsAppMessageMedia answered without a mediaId")
        return str(media_id)

    def get_media(self, entry: NumberEntry, media_id: str, bucket: str, key_prefix: str) -> tuple[str, int | None]:
        """`GetWhatsAppMessageMedia`: the service writes a customer's media under `key_prefix` in the
        bucket (it appends the media id and an extension); the MIME type and size it reports."""
        answer = self._call(
            "get_whatsapp_message_media",
            is_send=False,
            mediaId=media_id,
            originationPhoneNumberId=entry.eum_phone_number_id,
            destinationS3File={"bucketName": bucket, "key": key_prefix},
        )
        size = answer.get("fileSize")
        return str(answer.get("mimeType") or ""), int(size) if size is not None else None

    def _call(self, operation: str, *, is_send: bool, **parameters: Any) -> dict[str, Any]:
        try:  # making the client can fail too (no region)
            client = self.send_client if is_send else self.media_client
            answer: dict[str, Any] = getattr(client, operation)(**parameters)
        except (ClientError, BotoCoreError) as exc:
            error = translate(exc, is_send=is_send)
            count("SocialMessagingError")
            logger.warning(
                "End User Messaging Social call failed",
                extra={"error": type(exc).__name__, "aws_code": getattr(error, "aws_code", None)},
            )
            raise error from exc
        return answer


@singleton
def social_messaging_client() -> SocialMessagingClient:
    """The process's client (its boto3 clients made on first use)."""
    return SocialMessagingClient(api_version=get_settings().graph_api_version)
