"""A fake of AWS End User Messaging Social's WhatsApp API, served on the fake Graph API's port (the
local run points boto3's `socialmessaging` client at it with AWS_ENDPOINT_URL_SOCIALMESSAGING).

- `POST /v1/whatsapp/send`: `originationPhoneNumberId` (AWS's `phone-number-id-<hex>` or its ARN)
  names one of the business's EUM numbers; `message` (base64 on the wire) is Meta's message JSON,
  passed to the fake Graph's own checks, scripted answers and faults as a send from that number's
  Meta id. Answers `{"messageId": <uuid>}`; the request log keeps the wamid Graph assigned (route
  `eum_send`), so statuses follow and tests see both transports' sends alike.
- `POST /v1/whatsapp/media`: reads the file from S3 (`sourceS3File`) or a presigned URL and answers
  a `mediaId`; `POST /v1/whatsapp/media/get` writes a media's bytes to S3 or a presigned URL and
  answers `mimeType` and `fileSize`. `destinationS3File.key` is a prefix, as AWS's model describes it
  ("combined with the WhatsApp mediaId to create the final file path"): the object is
  `<key><mediaId><extension>` (`.jpg` for image/jpeg; none for a type without one).
- `GET /v1/whatsapp/waba/phone/details?id=`: the linked number (for `wacloud numbers add --from-eum`).

Errors in AWS's rest-json form: the `x-amzn-ErrorType` header and `{"message": ...}`. Graph's
refusals come back as Meta's code in the message (`(#131047) ...`): 4, 130429 and 131056 as
ThrottledRequestException (429), other 4xx as ValidationException (400), 5xx as DependencyException
(502). A scripted `drop_reply` takes the message and drops the connection.

Where a fault happens decides whether the message went: a scripted Graph error (any 5xx included)
fails the send before AWS handed it to Meta (nothing sent, no statuses); `fail_after_send` queues
AWS's own 5xx for after Meta took the message (its statuses follow, carrying the marker), the case
that makes the sender record a send's 5xx `unconfirmed` instead of sending it again.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from wacloud.adapters.social_messaging import AWS_STATUS
from wacloud.local.meta.business_numbers import EUM, BusinessNumber
from wacloud.local.meta.fake_graph import FakeGraph, GraphRequest
from wacloud.models import media_types

THROTTLING_CODES = frozenset({4, 80007, 130429, 131056})
_ARN_ID = re.compile(r"^arn:[^:]+:social-messaging:[^:]*:[0-9]*:phone-number-id/([0-9a-zA-Z]+)$")


@dataclass
class EumAnswer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None  # AWS's error code, sent as x-amzn-ErrorType
    drop: bool = False  # close the connection without an answer


def aws_error(error_type: str, message: str) -> EumAnswer:
    return EumAnswer(AWS_STATUS[error_type], {"message": message}, error_type)


def from_graph(status: int, response: dict[str, Any]) -> EumAnswer:
    """A refusal of Graph's as End User Messaging Social relays it."""
    error = response.get("error") or {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details")
    title = str(error.get("message") or "Meta refused the request")
    title = title if title.startswith("(#") or code is None else f"(#{code}) {title}"
    message = f"{title}: {details}" if details else title
    if status >= 500:
        return aws_error("DependencyException", message)
    if code in THROTTLING_CODES:
        return aws_error("ThrottledRequestException", message)
    return aws_error("ValidationException", message)


def _json_object(raw: bytes) -> dict[str, Any] | str:
    """The request's JSON object, or what is wrong with it."""
    try:
        request = json.loads(raw or b"{}")
    except ValueError:
        return "The request body is not JSON"
    return request if isinstance(request, dict) else "The request body is not a JSON object"


class FakeEum:
    def __init__(self, graph: FakeGraph, numbers: list[BusinessNumber], *, s3: Any = None) -> None:
        self.graph = graph
        self.numbers = {n.eum_phone_number_id: n for n in numbers if n.transport == EUM}
        self._s3 = s3  # a boto3 S3 client, made on first use (moto's, in the local run)
        self._after_send: list[str] = []  # AWS error codes for the next sends Meta takes
        self._lock = threading.Lock()
        graph.eum = self

    def fail_after_send(self, *error_types: str) -> None:
        """Answer the next sends Meta takes with these AWS errors (`InternalServiceException`,
        `DependencyException`, ...), in order: the message went, its statuses follow, the caller
        hears only the 5xx."""
        with self._lock:
            self._after_send.extend(error_types)

    def _next_after_send(self) -> str | None:
        with self._lock:
            return self._after_send.pop(0) if self._after_send else None

    def answer(self, method: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes) -> EumAnswer:
        """The answer to one request to the service."""
        if not str(headers.get("Authorization", "")).startswith("AWS4-HMAC-SHA256 "):
            return aws_error("AccessDeniedException", "Missing Authentication Token")
        if method == "GET" and path == "/v1/whatsapp/waba/phone/details":
            return self._details(next(iter(query.get("id") or []), ""))
        routes = {"/v1/whatsapp/send": self._send, "/v1/whatsapp/media": self._upload}
        handler = routes.get(path) or (self._download if path == "/v1/whatsapp/media/get" else None)
        request = _json_object(raw)
        if method != "POST" or handler is None or isinstance(request, str):
            return aws_error(
                "ValidationException", request if isinstance(request, str) else f"Unknown operation {path}"
            )
        number = self.number(request.get("originationPhoneNumberId"))
        if number is None:
            return aws_error("ResourceNotFoundException", "originationPhoneNumberId names no linked phone number")
        return handler(number, request)

    def number(self, origination: Any) -> BusinessNumber | None:
        """The linked number `phone-number-id-<hex>` or its ARN names."""
        text = str(origination or "")
        matched = _ARN_ID.match(text)
        return self.numbers.get(f"phone-number-id-{matched[1]}" if matched else text)

    def _send(self, number: BusinessNumber, request: dict[str, Any]) -> EumAnswer:
        if not request.get("metaApiVersion"):
            return aws_error("ValidationException", "metaApiVersion is required")
        try:
            body: Any = json.loads(base64.b64decode(str(request.get("message") or ""), validate=True))
        except (binascii.Error, ValueError):
            return aws_error("ValidationException", "message must be Meta's message JSON, base64-encoded")
        scripted = self.graph.next_scripted()
        if scripted is not None and not scripted.drop_reply:
            time.sleep(scripted.delay)
            status, response = scripted.status, scripted.body or {}
        else:
            status, response = self.graph.send_answer(number.phone_number_id, body, "messages")
        message_id = str(uuid.uuid4()) if status == 200 else None
        dropped = scripted is not None and scripted.drop_reply
        self.graph.record(
            GraphRequest(
                str(request["metaApiVersion"]),
                number.phone_number_id,
                "",
                body,
                status,
                response,
                reply_dropped=dropped,
                route="eum_send",
                transport_message_id=message_id,
            )
        )
        if dropped:
            return EumAnswer(200, drop=True)
        if status != 200:
            return from_graph(status, response)
        failed_after = self._next_after_send()
        if failed_after is not None:
            # AWS's words do not say where it failed: the caller cannot tell this from a fault before.
            return aws_error(failed_after, "Internal service error")
        return EumAnswer(200, {"messageId": message_id})

    def _upload(self, number: BusinessNumber, request: dict[str, Any]) -> EumAnswer:
        try:
            data, mime_type = self._read_source(request)
        except LookupError as exc:
            return aws_error("ValidationException", str(exc))
        if not any(mime_type in kind.mime_types for kind in media_types.KINDS.values()):
            answer = aws_error(
                "ValidationException", f"(#131053) Media upload error: unsupported file type {mime_type}"
            )
        else:
            answer = EumAnswer(
                200, {"mediaId": self.graph.add_media(data, mime_type, phone_number_id=number.phone_number_id)}
            )
        self._record(number, "eum_media", request, answer)
        return answer

    def _download(self, number: BusinessNumber, request: dict[str, Any]) -> EumAnswer:
        stored = self.graph.files.get(str(request.get("mediaId") or ""))
        if stored is None:
            answer = aws_error("ResourceNotFoundException", f"media {request.get('mediaId')} does not exist")
        else:
            answer = EumAnswer(200, {"mimeType": stored.mime_type, "fileSize": len(stored.data)})
            if not request.get("metadataOnly"):
                try:
                    self._write_destination(request, stored.data, stored.mime_type, str(request["mediaId"]))
                except LookupError as exc:
                    answer = aws_error("ValidationException", str(exc))
        self._record(number, "eum_media_get", request, answer)
        return answer

    def _details(self, origination: str) -> EumAnswer:
        number = self.number(origination)
        if number is None:
            return aws_error("ResourceNotFoundException", f"no linked phone number {origination}")
        phone = {
            "arn": number.phone_arn(),
            "phoneNumber": f"+{number.display_phone_number}",
            "phoneNumberId": number.eum_phone_number_id,
            "metaPhoneNumberId": number.phone_number_id,
            "displayPhoneNumberName": "Local business",
            "displayPhoneNumber": f"+{number.display_phone_number}",
            "qualityRating": "GREEN",
        }
        waba = "waba-" + number.waba_arn().rsplit("/", 1)[1]
        return EumAnswer(200, {"phoneNumber": phone, "linkedWhatsAppBusinessAccountId": waba})

    # -- S3 --------------------------------------------------------------------------------------

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3

            from wacloud.local.account import REGION

            self._s3 = boto3.client("s3", region_name=REGION)
        return self._s3

    def _read_source(self, request: dict[str, Any]) -> tuple[bytes, str]:
        """(bytes, MIME type) of the file to upload; LookupError says what is wrong."""
        source, presigned = request.get("sourceS3File"), request.get("sourceS3PresignedUrl")
        if isinstance(source, dict) and source.get("bucketName") and source.get("key"):
            try:
                got = self._client().get_object(Bucket=source["bucketName"], Key=source["key"])
            except Exception as exc:  # the service's answer to an object it cannot read
                raise LookupError(f"cannot read s3://{source['bucketName']}/{source['key']}: {exc}") from exc
            return got["Body"].read(), str(got.get("ContentType") or "application/octet-stream")
        if isinstance(presigned, dict) and presigned.get("url"):
            import requests

            headers = {str(k): str(v) for k, v in (presigned.get("headers") or {}).items()}
            answer = requests.get(str(presigned["url"]), headers=headers, timeout=10)
            if answer.status_code != 200:
                raise LookupError(f"the presigned URL answered {answer.status_code}")
            return answer.content, headers.get("Content-Type") or answer.headers.get("Content-Type", "")
        raise LookupError("give sourceS3File {bucketName, key} or sourceS3PresignedUrl {url, headers}")

    def _write_destination(self, request: dict[str, Any], data: bytes, mime_type: str, media_id: str) -> None:
        target, presigned = request.get("destinationS3File"), request.get("destinationS3PresignedUrl")
        if isinstance(target, dict) and target.get("bucketName") and target.get("key"):
            key = f"{target['key']}{media_id}{media_types.extension_for(mime_type)}"
            try:
                self._client().put_object(Bucket=target["bucketName"], Key=key, Body=data, ContentType=mime_type)
            except Exception as exc:  # the service's answer to a bucket it cannot write
                raise LookupError(f"cannot write s3://{target['bucketName']}/{key}: {exc}") from exc
            return
        if isinstance(presigned, dict) and presigned.get("url"):
            import requests

            headers = {str(k): str(v) for k, v in (presigned.get("headers") or {}).items()}
            answer = requests.put(str(presigned["url"]), data=data, headers=headers, timeout=10)
            if answer.status_code not in (200, 204):
                raise LookupError(f"the presigned URL answered {answer.status_code}")
            return
        raise LookupError("give destinationS3File {bucketName, key} or destinationS3PresignedUrl {url, headers}")

    def _record(self, number: BusinessNumber, route: str, request: dict[str, Any], answer: EumAnswer) -> None:
        self.graph.record(
            GraphRequest("", number.phone_number_id, "", request, answer.status, answer.body, route=route)
        )
