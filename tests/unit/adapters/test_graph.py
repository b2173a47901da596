"""wacloud.adapters.graph.GraphClient against a mocked Graph API (responses; no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import responses
from responses import matchers

from tests.conftest import ACCESS_TOKEN, GRAPH_URL, PHONE_NUMBER_ID
from wacloud.adapters.graph import GraphClient, GraphError, GraphTransportError

VERSION = "v25.0"
URL = f"{GRAPH_URL}/{VERSION}/{PHONE_NUMBER_ID}/messages"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
BODY = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "+16505551234",
    "type": "text",
    "text": {"body": "Your order shipped", "preview_url": False},
}
SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
    "messages": [{"id": WAMID}],
}
META_ERROR = {
    "error": {
        "message": "(#131026) Message undeliverable",
        "type": "OAuthException",
        "code": 131026,
        "error_subcode": 2494010,
        "error_data": {"messaging_product": "whatsapp", "details": "Message Undeliverable."},
        "error_user_msg": "The recipient cannot receive this message",
        "fbtrace_id": "A7ldX1c3l9ZJzCo0jVJ5JYq",
    }
}


@pytest.fixture
def graph() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


class Tokens:
    """A token source that hands out `ACCESS_TOKEN`, then `fresh-<n>` each time it is asked to refresh."""

    def __init__(self) -> None:
        self.refreshes = 0

    def __call__(self, *, fresh: bool = False) -> str:
        if fresh:
            self.refreshes += 1
        return f"fresh-{self.refreshes}" if self.refreshes else ACCESS_TOKEN


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
def client(tokens: Tokens) -> GraphClient:
    # A trailing slash on the base URL must not double up in the request URL.
    return GraphClient(base_url=GRAPH_URL + "/", api_version=VERSION, token=tokens)


def test_send_success_returns_the_wamid(graph: responses.RequestsMock, client: GraphClient) -> None:
    graph.post(
        URL,
        json=SUCCESS,
        match=[
            matchers.header_matcher({"Authorization": f"Bearer {ACCESS_TOKEN}"}),
            matchers.json_params_matcher(BODY),
        ],
    )

    response = client.send_message(PHONE_NUMBER_ID, BODY)

    assert response.wamid == WAMID
    assert response.contacts[0].wa_id == "16505551234"
    assert len(graph.calls) == 1


def test_request_url_headers_and_body(graph: responses.RequestsMock, client: GraphClient) -> None:
    graph.post(URL, json=SUCCESS)

    client.send_message(PHONE_NUMBER_ID, BODY)

    request = graph.calls[0].request
    assert request.method == "POST"
    assert request.url == URL
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == BODY


def test_read_receipt_success(graph: responses.RequestsMock, client: GraphClient) -> None:
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID}
    graph.post(URL, json={"success": True}, match=[matchers.json_params_matcher(receipt)])

    response = client.send_message(PHONE_NUMBER_ID, receipt)

    assert response.success is True
    assert response.wamid is None


def test_paced_template_keeps_message_status(graph: responses.RequestsMock, client: GraphClient) -> None:
    graph.post(URL, json={"messages": [{"id": WAMID, "message_status": "accepted"}]})

    response = client.send_message(PHONE_NUMBER_ID, BODY)

    assert response.wamid == WAMID
    assert response.messages[0].message_status == "accepted"


@pytest.mark.parametrize("status", [400, 403, 404], ids=["400", "403", "404"])
def test_meta_error_body_becomes_graph_error(graph: responses.RequestsMock, client: GraphClient, status: int) -> None:
    graph.post(URL, json=META_ERROR, status=status)

    with pytest.raises(GraphError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    error = caught.value
    assert error.http_status == status
    assert error.code == 131026
    assert error.subcode == 2494010
    assert error.title == "(#131026) Message undeliverable"
    assert error.details == "Message Undeliverable."
    assert error.fbtrace_id == "A7ldX1c3l9ZJzCo0jVJ5JYq"
    assert "131026" in str(error)
    info = error.info()
    assert (info.code, info.subcode, info.http_status) == (131026, 2494010, status)
    assert info.message == "The recipient cannot receive this message"
    assert info.details == "Message Undeliverable."
    assert info.fbtrace_id == "A7ldX1c3l9ZJzCo0jVJ5JYq"


def test_meta_error_without_error_data(graph: responses.RequestsMock, client: GraphClient) -> None:
    graph.post(URL, json={"error": {"message": "Invalid OAuth access token.", "code": 190}}, status=401)
    graph.post(URL, json={"error": {"message": "Invalid OAuth access token.", "code": 190}}, status=401)

    with pytest.raises(GraphError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert (caught.value.code, caught.value.subcode, caught.value.details) == (190, None, None)
    assert caught.value.http_status == 401


def test_html_502_becomes_graph_error_without_code(graph: responses.RequestsMock, client: GraphClient) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    graph.post(URL, body=html, status=502, content_type="text/html")

    with pytest.raises(GraphError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    error = caught.value
    assert error.code is None
    assert error.subcode is None
    assert error.http_status == 502
    assert error.title is not None
    assert "502 Bad Gateway" in error.title


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(503, "", id="empty-503"),
        pytest.param(500, '{"unexpected": true}', id="json-without-error"),
        pytest.param(500, '{"error": "a string"}', id="error-not-an-object"),
        pytest.param(500, "[1, 2]", id="json-list"),
    ],
)
def test_unreadable_error_bodies_keep_the_status(
    graph: responses.RequestsMock, client: GraphClient, status: int, body: str
) -> None:
    graph.post(URL, body=body, status=status)

    with pytest.raises(GraphError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert caught.value.code is None
    assert caught.value.http_status == status


def test_unreadable_success_body_is_an_acceptance_without_wamid(
    graph: responses.RequestsMock, client: GraphClient
) -> None:
    # Meta took the message (200); treating it as a failure would invite a second send.
    graph.post(URL, body="OK", status=200)

    response = client.send_message(PHONE_NUMBER_ID, BODY)

    assert response.wamid is None


@pytest.mark.parametrize(
    ("exception", "maybe_sent"),
    [
        pytest.param(requests.ConnectTimeout("connect timed out"), False, id="connect-timeout"),
        pytest.param(requests.ReadTimeout("read timed out"), True, id="read-timeout"),
        pytest.param(requests.ConnectionError("Connection reset by peer"), True, id="connection-reset"),
        pytest.param(
            requests.ConnectionError("HTTPSConnectionPool: NewConnectionError('Connection refused')"),
            False,
            id="connection-refused",
        ),
        pytest.param(
            requests.ConnectionError("HTTPSConnectionPool: NameResolutionError('graph.test')"),
            False,
            id="dns-failure",
        ),
    ],
)
def test_transport_failures(
    graph: responses.RequestsMock, client: GraphClient, exception: Exception, maybe_sent: bool
) -> None:
    graph.post(URL, body=exception)

    with pytest.raises(GraphTransportError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert caught.value.maybe_sent is maybe_sent
    assert caught.value.__cause__ is exception
    assert caught.value.info().title == "transport error"


def test_token_never_appears_in_errors(graph: responses.RequestsMock, client: GraphClient) -> None:
    graph.post(URL, json=META_ERROR, status=400)

    with pytest.raises(GraphError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert ACCESS_TOKEN not in str(caught.value)
    assert ACCESS_TOKEN not in caught.value.info().model_dump_json()


def test_client_uses_its_timeout() -> None:
    seen: dict[str, object] = {}

    class Session(requests.Session):
        def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def, override]
            seen.update(kwargs, url=url, method=method)
            raise requests.ReadTimeout("slow")

    client = GraphClient(base_url=GRAPH_URL, api_version=VERSION, token=Tokens(), session=Session(), timeout=(1.0, 2.0))

    with pytest.raises(GraphTransportError):
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert seen["timeout"] == (1.0, 2.0)
    assert seen["url"] == URL
    assert seen["method"] == "POST"


def test_the_environment_is_read_per_request_only_when_it_configures_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests' `trust_env` reads all of os.environ on each request (proxies, CA bundle): skipped on
    # Linux (Lambda) when nothing there applies, kept when a proxy or a CA bundle is configured.
    import os

    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.lower() in {"requests_ca_bundle", "curl_ca_bundle"}:
            monkeypatch.delenv(name)
    monkeypatch.setattr("sys.platform", "linux")  # as in Lambda
    assert GraphClient(base_url=GRAPH_URL, api_version=VERSION, token=Tokens()).session.trust_env is False

    for variable in ("HTTPS_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE"):
        with monkeypatch.context() as env:
            env.setenv(variable, "x")
            assert GraphClient(base_url=GRAPH_URL, api_version=VERSION, token=Tokens()).session.trust_env is True, (
                variable
            )
    # macOS and Windows keep their system proxy settings outside the environment
    for platform in ("darwin", "win32"):
        with monkeypatch.context() as env:
            env.setattr("sys.platform", platform)
            assert GraphClient(base_url=GRAPH_URL, api_version=VERSION, token=Tokens()).session.trust_env is True, (
                platform
            )


# --- media and templates ------------------------------------------------------------------------------


def test_upload_streams_a_multipart_body_and_returns_the_media_id(graph: responses.RequestsMock, client: GraphClient):
    import io

    graph.post(f"{GRAPH_URL}/{VERSION}/{PHONE_NUMBER_ID}/media", json={"id": "1013859600285441"})

    media_id = client.upload_media(
        PHONE_NUMBER_ID, lambda: io.BytesIO(b"%PDF-1.7"), length=8, filename="a.pdf", mime_type="application/pdf"
    )

    assert media_id == "1013859600285441"
    request = graph.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(request.headers["Content-Length"]) == len(request.body)
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in request.body
    assert b'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n' in request.body


def test_an_upload_answer_without_an_id_is_an_error(graph: responses.RequestsMock, client: GraphClient):
    import io

    graph.post(f"{GRAPH_URL}/{VERSION}/{PHONE_NUMBER_ID}/media", json={"ok": True})

    with pytest.raises(GraphError, match="upload answered without a media id"):
        client.upload_media(PHONE_NUMBER_ID, lambda: io.BytesIO(b"x"), length=1, filename="a", mime_type="a/b")


def test_upload_timeouts_never_mean_a_message_may_have_gone(client: GraphClient, monkeypatch):
    import io

    def slow(self, method, url, **kwargs):  # type: ignore[no-untyped-def]
        raise requests.ReadTimeout("slow")

    monkeypatch.setattr(requests.Session, "request", slow)

    with pytest.raises(GraphTransportError) as caught:
        client.upload_media(PHONE_NUMBER_ID, lambda: io.BytesIO(b"x"), length=1, filename="a", mime_type="a/b")

    assert caught.value.maybe_sent is False


def test_media_info_asks_for_the_number_and_reads_the_url(graph: responses.RequestsMock, client: GraphClient):
    graph.get(
        f"{GRAPH_URL}/{VERSION}/1013859600285441",
        json={"url": "https://lookaside.fbsbx.com/x", "mime_type": "image/jpeg", "file_size": 10, "sha256": "abc"},
        match=[matchers.query_param_matcher({"phone_number_id": PHONE_NUMBER_ID})],
    )

    info = client.media_info("1013859600285441", phone_number_id=PHONE_NUMBER_ID)

    assert (info.url, info.mime_type, info.file_size) == ("https://lookaside.fbsbx.com/x", "image/jpeg", 10)


def test_media_meta_no_longer_has_is_metas_error(graph: responses.RequestsMock, client: GraphClient):
    graph.get(
        f"{GRAPH_URL}/{VERSION}/42", json={"error": {"message": "Object does not exist", "code": 100}}, status=400
    )

    with pytest.raises(GraphError) as caught:
        client.media_info("42")

    assert (caught.value.code, caught.value.http_status) == (100, 400)


def test_downloads_send_the_token_only_over_https(graph: responses.RequestsMock, client: GraphClient):
    graph.get("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", body=b"bytes")

    with client.download("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1") as answer:
        assert answer.raw.read() == b"bytes"
    assert graph.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    with pytest.raises(GraphError, match="not HTTPS"):
        client.download("http://lookaside.fbsbx.com/x")
    assert len(graph.calls) == 1  # the plain-HTTP URL was never requested


def test_template_pages_are_asked_for_with_the_fields_the_check_needs(
    graph: responses.RequestsMock, client: GraphClient
):
    graph.get(
        f"{GRAPH_URL}/{VERSION}/102290129340398/message_templates",
        json={
            "data": [{"name": "hello_world", "language": "en_US", "status": "APPROVED", "components": []}],
            "paging": {"cursors": {"before": "A", "after": "B"}, "next": "https://graph.facebook.com/next"},
        },
        match=[
            matchers.query_param_matcher(
                {
                    "limit": "100",
                    "fields": "id,name,language,status,category,parameter_format,components",
                    "name": "hello_world",
                    "after": "A0",
                }
            )
        ],
    )

    page = client.message_templates("102290129340398", name="hello_world", after="A0")

    assert [t.name for t in page.data] == ["hello_world"]
    assert page.after == "B"


def test_an_upload_streams_over_a_real_socket_in_chunks():
    """Outside moto (which reads request bodies whole): urllib3 reads the file in chunks."""
    import io

    from wacloud.local.meta.fake_graph import FakeGraph

    data = bytes(range(256)) * 4096  # 1 MiB

    class Recording:
        def __init__(self) -> None:
            self.stream, self.sizes = io.BytesIO(data), []

        def read(self, size: int = -1) -> bytes:
            chunk = self.stream.read(size)
            self.sizes.append(len(chunk))
            return chunk

        def close(self) -> None:
            self.stream.close()

    fake = FakeGraph(access_token="T").start()
    try:
        file = Recording()
        media_id = GraphClient(base_url=fake.url, api_version=VERSION, token=lambda fresh=False: "T").upload_media(
            PHONE_NUMBER_ID, lambda: file, length=len(data), filename="big.pdf", mime_type="application/pdf"
        )
        assert fake.files[media_id].data == data
        assert max(file.sizes) < len(data) // 4  # many reads, never the whole file at once
    finally:
        fake.stop()


# --- the token source: one refresh per call, in one place -------------------------------------------

TOKEN_EXPIRED = {"error": {"message": "Error validating access token: Session has expired", "code": 190}}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, TOKEN_EXPIRED, id="190"),
        pytest.param(400, {"error": {"message": "AuthException", "code": 0}}, id="0"),
        pytest.param(401, None, id="401-without-a-code"),
    ],
)
def test_a_refused_token_is_read_fresh_once_and_the_call_made_again(
    graph: responses.RequestsMock, client: GraphClient, tokens: Tokens, status: int, error: dict | None
) -> None:
    # GIVEN Graph refuses the cached token, then takes the fresh one
    graph.post(URL, json=error, status=status) if error else graph.post(URL, body="Unauthorized", status=status)
    graph.post(URL, json=SUCCESS, match=[matchers.header_matcher({"Authorization": "Bearer fresh-1"})])

    # WHEN a message is sent
    response = client.send_message(PHONE_NUMBER_ID, BODY)

    # THEN the second request carried the fresh token, and the source was asked once
    assert response.wamid == WAMID
    assert graph.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert tokens.refreshes == 1


def test_a_token_refused_twice_is_graphs_error_after_one_refresh(
    graph: responses.RequestsMock, client: GraphClient, tokens: Tokens
) -> None:
    graph.post(URL, json=TOKEN_EXPIRED, status=401)
    graph.post(URL, json=TOKEN_EXPIRED, status=401)

    with pytest.raises(GraphError) as caught:
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert caught.value.token_refused
    assert (len(graph.calls), tokens.refreshes) == (2, 1)


def test_other_errors_are_not_retried_and_the_token_is_not_refreshed(
    graph: responses.RequestsMock, client: GraphClient, tokens: Tokens
) -> None:
    graph.post(URL, json=META_ERROR, status=400)

    with pytest.raises(GraphError):
        client.send_message(PHONE_NUMBER_ID, BODY)

    assert (len(graph.calls), tokens.refreshes) == (1, 0)


def test_every_kind_of_call_refreshes_the_token(graph: responses.RequestsMock, client: GraphClient, tokens: Tokens):
    import io

    opened: list[int] = []

    def open_file() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(b"%PDF-1.7")

    media_url = f"{GRAPH_URL}/{VERSION}/{PHONE_NUMBER_ID}/media"
    templates_url = f"{GRAPH_URL}/{VERSION}/102290129340398/message_templates"
    for url, method, answer in (
        (media_url, responses.POST, {"id": "42"}),
        (f"{GRAPH_URL}/{VERSION}/42", responses.GET, {"url": "https://lookaside.fbsbx.com/m/42"}),
        ("https://lookaside.fbsbx.com/m/42", responses.GET, {}),
        (templates_url, responses.GET, {"data": []}),
    ):
        graph.add(method, url, json=TOKEN_EXPIRED, status=401)
        graph.add(method, url, json=answer)

    assert (
        client.upload_media(PHONE_NUMBER_ID, open_file, length=8, filename="a.pdf", mime_type="application/pdf") == "42"
    )
    assert client.media_info("42").url == "https://lookaside.fbsbx.com/m/42"
    client.download("https://lookaside.fbsbx.com/m/42").close()
    assert client.message_templates("102290129340398").data == []

    assert tokens.refreshes == 4
    # the upload's body is a stream: the retry opened the file again and sent it whole
    assert len(opened) == 2
    assert b"%PDF-1.7" in graph.calls[1].request.body


def test_no_call_starts_without_the_time_to_finish_it(graph: responses.RequestsMock, client: GraphClient) -> None:
    from wacloud.local.lambda_context import LocalContext
    from wacloud.runtime.deadline import Deadline, NotEnoughTimeError

    almost_over = LocalContext(function_name="sender", timeout_seconds=10)  # 3.05 + 10 + 2 s are needed

    with pytest.raises(NotEnoughTimeError):
        client.send_message(PHONE_NUMBER_ID, BODY, deadline=Deadline(almost_over))

    assert len(graph.calls) == 0


def test_the_callers_checks_run_once_before_a_call_is_made_again_and_never_otherwise(
    graph: responses.RequestsMock, client: GraphClient
) -> None:
    checks: list[str] = []
    graph.post(URL, json=TOKEN_EXPIRED, status=401)
    graph.post(URL, json=SUCCESS)
    graph.post(URL, json=SUCCESS)
    graph.post(URL, json=META_ERROR, status=400)

    client.send_message(PHONE_NUMBER_ID, BODY, before_retry=lambda: checks.append("retry"))  # refused, then taken
    client.send_message(PHONE_NUMBER_ID, BODY, before_retry=lambda: checks.append("again"))  # taken at once
    with pytest.raises(GraphError):
        client.send_message(PHONE_NUMBER_ID, BODY, before_retry=lambda: checks.append("error"))  # not a token error

    assert checks == ["retry"]


def test_a_check_that_refuses_the_second_call_stops_it(graph: responses.RequestsMock, client: GraphClient) -> None:
    from wacloud.runtime.deadline import NotEnoughTimeError

    graph.post(URL, json=TOKEN_EXPIRED, status=401)

    def out_of_time() -> None:
        raise NotEnoughTimeError("no time for a second call")

    with pytest.raises(NotEnoughTimeError):
        client.send_message(PHONE_NUMBER_ID, BODY, before_retry=out_of_time)
    assert len(graph.calls) == 1
