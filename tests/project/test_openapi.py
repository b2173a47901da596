"""schemas/openapi.yaml and the stack agree: the same routes, IAM exactly where the template puts
it, and the functions' real answers fit the documented response schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.conftest import TEMPLATE
from wacloud.local.front_door import proxy_event

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = yaml.safe_load((ROOT / "schemas" / "openapi.yaml").read_text(encoding="utf-8"))
OUTBOUND = json.loads((ROOT / "schemas" / "outbound-message.schema.json").read_text(encoding="utf-8"))
BASE = "https://wacloud.local/schemas/"
# OpenAPI 3.1 schemas are JSON Schema 2020-12: the document itself resolves their $refs.
REGISTRY = Registry().with_resources(
    [
        (BASE + "openapi.yaml", DRAFT202012.create_resource(OPENAPI)),
        (BASE + "outbound-message.schema.json", DRAFT202012.create_resource(OUTBOUND)),
    ]
)


def template_routes() -> dict[tuple[str, str], dict[str, Any]]:
    routes = {}
    for spec in TEMPLATE["Resources"].values():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        for event in spec["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                routes[(props["Method"].lower(), props["Path"])] = props
    return routes


def test_the_document_lists_exactly_the_stacks_routes():
    documented = {(method, path) for path, methods in OPENAPI["paths"].items() for method in methods}
    assert OPENAPI["openapi"].startswith("3.1")
    assert documented == set(template_routes())


def test_iam_is_documented_exactly_where_the_template_requires_it():
    for (method, path), props in template_routes().items():
        operation = OPENAPI["paths"][path][method]
        iam = props.get("Auth", {}).get("Authorizer") == "AWS_IAM"
        assert (operation.get("security") == [{"sigv4": []}]) is iam, (method, path)


def test_the_messages_body_is_the_outbound_contract():
    body = OPENAPI["paths"]["/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "outbound-message.schema.json"}
    assert (ROOT / "schemas" / body["$ref"]).is_file()


def fits(document: Any, path: str, method: str, status: int) -> None:
    """Validate an answer against the documented schema of that response."""
    response = OPENAPI["paths"][path][method]["responses"][str(status)]
    pointer = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}"
    if "$ref" in response:
        pointer = response["$ref"].removeprefix("#")
    schema = {"$ref": f"{BASE}openapi.yaml#{pointer}/content/application~1json/schema"}
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(document)


@pytest.mark.usefixtures("aws")
def test_the_messages_apis_answers_fit_the_documented_schemas(lambda_context):
    from functions.api import app

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if body is not None else b""
        result = app.lambda_handler(proxy_event(method, path, {}, raw, "10.0.0.1"), lambda_context)
        return result["statusCode"], json.loads(result["body"])

    document = OUTBOUND["examples"][0]
    accepted = call("POST", "/messages", document)
    refused = call("POST", "/messages", {"idempotency_key": "k"})
    missing = call("GET", "/messages/unknown")

    from wacloud.adapters.store import Store
    from wacloud.models.outbound_state import SendOutcome
    from wacloud.outbound.contract import OutboundMessage
    from wacloud.outbound.outcomes import record_outcome

    outcome = SendOutcome.accepted("wamid.X")
    record_outcome(Store(), OutboundMessage.model_validate(document), outcome, "100000000000001")
    found = call("GET", f"/messages/{document['idempotency_key']}")

    assert (accepted[0], refused[0], missing[0], found[0]) == (202, 400, 404, 200)
    fits(accepted[1], "/messages", "post", 202)
    fits(refused[1], "/messages", "post", 400)
    fits(missing[1], "/messages/{id}", "get", 404)
    fits(found[1], "/messages/{id}", "get", 200)
    with pytest.raises(jsonschema.ValidationError):  # the schemas do say something
        fits({**found[1], "outbound": {"state": "teleported"}}, "/messages/{id}", "get", 200)


@pytest.mark.usefixtures("aws")
def test_the_webhooks_answers_fit_the_documented_schemas(lambda_context):
    from functions.webhook import app
    from tests.conftest import load_event

    answer = app.lambda_handler(load_event("webhook-post-text.json"), lambda_context)
    unsigned = load_event("webhook-post-text.json")
    unsigned["headers"] = {k: v for k, v in unsigned["headers"].items() if k.lower() != "x-hub-signature-256"}
    refused = app.lambda_handler(unsigned, lambda_context)

    assert (answer["statusCode"], refused["statusCode"]) == (200, 401)
    fits(json.loads(answer["body"]), "/webhook", "post", 200)
    fits(json.loads(refused["body"]), "/webhook", "post", 401)


@pytest.mark.usefixtures("aws")
def test_the_subscription_checks_answers_fit_the_documented_ones(lambda_context):
    from functions.webhook import app
    from tests.conftest import VERIFY_TOKEN

    get = OPENAPI["paths"]["/webhook"]["get"]
    documented = get["responses"]["200"]
    challenge = next(p for p in get["parameters"] if p["name"] == "hub.challenge")

    def call(challenge: str, token: str = VERIFY_TOKEN) -> dict[str, Any]:
        query = f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"
        return app.lambda_handler(proxy_event("GET", f"/webhook?{query}", {}, b"", "173.252.95.1"), lambda_context)

    echoed, not_digits, wrong_token = call("1158201444"), call("abc"), call("1", token="wrong")

    assert (echoed["statusCode"], not_digits["statusCode"], wrong_token["statusCode"]) == (200, 400, 403)
    headers = echoed["headers"]
    assert list(documented["content"]) == [headers["Content-Type"]] == ["text/plain"]
    for name, header in documented["headers"].items():
        jsonschema.validate(headers[name], header["schema"])
    jsonschema.validate(echoed["body"], documented["content"]["text/plain"]["schema"])
    jsonschema.validate(echoed["body"], challenge["schema"])
    with pytest.raises(jsonschema.ValidationError):  # what the function refuses, the document refuses
        jsonschema.validate("abc", challenge["schema"])
    fits(json.loads(not_digits["body"]), "/webhook", "get", 400)
    fits(json.loads(wrong_token["body"]), "/webhook", "get", 403)


def test_the_server_url_is_the_stacks_http_api_url():
    # The template's WebhookUrl output, with the document's variables for the stack's placeholders.
    output = TEMPLATE["Outputs"]["WebhookUrl"]["Value"]["Fn::Sub"]
    placeholders = {"${HttpApi}": "{api}", "${AWS::Region}": "{region}", "${AWS::URLSuffix}": "amazonaws.com"}
    placeholders["${StageName}"] = "{stage}"
    for placeholder, variable in placeholders.items():
        output = output.replace(placeholder, variable)
    server = OPENAPI["servers"][0]
    assert output == server["url"] + "/webhook"
    assert server["variables"]["stage"]["default"] == TEMPLATE["Parameters"]["StageName"]["Default"]
