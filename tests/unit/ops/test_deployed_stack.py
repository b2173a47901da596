"""wacloud.ops.deployed_stack: a deployed stack's outputs and parameters, from CloudFormation (a fake client)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from wacloud.ops.deployed_stack import DeployedStack, describe_stack


class FakeCloudFormation:
    """DescribeStacks as CloudFormation answers it: the stacks it knows, a ValidationError otherwise."""

    def __init__(self, stacks: dict[str, dict[str, Any]]) -> None:
        self.stacks = stacks
        self.calls: list[dict[str, Any]] = []

    def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        name = kwargs["StackName"]
        if name not in self.stacks:
            error = {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}
            raise ClientError({"Error": error}, "DescribeStacks")
        return {"Stacks": [{"StackName": name, **self.stacks[name]}]}


STACK = {
    "Outputs": [
        {"OutputKey": "ApiUrl", "OutputValue": "https://abc.execute-api.us-east-1.amazonaws.com/prod"},
        {"OutputKey": "OutboundDLQUrl", "OutputValue": "https://sqs/outbound-dlq.fifo", "Description": "DLQ"},
    ],
    "Parameters": [
        {"ParameterKey": "PhoneNumberId", "ParameterValue": "106540352242922"},
        {"ParameterKey": "Tracing", "ParameterValue": "PassThrough"},
        {"ParameterKey": "WabaId", "UsePreviousValue": True},  # no value given back
    ],
}


def test_outputs_and_parameters_by_their_keys() -> None:
    client = FakeCloudFormation({"wacloud": STACK})

    stack = describe_stack("wacloud", client=client)

    assert stack == DeployedStack(
        name="wacloud",
        outputs={
            "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/prod",
            "OutboundDLQUrl": "https://sqs/outbound-dlq.fifo",
        },
        parameters={"PhoneNumberId": "106540352242922", "Tracing": "PassThrough", "WabaId": ""},
    )
    assert client.calls == [{"StackName": "wacloud"}]


def test_a_stack_without_outputs_or_parameters_has_empty_ones() -> None:
    stack = describe_stack("bare", client=FakeCloudFormation({"bare": {}}))

    assert (stack.name, stack.outputs, stack.parameters) == ("bare", {}, {})


def test_an_answer_without_stacks_gives_empty_outputs_and_parameters() -> None:
    class NoStacks:
        def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
            return {"Stacks": []}

    assert describe_stack("gone", client=NoStacks()) == DeployedStack("gone", {}, {})


def test_a_missing_stack_is_cloudformations_client_error() -> None:
    with pytest.raises(ClientError, match="Stack with id nowhere does not exist"):
        describe_stack("nowhere", client=FakeCloudFormation({"wacloud": STACK}))


def test_without_a_client_boto3s_cloudformation_client_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    fake = FakeCloudFormation({"wacloud": STACK})

    def client(service: str, **kwargs: Any) -> FakeCloudFormation:
        made.append(service)
        return fake

    monkeypatch.setattr(boto3, "client", client)

    assert describe_stack("wacloud").outputs["ApiUrl"].startswith("https://abc.")
    assert made == ["cloudformation"] and fake.calls == [{"StackName": "wacloud"}]
