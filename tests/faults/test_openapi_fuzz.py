"""Schemathesis against schemas/openapi.yaml on the local run's front door: requests generated from
the documented routes (and mutations of them) never get a 5xx, and every answer fits its documented
status, content type and schema. Webhook POSTs go both as generated (unsigned or wrongly signed)
and signed with the app secret, so the signed path is fuzzed too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from wacloud.inbound.signature import sign
from wacloud.local.pipeline import REGION

# What the answer to a request the test built itself (not schemathesis) is checked for.
ANSWER_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPENAPI = Path(__file__).resolve().parents[2] / "schemas" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(OPENAPI)
# Without schemathesis's coverage phase: for POST /messages that phase alone is about 3,000 requests
# (every boundary of the outbound contract, positive and negative), over a minute of CI with
# coverage measured. `make soak` runs it; `make test` fuzzes that operation with generated cases.
WITHOUT_COVERAGE_PHASE = schemathesis.openapi.from_path(
    OPENAPI, config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
)


def keeps_the_documented_contract(operation: str, schema: Any = SCHEMA, examples: int = 25):
    """The fuzz of one operation: a test of its own, so the workers share them."""

    @schema.include(name=operation).parametrize()
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def test(case, pipeline):
        check_case(case, pipeline)

    return test


def check_case(case, pipeline):
    assert pipeline.front_door is not None
    base_url = pipeline.front_door.url
    response = case.call(base_url=base_url)
    # The local run has no IAM (API Gateway checks SigV4 in AWS): /messages answers without it.
    local_only = []
    if case.path.startswith("/messages"):
        local_only = [ignored_auth, missing_required_header]
        if "Authorization" not in (case.headers or {}):
            local_only.append(negative_data_rejection)  # "negative" only for the missing SigV4 header
    if case.path == "/messages":
        # The contract has rules JSON Schema cannot say (which parameter a template button's
        # sub_type takes, cross-field limits): a schema-valid document breaking one is a 400 with
        # the reason, as docs/OUTBOUND_CONTRACT.md says.
        local_only.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=local_only)
    assert response.status_code < 500, response.text
    if case.path == "/messages" and response.status_code == 202:
        # Nothing drains the queue here, and moto scans every queued message on each send: keep it
        # short (thousands of documents, each its own deduplication id, made this test minutes long).
        sqs, url = boto3.client("sqs", region_name=REGION), pipeline.stack.queue_urls["OutboundQueue"]
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    if case.method.upper() == "POST" and case.path == "/webhook" and isinstance(case.body, dict):
        # The same body signed with the app secret: past the signature, into parsing and queueing.
        raw = json.dumps(case.body).encode("utf-8")
        signed = requests.post(
            f"{base_url}/webhook",
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(raw, pipeline.secret["app_secret"]),
            },
            timeout=30,
        )
        case.validate_response(signed, checks=ANSWER_CHECKS)
        assert signed.status_code == 200, signed.text


test_get_webhook_keeps_the_documented_contract = keeps_the_documented_contract("GET /webhook")
test_post_webhook_keeps_the_documented_contract = keeps_the_documented_contract("POST /webhook")
test_get_app_webhook_keeps_the_documented_contract = keeps_the_documented_contract("GET /webhook/{app}")
test_post_app_webhook_keeps_the_documented_contract = keeps_the_documented_contract("POST /webhook/{app}")
test_post_messages_keeps_the_documented_contract = keeps_the_documented_contract(
    "POST /messages", WITHOUT_COVERAGE_PHASE, examples=100
)
test_post_messages_keeps_the_documented_contract_at_every_boundary = pytest.mark.soak(
    keeps_the_documented_contract("POST /messages")
)
test_get_message_keeps_the_documented_contract = keeps_the_documented_contract("GET /messages/{id}")
