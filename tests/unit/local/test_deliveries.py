"""How the simulated Meta's webhooks reach the local pipeline: a Cloud API number's by signed POST,
an End User Messaging Social number's as AWS publishes them on SNS (one entry a message, inside AWS's
envelope); and the local registry naming the EUM numbers."""

from __future__ import annotations

import json
import re
from typing import Any

from wacloud.local.account import ACCOUNT_ID
from wacloud.local.deliveries import Deliveries, registry_document
from wacloud.local.meta.business_numbers import EUM, BusinessNumber, addressed, sns_messages
from wacloud.local.meta.webhooks import text_message
from wacloud.models.number_entry import NumberEntry

CLOUD = BusinessNumber("100000000000001")
SECOND = BusinessNumber(
    "100000000000002", waba_id="200000000000002", transport=EUM, eum_phone_number_id="phone-number-id-" + "a1" * 16
)


class Topic:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.published.append(kwargs)
        return {"MessageId": f"m-{len(self.published)}"}


def deliveries() -> tuple[Deliveries, Topic, list[Any]]:
    posted: list[Any] = []
    routed = Deliveries([CLOUD, SECOND], app_secret="s")
    routed.post = lambda body, **_: posted.append(body) or (200, "ok")  # type: ignore[method-assign]
    topic = Topic()
    routed.sns, routed.topic_arn = topic, "arn:aws:sns:us-east-1:123456789012:eum"
    return routed, topic, posted


def test_each_number_is_delivered_its_own_way():
    routed, topic, posted = deliveries()
    cloud_body = text_message("hi", phone_number_id=CLOUD.phone_number_id)
    assert routed.deliver(cloud_body) == (200, "ok")
    status, answer = routed.deliver(addressed(text_message("hi", phone_number_id=SECOND.phone_number_id), SECOND))
    assert (status, json.loads(answer)) == (200, {"published": ["m-1"]})
    assert posted == [cloud_body]
    assert [p["TopicArn"] for p in topic.published] == [routed.topic_arn]
    unknown = text_message("hi", phone_number_id="199999999999999")
    routed.deliver(unknown)  # a number nobody registered: as Meta would, by webhook
    assert posted[-1] is unknown


def test_the_sns_envelope_is_aws_with_metas_entry_as_a_json_string_one_entry_a_message():
    body = addressed(text_message("hi", phone_number_id=SECOND.phone_number_id), SECOND)
    body["entry"].append(json.loads(json.dumps(body["entry"][0])))
    messages = [json.loads(m) for m in sns_messages(body, SECOND)]
    assert len(messages) == 2
    envelope = messages[0]
    assert json.loads(envelope["whatsAppWebhookEntry"]) == body["entry"][0]
    assert envelope["whatsAppWebhookEntry"].startswith('{"id": "200000000000002"')
    (waba,) = envelope["context"]["MetaWabaIds"]
    (phone,) = envelope["context"]["MetaPhoneNumberIds"]
    assert waba["wabaId"] == SECOND.waba_id and re.fullmatch(
        r"arn:aws:social-messaging:[^:]+:\d+:waba/[0-9a-f]{32}", waba["arn"]
    )
    assert phone == {"metaPhoneNumberId": SECOND.phone_number_id, "arn": SECOND.phone_arn()}
    assert phone["arn"].endswith("phone-number-id/" + "a1" * 16)
    assert envelope["aws_account_id"] == ACCOUNT_ID
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", envelope["message_timestamp"])
    assert messages[0]["messageId"] != messages[1]["messageId"]


def test_without_a_topic_an_eum_delivery_is_answered_503():
    routed = Deliveries([SECOND], app_secret="s")
    status, answer = routed.deliver(text_message("hi", phone_number_id=SECOND.phone_number_id))
    assert status == 503 and "EumEventTopic" in answer


def test_the_local_registry_names_the_eum_numbers_as_the_registry_reads_them():
    document = registry_document([CLOUD, SECOND], default=CLOUD.phone_number_id)
    assert document["version"] == 1 and list(document["numbers"]) == [SECOND.phone_number_id]
    entry = NumberEntry.from_item(document["numbers"][SECOND.phone_number_id])
    assert (entry.transport, entry.eum_key, entry.waba_id, entry.default) == (
        "eum",
        SECOND.eum_phone_number_id,
        SECOND.waba_id,
        False,
    )
    moved = registry_document(
        [BusinessNumber(CLOUD.phone_number_id, transport=EUM, eum_phone_number_id="phone-number-id-b2"), SECOND],
        default=CLOUD.phone_number_id,
    )
    assert NumberEntry.from_item(moved["numbers"][CLOUD.phone_number_id]).default is True
