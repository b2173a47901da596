"""The webhook function: subscription check, signature check, split and queue, every error answer."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, load_event, queue_bodies, rotate_secret
from wacloud.adapters.store import Store
from wacloud.inbound.refusals import UNSERVED
from wacloud.inbound.signature import sign
from wacloud.inbound.split import split_webhook
from wacloud.local.account import REGION
from wacloud.local.front_door import proxy_event
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.models.keys import digest
from wacloud.runtime import singletons

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def webhook(monkeypatch):
    # Imported as Lambda imports it, under its own service name: its lean logger takes the logger of
    # that name, which must not be another function's (the `aws` fixture's environment is the
    # sender's) when the tests later run the whole pipeline in this process.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "webhook")
    from functions.webhook import app

    return app


def post(body: bytes, signature: str | None = "sign", *, path: str = "/webhook") -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body, APP_SECRET)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return proxy_event("POST", path, headers, body, "173.252.95.1")


def get(query: str, *, path: str = "/webhook") -> dict[str, Any]:
    return proxy_event("GET", f"{path}?{query}", {}, b"", "173.252.95.1")


def test_subscription_check_echoes_the_challenge_as_plain_text(webhook, lambda_context):
    response = webhook.lambda_handler(load_event("webhook-get-verify.json"), lambda_context)
    assert response["statusCode"] == 200
    assert response["body"] == "1158201444"
    # `headers`, not `multiValueHeaders`: the one form both REST (1.0) and HTTP APIs (2.0) take.
    assert response["headers"]["Content-Type"] == "text/plain"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", 403, id="wrong-token"),
        pytest.param(f"hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1", 403, id="wrong-mode"),
        pytest.param("hub.mode=subscribe&hub.challenge=1", 400, id="no-token"),
        pytest.param("", 400, id="no-parameters"),
    ],
)
def test_subscription_check_refuses(webhook, lambda_context, query, status):
    response = webhook.lambda_handler(get(query), lambda_context)
    assert response["statusCode"] == status
    assert response["body"] != "1"


@pytest.mark.parametrize(
    "challenge", ["%3Cscript%3Ealert(1)%3C%2Fscript%3E", "abc", ""], ids=["markup", "letters", "empty"]
)
def test_a_challenge_that_is_not_digits_is_refused_with_the_reason_and_not_echoed(webhook, lambda_context, challenge):
    query = f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge={challenge}"
    response = webhook.lambda_handler(get(query), lambda_context)
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": "hub.challenge must be 1 to 64 digits, as Meta sends it"}


def test_a_wrong_token_is_still_403_whatever_the_challenge(webhook, lambda_context):
    query = "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=abc"
    response = webhook.lambda_handler(get(query), lambda_context)
    assert (response["statusCode"], json.loads(response["body"])) == (403, {"error": "forbidden"})


def test_signed_text_message_is_queued_once_per_event(webhook, lambda_context, aws):
    # GIVEN Meta's signed POST of one text message
    event = load_event("webhook-post-text.json")
    # WHEN the webhook handles it
    response = webhook.lambda_handler(event, lambda_context)
    # THEN it answers 200 and the message event is on the inbound queue, grouped by customer
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"ok": True, "events": 1}
    queued = queue_bodies(aws, "InboundQueue")
    assert [q["body"]["kind"] for q in queued] == ["message"]
    assert queued[0]["body"]["message"]["text"]["body"] == "Hi, is my order on its way?"
    assert queued[0]["attributes"]["MessageGroupId"] == "16505551234"


def test_base64_body_is_hashed_after_decoding(webhook, lambda_context, aws):
    body = json.dumps(
        text_message("Olá, tudo bem? 👋", phone_number_id=PHONE_NUMBER_ID, sender="5511999999999")
    ).encode()
    event = post(body)
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 200
    assert queue_bodies(aws, "InboundQueue")[0]["body"]["message"]["text"]["body"] == "Olá, tudo bem? 👋"


def test_batched_body_queues_every_message_and_status(webhook, lambda_context, aws):
    first = text_message("one", phone_number_id=PHONE_NUMBER_ID, sender="111111")
    second = text_message("two", phone_number_id=PHONE_NUMBER_ID, sender="222222")
    status = status_update("wamid.X", "read", phone_number_id=PHONE_NUMBER_ID, recipient="333333")
    body = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"] + status["entry"]}
    response = webhook.lambda_handler(post(json.dumps(body).encode()), lambda_context)
    assert json.loads(response["body"])["events"] == 3
    kinds = sorted(q["body"]["kind"] for q in queue_bodies(aws, "InboundQueue"))
    assert kinds == ["message", "message", "status"]


def test_same_body_posted_twice_is_queued_once(webhook, lambda_context, aws):
    event = load_event("webhook-post-text.json")
    webhook.lambda_handler(event, lambda_context)
    webhook.lambda_handler(event, lambda_context)
    assert len(queue_bodies(aws, "InboundQueue")) == 1


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        pytest.param(None, 401, id="missing"),
        pytest.param("md5=abc", 401, id="not-sha256"),
        pytest.param("sha256=" + "0" * 64, 403, id="wrong"),
        pytest.param(sign(b"other body", APP_SECRET), 403, id="other-body"),
        pytest.param(sign(b'{"entry":[]}', "not-the-app-secret"), 403, id="other-secret"),
    ],
)
def test_bad_signature_is_refused_and_nothing_is_queued(webhook, lambda_context, aws, signature, status):
    body = json.dumps(text_message("hi", phone_number_id=PHONE_NUMBER_ID)).encode()
    response = webhook.lambda_handler(post(body, signature), lambda_context)
    assert response["statusCode"] == status
    assert json.loads(response["body"]) == {"error": "invalid signature"}
    assert queue_bodies(aws, "InboundQueue") == []


def test_a_reset_app_secret_is_picked_up_at_the_first_mismatch_but_forgeries_cost_no_extra_reads(
    webhook, lambda_context, aws, monkeypatch
):
    from wacloud.adapters.credentials import secrets_provider

    reads = []
    provider = secrets_provider()
    real = provider.get
    monkeypatch.setattr(provider, "get", lambda *a, **k: reads.append(k.get("force_fetch")) or real(*a, **k))
    body = json.dumps(text_message("hi", phone_number_id=PHONE_NUMBER_ID)).encode()
    assert webhook.lambda_handler(post(body), lambda_context)["statusCode"] == 200  # the secret is cached
    # GIVEN the app secret was reset in Meta and in the secret
    rotate_secret(app_secret="new-app-secret")

    # WHEN Meta signs with the new secret: the mismatch re-reads the secret and the body is accepted
    fresh = json.dumps(text_message("after reset", phone_number_id=PHONE_NUMBER_ID)).encode()
    assert webhook.lambda_handler(post(fresh, sign(fresh, "new-app-secret")), lambda_context)["statusCode"] == 200
    # AND forged requests right after are refused without reading the secret again
    for _ in range(5):
        forged = webhook.lambda_handler(post(body, "sha256=" + "0" * 64), lambda_context)
        assert forged["statusCode"] == 403

    assert reads.count(True) == 1
    assert len(queue_bodies(aws, "InboundQueue")) == 2


def test_tampered_body_is_refused(webhook, lambda_context, aws):
    event = load_event("webhook-post-text.json")
    event["body"] = event["body"].replace("order", "ORDER")
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 403
    assert queue_bodies(aws, "InboundQueue") == []


def test_signed_but_malformed_json_is_kept_and_acknowledged(webhook, lambda_context, aws):
    # Meta would retry a non-200 for days; a signed body is kept for a human instead.
    response = webhook.lambda_handler(post(b'{"entry": [ not json'), lambda_context)
    assert response["statusCode"] == 200
    (queued,) = queue_bodies(aws, "InboundQueue")
    assert queued["body"]["kind"] == "unparsed"
    assert queued["body"]["raw"] == '{"entry": [ not json'
    assert "not JSON" in queued["body"]["reason"]


def test_unknown_message_type_is_queued_with_its_data(webhook, lambda_context, aws):
    body = text_message("x", phone_number_id=PHONE_NUMBER_ID)
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message.update(type="poll_creation", poll_creation={"question": "Lunch?", "options": ["Yes", "No"]})
    assert webhook.lambda_handler(post(json.dumps(body).encode()), lambda_context)["statusCode"] == 200
    (queued,) = queue_bodies(aws, "InboundQueue")
    assert queued["body"]["message"]["type"] == "poll_creation"
    assert queued["body"]["message"]["poll_creation"] == {"question": "Lunch?", "options": ["Yes", "No"]}


def test_oversized_body_is_refused_before_anything_else(webhook, lambda_context, aws, monkeypatch):
    monkeypatch.setenv("WACLOUD_MAX_WEBHOOK_BYTES", "1000")
    from wacloud.runtime import singletons

    singletons.reset()
    from wacloud.adapters.credentials import secrets_provider

    monkeypatch.setattr(secrets_provider(), "get", lambda *a, **k: pytest.fail("the secret was read"))
    # A wrong signature: if the signature were checked first, the answer would be 403.
    response = webhook.lambda_handler(post(b"x" * 1001, "sha256=" + "0" * 64), lambda_context)
    assert response["statusCode"] == 413
    assert queue_bodies(aws, "InboundQueue") == []


def test_queue_failure_answers_503_so_meta_retries(webhook, lambda_context, aws, monkeypatch):
    from wacloud.adapters import queues

    def refuse(*args, **kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessageBatch")

    monkeypatch.setattr(queues._sqs_client(), "send_message_batch", refuse)
    response = webhook.lambda_handler(load_event("webhook-post-text.json"), lambda_context)
    assert response["statusCode"] == 503
    assert "down" not in response["body"]


def test_secret_unavailable_answers_503(webhook, lambda_context, monkeypatch):
    monkeypatch.setenv("WACLOUD_SECRET_NAME", "no/such/secret")
    from wacloud.runtime import singletons

    singletons.reset()
    assert webhook.lambda_handler(load_event("webhook-post-text.json"), lambda_context)["statusCode"] == 503


def test_unexpected_error_answers_500_without_internals(webhook, lambda_context, monkeypatch):
    from wacloud.inbound import webhook as ingest

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ingest, "split_webhook", explode)
    response = webhook.lambda_handler(load_event("webhook-post-text.json"), lambda_context)
    assert response["statusCode"] == 500
    assert "internals" not in response["body"]


def test_other_paths_are_not_routed(webhook, lambda_context):
    event = proxy_event("GET", "/other", {}, b"", "1.2.3.4")
    assert webhook.lambda_handler(event, lambda_context)["statusCode"] == 404


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_not_allowed(webhook, lambda_context, method):
    response = webhook.lambda_handler(proxy_event(method, "/webhook", {}, b"", "1.2.3.4"), lambda_context)
    assert (response["statusCode"], json.loads(response["body"])) == (405, {"error": "method not allowed"})


def http_api_event(method: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What an HTTP API (payload format 2.0) hands the function: lowercased headers, `rawPath`."""
    params = dict(pair.split("=", 1) for pair in query.split("&")) if query else None
    return {
        "version": "2.0",
        "routeKey": f"{method} /webhook",
        "rawPath": "/webhook",
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "queryStringParameters": params,
        "requestContext": {"http": {"method": method, "path": "/webhook", "sourceIp": "173.252.95.1"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def test_an_http_api_event_is_answered_too(webhook, lambda_context, aws):
    # The payload format of API Gateway's HTTP APIs (issue 19 moves the stack to one).
    query = f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42"
    assert webhook.lambda_handler(http_api_event("GET", query, {}, b""), lambda_context)["body"] == "42"
    body = json.dumps(text_message("hello", phone_number_id=PHONE_NUMBER_ID, sender="111")).encode()
    signed = http_api_event("POST", "", {"X-Hub-Signature-256": sign(body, APP_SECRET)}, body)
    response = webhook.lambda_handler(signed, lambda_context)
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"ok": True, "events": 1})
    assert len(queue_bodies(aws, "InboundQueue")) == 1


def test_text_that_sqs_or_dynamodb_would_refuse_still_travels(webhook, lambda_context, aws):
    # A lone surrogate (invalid in UTF-8) and U+FFFF (outside SQS's character set) in a customer's text.
    body = json.dumps(text_message("a\ud83db \uffff ok", phone_number_id=PHONE_NUMBER_ID, sender="111")).encode()
    assert webhook.lambda_handler(post(body), lambda_context)["statusCode"] == 200
    (queued,) = queue_bodies(aws, "InboundQueue")
    assert queued["body"]["message"]["text"]["body"] == "a\ufffdb \uffff ok"


def test_an_event_too_large_for_one_queue_message_is_kept_as_unparsed(webhook, lambda_context, aws):
    body = {"entry": [{"id": "W", "changes": [{"field": "history", "value": {"blob": "y" * 300_000}}]}]}
    response = webhook.lambda_handler(post(json.dumps(body).encode()), lambda_context)
    assert response["statusCode"] == 200
    (queued,) = queue_bodies(aws, "InboundQueue")
    assert queued["body"]["kind"] == "unparsed"
    assert "too large to queue" in queued["body"]["reason"]


# A second Meta app: its own secret (<SecretName>/<app>), its own number, its own webhook path.
SALES_NUMBER = "200000000000001"
SALES_SECRET = {"app_secret": f"sales-{APP_SECRET}", "verify_token": f"sales-{VERIFY_TOKEN}"}


@pytest.fixture
def sales(aws) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="whatsapp/cloud-api/sales", SecretString=json.dumps(SALES_SECRET))
    entry = {"phone_number_id": SALES_NUMBER, "app": "sales", "secret_name": "whatsapp/cloud-api/sales"}
    registry = {"version": 1, "numbers": {SALES_NUMBER: entry}}
    secrets.create_secret(Name="whatsapp/cloud-api/numbers", SecretString=json.dumps(registry))
    singletons.reset()


def emitted(output: str) -> dict[str, list[float]]:
    """The counts of the EMF lines a handler printed."""
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return {name: values for line in lines if "_aws" in line for name, values in line.items() if name[0].isupper()}


def test_each_app_is_verified_with_its_own_app_secret_on_its_own_path(webhook, lambda_context, aws, sales):
    body = json.dumps(text_message("hi sales", phone_number_id=SALES_NUMBER)).encode()
    signed = sign(body, SALES_SECRET["app_secret"])

    answer = webhook.lambda_handler(post(body, signed, path="/webhook/sales"), lambda_context)
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"ok": True, "events": 1})
    # The default app's secret does not sign for another app, nor the other app's for the default.
    assert webhook.lambda_handler(post(body, path="/webhook/sales"), lambda_context)["statusCode"] == 403
    assert webhook.lambda_handler(post(body, signed), lambda_context)["statusCode"] == 403
    assert [q["body"]["message"]["text"]["body"] for q in queue_bodies(aws, "InboundQueue")] == ["hi sales"]


def test_each_app_answers_the_subscription_check_with_its_own_verify_token(webhook, lambda_context, sales):
    token = SALES_SECRET["verify_token"]
    answer = webhook.lambda_handler(
        get(f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge=7", path="/webhook/sales"), lambda_context
    )
    assert (answer["statusCode"], answer["body"]) == (200, "7")
    default_token = f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=7"
    assert webhook.lambda_handler(get(default_token, path="/webhook/sales"), lambda_context)["statusCode"] == 403
    sales_token = f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge=7"
    assert webhook.lambda_handler(get(sales_token), lambda_context)["statusCode"] == 403


@pytest.mark.parametrize("path", ["/webhook/nobody", "/webhook/" + "x" * 49, "/webhook/a/b"])
def test_an_app_no_number_belongs_to_is_not_found(webhook, lambda_context, aws, sales, path):
    body = json.dumps(text_message("hi", phone_number_id=PHONE_NUMBER_ID)).encode()
    for event in (
        post(body, path=path),
        get(f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1", path=path),
    ):
        answer = webhook.lambda_handler(event, lambda_context)
        assert (answer["statusCode"], json.loads(answer["body"])) == (404, {"error": "not found"})
    assert queue_bodies(aws, "InboundQueue") == []


def test_a_number_of_another_app_is_refused_though_signed(webhook, lambda_context, aws, sales):
    # One app's leaked secret cannot inject another app's numbers.
    body = text_message("sneaky", phone_number_id=SALES_NUMBER)
    answer = webhook.lambda_handler(post(json.dumps(body).encode()), lambda_context)
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"ok": True, "events": 0, "refused": 1})
    assert queue_bodies(aws, "InboundQueue") == []
    (event,) = split_webhook(body)
    record = Store().rejections.get(UNSERVED, digest(event.key))
    assert record is not None
    assert record.reason == (
        f"phone number id {SALES_NUMBER} belongs to app 'sales', not 'default' (webhook of app 'default')"
    )


def test_a_signed_body_for_an_unserved_number_is_answered_200_recorded_counted_and_not_queued(
    webhook, lambda_context, aws, capsys
):
    unserved = text_message("who?", phone_number_id="555000111")
    served = text_message("hello", phone_number_id=PHONE_NUMBER_ID)
    body = {"object": "whatsapp_business_account", "entry": unserved["entry"] + served["entry"]}

    answer = webhook.lambda_handler(post(json.dumps(body).encode()), lambda_context)

    # Answered 200 (Meta would retry anything else for a week), the served event alone queued
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"ok": True, "events": 1, "refused": 1})
    assert [q["body"]["message"]["text"]["body"] for q in queue_bodies(aws, "InboundQueue")] == ["hello"]
    # the other recorded with the reason and the event, and counted
    (event, _) = split_webhook(body)
    record = Store().rejections.get(UNSERVED, digest(event.key))
    assert record is not None
    assert record.reason == "phone number id 555000111 is not served by this stack (webhook of app 'default')"
    assert "who?" in (record.raw or "")
    counts = emitted(capsys.readouterr().out)
    assert counts["WebhookEventRefused"] == [1.0] and counts["WebhookEventsQueued"] == [1.0]


def test_a_refusal_that_cannot_be_recorded_answers_503_so_meta_retries(webhook, lambda_context, aws, monkeypatch):
    from wacloud.adapters.store import StoreError, get_store

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise StoreError("PutItem failed: throttled")

    monkeypatch.setattr(get_store().rejections, "record", refuse)
    body = json.dumps(text_message("who?", phone_number_id="555000111")).encode()
    assert webhook.lambda_handler(post(body), lambda_context)["statusCode"] == 503


def test_an_app_added_while_the_environment_is_warm_is_served_at_once(webhook, lambda_context, aws):
    # Warm: the default app's traffic has cached the registry (none yet) and its credentials.
    verify = f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"
    assert webhook.lambda_handler(get(verify), lambda_context)["statusCode"] == 200

    # `wacloud numbers add --app sales` in another process, then Meta's check and first POST.
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="whatsapp/cloud-api/sales", SecretString=json.dumps(SALES_SECRET))
    entry = {"phone_number_id": SALES_NUMBER, "app": "sales", "secret_name": "whatsapp/cloud-api/sales"}
    registry = {"version": 1, "numbers": {SALES_NUMBER: entry}}
    secrets.create_secret(Name="whatsapp/cloud-api/numbers", SecretString=json.dumps(registry))

    token = SALES_SECRET["verify_token"]
    answer = webhook.lambda_handler(
        get(f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge=7", path="/webhook/sales"), lambda_context
    )
    assert (answer["statusCode"], answer["body"]) == (200, "7")
    body = json.dumps(text_message("hi sales", phone_number_id=SALES_NUMBER)).encode()
    signed = sign(body, SALES_SECRET["app_secret"])
    assert webhook.lambda_handler(post(body, signed, path="/webhook/sales"), lambda_context)["statusCode"] == 200
    assert [q["body"]["message"]["text"]["body"] for q in queue_bodies(aws, "InboundQueue")] == ["hi sales"]


def test_two_wabas_identical_template_updates_are_two_events(webhook, lambda_context, aws):
    # A template update's value names no account: the WABA (the entry's id) in its key keeps the
    # second account's from being dropped as the first's duplicate.
    change = {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 7}}
    entries = [{"id": waba, "changes": [change]} for waba in ("200000000000001", "200000000000002")]
    body = json.dumps({"object": "whatsapp_business_account", "entry": entries}).encode()

    for _ in range(2):  # Meta delivering it again changes nothing
        answer = webhook.lambda_handler(post(body), lambda_context)
        assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"ok": True, "events": 2})

    queued = queue_bodies(aws, "InboundQueue")
    assert [q["body"]["waba_id"] for q in queued] == ["200000000000001", "200000000000002"]
    assert len({q["attributes"]["MessageDeduplicationId"] for q in queued}) == 2
