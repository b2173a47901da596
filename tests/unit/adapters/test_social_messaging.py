"""wacloud.adapters.social_messaging: End User Messaging Social's calls as they go on the wire, one
request each (never retried by botocore), and every failure translated into the Graph error classes.

The boto3 clients are real; a `before-send` hook answers in place of AWS (inside botocore's retry
loop, so a retry would show as a second request). No network."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from wacloud.adapters.graph import GraphTransportError
from wacloud.adapters.social_messaging import (
    MEDIA_TIMEOUT,
    SEND_TIMEOUT,
    SendMaybeTaken,
    ServiceError,
    SocialMessagingClient,
    _config,
    meta_code,
    social_messaging_client,
)
from wacloud.outbound.error_policy import Action, action_for, rule_for

EUM_ID = "phone-number-id-0123456789abcdef0123456789abcdef"
NUMBER = SimpleNamespace(eum_phone_number_id=EUM_ID, meta_api_version="")
BODY = {"messaging_product": "whatsapp", "to": "+16505551234", "type": "text", "text": {"body": "Olá"}}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class Wire:
    """Answers each request in turn (a dict: 200 with it as JSON; (status, code, message): AWS's
    error; an exception: raised as the HTTP layer would); records every request."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, dict):
            return AWSResponse(
                request.url, 200, {"Content-Type": "application/json"}, _Raw(json.dumps(answer).encode())
            )
        status, code, message = answer
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
        return AWSResponse(request.url, status, headers, _Raw(json.dumps({"message": message}).encode()))

    def body(self, index: int = 0) -> dict[str, Any]:
        sent: dict[str, Any] = json.loads(self.requests[index].body)
        return sent


def client_on(wire: Wire, *, config: Any = None) -> Any:
    made = boto3.session.Session(region_name="us-east-1").client(
        "socialmessaging", config=config or _config(SEND_TIMEOUT)
    )
    made.meta.events.register("before-send", wire)
    return made


def eum(wire: Wire) -> SocialMessagingClient:
    client = client_on(wire)
    return SocialMessagingClient(send_client=client, media_client=client, api_version="v23.0")


def test_a_send_posts_metas_json_as_the_message_from_the_numbers_aws_id() -> None:
    wire = Wire({"messageId": "aws-message-1"})

    assert eum(wire).send(NUMBER, BODY) == "aws-message-1"  # type: ignore[arg-type]

    (request,) = wire.requests
    assert request.method == "POST" and request.url.endswith("/v1/whatsapp/send")
    sent = wire.body()
    assert sent["originationPhoneNumberId"] == EUM_ID and sent["metaApiVersion"] == "v23.0"
    message = base64.b64decode(sent["message"])
    assert message == json.dumps(BODY, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert json.loads(message) == BODY


def test_the_numbers_own_api_version_wins() -> None:
    wire = Wire({"messageId": "m"})
    eum(wire).send(SimpleNamespace(eum_phone_number_id=EUM_ID, meta_api_version="v20.0"), BODY)  # type: ignore[arg-type]
    assert wire.body()["metaApiVersion"] == "v20.0"


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServiceException"), (502, "DependencyException"), (429, "ThrottledRequestException")],
)
def test_a_send_is_one_request_even_when_botocore_would_retry_it(status: int, code: str) -> None:
    wire = Wire((status, code, "try later"))
    with pytest.raises((ServiceError, SendMaybeTaken)):
        eum(wire).send(NUMBER, BODY)  # type: ignore[arg-type]
    assert len(wire.requests) == 1


def test_botocores_max_attempts_of_one_would_have_sent_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: Config's `max_attempts` counts retries, so 1 means a second request."""
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)  # no back-off wait
    wire = Wire((500, "InternalServiceException", "boom"))
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    with pytest.raises(SendMaybeTaken):
        SocialMessagingClient(send_client=client_on(wire, config=config)).send(NUMBER, BODY)  # type: ignore[arg-type]
    assert len(wire.requests) == 2


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (500, "InternalServiceException", "Internal service error"),
        (502, "DependencyException", "Meta did not answer"),
        (503, "ServiceUnavailable", ""),
    ],
)
def test_a_sends_5xx_without_metas_code_may_have_sent_it(status: int, code: str, message: str) -> None:
    # AWS may have handed the message to Meta before it failed: a lost answer, never a retry.
    with pytest.raises(SendMaybeTaken) as caught:
        eum(Wire((status, code, message))).send(NUMBER, BODY)  # type: ignore[arg-type]

    error = caught.value
    assert isinstance(error, GraphTransportError) and error.maybe_sent is True
    assert (error.aws_code, error.http_status) == (code, status)
    # AWS's code stays visible: in the recorded error and in what the sender logs (`str`).
    info = error.info()
    assert info.details is not None and info.details.startswith(f"End User Messaging Social: {code};")
    assert info.http_status == status and info.title == (message or f"{code} (HTTP {status})")
    assert code in str(error)


def test_a_sends_5xx_naming_metas_code_is_decided_by_metas_code() -> None:
    with pytest.raises(ServiceError) as caught:
        eum(Wire((502, "DependencyException", "(#131000) Something went wrong"))).send(NUMBER, BODY)  # type: ignore[arg-type]
    assert caught.value.code == 131000 and action_for(caught.value) is Action.RETRY


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalServiceException"), (502, "DependencyException"), (503, "ServiceUnavailable")]
)
def test_a_media_calls_5xx_is_a_service_error_to_retry(status: int, code: str) -> None:
    for call in (
        lambda client: client.post_media(NUMBER, "media-bucket", "outbound/a.jpg"),
        lambda client: client.get_media(NUMBER, "987654321", "media-bucket", "inbound/"),
    ):
        with pytest.raises(ServiceError) as caught:
            call(eum(Wire((status, code, "Internal error"))))
        assert caught.value.aws_code == code and action_for(caught.value) is Action.RETRY


@pytest.mark.parametrize(
    ("status", "code", "message", "action", "needs_human"),
    [
        (429, "ThrottledRequestException", "Rate exceeded", Action.RETRY, False),
        (400, "ValidationException", "message is not valid JSON", Action.FAIL, False),
        (400, "ValidationException", "Unsupported metaApiVersion v99.0", Action.RETRY, True),
        (400, "InvalidParametersException", "bad parameter", Action.FAIL, False),
        (403, "AccessDeniedException", "not authorized to perform SendWhatsAppMessage", Action.RETRY, True),
        (403, "AccessDeniedByMetaException", "Meta denied access", Action.FAIL, True),
        (404, "ResourceNotFoundException", "phone number not found", Action.FAIL, True),
        (403, "ExpiredTokenException", "The security token expired", Action.RETRY, True),
        (400, "SomethingNew", "", Action.FAIL, False),
    ],
)
def test_awss_errors_become_service_errors_the_policy_decides_by_awss_code(
    status: int, code: str, message: str, action: Action, needs_human: bool
) -> None:
    with pytest.raises(ServiceError) as caught:
        eum(Wire((status, code, message))).send(NUMBER, BODY)  # type: ignore[arg-type]

    error = caught.value
    assert (error.aws_code, error.http_status, error.code) == (code, status, None)
    assert not error.token_refused
    assert (action_for(error), rule_for(error).needs_human) == (action, needs_human)
    assert error.info().details == f"End User Messaging Social: {code}"
    assert code in str(error) and "Graph API error" not in str(error)


@pytest.mark.parametrize(
    ("code", "message", "meta", "action"),
    [
        ("ValidationException", "(#131047) Re-engagement message: more than 24 hours", 131047, Action.FAIL),
        ("ThrottledRequestException", "(#130429) Rate limit hit", 130429, Action.RETRY),
        ("ValidationException", "Meta error (#131056) pair rate limit", 131056, Action.RETRY),
        ("DependencyException", "(#131026) Message undeliverable", 131026, Action.FAIL),
    ],
)
def test_metas_code_in_the_message_decides_first(code: str, message: str, meta: int, action: Action) -> None:
    with pytest.raises(ServiceError) as caught:
        eum(Wire((400, code, message))).send(NUMBER, BODY)  # type: ignore[arg-type]
    assert caught.value.code == meta
    # The title as Graph's: the code is the code, not the start of the title.
    title = message.split(") ", 1)[1] if message.startswith("(#") else message
    assert caught.value.info().code == meta and caught.value.info().title == title
    assert action_for(caught.value) is action


def test_meta_code_reads_only_the_hash_form() -> None:
    assert meta_code("(#100) Invalid parameter") == 100
    assert meta_code("error 131047") is None and meta_code(None) is None


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (ReadTimeoutError(endpoint_url="https://x"), True),
        (ConnectionClosedError(endpoint_url="https://x"), True),
        (ConnectTimeoutError(endpoint_url="https://x"), False),
        (EndpointConnectionError(endpoint_url="https://x"), False),
    ],
)
def test_no_answer_is_a_transport_error_maybe_sent_once_the_request_was_written(
    exc: Exception, maybe_sent: bool
) -> None:
    wire = Wire(exc)
    with pytest.raises(GraphTransportError) as caught:
        eum(wire).send(NUMBER, BODY)  # type: ignore[arg-type]
    assert caught.value.maybe_sent is maybe_sent
    assert len(wire.requests) == 1  # a read timeout is not sent again either


def test_a_lost_answer_to_a_media_call_is_harmless_to_repeat() -> None:
    wire = Wire(ReadTimeoutError(endpoint_url="https://x"))
    with pytest.raises(GraphTransportError) as caught:
        eum(wire).post_media(NUMBER, "media-bucket", "outbound/a.jpg")  # type: ignore[arg-type]
    assert caught.value.maybe_sent is False


def test_a_number_without_its_aws_id_is_refused_before_any_request() -> None:
    wire = Wire({"messageId": "m"})
    with pytest.raises(ServiceError) as caught:
        eum(wire).send(SimpleNamespace(eum_phone_number_id="", meta_api_version=""), BODY)  # type: ignore[arg-type]
    assert caught.value.aws_code == "ParamValidationError" and action_for(caught.value) is Action.FAIL
    assert wire.requests == []


def test_post_media_names_the_bucket_object() -> None:
    wire = Wire({"mediaId": "1234567890"})

    assert eum(wire).post_media(NUMBER, "media-bucket", "outbound/a.jpg") == "1234567890"  # type: ignore[arg-type]

    assert wire.requests[0].url.endswith("/v1/whatsapp/media")
    assert wire.body() == {
        "originationPhoneNumberId": EUM_ID,
        "sourceS3File": {"bucketName": "media-bucket", "key": "outbound/a.jpg"},
    }


def test_post_media_without_a_media_id_is_an_error_to_retry() -> None:
    with pytest.raises(ServiceError) as caught:
        eum(Wire({})).post_media(NUMBER, "media-bucket", "k")  # type: ignore[arg-type]
    assert action_for(caught.value) is Action.RETRY


def test_get_media_has_the_service_write_under_a_prefix() -> None:
    wire = Wire({"mimeType": "image/jpeg", "fileSize": 2048})

    answer = eum(wire).get_media(NUMBER, "987654321", "media-bucket", "inbound/111/2026/12/06/")  # type: ignore[arg-type]

    assert answer == ("image/jpeg", 2048)
    assert wire.requests[0].url.endswith("/v1/whatsapp/media/get")
    assert wire.body() == {
        "mediaId": "987654321",
        "originationPhoneNumberId": EUM_ID,
        "destinationS3File": {"bucketName": "media-bucket", "key": "inbound/111/2026/12/06/"},
    }


def test_the_process_client_is_made_on_its_session_without_retries() -> None:
    made = social_messaging_client()
    assert made is social_messaging_client()
    for client, timeout in ((made.send_client, SEND_TIMEOUT), (made.media_client, MEDIA_TIMEOUT)):
        config = client.meta.config
        assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
        assert (config.connect_timeout, config.read_timeout) == timeout
