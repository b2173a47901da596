"""The simulated End User Messaging Social, called with boto3's own `socialmessaging` client as the
sender and processor call it: sends go through the fake Graph's rules and keep their wamid (statuses
follow), refusals come back in AWS's error form, media moves to and from S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from moto import mock_aws

from tests.unit.local.meta.conftest import Meta
from wacloud.local.account import REGION
from wacloud.local.meta.business_numbers import EUM, BusinessNumber
from wacloud.local.meta.fake_eum import FakeEum
from wacloud.local.meta.fake_graph import graph_error, lost_reply

NUMBER = BusinessNumber(
    "100000000000002", waba_id="200000000000002", transport=EUM, eum_phone_number_id="phone-number-id-" + "ab" * 16
)
HELLO = {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": {"body": "hello"}}


@pytest.fixture
def client(meta: Meta) -> Iterator[Any]:
    """boto3's client on the fake, as the sender makes it: one request, never retried by botocore
    (`total_max_attempts`: Config's `max_attempts` counts retries only)."""
    FakeEum(meta.graph, [NUMBER])
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=2, connect_timeout=2)
    with mock_aws():
        yield boto3.client("socialmessaging", endpoint_url=meta.graph.url, region_name=REGION, config=config)


def send(client: Any, body: dict[str, Any] = HELLO, origination: str = NUMBER.eum_phone_number_id) -> Any:
    return client.send_whatsapp_message(
        originationPhoneNumberId=origination, message=json.dumps(body).encode(), metaApiVersion="v20.0"
    )


def test_a_send_is_answered_with_aws_message_id_and_its_statuses_come_back_for_its_meta_number(client, meta):
    answer = send(client, origination=NUMBER.phone_arn())  # the ARN names the number too
    (request,) = meta.graph.messages()
    assert (request.route, request.phone_number_id, request.body) == ("eum_send", NUMBER.phone_number_id, HELLO)
    assert request.transport_message_id == answer["messageId"] != request.wamid
    assert request.wamid is not None and request.wamid.startswith("wamid.")
    statuses = meta.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {request.wamid}
    assert {w["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] for w in meta.webhooks} == {
        NUMBER.phone_number_id
    }


@pytest.mark.parametrize(
    ("answer", "error_type", "status"),
    [
        (graph_error(131047, "Re-engagement message", details="24 hours"), "ValidationException", 400),
        (graph_error(130429, "(#130429) Rate limit hit"), "ThrottledRequestException", 429),
        (graph_error(131000, "Something went wrong", status=500), "DependencyException", 502),
    ],
)
def test_graph_refusals_come_back_in_aws_error_form_with_metas_code_and_are_asked_once(
    client, meta, answer, error_type, status
):
    meta.graph.script(answer)
    with pytest.raises(ClientError) as raised:
        send(client)
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (error_type, status)
    code = answer.body["error"]["code"]  # type: ignore[index]
    assert error["Error"]["Message"].startswith(f"(#{code}) ")
    assert len(meta.graph.requests_to("eum_send")) == 1  # botocore did not retry
    assert meta.graph.messages() == []


def test_a_lost_reply_still_sends_the_message(client, meta):
    meta.graph.script(lost_reply())
    with pytest.raises((ConnectionClosedError, ReadTimeoutError)):
        send(client)
    (request,) = meta.graph.messages()
    assert request.reply_dropped and request.wamid


def test_unknown_numbers_bad_messages_and_unsigned_calls_are_refused(client, meta):
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        send(client, origination="phone-number-id-" + "cd" * 16)
    with pytest.raises(ClientError, match="ValidationException"):
        client.send_whatsapp_message(
            originationPhoneNumberId=NUMBER.eum_phone_number_id, message=b"not json", metaApiVersion="v20.0"
        )
    unsigned = requests.post(f"{meta.graph.url}/v1/whatsapp/send", json={"message": "e30="}, timeout=5)
    assert (unsigned.status_code, unsigned.headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert meta.graph.messages() == []


def test_media_goes_up_from_s3_and_down_to_s3(client, meta):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="media")
    s3.put_object(Bucket="media", Key="out/photo.jpg", Body=b"\xff\xd8\xff photo", ContentType="image/jpeg")
    source = {"bucketName": "media", "key": "out/photo.jpg"}
    uploaded = client.post_whatsapp_message_media(
        originationPhoneNumberId=NUMBER.eum_phone_number_id, sourceS3File=source
    )
    assert meta.graph.files[uploaded["mediaId"]].data == b"\xff\xd8\xff photo"

    inbound = meta.graph.add_media(b"%PDF-1.7 invoice", "application/pdf")
    got = client.get_whatsapp_message_media(
        mediaId=inbound,
        originationPhoneNumberId=NUMBER.eum_phone_number_id,
        destinationS3File={"bucketName": "media", "key": "inbound/2026/12/06/"},  # a prefix
    )
    assert (got["mimeType"], got["fileSize"]) == ("application/pdf", 16)
    stored = s3.get_object(Bucket="media", Key=f"inbound/2026/12/06/{inbound}.pdf")
    assert (stored["Body"].read(), stored["ContentType"]) == (b"%PDF-1.7 invoice", "application/pdf")

    s3.put_object(Bucket="media", Key="out/notes.exe", Body=b"MZ", ContentType="application/x-msdownload")
    with pytest.raises(ClientError, match="131053"):
        client.post_whatsapp_message_media(
            originationPhoneNumberId=NUMBER.eum_phone_number_id,
            sourceS3File={"bucketName": "media", "key": "out/notes.exe"},
        )
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        client.get_whatsapp_message_media(
            mediaId="404", originationPhoneNumberId=NUMBER.eum_phone_number_id, metadataOnly=True
        )


def test_the_linked_number_is_described_as_aws_describes_it(client):
    details = client.get_linked_whatsapp_business_account_phone_number(id=NUMBER.eum_phone_number_id)
    assert details["phoneNumber"]["metaPhoneNumberId"] == NUMBER.phone_number_id
    assert details["phoneNumber"]["arn"] == NUMBER.phone_arn()
    assert details["linkedWhatsAppBusinessAccountId"].startswith("waba-")
