"""What each function leaves unimported at cold start, because its common first event never needs
it (each is tens of milliseconds of init): the webhook no store, no typed webhook or event models
(it splits bodies on plain JSON; the processor types them), no outbound models, no HTTP client and
no Powertools at all; the processor no HTTP client (it calls Graph only for media and templates);
the sender none of the inbound webhook models. Neither imports Powertools' parser models: its batch utility imports them
when pydantic is already loaded (about 50 ms), so the batch utility is imported before any model.

And no model of the package is built at import (`defer_build`): each is built by its first
validation, so a cold start builds only the models its first event validates (a nested model
inside its parent's validator, not once more on its own)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, SECRET, fresh_python

NOT_IMPORTED = {
    "webhook": [
        "requests",
        "wacloud.adapters.store",
        "wacloud.models.outbound",
        "wacloud.models.webhook",
        "wacloud.models.events",
        "wacloud.inbound.parse",
        "yaml",
        "aws_lambda_powertools",  # two routes routed by hand, our secret cache, lean logs and metrics
        "asyncio",
        "pydantic",  # settings and credentials are dataclasses
    ],
    "processor": [
        "requests",
        "yaml",
        "aws_lambda_powertools.utilities.parser",
        # Graph's answers and the change models: a template read and a change import them.
        "wacloud.models.graph",
        "wacloud.models.changes",
        "wacloud.models.calls",
        "wacloud.models.groups",
    ],
    "sender": ["wacloud.models.webhook", "wacloud.models.events", "yaml", "aws_lambda_powertools.utilities.parser"],
}
# The End User Messaging Social ingest runs the webhook's code after its own checks: as lean.
NOT_IMPORTED["eum_ingest"] = NOT_IMPORTED["webhook"]
# Module-level constants of these models are made at import (so they are built).
BUILT_AT_IMPORT = {"wacloud.models.records.ErrorInfo"}
BUILT_MODELS = """
import inspect, sys
import pydantic
import functions.{function}.app
ours = ("wacloud.models.", "wacloud.conversation.")
for module in [m for name, m in list(sys.modules.items()) if name.startswith(ours)]:
    for name, value in vars(module).items():
        if inspect.isclass(value) and issubclass(value, pydantic.BaseModel) and value.__module__ == module.__name__:
            if value.__pydantic_complete__:
                print(f"{{module.__name__}}.{{name}}")
"""


@pytest.mark.parametrize("function", sorted(NOT_IMPORTED))
def test_a_cold_start_imports_only_what_the_first_event_needs(function):
    names = NOT_IMPORTED[function]
    result = fresh_python(
        f"import sys\nimport functions.{function}.app\nprint([m for m in {names!r} if m in sys.modules])"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("function", ["processor", "sender"])
def test_a_cold_start_builds_no_model_before_its_first_event(function):
    result = fresh_python(BUILT_MODELS.format(function=function))
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(result.stdout.split()) <= BUILT_AT_IMPORT


def test_modules_that_define_models_leave_annotations_unstringified():
    """`from __future__ import annotations` makes pydantic compile every field's annotation from
    its text when the class is made: a cold start's cost for nothing."""
    layer = ROOT / "layers" / "wacloud" / "wacloud"
    modules = [*(layer / "models").glob("*.py"), layer / "conversation" / "rules.py"]
    stringified = [
        path.name
        for path in modules
        if "BaseModel" in (text := path.read_text()) and "from __future__ import annotations" in text
    ]
    assert stringified == []


FIRST_POST = """
import gc, hashlib, hmac, json, sys
from moto import mock_aws
with mock_aws():
    import boto3
    boto3.client("secretsmanager").create_secret(Name="whatsapp/cloud-api", SecretString=json.dumps({secret!r}))
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="in.fifo", Attributes={{"FifoQueue": "true"}})["QueueUrl"]
    import os
    os.environ["WACLOUD_INBOUND_QUEUE_URL"] = url
    frozen = gc.get_freeze_count()
    import functions.webhook.app as app
    frozen = gc.get_freeze_count() - frozen
    from wacloud.local.front_door import proxy_event
    from wacloud.local.lambda_context import LocalContext
    from wacloud.local.meta.webhooks import text_message
    body = json.dumps(text_message("hello", phone_number_id="123456789", sender="16505551234")).encode()
    signature = "sha256=" + hmac.new({app_secret!r}.encode(), body, hashlib.sha256).hexdigest()
    event = proxy_event("POST", "/webhook", {{"x-hub-signature-256": signature}}, body, "173.252.95.1")
    answer = app.lambda_handler(event, LocalContext(function_name="webhook-fn"))
    powertools = [m for m in sys.modules if "powertools" in m]
    heavy = [m for m in ("pydantic", "wacloud.adapters.store") if m in sys.modules]
    print(json.dumps({{"status": answer["statusCode"], "powertools": powertools + heavy, "frozen": frozen > 10000}}))
"""


def test_the_webhook_serves_its_first_post_without_powertools_and_logs_and_counts_as_it_would():
    """Its lean logger and metrics write what Powertools' would: a JSON line with the invocation's
    keys, the events' EMF line and the cold start's."""
    code = FIRST_POST.format(secret=SECRET, app_secret=SECRET["app_secret"])
    result = fresh_python(
        code,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        POWERTOOLS_SERVICE_NAME="webhook",
        POWERTOOLS_METRICS_NAMESPACE="Wacloud",
        WACLOUD_PHONE_NUMBER_ID="123456789",  # the number the registry serves when it stores none
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    # Its imports frozen out of the collector's sight: a full collection during the first request
    # would scan them all (about 20 ms of the cold start).
    assert lines[-1] == {"status": 200, "powertools": [], "frozen": True}
    log = next(line for line in lines if line.get("message") == "Webhook events queued")
    assert log["level"] == "INFO" and log["service"] == "webhook" and log["cold_start"] is True
    assert log["function_name"] == "webhook-fn" and log["events"] == {"message": 1}
    emf = {name: line for line in lines if "_aws" in line for name in line if name[0].isupper()}
    assert emf["ColdStart"]["function_name"] == "webhook-fn"
    assert emf["WebhookEventsQueued"]["WebhookEventsQueued"] == [1.0]
    assert emf["WebhookEventsQueued"]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Wacloud"


FIRST_SNS = """
import json, sys
from moto import mock_aws
with mock_aws():
    import boto3, os
    topic = boto3.client("sns").create_topic(Name="eum")["TopicArn"]
    url = boto3.client("sqs").create_queue(QueueName="in.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    os.environ.update(WACLOUD_INBOUND_QUEUE_URL=url, WACLOUD_EUM_TOPIC_ARNS=topic)
    import functions.eum_ingest.app as app
    from wacloud.local.lambda_context import LocalContext
    from wacloud.local.meta.webhooks import text_message
    entry = text_message("hello", phone_number_id="123456789", sender="16505551234")["entry"][0]
    message = {"whatsAppWebhookEntry": json.dumps(entry), "aws_account_id": "123456789012", "context": {}}
    event = {"Records": [{"Sns": {"MessageId": "m1", "TopicArn": topic, "Message": json.dumps(message)}}]}
    answer = app.lambda_handler(event, LocalContext(function_name="eum-fn"))
    heavy = [m for m in sys.modules if "powertools" in m or m in ("pydantic", "wacloud.adapters.store")]
    print(json.dumps({"answer": answer, "heavy": heavy}))
"""


def test_the_eum_ingest_queues_its_first_event_as_lean_as_the_webhook():
    result = fresh_python(
        FIRST_SNS,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        POWERTOOLS_SERVICE_NAME="eum_ingest",
        POWERTOOLS_METRICS_NAMESPACE="Wacloud",
        WACLOUD_PHONE_NUMBER_ID="123456789",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1] == {"answer": {"records": 1, "events": 1, "refused": 0}, "heavy": []}
    emf = {name: line for line in lines if "_aws" in line for name in line if name[0].isupper()}
    assert emf["EumEventsQueued"]["EumEventsQueued"] == [1.0]
