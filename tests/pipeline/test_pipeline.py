"""The whole pipeline, in-process: a signed webhook POST through all three functions to the fake
Graph API, its status webhooks back, and what DynamoDB holds at the end."""

from __future__ import annotations

import json

from wacloud.adapters.store import Store
from wacloud.local.meta.fake_graph import ScriptedAnswer
from wacloud.local.meta.webhooks import status_update, text_message
from wacloud.local.pipeline import LocalPipeline

CUSTOMER = "16505551234"


def replies_to(pipeline: LocalPipeline, wamid: str) -> list:
    return pipeline.graph.replies_to(wamid)


def test_customer_message_gets_read_receipt_and_reply_whose_statuses_come_back(pipeline):
    # GIVEN a customer's signed text message
    body, (status, _) = pipeline.customer_says("Where is my order?", sender=CUSTOMER, name="Ana")
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    # WHEN everything queued has been processed (the fake Graph API answers with status webhooks)
    pipeline.drain()

    # THEN Graph got a read receipt and one reply quoting the message, with the bearer token
    assert status == 200
    receipts = [r for r in pipeline.graph.requests if r.body.get("status") == "read"]
    assert [r.body["message_id"] for r in receipts] == [wamid]
    (reply,) = replies_to(pipeline, wamid)
    assert reply.authorization == f"Bearer {pipeline.secret['access_token']}"
    assert reply.phone_number_id == pipeline.phone_number_id
    assert reply.body["to"] == f"+{CUSTOMER}"
    # AND DynamoDB holds the inbound message, the contact, and the reply at "read" with its history
    store = Store()
    inbound = store.messages.get(wamid)
    assert inbound is not None and inbound.direction == "in"
    contact = store.customers.get(CUSTOMER)
    assert contact is not None and contact.profile_name == "Ana"
    record = store.messages.get(reply.wamid)
    assert record is not None
    assert (record.direction, record.status, record.idempotency_key) == ("out", "read", f"reply:{wamid}")
    assert set(record.status_history) == {"accepted", "sent", "delivered", "read"}
    outbound = store.outbound.get(f"reply:{wamid}")
    assert outbound is not None and (outbound.state, outbound.wamid) == ("accepted", reply.wamid)


def test_same_webhook_posted_three_times_is_answered_once(pipeline):
    body = text_message("hello", phone_number_id=pipeline.phone_number_id, sender=CUSTOMER)
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    for _ in range(3):
        assert pipeline.post_webhook(body)[0] == 200
        pipeline.drain()
    assert len(replies_to(pipeline, wamid)) == 1
    assert len([r for r in pipeline.graph.requests if r.body.get("message_id") == wamid]) == 1


def test_batched_webhook_from_two_customers_is_answered_per_message(pipeline):
    first = text_message("one", phone_number_id=pipeline.phone_number_id, sender="111111")
    second = text_message("two", phone_number_id=pipeline.phone_number_id, sender="222222")
    batch = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"]}
    assert pipeline.post_webhook(batch)[0] == 200
    pipeline.drain()
    assert sorted(r.body["to"] for r in pipeline.graph.messages()) == ["+111111", "+222222"]


def test_shuffled_duplicated_statuses_end_like_a_clean_run(pipeline):
    # A message sent by another system through the outbound contract, then its statuses arriving
    # duplicated and out of order.
    pipeline.simulator.status_webhooks = False
    _, (status, _) = pipeline.customer_says("hi", sender=CUSTOMER)  # opens the conversation
    assert status == 200
    pipeline.drain()
    (reply,) = pipeline.graph.messages()
    for name in ("read", "sent", "read", "delivered", "sent"):
        body = status_update(
            reply.wamid,
            name,
            phone_number_id=pipeline.phone_number_id,
            recipient=CUSTOMER,
            timestamp={"sent": 10, "delivered": 20, "read": 30}[name],
        )
        assert pipeline.post_webhook(body)[0] == 200
    pipeline.drain()
    record = Store().messages.get(reply.wamid)
    assert record is not None
    assert record.status == "read"
    assert {k: v for k, v in record.status_history.items() if k != "accepted"} == {
        "sent": 10,
        "delivered": 20,
        "read": 30,
    }


def test_bad_signature_never_reaches_the_queue(pipeline):
    body = text_message("forged", phone_number_id=pipeline.phone_number_id, sender=CUSTOMER)
    status, answer = pipeline.post_webhook(body, signature="sha256=" + "ab" * 32)
    pipeline.drain()
    assert (status, json.loads(answer)) == (403, {"error": "invalid signature"})
    assert pipeline.graph.requests == []


def test_graph_outage_is_retried_until_the_send_succeeds(pipeline):
    from wacloud.local.meta.fake_graph import graph_error

    pipeline.graph.script(
        graph_error(2, "Service temporarily unavailable", status=503),
        graph_error(131000, "Something went wrong", status=500),
    )
    body, _ = pipeline.customer_says("hello?", sender=CUSTOMER)
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    pipeline.drain()
    # The read receipt was tried until Graph took it, and the reply waited behind it (same customer).
    answers = [(r.body.get("status") or r.body.get("type"), r.status) for r in pipeline.graph.requests[:4]]
    assert answers == [("read", 503), ("read", 500), ("read", 200), ("text", 200)]
    assert len(replies_to(pipeline, wamid)) == 1
    record = Store().outbound.get(f"reply:{wamid}")
    assert record is not None and record.state == "accepted"


def test_a_send_whose_reply_was_lost_is_not_repeated_and_its_status_confirms_it(pipeline):
    from wacloud.local.meta.fake_graph import lost_reply

    # GIVEN Graph takes the reply but the connection drops before it answers
    pipeline.graph.script(ScriptedAnswer(status=200, body={"success": True}), lost_reply())
    body, _ = pipeline.customer_says("are you there?", sender=CUSTOMER)
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    # WHEN everything settles (Meta's status webhooks for the message do arrive)
    pipeline.drain()

    # THEN it was sent once, and the unconfirmed record became accepted with the wamid
    (reply,) = replies_to(pipeline, wamid)
    record = Store().outbound.get(f"reply:{wamid}")
    assert record is not None and (record.state, record.wamid) == ("accepted", reply.wamid)
    message = Store().messages.get(reply.wamid)
    assert message is not None and message.status == "read" and message.idempotency_key == f"reply:{wamid}"


def test_media_both_ways_through_the_pipeline(pipeline):
    import base64
    import hashlib

    import boto3

    from wacloud.local.meta.webhooks import media_message

    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = pipeline.stack.bucket_names["MediaBucket"]
    photo = b"\xff\xd8\xff\xe0" + b"receipt photo" * 500
    # GIVEN a customer who sends a photo (Meta gives a media id, the bytes stay at Meta)
    media_id = pipeline.graph.add_media(photo, "image/jpeg")
    sha = base64.b64encode(hashlib.sha256(photo).digest()).decode()
    body = media_message(
        "image", media_id, phone_number_id=pipeline.phone_number_id, mime_type="image/jpeg", sha256=sha, sender=CUSTOMER
    )
    wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert pipeline.post_webhook(body)[0] == 200
    pipeline.drain()

    # THEN the photo is in the media bucket, and the message record says where
    media = Store().messages.get(wamid).media
    assert s3.get_object(Bucket=bucket, Key=media.key)["Body"].read() == photo

    # WHEN the business answers with a PDF it put in the bucket, named by key
    s3.put_object(Bucket=bucket, Key="outbound/invoice-42.pdf", Body=b"%PDF-1.7 invoice", ContentType="application/pdf")
    pipeline.send_outbound(
        {
            "idempotency_key": "invoice-42",
            "message": {"to": f"+{CUSTOMER}", "type": "document", "document": {"s3_key": "outbound/invoice-42.pdf"}},
        }
    )
    pipeline.drain()

    # THEN Graph got the upload, then the document by its media id, and its statuses came back
    (sent,) = [r for r in pipeline.graph.messages() if r.body["type"] == "document"]
    assert pipeline.graph.files[sent.body["document"]["id"]].data == b"%PDF-1.7 invoice"
    assert sent.body["document"]["filename"] == "invoice-42.pdf"
    assert Store().messages.get(sent.wamid).status == "read"
