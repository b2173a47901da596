"""Write the sample events in events/ (for `sam local invoke -e` and for the tests): the HTTP API's
payload format 2.0 events under the template's default stage, the SQS event source's batches, and
the SNS event End User Messaging Social's topic hands the EUM ingest.

Run with `make events` after changing a shape. Webhook POSTs are signed with the local run's
default app secret, `local-app-secret`: put that secret in the secret you invoke against.
Messages are dated 2025-11-24, past the processor's replay window (it records them without
replying); `NOW=1 make events` dates them now instead. The EUM ingest's event comes from the local
run's topic (`wacloud-local-eum-events`, account 123456789012) for its second number, the one on
End User Messaging Social: invoke it with that topic in `WACLOUD_EUM_TOPIC_ARNS` and that number in
the registry.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from wacloud.inbound.signature import sign
from wacloud.inbound.split import split_webhook
from wacloud.local.account import ACCOUNT_ID, REGION
from wacloud.local.defaults import local_numbers
from wacloud.local.front_door import proxy_event
from wacloud.local.meta.business_numbers import addressed, sns_messages
from wacloud.local.meta.webhooks import media_message, status_update, text_message
from wacloud.local.pipeline import LOCAL_DEFAULTS
from wacloud.local.pollers import lambda_record, sns_event
from wacloud.models.keys import digest
from wacloud.models.outbound_examples import example
from wacloud.outbound.contract import OutboundMessage, deduplication_id, message_group_id

EVENTS = Path(__file__).resolve().parents[1] / "events"
APP_SECRET = LOCAL_DEFAULTS["app_secret"][1]
VERIFY_TOKEN = LOCAL_DEFAULTS["verify_token"][1]
PHONE_NUMBER_ID = LOCAL_DEFAULTS["phone_number_id"][1]
CUSTOMER = "16505551234"
INBOUND_WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUYA"
OUTBOUND_WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
TIMESTAMP = int(time.time()) if os.environ.get("NOW") else 1764000000
INBOUND_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:whatsapp-cloud-inbound.fifo"
OUTBOUND_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:whatsapp-cloud-outbound.fifo"
# The local run's EUM topic (its stack is `wacloud-local`) and the ingest's subscription to it.
EUM_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:wacloud-local-eum-events"
EUM_SUBSCRIPTION_ARN = f"{EUM_TOPIC_ARN}:0b6f7c1e-8d2a-4c3b-9e5f-1a2b3c4d5e6f"
EUM_WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUFCQzEyMzQ1Njc4OTBBQkNERUcA"


# The deployed HTTP API: its host and the template's default stage (in `rawPath`, not in `routeKey`).
API_ID = "a1b2c3d4e5"
API_HOST = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
STAGE = "v1"


def api_event(method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict:
    """The payload format 2.0 event the stack's HTTP API hands the function, dated TIMESTAMP."""
    event = proxy_event(method, target, {"Host": API_HOST, **headers}, body, source_ip, stage=STAGE)
    context = event["requestContext"]
    context["apiId"] = API_ID
    context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(TIMESTAMP))
    context["timeEpoch"] = TIMESTAMP * 1000
    return event


def signed_post(body: dict) -> dict:
    raw = json.dumps(body, indent=None, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)}
    return api_event("POST", "/webhook", {"User-Agent": "facebookexternalua", **headers}, raw, "173.252.95.1")


def sqs_event(bodies: list[tuple[str, str, str]], queue_arn: str) -> dict:
    """(body, group id, deduplication id) triples as the SQS event source delivers them."""
    records = []
    for i, (body, group, dedup) in enumerate(bodies, start=1):
        message = {
            "MessageId": f"00000000-0000-4000-8000-{i:012d}",
            "ReceiptHandle": f"receipt-handle-{i}",
            "Body": body,
            "MD5OfBody": "",
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(TIMESTAMP * 1000),
                "SenderId": "AROAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": str(TIMESTAMP * 1000),
                "SequenceNumber": str(18800000000000000000 + i),
                "MessageGroupId": group,
                "MessageDeduplicationId": dedup,
            },
        }
        records.append(lambda_record(message, queue_arn))
    return {"Records": records}


def outbound(document: dict) -> tuple[str, str, str]:
    model = OutboundMessage.model_validate(document)
    body = model.model_dump_json(exclude_none=True)
    return body, message_group_id(model.recipient or CUSTOMER), deduplication_id(body)


def to_second_customer(document: dict[str, Any]) -> dict[str, Any]:
    """The document to another customer: the sample batch holds two recipients (two FIFO groups)."""
    document["message"]["to"] = "+447700900123"
    return document


def eum_event(body: dict[str, Any]) -> dict[str, Any]:
    """The SNS event Lambda hands the EUM ingest for the body's one entry, as End User Messaging
    Social publishes it for the local run's second number (AWS's ids fixed: the same file each time)."""
    number = local_numbers()[1]
    (message,) = sns_messages(addressed(body, number), number)
    envelope = json.loads(message)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(TIMESTAMP))
    envelope["message_timestamp"] = f"{stamp}.000000000Z"
    envelope["messageId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wacloud/events/eum/{EUM_WAMID}"))
    notification = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"wacloud/events/sns/{EUM_WAMID}")),
        "TopicArn": EUM_TOPIC_ARN,
        "Message": json.dumps(envelope),
        "Timestamp": f"{stamp}.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={EUM_SUBSCRIPTION_ARN}",
    }
    return sns_event(json.dumps(notification), EUM_SUBSCRIPTION_ARN)


def main() -> None:
    text = text_message(
        "Hi, is my order on its way?",
        phone_number_id=PHONE_NUMBER_ID,
        sender=CUSTOMER,
        name="Ana",
        wamid=INBOUND_WAMID,
        timestamp=TIMESTAMP,
    )
    photo = media_message(
        "image",
        "1013859600285441",
        phone_number_id=PHONE_NUMBER_ID,
        mime_type="image/jpeg",
        sha256="Ng5Tb4fJvSRiUzcm8wX3uqtcRmlvtfZ2iVxH9JI6JJw=",  # checkov:skip=CKV_SECRET_6: a digest
        caption="My receipt",
        sender=CUSTOMER,
        name="Ana",
        wamid="wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzRUIwRjk4MTU0NUY1QzI3QjE1NAA=",
        timestamp=TIMESTAMP + 60,
    )
    delivered = status_update(
        OUTBOUND_WAMID, "delivered", phone_number_id=PHONE_NUMBER_ID, recipient=CUSTOMER, timestamp=TIMESTAMP + 5
    )
    events = {
        "webhook-get-verify.json": api_event(
            "GET",
            f"/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444",
            {"User-Agent": "facebookplatform/1.0"},
            b"",
            "173.252.95.1",
        ),
        "webhook-post-text.json": signed_post(text),
        "webhook-post-status.json": signed_post(delivered),
        "webhook-post-image.json": signed_post(photo),
        "api-post-message.json": api_event(
            "POST",
            "/messages",
            {"Content-Type": "application/json"},
            json.dumps(example("order-1234-shipped")).encode(),
            "10.0.0.1",
        ),
        "api-get-message.json": api_event("GET", "/messages/order-1234-shipped", {}, b"", "10.0.0.1"),
        "eum_ingest-sns-text.json": eum_event(
            text_message(
                "Hi, can I change my delivery address?",
                phone_number_id=local_numbers()[1].phone_number_id,
                sender=CUSTOMER,
                name="Ana",
                wamid=EUM_WAMID,
                timestamp=TIMESTAMP + 120,
            )
        ),
        "processor-sqs-events.json": sqs_event(
            [(e.body(), e.group, digest(e.key)) for e in [*split_webhook(text), *split_webhook(delivered)]],
            INBOUND_QUEUE_ARN,
        ),
        "sender-sqs-messages.json": sqs_event(
            [
                outbound(example("order-1234-shipped")),
                outbound(
                    {
                        "idempotency_key": "order-1234-invoice",
                        "message": {
                            "to": f"+{CUSTOMER}",
                            "type": "document",
                            "document": {
                                "link": "https://example.com/invoice-1234.pdf",
                                "filename": "invoice-1234.pdf",
                                "caption": "Your invoice",
                            },
                        },
                    }
                ),
                outbound(to_second_customer(example("order-1234-template"))),
                outbound(
                    {
                        "idempotency_key": f"read:{INBOUND_WAMID}",
                        "message": {"status": "read", "message_id": INBOUND_WAMID},
                    }
                ),
            ],
            OUTBOUND_QUEUE_ARN,
        ),
    }
    EVENTS.mkdir(exist_ok=True)
    for name, event in events.items():
        if "requestContext" in event:  # the same file each time it is made (a request id is random)
            event["requestContext"]["requestId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wacloud/events/{name}"))
        (EVENTS / name).write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        print(f"wrote events/{name}")


if __name__ == "__main__":
    main()
