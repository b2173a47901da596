"""A deployed stack as the `wacloud` command sees it: its outputs and parameters, read with boto3's
usual credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class DeployedStack:
    name: str
    outputs: dict[str, str]
    parameters: dict[str, str]


def describe_stack(stack_name: str, *, client: Any = None) -> DeployedStack:
    """A CloudFormation stack's outputs and parameters (ClientError if there is no such stack)."""
    cloudformation = client if client is not None else boto3.client("cloudformation")
    stacks = cloudformation.describe_stacks(StackName=stack_name).get("Stacks", [])
    stack = stacks[0] if stacks else {}
    return DeployedStack(
        name=stack_name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
    )
