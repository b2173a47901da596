"""wacloud.local.front_door: the events it builds are the HTTP API's (payload format 2.0), for the
routes template.yaml declares, and the answers it gives are what API Gateway makes of a 2.0 answer."""

from __future__ import annotations

import base64
import json

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from tests.conftest import TEMPLATE
from wacloud.local.front_door import ROUTES, http_response, proxy_event


def test_the_routes_are_the_templates_with_iam_where_it_puts_it():
    declared = set()
    for spec in TEMPLATE["Resources"].values():
        for event in spec.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                iam = props.get("Auth", {}).get("Authorizer") == "AWS_IAM"
                declared.add((props["Method"], props["Path"], iam))
    assert set(ROUTES) == declared


def test_a_request_becomes_a_payload_format_2_event():
    event = proxy_event(
        "POST",
        "/webhook?a=1&b=2&a=3",
        {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=ab", "Cookie": "c=1; d=2"},
        b'{"entry":[]}',
        "173.252.95.1",
    )
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "POST /webhook", "/webhook")
    assert event["rawQueryString"] == "a=1&b=2&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}  # repeated values joined, as API Gateway does
    assert event["headers"] == {"content-type": "application/json", "x-hub-signature-256": "sha256=ab"}
    assert event["cookies"] == ["c=1", "d=2"]
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/webhook",
        "protocol": "HTTP/1.1",
        "sourceIp": "173.252.95.1",
        "userAgent": "",
    }
    assert (context["routeKey"], context["stage"]) == ("POST /webhook", "$default")
    assert "authorizer" not in context  # Meta's routes have no IAM authorization
    assert (event["body"], event["isBase64Encoded"]) == ('{"entry":[]}', False)


def test_the_messages_routes_carry_an_iam_caller_and_their_path_parameter():
    get = proxy_event("GET", "/messages/order-1", {}, b"", "10.0.0.1")
    post = proxy_event("POST", "/messages", {}, b"{}", "10.0.0.1")
    assert (get["routeKey"], get["pathParameters"]) == ("GET /messages/{id}", {"id": "order-1"})
    assert post["routeKey"] == "POST /messages" and "pathParameters" not in post
    for event in (get, post):
        assert event["requestContext"]["authorizer"]["iam"]["userArn"].startswith("arn:aws:iam::")


def test_a_named_stage_is_in_the_raw_path_and_powertools_takes_it_off():
    event = proxy_event("GET", "/messages/k", {}, b"", "10.0.0.1", stage="v1")
    assert (event["rawPath"], event["requestContext"]["http"]["path"]) == ("/v1/messages/k", "/v1/messages/k")
    assert (event["routeKey"], event["requestContext"]["stage"]) == ("GET /messages/{id}", "v1")
    assert APIGatewayProxyEventV2(event).path == "/messages/k"


def test_an_undeclared_route_is_the_default_route_and_a_body_that_is_not_utf8_is_base64():
    event = proxy_event("PUT", "/webhook", {}, b"\xff\xfe", "1.2.3.4")
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "$default"
    assert (base64.b64decode(event["body"]), event["isBase64Encoded"]) == (b"\xff\xfe", True)
    assert "body" not in proxy_event("GET", "/webhook", {}, b"", "1.2.3.4")


def test_answers_become_responses_as_api_gateway_makes_them():
    plain = http_response({"statusCode": 202, "headers": {"Content-Type": "application/json"}, "body": "{}"})
    assert plain == (202, {"Content-Type": "application/json"}, b"{}")
    encoded = {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    assert http_response(encoded) == (200, {}, b"\x00\x01")
    # 2.0: an answer without a statusCode is a 200 whose JSON body is the answer.
    assert http_response({"ok": True}) == (200, {"Content-Type": "application/json"}, json.dumps({"ok": True}).encode())
