"""Read template.yaml and create its queues, tables, buckets, SNS topics and secret in an AWS
emulator (moto).

The local run and the tests build their resources from the template itself, so what runs here has
the template's FIFO settings, redrive policies, keys and indexes, and the functions get exactly the
environment variables the template gives them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wacloud.local.account import ACCOUNT_ID, REGION


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that understands CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...)."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    return template


@dataclass
class Stack:
    """What was created: values for Ref and GetAtt, and each function's environment."""

    name: str
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    table_names: dict[str, str] = field(default_factory=dict)
    bucket_names: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911 (one return per intrinsic)
        """Evaluate the intrinsic functions this project's template uses."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((name, arg),) = value.items()
        if name == "Ref":
            return self._ref(arg)
        if name == "Fn::GetAtt":
            return self.attributes[(arg[0], arg[1])]
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::Join":
            return arg[0].join(str(self.resolve(v)) for v in arg[1])
        return {name: self.resolve(arg)}

    def outputs(self, template: dict[str, Any]) -> dict[str, str]:
        """The template's outputs that name something created here (not the API, say)."""
        found: dict[str, str] = {}
        for name, spec in (template.get("Outputs") or {}).items():
            try:
                found[name] = str(self.resolve(spec["Value"]))
            except KeyError:
                continue
        return found

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.refs[name]

    def _sub(self, arg: Any) -> str:
        template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                resource, attribute = token.split(".", 1)
                return self.attributes[(resource, attribute)]
            return str(self._ref(token))

        return re.sub(r"\$\{([^}!]+)\}", replace, template)


def provision(
    template: dict[str, Any],
    *,
    session: Any,
    stack_name: str = "wacloud-local",
    parameters: dict[str, str] | None = None,
    secret: dict[str, str] | None = None,
    queue_overrides: dict[str, str] | None = None,
) -> Stack:
    """Create the template's queues, tables, buckets, topics and secret with `session` (a boto3
    session on moto). A topic's policy is not applied (moto checks no principal anyway).

    `queue_overrides` replaces queue attributes (the local run shortens VisibilityTimeout so a retry
    shows within seconds instead of the deployed 3 minutes).
    """
    params = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    params.update(parameters or {})
    stack = Stack(name=stack_name, parameters=params)
    resources = template["Resources"]
    sqs, dynamodb = session.client("sqs"), session.client("dynamodb")

    queues = {name: spec for name, spec in resources.items() if spec["Type"] == "AWS::SQS::Queue"}
    # Dead-letter queues first: the others point at them.
    for name in sorted(queues, key=lambda n: "RedrivePolicy" in queues[n].get("Properties", {})):
        _create_queue(stack, sqs, name, queues[name].get("Properties", {}), queue_overrides or {})
    for name, spec in resources.items():
        if spec["Type"] == "AWS::DynamoDB::Table":
            _create_table(stack, dynamodb, name, spec.get("Properties", {}))
        elif spec["Type"] == "AWS::S3::Bucket":
            _create_bucket(stack, session.client("s3"), name)
        elif spec["Type"] == "AWS::SNS::Topic":
            _create_topic(stack, session.client("sns"), name, spec.get("Properties", {}))
    if secret is not None:
        session.client("secretsmanager").create_secret(Name=params["SecretName"], SecretString=json.dumps(secret))

    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for name, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        own = spec.get("Properties", {}).get("Environment", {}).get("Variables", {})
        stack.environments[name] = {k: str(stack.resolve(v)) for k, v in {**globals_env, **own}.items()}
    return stack


_QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
)


def _create_queue(stack: Stack, sqs: Any, name: str, props: dict[str, Any], overrides: dict[str, str]) -> None:
    queue_name = str(stack.resolve(props.get("QueueName", f"{stack.name}-{name}")))
    attributes = {}
    for attr in _QUEUE_ATTRIBUTES:
        if attr in props:
            value = stack.resolve(props[attr])
            attributes[attr] = str(value).lower() if isinstance(value, bool) else str(value)
    if "RedrivePolicy" in props:
        policy = stack.resolve(props["RedrivePolicy"])
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": policy["deadLetterTargetArn"], "maxReceiveCount": int(policy["maxReceiveCount"])}
        )
    attributes.update(overrides)
    url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.refs[name] = url
    stack.queue_urls[name] = url
    stack.attributes.update({(name, "Arn"): arn, (name, "QueueName"): queue_name, (name, "QueueUrl"): url})


def _create_table(stack: Stack, dynamodb: Any, name: str, props: dict[str, Any]) -> None:
    table_name = str(stack.resolve(props.get("TableName", f"{stack.name}-{name}")))
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = [
            {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
            for index in props["GlobalSecondaryIndexes"]
        ]
    dynamodb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    arn = dynamodb.describe_table(TableName=table_name)["Table"]["TableArn"]
    stack.refs[name] = table_name
    stack.table_names[name] = table_name
    stack.attributes.update({(name, "Arn"): arn})


def _create_bucket(stack: Stack, s3: Any, name: str) -> None:
    # CloudFormation names a bucket <stack>-<logical id>-<random>, in lower case.
    bucket = f"{stack.name}-{name}".lower()
    s3.create_bucket(Bucket=bucket)
    stack.refs[name] = bucket
    stack.bucket_names[name] = bucket
    stack.attributes.update({(name, "Arn"): f"arn:aws:s3:::{bucket}"})


def _create_topic(stack: Stack, sns: Any, name: str, props: dict[str, Any]) -> None:
    topic_name = str(stack.resolve(props.get("TopicName", f"{stack.name}-{name}")))
    arn = sns.create_topic(Name=topic_name)["TopicArn"]
    stack.refs[name] = arn  # a topic's Ref is its ARN
    stack.topic_arns[name] = arn
    stack.attributes.update({(name, "TopicArn"): arn, (name, "TopicName"): topic_name})
