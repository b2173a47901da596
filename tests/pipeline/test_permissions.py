"""Every AWS call each function makes in the pipeline is one its role in template.yaml allows.

moto does not enforce IAM, so a new call (say a BatchGetItem where there was a GetItem) would pass
every other test here and fail only in a deployed stack. This test records, per function, each API
call as the IAM action and resource it needs, and checks it against the role's statements.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.client
import pytest
import requests

from tests.project.test_template import granted
from wacloud.local.meta.webhooks import media_message, status_update, text_message
from wacloud.local.pipeline import LocalPipeline

CUSTOMER = "16505551234"
# API operations whose IAM action has another name.
ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:CreateMultipartUpload": "s3:PutObject",
    "s3:UploadPart": "s3:PutObject",
    "s3:CompleteMultipartUpload": "s3:PutObject",
}
# botocore's service names whose IAM prefix differs.
IAM_PREFIX = {"socialmessaging": "social-messaging"}


def secret(name: str, stack_secret: str) -> str:
    """A secret as `granted` names its ARN pattern: the stack's own, the registry, or one under it."""
    if name == stack_secret:
        return "secret"
    if name == f"{stack_secret}/numbers":
        return "secret/numbers"
    return "secret/*" if name.startswith(f"{stack_secret}/") else f"secret {name}"


def needed(pipeline: LocalPipeline, service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, resource) pairs an API call needs, named as `granted` names them."""
    stack = pipeline.stack
    tables = {name: logical for logical, name in stack.table_names.items()}
    queues = {url.rsplit("/", 1)[-1]: logical for logical, url in stack.queue_urls.items()}  # by name: hosts vary
    if operation == "TransactWriteItems":  # authorized item by item, as the actions inside it
        return [
            (f"dynamodb:{kind}Item", tables[item[kind]["TableName"]])
            for item in params["TransactItems"]
            for kind in ("Update", "Put", "Delete")
            if kind in item
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", tables[name]) for name in params["RequestItems"]]
    prefix = IAM_PREFIX.get(service, service)
    action = ACTION_OF.get(f"{prefix}:{operation}", f"{prefix}:{operation}")
    resource_of = {
        "dynamodb": lambda: tables[params["TableName"]],
        "sqs": lambda: queues[params["QueueUrl"].rsplit("/", 1)[-1]],
        "secretsmanager": lambda: secret(params["SecretId"], stack.parameters["SecretName"]),
        "s3": lambda: "MediaBucket" if action == "s3:ListBucket" else f"${{MediaBucket.Arn}}/{params['Key']}",
        # Every EUM call names the number it acts for (AWS's id or its ARN): phone-number-id/*.
        "socialmessaging": lambda: "phone-number-id/*",
    }
    if service not in resource_of:
        raise AssertionError(f"no IAM mapping for {service}:{operation}")
    return [(action, resource_of[service]())]


def allows(grants: set[tuple[str, str]], action: str, resource: str) -> bool:
    """Whether a grant covers the pair (an object ARN pattern ending in `*` covers what it prefixes)."""
    return any(
        action == granted_action
        and (resource == pattern or (pattern.endswith("*") and resource.startswith(pattern[:-1])))
        for granted_action, pattern in grants
    )


@pytest.fixture
def calls(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str, dict]]]:
    """(function, service, operation, params) of every AWS call made while a function runs."""
    recorded: list[tuple[str, str, str, dict]] = []
    running: list[str] = []
    original_invoke, original_call = pipeline.invoke, botocore.client.BaseClient._make_api_call

    def invoke(logical_id: str, event: dict[str, Any]) -> Any:
        running.append(logical_id)
        try:
            return original_invoke(logical_id, event)
        finally:
            running.pop()

    def call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if running:
            recorded.append((running[-1], self.meta.service_model.service_name, operation, params))
        return original_call(self, operation, params)

    monkeypatch.setattr(pipeline, "invoke", invoke)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    yield recorded


def test_every_call_of_every_function_is_allowed_by_its_role(pipeline, calls):
    # GIVEN a conversation that touches every path: a text and a photo in, replies, read
    # receipts and statuses out, a document from the media bucket, a send through the API
    pipeline.customer_says("Where is my order?", sender=CUSTOMER, name="Ana")
    photo = b"\xff\xd8\xff\xe0" + b"photo" * 200
    media_id = pipeline.graph.add_media(photo, "image/jpeg")
    sha = base64.b64encode(hashlib.sha256(photo).digest()).decode()
    pipeline.post_webhook(
        media_message(
            "image",
            media_id,
            phone_number_id=pipeline.phone_number_id,
            mime_type="image/jpeg",
            sha256=sha,
            sender=CUSTOMER,
        )
    )
    pipeline.drain()
    bucket = pipeline.stack.bucket_names["MediaBucket"]
    boto3.client("s3").put_object(Bucket=bucket, Key="outbound/a.pdf", Body=b"%PDF-1.7", ContentType="application/pdf")
    pipeline.send_outbound(
        {
            "idempotency_key": "doc-1",
            "message": {"to": f"+{CUSTOMER}", "type": "document", "document": {"s3_key": "outbound/a.pdf"}},
        }
    )
    answer = requests.post(
        pipeline.outputs()["WebhookUrl"].replace("/webhook", "/messages"),
        json={"idempotency_key": "api-1", "message": {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "hi"}}},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    pipeline.drain()
    sent = pipeline.graph.messages()[-1]
    requests.get(pipeline.outputs()["WebhookUrl"].replace("/webhook", "/messages/api-1"), timeout=10)
    pipeline.post_webhook(
        status_update(sent.wamid, "delivered", phone_number_id=pipeline.phone_number_id, recipient=CUSTOMER)
    )
    pipeline.drain()
    # AND a signed webhook for a number the stack does not serve (recorded as a rejection, not queued)
    pipeline.post_webhook(text_message("who?", phone_number_id="555000111", sender=CUSTOMER))
    # AND a customer of the number on End User Messaging Social (its events through SNS, its replies
    # through SendWhatsAppMessage)
    eum = pipeline.eum_number.phone_number_id
    pipeline.customer_says("Hola", sender="5511999999999", phone_number_id=eum)
    eum_photo = pipeline.graph.add_media(photo, "image/jpeg")
    pipeline.deliver(
        media_message(
            "image", eum_photo, phone_number_id=eum, mime_type="image/jpeg", sha256=sha, sender="5511999999999"
        )
    )
    pipeline.drain()  # their window with that number is open before a document goes to them
    pipeline.send_outbound(
        {
            "idempotency_key": "doc-eum",
            "phone_number_id": eum,
            "message": {"to": "+5511999999999", "type": "document", "document": {"s3_key": "outbound/a.pdf"}},
        }
    )
    pipeline.drain()

    # THEN every function ran, and each call it made is one its role allows
    assert {function for function, *_ in calls} == {
        "WebhookFunction",
        "ProcessorFunction",
        "SenderFunction",
        "ApiFunction",
        "EumIngestFunction",
    }
    # Both transports were exercised: the EUM number's reply and photo went through the service's API.
    made = {call[:3] for call in calls}
    assert ("SenderFunction", "socialmessaging", "SendWhatsAppMessage") in made
    assert ("SenderFunction", "socialmessaging", "PostWhatsAppMessageMedia") in made
    assert ("ProcessorFunction", "socialmessaging", "GetWhatsAppMessageMedia") in made
    refused = set()
    for function, service, operation, params in calls:
        grants = granted(function)
        for action, resource in needed(pipeline, service, operation, params):
            if not allows(grants, action, resource):
                refused.add((function, action, resource))
    assert refused == set()
    # The webhook may write rejection items only (its grant's condition, which moto does not check).
    writes = [
        params["Item"]["pk"]["S"]
        for function, _, operation, params in calls
        if function == "WebhookFunction" and operation == "PutItem"
    ]
    assert writes and all(pk.startswith("REJECT#") for pk in writes)
