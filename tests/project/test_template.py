"""template.yaml and the code agree: what the functions read, how the queues feed them, what they
may touch. A change on one side without the other fails here, not in a deployed stack."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from typing import Any

import pytest

from tests.conftest import ROOT, TEMPLATE
from wacloud.config import Settings, variable

RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {name: spec for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function"}
QUEUES = {name: spec["Properties"] for name, spec in RESOURCES.items() if spec["Type"] == "AWS::SQS::Queue"}
GLOBALS = TEMPLATE["Globals"]["Function"]


def function_timeout(name: str) -> int:
    return int(FUNCTIONS[name]["Properties"].get("Timeout", GLOBALS.get("Timeout", 3)))


def sqs_events() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, event["Properties"])
        for name, spec in FUNCTIONS.items()
        for event in spec["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    ]


def test_runtime_is_python313_everywhere():
    assert GLOBALS["Runtime"] == "python3.13"
    assert all("Runtime" not in spec["Properties"] for spec in FUNCTIONS.values())
    layer = RESOURCES["WacloudLayer"]
    # layers/wacloud/Makefile builds it, fetching wheels for the runtime's interpreter and architecture.
    assert (layer["Metadata"]["BuildMethod"], layer["Metadata"]["BuildArchitecture"]) == ("makefile", "arm64")
    assert GLOBALS["Architectures"] == ["arm64"]
    build = (ROOT / "layers" / "wacloud" / "Makefile").read_text(encoding="utf-8")
    assert "--platform manylinux2014_aarch64 --implementation cp --python-version 3.13" in build
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]


def test_every_wacloud_variable_the_template_sets_is_one_the_code_reads():
    read = {variable(field.name) for field in dataclasses.fields(Settings)}
    set_ = {name for name in GLOBALS["Environment"]["Variables"] if name.startswith("WACLOUD_")}
    assert set_ <= read, f"set but never read: {set_ - read}"
    for function, spec in FUNCTIONS.items():
        own = {n for n in spec["Properties"].get("Environment", {}).get("Variables", {}) if n.startswith("WACLOUD_")}
        assert own <= read, f"{function} sets but nothing reads: {own - read}"
    assert {"WACLOUD_TABLE_NAME", "WACLOUD_INBOUND_QUEUE_URL", "WACLOUD_OUTBOUND_QUEUE_URL"} <= set_


def test_no_secret_value_in_any_environment_variable():
    variables = dict(GLOBALS["Environment"]["Variables"])
    for spec in FUNCTIONS.values():
        variables.update(spec["Properties"].get("Environment", {}).get("Variables", {}))
    for name, value in variables.items():
        assert not re.search(r"TOKEN|APP_SECRET|PASSWORD", name), name
        assert "resolve:secretsmanager" not in str(value), name


@pytest.mark.parametrize(("function", "event"), sqs_events(), ids=[name for name, _ in sqs_events()])
def test_sqs_sources_report_partial_batch_failures_and_cap_concurrency(function, event):
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "MaximumConcurrency" in event["ScalingConfig"]
    queue = QUEUES[event["Queue"]["Fn::GetAtt"][0]]
    # AWS: the queue's visibility timeout should be at least 6 x the consuming function's timeout.
    assert int(queue["VisibilityTimeout"]) >= 6 * function_timeout(function)


# Standard queues: only a standard queue delays each message by its own DelaySeconds, and only a
# standard queue can be an asynchronous invocation's on-failure destination (EumIngestDLQ).
STANDARD_QUEUES = {"UnconfirmedCheckQueue", "UnconfirmedCheckDLQ", "EumIngestDLQ"}


@pytest.mark.parametrize("name", sorted(STANDARD_QUEUES))
def test_the_unconfirmed_check_queues_are_standard_encrypted_and_the_main_one_has_a_dlq(name):
    queue = QUEUES[name]
    assert "FifoQueue" not in queue and not str(queue["QueueName"]).endswith(".fifo")
    assert queue["SqsManagedSseEnabled"] is True
    if name == "UnconfirmedCheckQueue":
        dlq = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert dlq == "UnconfirmedCheckDLQ"
        assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
        assert int(QUEUES[dlq]["MessageRetentionPeriod"]) > int(queue["MessageRetentionPeriod"])
        assert RESOURCES[dlq]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", sorted(set(QUEUES) - STANDARD_QUEUES))
def test_queues_are_fifo_encrypted_and_main_queues_have_a_fifo_dlq(name):
    queue = QUEUES[name]
    assert queue["FifoQueue"] is True
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["ContentBasedDeduplication"] is False  # producers always set deduplication ids
    if "RedrivePolicy" in queue:
        dlq = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert QUEUES[dlq]["FifoQueue"] is True
        assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
        assert int(QUEUES[dlq]["MessageRetentionPeriod"]) > int(queue["MessageRetentionPeriod"])


def test_tables_match_what_the_store_and_powertools_expect():
    messages = RESOURCES["MessagesTable"]["Properties"]
    assert [k["AttributeName"] for k in messages["KeySchema"]] == ["pk", "sk"]
    assert messages["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert messages["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert [i["IndexName"] for i in messages["GlobalSecondaryIndexes"]] == ["by-client-ref"]
    idempotency = RESOURCES["IdempotencyTable"]["Properties"]
    assert messages["SSESpecification"] == idempotency["SSESpecification"] == {"SSEEnabled": True}
    assert [k["AttributeName"] for k in idempotency["KeySchema"]] == ["id"]
    assert idempotency["TimeToLiveSpecification"]["AttributeName"] == "expiration"


# What each function may do, on what; anything more is a finding. X-Ray has no resource-level permissions.
IDEMPOTENCY = {
    ("dynamodb:GetItem", "IdempotencyTable"),
    ("dynamodb:PutItem", "IdempotencyTable"),
    ("dynamodb:UpdateItem", "IdempotencyTable"),
    ("dynamodb:DeleteItem", "IdempotencyTable"),
}
# Secrets: the stack's own (SecretName), every secret under it (each further app's, the registry),
# the registry alone (<SecretName>/numbers). End User Messaging Social's numbers: phone-number-id/*.
SECRETS = {("secretsmanager:GetSecretValue", "secret"), ("secretsmanager:GetSecretValue", "secret/*")}
REGISTRY = ("secretsmanager:GetSecretValue", "secret/numbers")
EUM_NUMBERS = "phone-number-id/*"
ALLOWED = {
    "WebhookFunction": SECRETS
    | {
        ("sqs:SendMessage", "InboundQueue"),
        ("dynamodb:PutItem", "MessagesTable"),  # REJECT# items only: events of unserved numbers
        ("logs:CreateLogStream", "WebhookLogGroup"),
        ("logs:PutLogEvents", "WebhookLogGroup"),
    },
    "EumIngestFunction": {
        REGISTRY,
        ("sqs:SendMessage", "InboundQueue"),
        ("dynamodb:PutItem", "MessagesTable"),  # REJECT# items only: records and events not ours
        ("sqs:SendMessage", "EumIngestDLQ"),  # its on-failure destination
        ("logs:CreateLogStream", "EumIngestLogGroup"),
        ("logs:PutLogEvents", "EumIngestLogGroup"),
    },
    "ProcessorFunction": IDEMPOTENCY
    | {
        ("sqs:ReceiveMessage", "InboundQueue"),
        ("sqs:DeleteMessage", "InboundQueue"),
        ("sqs:GetQueueAttributes", "InboundQueue"),
        ("sqs:SendMessage", "OutboundQueue"),
        ("sqs:SendMessage", "InboundQueue"),  # media to archive, as an event of its own
        ("dynamodb:GetItem", "MessagesTable"),  # was a customer message handled (its record)
        ("dynamodb:PutItem", "MessagesTable"),
        ("dynamodb:UpdateItem", "MessagesTable"),
        # Drops a template's cached definitions when Meta says it changed.
        ("dynamodb:Query", "MessagesTable"),
        ("dynamodb:DeleteItem", "MessagesTable"),
        # The conversation: a contact's items in one read, a message and its answers into the history.
        ("dynamodb:BatchGetItem", "MessagesTable"),
        ("dynamodb:BatchWriteItem", "MessagesTable"),
        ("s3:GetObject", "${MediaBucket.Arn}/config/*"),  # ConversationRules in S3
        # Archives inbound media: the token to download it from Meta (each app's), the bucket's
        # inbound/ prefix; End User Messaging Social writes there for it, and it reads what was written.
        *SECRETS,
        ("s3:PutObject", "${MediaBucket.Arn}/inbound/*"),
        ("s3:AbortMultipartUpload", "${MediaBucket.Arn}/inbound/*"),
        ("s3:GetObject", "${MediaBucket.Arn}/inbound/*"),
        ("social-messaging:GetWhatsAppMessageMedia", EUM_NUMBERS),
        ("logs:CreateLogStream", "ProcessorLogGroup"),
        ("logs:PutLogEvents", "ProcessorLogGroup"),
    },
    "SenderFunction": {  # its lock is each document's outbound record: no idempotency table
        ("sqs:ReceiveMessage", "OutboundQueue"),
        ("sqs:DeleteMessage", "OutboundQueue"),
        ("sqs:GetQueueAttributes", "OutboundQueue"),
        ("sqs:ChangeMessageVisibility", "OutboundQueue"),
        *SECRETS,
        # Numbers on End User Messaging Social: their messages, and media from the bucket.
        ("social-messaging:SendWhatsAppMessage", EUM_NUMBERS),
        ("social-messaging:PostWhatsAppMessageMedia", EUM_NUMBERS),
        ("dynamodb:GetItem", "MessagesTable"),
        # The document's outbound record and its recipient's contact, in one round trip.
        ("dynamodb:BatchGetItem", "MessagesTable"),
        ("dynamodb:PutItem", "MessagesTable"),
        # Outcomes, and the shared send rate's counters.
        ("dynamodb:UpdateItem", "MessagesTable"),
        # Media named by s3_key; ListBucket so that a missing key answers 404, not 403.
        ("s3:GetObject", "${MediaBucket.Arn}/*"),
        ("s3:ListBucket", "MediaBucket"),
        ("logs:CreateLogStream", "SenderLogGroup"),
        ("logs:PutLogEvents", "SenderLogGroup"),
        # A delayed check of each send recorded unconfirmed: put only, never read.
        ("sqs:SendMessage", "UnconfirmedCheckQueue"),
    },
    "UnconfirmedCheckFunction": {
        ("sqs:ReceiveMessage", "UnconfirmedCheckQueue"),
        ("sqs:DeleteMessage", "UnconfirmedCheckQueue"),
        ("sqs:GetQueueAttributes", "UnconfirmedCheckQueue"),
        ("dynamodb:GetItem", "MessagesTable"),  # the outbound record a check names
        ("logs:CreateLogStream", "UnconfirmedCheckLogGroup"),
        ("logs:PutLogEvents", "UnconfirmedCheckLogGroup"),
    },
}
ALLOWED["ApiFunction"] = {
    ("dynamodb:GetItem", "MessagesTable"),
    ("sqs:SendMessage", "OutboundQueue"),
    REGISTRY,  # a document naming a number the stack does not serve is answered 400
    ("logs:CreateLogStream", "ApiLogGroup"),
    ("logs:PutLogEvents", "ApiLogGroup"),
}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


SECRET_PATTERNS = {
    ":secret:${SecretName}-??????": "secret",
    ":secret:${SecretName}/*": "secret/*",
    ":secret:${SecretName}/numbers-??????": "secret/numbers",
}


def resource_names(resource: Any) -> list[str]:
    """Logical ids a policy resource points at (`secret`, `secret/*`, `secret/numbers` for the
    secrets' ARN patterns, `phone-number-id/*` for End User Messaging Social's numbers)."""
    if isinstance(resource, list):
        return [name for item in resource for name in resource_names(item)]
    if resource == "*":
        return ["*"]
    if "Fn::GetAtt" in resource:
        return [resource["Fn::GetAtt"][0]]
    text = str(resource.get("Fn::Sub"))
    if text == "arn:${AWS::Partition}:social-messaging:${AWS::Region}:${AWS::AccountId}:phone-number-id/*":
        return [EUM_NUMBERS]
    return [next((name for suffix, name in SECRET_PATTERNS.items() if text.endswith(suffix)), text)]


def granted(function: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the function's role allows (X-Ray's "*" left out)."""
    role = RESOURCES[FUNCTIONS[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    assert "ManagedPolicyArns" not in role
    pairs = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                for resource in resource_names(statement["Resource"]):
                    if action in XRAY and resource == "*":
                        continue
                    pairs.add((action, resource))
    return pairs


@pytest.mark.parametrize("function", sorted(ALLOWED))
def test_function_roles_are_least_privilege(function):
    assert granted(function) == ALLOWED[function]


API_EVENTS = [
    (name, event)
    for name, spec in FUNCTIONS.items()
    for event in spec["Properties"].get("Events", {}).values()
    if event["Type"] in ("Api", "HttpApi")
]


def test_every_route_is_on_the_one_http_api_with_payload_format_2():
    assert RESOURCES["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"
    # A stack deployed with the REST API (logical id WebhookApi) must update: the type of a logical
    # id cannot change, so the REST API's id must not come back with another type.
    assert "WebhookApi" not in RESOURCES
    assert not [name for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Api"]
    assert {name for name, _ in API_EVENTS} == {"WebhookFunction", "ApiFunction"}
    for name, event in API_EVENTS:
        props = event["Properties"]
        assert event["Type"] == "HttpApi", name
        assert props["ApiId"] == {"Ref": "HttpApi"}, name
        # The functions read 2.0 events (APIGatewayHttpResolver; the webhook's routeKey/rawPath).
        assert props["PayloadFormatVersion"] == "2.0", name


def test_webhook_is_routed_for_get_and_post():
    events = FUNCTIONS["WebhookFunction"]["Properties"]["Events"].values()
    # /webhook is the default Meta app's; each other app's is /webhook/<app>, verified with its secret.
    assert sorted((e["Properties"]["Method"], e["Properties"]["Path"]) for e in events) == [
        ("GET", "/webhook"),
        ("GET", "/webhook/{app}"),
        ("POST", "/webhook"),
        ("POST", "/webhook/{app}"),
    ]
    assert all("Auth" not in e["Properties"] for e in events)  # Meta cannot sign with AWS credentials
    # No default authorizer either: it would apply to the webhook's routes too.
    assert "DefaultAuthorizer" not in RESOURCES["HttpApi"]["Properties"]["Auth"]


def test_the_functions_read_the_http_apis_events():
    api = (ROOT / "functions" / "api" / "app.py").read_text(encoding="utf-8")
    assert "APIGatewayHttpResolver()" in api and "APIGatewayRestResolver" not in api
    assert "correlation_paths.API_GATEWAY_HTTP" in api


def test_traces_carry_no_responses_or_error_texts():
    variables = GLOBALS["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"


def test_the_api_stage_is_throttled():
    props = RESOURCES["HttpApi"]["Properties"]
    assert props["StageName"] == {"Ref": "StageName"}
    settings = props["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert "RouteSettings" not in props  # no route escapes the stage's limits


ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationErrorMessage": "$context.integrationErrorMessage",
    "responseLatency": "$context.responseLatency",
}


def test_the_api_writes_json_access_logs_to_its_log_group():
    settings = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
    destination = settings["DestinationArn"]["Fn::Sub"]
    # The group's ARN without the ":*" of its Arn attribute.
    assert destination == (
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${WebhookApiAccessLogGroup}"
    )
    assert RESOURCES["WebhookApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # One JSON object per request, with the HTTP API's own $context variables (none of REST's).
    assert json.loads(settings["Format"]) == ACCESS_LOG_FIELDS


def test_no_account_wide_api_gateway_role_or_its_parameter():
    # HTTP APIs write access logs without the account's API Gateway CloudWatch role.
    kinds = {spec["Type"] for spec in RESOURCES.values()}
    assert "AWS::ApiGateway::Account" not in kinds
    assert "AWS::CloudFormation::WaitConditionHandle" not in kinds
    for name, spec in RESOURCES.items():
        if spec["Type"] == "AWS::IAM::Role":
            principals = spec["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert all(s["Principal"].get("Service") != "apigateway.amazonaws.com" for s in principals), name
    assert "CreateApiGatewayLogsRole" not in TEMPLATE["Parameters"]
    assert "ShouldCreateApiGatewayLogsRole" not in TEMPLATE.get("Conditions", {})
    groups = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [p for group in groups for p in group["Parameters"]]
    assert sorted(grouped) == sorted(TEMPLATE["Parameters"])  # every parameter in a group, none gone


def test_tracing_is_the_functions_not_the_apis():
    assert "TracingEnabled" not in RESOURCES["HttpApi"]["Properties"]  # HTTP APIs have no X-Ray
    assert GLOBALS["Tracing"] == {"Ref": "Tracing"}
    description = " ".join(TEMPLATE["Parameters"]["Tracing"]["Description"].split())
    assert "HTTP API itself has no X-Ray tracing" in description


def test_the_api_5xx_alarm_watches_the_http_apis_metric():
    alarm = RESOURCES["WebhookApi5xxAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5xx")
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dimensions == {"ApiId": {"Ref": "HttpApi"}, "Stage": {"Ref": "StageName"}}


def test_the_outputs_are_the_http_apis_urls():
    base = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"
    assert TEMPLATE["Outputs"]["WebhookUrl"]["Value"] == {"Fn::Sub": f"{base}/webhook"}
    assert TEMPLATE["Outputs"]["MessagesApiUrl"]["Value"] == {"Fn::Sub": f"{base}/messages"}


# The only wildcards a resource may hold: objects under a bucket prefix, a secret's random suffix,
# the secrets under SecretName, End User Messaging Social's numbers of this account and region.
ALLOWED_RESOURCE_WILDCARDS = re.compile(
    r"^\$\{MediaBucket\.Arn\}(/inbound|/config)?/\*$|:secret:\$\{SecretName\}(/numbers)?-\?{6}$"
    r"|:secret:\$\{SecretName\}/\*$|:\$\{AWS::AccountId\}:phone-number-id/\*$"
)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("role", sorted(n for n, r in RESOURCES.items() if r["Type"] == "AWS::IAM::Role"))
def test_no_role_may_use_a_wildcard_action_or_resource(role):
    props = RESOURCES[role]["Properties"]
    assert not props.get("ManagedPolicyArns")  # every grant is written out in the role
    for policy in props.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement["Action"])
            assert not [a for a in actions if "*" in a], statement
            for resource in as_list(statement["Resource"]):
                text = resource if isinstance(resource, str) else str(next(iter(resource.values())))
                if text == "*":
                    assert set(actions) <= XRAY, statement  # X-Ray has no resource-level permissions
                elif "*" in text or "?" in text:
                    assert ALLOWED_RESOURCE_WILDCARDS.search(text), statement


def test_the_messages_api_is_iam_authorized():
    events = FUNCTIONS["ApiFunction"]["Properties"]["Events"].values()
    assert sorted((e["Properties"]["Method"], e["Properties"]["Path"]) for e in events) == [
        ("GET", "/messages/{id}"),
        ("POST", "/messages"),
    ]
    assert all(e["Properties"]["Auth"] == {"Authorizer": "AWS_IAM"} for e in events)
    # A route may name AWS_IAM only on an API that enables IAM authorization.
    assert RESOURCES["HttpApi"]["Properties"]["Auth"]["EnableIamAuthorizer"] is True


def test_media_bucket_is_private_encrypted_and_expires_inbound_media():
    bucket = RESOURCES["MediaBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"].values())
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireInboundMedia"]["Prefix"] == "inbound/"
    assert rules["ExpireInboundMedia"]["ExpirationInDays"] == {"Ref": "RecordRetentionDays"}
    statement = RESOURCES["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The processor writes where the lifecycle rule expires.
    processor = RESOURCES["ProcessorFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    archive = next(s for s in processor if s["Sid"] == "ArchiveInboundMedia")
    assert archive["Resource"] == {"Fn::Sub": "${MediaBucket.Arn}/inbound/*"}
    # The sender reads outbound files, never what customers sent.
    sender = RESOURCES["SenderFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in sender if s["Effect"] == "Deny"]
    assert (deny["Action"], deny["Resource"]) == ("s3:GetObject", {"Fn::Sub": "${MediaBucket.Arn}/inbound/*"})


def test_alarms_watch_every_dlq_and_function():
    alarms = [spec["Properties"] for spec in RESOURCES.values() if spec["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {str(d.get("Value")) for a in alarms for d in a.get("Dimensions", [])}
    for dlq in ("InboundDLQ", "OutboundDLQ", "UnconfirmedCheckDLQ", "EumIngestDLQ"):
        assert any(dlq in value for value in watched), dlq
    for function in FUNCTIONS:
        assert any(function in value for value in watched), function


def test_the_senders_memory_and_so_its_cpu_is_a_parameter():
    # A send is CPU-bound at 256 MB (about 22 ms of CPU, a sixth of a vCPU): campaigns raise it.
    assert TEMPLATE["Resources"]["SenderFunction"]["Properties"]["MemorySize"] == {"Ref": "SenderMemorySize"}
    parameter = TEMPLATE["Parameters"]["SenderMemorySize"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (256, 128, 10240)
    assert TEMPLATE["Globals"]["Function"]["MemorySize"] == parameter["Default"]


def test_unparsed_data_and_a_rate_of_rejections_raise_alarms_on_metrics_the_code_emits():
    package = "\n".join(path.read_text() for path in (ROOT / "layers" / "wacloud" / "wacloud").rglob("*.py"))
    unparsed = RESOURCES["WebhookUnparsedAlarm"]["Properties"]
    assert (unparsed["MetricName"], unparsed["Threshold"], unparsed["ComparisonOperator"]) == (
        "WebhookUnparsed",
        0,
        "GreaterThanThreshold",
    )
    rejections = RESOURCES["RejectionsAlarm"]["Properties"]
    assert rejections["Threshold"] == {"Ref": "RejectionAlarmThreshold"}
    stats = [m["MetricStat"]["Metric"] for m in rejections["Metrics"] if "MetricStat" in m]
    summed = {metric["MetricName"] for metric in stats}
    assert {(metric["MetricName"], metric["Dimensions"][0]["Value"]) for metric in stats} == {
        ("SendRejected", "sender"),
        ("InboundRejected", "processor"),
        ("ReplyRejected", "processor"),
        # Events of numbers the stack does not serve, both ways in; SNS records not ours.
        ("WebhookEventRefused", "webhook"),
        ("WebhookEventRefused", "eum_ingest"),
        ("EumTopicRefused", "eum_ingest"),
        ("EumRecordRefused", "eum_ingest"),
    }
    (expression,) = [m["Expression"] for m in rejections["Metrics"] if m.get("ReturnData")]
    assert all(f"FILL({m['Id']}, 0)" in expression for m in rejections["Metrics"] if "MetricStat" in m)
    for name in (unparsed["MetricName"], *summed):
        assert f'"{name}"' in package, f"no code emits {name}"
    for alarm in (unparsed, rejections):
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }


def test_sends_still_unconfirmed_raise_an_alarm_at_a_threshold_on_metrics_the_code_emits():
    package = "\n".join(path.read_text() for path in (ROOT / "layers" / "wacloud" / "wacloud").rglob("*.py"))
    alarm = RESOURCES["UnconfirmedSendsAlarm"]["Properties"]
    assert alarm["Threshold"] == {"Ref": "UnconfirmedAlarmThreshold"}
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    summed = {
        stat["Metric"]["MetricName"]: stat["Metric"]["Dimensions"][0]["Value"]
        for stat in stats.values()
        if stat["Stat"] == "Sum"
    }
    # Still unconfirmed at its check (the consumer's service), or never checked (the sender's).
    assert summed == {"SendStillUnconfirmed": "unconfirmed_check", "UnconfirmedCheckNotScheduled": "sender"}
    (expression,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert all(f"FILL({metric_id}, 0)" in expression["Expression"] for metric_id in stats)
    for name in summed:
        assert f'"{name}"' in package, f"no code emits {name}"
    consumer = FUNCTIONS["UnconfirmedCheckFunction"]["Properties"]
    assert consumer["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "unconfirmed_check"
    assert (ROOT / "functions" / "unconfirmed_check" / "app.py").is_file()
    assert TEMPLATE["Parameters"]["UnconfirmedAlarmThreshold"]["Default"] == 1


def test_the_check_delay_is_a_parameter_sqs_can_honour_and_the_sender_reads():
    parameter = TEMPLATE["Parameters"]["UnconfirmedAlarmSeconds"]
    # SQS delays one message by at most 900 s; the setting refuses more as well.
    assert parameter["MaxValue"] == 900 >= parameter["Default"] >= parameter["MinValue"] >= 1
    assert {f.name: f.metadata for f in dataclasses.fields(Settings)}["unconfirmed_check_seconds"]["le"] == 900
    sender = FUNCTIONS["SenderFunction"]["Properties"]["Environment"]["Variables"]
    assert sender["WACLOUD_UNCONFIRMED_CHECK_QUEUE_URL"] == {"Ref": "UnconfirmedCheckQueue"}
    assert sender["WACLOUD_UNCONFIRMED_CHECK_SECONDS"] == {"Ref": "UnconfirmedAlarmSeconds"}
    # Only the sender schedules checks.
    for name, spec in FUNCTIONS.items():
        if name != "SenderFunction":
            assert "WACLOUD_UNCONFIRMED_CHECK_QUEUE_URL" not in spec["Properties"].get("Environment", {}).get(
                "Variables", {}
            )
    assert "WACLOUD_UNCONFIRMED_CHECK_QUEUE_URL" not in GLOBALS["Environment"]["Variables"]


def test_samconfig_overrides_only_parameters_the_template_has():
    # A deploy with an override the template does not declare fails (an old CreateApiGatewayLogsRole).
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overridden = {
        entry.split("=", 1)[0]
        for env in samconfig.values()
        if isinstance(env, dict)
        for entry in env.get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
    }
    assert overridden and overridden <= set(TEMPLATE["Parameters"])


def test_only_end_user_messaging_social_of_this_account_may_publish_to_the_eum_topic():
    topic = RESOURCES["EumEventTopic"]
    assert topic["Type"] == "AWS::SNS::Topic" and "FifoTopic" not in topic["Properties"]  # EUM: standard only
    policy = RESOURCES["EumEventTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "EumEventTopic"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "social-messaging.amazonaws.com"}
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "sns:Publish",
        {"Ref": "EumEventTopic"},
    )
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert TEMPLATE["Outputs"]["EumEventTopicArn"]["Value"] == {"Ref": "EumEventTopic"}


def test_the_eum_ingest_takes_the_topics_events_and_keeps_what_it_could_not_queue():
    props = FUNCTIONS["EumIngestFunction"]["Properties"]
    (event,) = props["Events"].values()
    assert event["Type"] == "SNS" and event["Properties"]["Topic"] == {"Ref": "EumEventTopic"}
    dlq = {"Fn::GetAtt": ["EumIngestDLQ", "Arn"]}
    # What SNS cannot deliver, and what the function could not queue after Lambda's retries, is kept.
    assert event["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": dlq}
    (delivery,) = RESOURCES["EumIngestDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert delivery["Principal"] == {"Service": "sns.amazonaws.com"} and delivery["Resource"] == dlq
    assert delivery["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "EumEventTopic"}}}
    variables = props["Environment"]["Variables"]
    assert variables["WACLOUD_EUM_TOPIC_ARNS"] == {"Ref": "EumEventTopic"}  # the only topic it accepts
    assert variables["POWERTOOLS_SERVICE_NAME"] == "eum_ingest"
    assert (ROOT / "functions" / "eum_ingest" / "app.py").is_file()
    config = props["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": dlq}
    assert RESOURCES["EumIngestDLQ"]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("function", ["WebhookFunction", "EumIngestFunction"])
def test_the_ingress_functions_may_write_rejection_items_only(function):
    role = RESOURCES[FUNCTIONS[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    (write,) = [s for s in statements if "dynamodb:PutItem" in as_list(s["Action"])]
    assert as_list(write["Action"]) == ["dynamodb:PutItem"]
    assert write["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["REJECT#*"]}}
