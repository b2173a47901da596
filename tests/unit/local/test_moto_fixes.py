"""The local run's corrections to moto: FIFO order after a common timeout, and SQS's deduplication window."""

from __future__ import annotations

import time

import boto3
from moto import mock_aws

from wacloud.local import moto_fixes


def test_messages_of_a_group_that_time_out_together_come_back_in_order():
    moto_fixes.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "1"})[
            "QueueUrl"
        ]
        for body in ("first", "second", "third"):
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)
        assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 3
        time.sleep(1.2)  # all three time out together

        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

        assert [m["Body"] for m in again] == ["first", "second", "third"]


def test_a_deduplication_id_is_remembered_for_five_minutes_after_its_message_is_deleted(monkeypatch):
    moto_fixes.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="d.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="id-1")
        (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

        # Deleted, but within five minutes: SQS drops the second message silently.
        sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="id-1")
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
        sqs.send_message(QueueUrl=url, MessageBody="three", MessageGroupId="g", MessageDeduplicationId="id-2")
        (three,) = sqs.receive_message(QueueUrl=url)["Messages"]
        assert three["Body"] == "three"
        sqs.delete_message(QueueUrl=url, ReceiptHandle=three["ReceiptHandle"])

        # Five minutes on, the id is new again.
        later = time.time() + 301
        monkeypatch.setattr("moto.sqs.models.unix_time_millis", lambda: later * 1000)
        sqs.send_message(QueueUrl=url, MessageBody="four", MessageGroupId="h", MessageDeduplicationId="id-1")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["four"]


def test_a_queue_deduplicating_per_group_keeps_the_same_id_in_another_group():
    moto_fixes.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        attributes = {
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        }
        url = sqs.create_queue(QueueName="g.fifo", Attributes=attributes)["QueueUrl"]
        for group in ("a", "b", "a"):
            sqs.send_message(QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="same")
        assert sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == [
            "a",
            "b",
        ]


def test_an_item_being_updated_is_never_read_half_built():
    # The local demo once read a message record that had its key and nothing else (moto applies an
    # update's SET actions one by one on the live item); DynamoDB reads and writes an item whole.
    import threading

    moto_fixes.apply()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        names = [f"a{i}" for i in range(40)]
        expression = "SET " + ", ".join(f"{name} = :v" for name in names)
        done, partial = threading.Event(), []

        def read() -> None:
            while not done.is_set():
                for n in range(50):
                    item = dynamodb.get_item(TableName="t", Key={"pk": {"S": str(n)}}).get("Item")
                    if item is not None and len(item) != len(names) + 1:
                        partial.append(len(item))

        reader = threading.Thread(target=read)
        reader.start()
        for n in range(50):
            dynamodb.update_item(
                TableName="t", Key={"pk": {"S": str(n)}}, UpdateExpression=expression,
                ExpressionAttributeValues={":v": {"N": "1"}},
            )  # fmt: skip
        done.set()
        reader.join()
        assert partial == []
