"""Shared fixtures: fake AWS credentials, moto resources built from template.yaml, a Lambda
context, sample events. Nothing here reaches the network or needs real credentials."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from moto import mock_aws

from wacloud.local import moto_fixes
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack, load_template, provision
from wacloud.local.lambda_context import LocalContext
from wacloud.local.meta.fake_graph import FakeGraph
from wacloud.local.pipeline import FUNCTIONS, LOCAL_DEFAULTS
from wacloud.models.events import MessageEvent, StatusEvent
from wacloud.models.outbound import OutboundMessage
from wacloud.runtime import singletons

moto_fixes.apply()  # FIFO groups keep their order when messages time out together, as in SQS
# Module-level Powertools objects (each module's `Metrics()`) read their settings when the module is
# imported, which for a test module's imports is collection time, before any fixture runs.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "WacloudTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
ROOT = Path(__file__).resolve().parents[1]


def _import_functions_under_their_own_names() -> None:
    """Each function's module made under its own service name, as Lambda and the local run make
    them: the `aws` fixture gives every test the sender's environment, and a module imported first
    there would name its logger `sender`. The webhook's lean logger and Powertools' must never
    share one logger (Powertools would take the lean handler as its own)."""
    saved = os.environ.get("POWERTOOLS_SERVICE_NAME")
    for folder in FUNCTIONS.values():
        os.environ["POWERTOOLS_SERVICE_NAME"] = folder
        importlib.import_module(f"functions.{folder}.app")
    if saved is None:
        os.environ.pop("POWERTOOLS_SERVICE_NAME")
    else:
        os.environ["POWERTOOLS_SERVICE_NAME"] = saved


_import_functions_under_their_own_names()
EVENTS = ROOT / "events"
TEMPLATE = load_template(ROOT / "template.yaml")

APP_SECRET = LOCAL_DEFAULTS["app_secret"][1]
VERIFY_TOKEN = LOCAL_DEFAULTS["verify_token"][1]
ACCESS_TOKEN = LOCAL_DEFAULTS["access_token"][1]
PHONE_NUMBER_ID = LOCAL_DEFAULTS["phone_number_id"][1]
SECRET = {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
GRAPH_URL = "https://graph.test"
# One boto3 session for building the moto stacks of every test: a new session reads the service
# models from disk again (about 0.1 s a test). Its clients are mocked by whichever `mock_aws` is active.
SESSION = boto3.Session(region_name=REGION)


class _MadeOnce:
    """SESSION's clients for provisioning, each made once per worker: every test provisions the
    stack in a fresh moto, and making its four clients was a third of that. (moto answers any
    client made after it was imported, inside whichever mock is active.)"""

    def __init__(self, session: boto3.Session) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self._session.client(name)  # type: ignore[call-overload]
        return self._clients[name]


PROVISIONING = _MadeOnce(SESSION)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region for every test; no endpoint override, no real profile."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tests")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "WacloudTests")
    singletons.reset()
    Metrics().clear_metrics()
    yield
    singletons.reset()
    Metrics().clear_metrics()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Moto with the template's queues, tables and secret, and the functions' environment set.

    Visibility timeout 0: a record a function reports as failed can be received again at once.
    """
    with mock_aws():
        stack = provision(
            TEMPLATE,
            session=PROVISIONING,
            parameters={"PhoneNumberId": PHONE_NUMBER_ID},
            secret=SECRET,
            queue_overrides={"VisibilityTimeout": "0"},
        )
        for name, value in stack.environments["SenderFunction"].items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("WACLOUD_GRAPH_BASE_URL", GRAPH_URL)
        singletons.reset()
        yield stack


@pytest.fixture
def fake_graph(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    """The fake Graph API on a localhost port, with the functions pointed at it (real HTTP)."""
    graph = FakeGraph(access_token=ACCESS_TOKEN).start()
    monkeypatch.setenv("WACLOUD_GRAPH_BASE_URL", graph.url)
    singletons.reset()
    try:
        yield graph
    finally:
        graph.stop()


@pytest.fixture
def lambda_context() -> LocalContext:
    return LocalContext(function_name="test-function")


def sqs_batch(*bodies: str, queue: str, group: str = "16505551234") -> dict[str, Any]:
    """An SQS event as Lambda delivers it to a function (`queue`: inbound or outbound), one group."""
    from wacloud.local.pollers import lambda_record

    return {
        "Records": [
            lambda_record(
                {
                    "MessageId": f"m{i}",
                    "ReceiptHandle": f"r{i}",
                    "Body": body,
                    "Attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "1"},
                },
                f"arn:aws:sqs:{REGION}:123456789012:{queue}.fifo",
            )
            for i, body in enumerate(bodies)
        ]
    }


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def queue_bodies(stack: Stack, queue: str) -> list[dict[str, Any]]:
    """Receive (and delete) everything on a queue; return the decoded bodies with their attributes."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = stack.queue_urls[queue]
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            found.append({"body": json.loads(message["Body"]), "attributes": message.get("Attributes", {})})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def customers_wrote(*numbers: str, at: int | None = None) -> None:
    """Record that these customers wrote to the business (opens their 24-hour service window)."""
    import time

    from wacloud.adapters.store import Store

    customers = Store().customers
    for number in numbers:
        customers.upsert(message_event("hi", sender=number.lstrip("+"), timestamp=at or int(time.time())))


def message_event(text: str = "hi", *, sender: str = "16505551234", **kwargs: Any) -> MessageEvent:
    """A customer's text message as the processor gets it (`wamid`, `timestamp`, `name`...: see
    `wacloud.local.meta.webhooks.text_message`)."""
    from wacloud.inbound.parse import parse_webhook
    from wacloud.local.meta.webhooks import text_message

    (event,) = parse_webhook(text_message(text, phone_number_id=PHONE_NUMBER_ID, sender=sender, **kwargs))
    assert isinstance(event, MessageEvent)
    return event


def status_event(
    status: str, timestamp: int, wamid: str = "wamid.OUT", *, recipient: str = "16505551234", **kwargs: Any
) -> StatusEvent:
    """A status webhook of a message the business sent, as the processor gets it."""
    from wacloud.inbound.parse import parse_webhook
    from wacloud.local.meta.webhooks import status_update

    body = status_update(
        wamid, status, phone_number_id=PHONE_NUMBER_ID, recipient=recipient, timestamp=timestamp, **kwargs
    )
    (event,) = parse_webhook(body)
    assert isinstance(event, StatusEvent)
    return event


def outbound_document(key: str = "k1", *, to: str = "+16505551234", **envelope: Any) -> OutboundMessage:
    """A valid outbound text document (`client_reference`, `phone_number_id`... in `envelope`)."""
    return OutboundMessage.model_validate(
        {"idempotency_key": key, **envelope, "message": {"to": to, "type": "text", "text": {"body": "hello"}}}
    )


def rotate_secret(**changes: str) -> None:
    """Write a new version of the app's secret with some values changed (a rotation)."""
    client = boto3.client("secretsmanager", region_name=REGION)
    name = os.environ.get("WACLOUD_SECRET_NAME", "whatsapp/cloud-api")
    current = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    client.put_secret_value(SecretId=name, SecretString=json.dumps({**current, **changes}))


def fresh_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter of this venv, from the project root, with only `env` (and a
    region and PATH): what a cold Lambda environment imports, nothing this test process loaded."""
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"AWS_DEFAULT_REGION": REGION, "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
