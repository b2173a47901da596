"""The local run's correction to moto: FIFO messages that time out together keep their group order."""

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
