"""How the simulated Meta's webhooks reach the local pipeline, per business number: a Cloud API
number's signed and POSTed to the front door's /webhook, as Meta delivers them; an End User Messaging
Social number's wrapped in AWS's envelope and published on the stack's EUM topic, which delivers to a
standard queue the EUM poller drains (moto's SNS reaches Lambda only through Docker).

Also the local registry of numbers (`<SecretName>/numbers`), which names the EUM numbers: the
default number is the stack's parameters' implicit entry unless `default_transport` moves it to EUM.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from wacloud.adapters.registry import registry_secret_name
from wacloud.inbound.signature import sign
from wacloud.local.account import REGION
from wacloud.local.meta.business_numbers import EUM, BusinessNumber, number_in, sns_messages
from wacloud.local.pollers import Invoke, PollResult, QueuePoller, SnsInvoker

REGISTRY_VERSION = 1


def post_signed(
    base_url: str, body: dict[str, Any] | bytes, app_secret: str, *, signature: str | None = "sign"
) -> tuple[int, str]:
    """POST a webhook body as Meta would; `signature=None` sends none, any other string is sent as is."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(data, app_secret)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    request = urllib.request.Request(f"{base_url}/webhook", data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (localhost only)
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


@dataclass
class EumTopic:
    """The stack's EUM topic and the standard queue subscribed to it (raw delivery off: SNS's envelope)."""

    topic_arn: str
    queue_url: str
    queue_arn: str
    subscription_arn: str

    def poller(self, sqs: Any, invoke: Invoke, *, on_batch: Callable[[str, PollResult], None]) -> QueuePoller:
        """The poller standing in for the topic's Lambda subscription (`invoke`: the EUM ingest)."""
        return QueuePoller(
            name="eum-ingest",
            sqs=sqs,
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            invoke=SnsInvoker(invoke, self.subscription_arn),
            on_batch=on_batch,
        )


def subscribe_queue(
    *, sqs: Any, sns: Any, topic_arn: str, name: str, visibility_timeout: int, dead_letter_arn: str | None
) -> EumTopic:
    """A standard queue on the topic. Three receives stand for Lambda's invocation and its two
    asynchronous retries; then the notification goes where the function's on-failure destination is."""
    attributes = {"VisibilityTimeout": str(visibility_timeout)}
    if dead_letter_arn:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 3})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
    return EumTopic(topic_arn, url, arn, subscription["SubscriptionArn"])


class Deliveries:
    """`deliver(body)`: the simulator's webhooks, each the way its number is reached."""

    def __init__(
        self, numbers: list[BusinessNumber], *, app_secret: str, echo: Callable[[str], None] = lambda line: None
    ) -> None:
        self.numbers = {n.phone_number_id: n for n in numbers}
        self.app_secret = app_secret
        self.echo = echo
        self.webhook_base = ""  # the front door, once open
        self.sns: Any = None
        self.topic_arn = ""

    def deliver(self, body: dict[str, Any]) -> tuple[int, str]:
        number = self.numbers.get(number_in(body) or "")
        if number is not None and number.transport == EUM:
            return self.publish(number, body)
        return self.post(body)

    def post(self, body: dict[str, Any] | bytes, *, signature: str | None = "sign") -> tuple[int, str]:
        return post_signed(self.webhook_base, body, self.app_secret, signature=signature)

    def publish(self, number: BusinessNumber, body: dict[str, Any]) -> tuple[int, str]:
        """Publish the body's entries as End User Messaging Social would for `number`: (200, the SNS
        message ids), or (503, why) when the local run has no EUM topic."""
        if self.sns is None or not self.topic_arn:
            return 503, "this local run has no End User Messaging Social topic (EumEventTopic)"
        ids = [self.sns.publish(TopicArn=self.topic_arn, Message=m)["MessageId"] for m in sns_messages(body, number)]
        self.echo(f"  [sns]       published {len(ids)} event(s) for {number.label} on the EUM topic")
        return 200, json.dumps({"published": ids})


def registry_document(numbers: list[BusinessNumber], *, default: str) -> dict[str, Any]:
    """The registry secret's JSON (`adapters/registry.py`): every EUM number. A Cloud API default is
    the parameters' own implicit entry, as on a stack upgraded from one number."""
    from wacloud.models.number_entry import NumberEntry

    entries = [
        NumberEntry(
            phone_number_id=n.phone_number_id,
            waba_id=n.waba_id,
            transport=n.transport,
            eum_phone_number_id=n.eum_phone_number_id,
            display_phone_number=n.display_phone_number,
            label=f"local {n.label}",
            default=n.phone_number_id == default,
        )
        for n in numbers
        if n.transport == EUM
    ]
    return {"version": REGISTRY_VERSION, "numbers": {e.phone_number_id: e.to_item() for e in entries}}


def register_numbers(secret_name: str, numbers: list[BusinessNumber], *, default: str) -> None:
    """Write the registry (the functions read it on their first event)."""
    document = registry_document(numbers, default=default)
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=registry_secret_name(secret_name), SecretString=json.dumps(document)
    )
