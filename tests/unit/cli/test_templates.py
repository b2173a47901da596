"""`wacloud templates list`: a deployed stack's (or the local run's) account templates, the parameters
each takes, and `--sync` caching them for the sender's check."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import ACCESS_TOKEN
from wacloud import cli
from wacloud.adapters.store import Store
from wacloud.local.meta.fake_graph import FakeGraph, graph_error
from wacloud.local.meta.webhooks import DEFAULT_WABA_ID
from wacloud.local.state import LocalState, write_state
from wacloud.ops import deployed_stack as deployed


@pytest.fixture
def stack(aws, fake_graph: FakeGraph, monkeypatch):
    """A deployed stack as CloudFormation would describe it."""
    outputs = {"SecretName": aws.parameters["SecretName"], "MessagesTableName": aws.table_names["MessagesTable"]}
    parameters = {"WabaId": DEFAULT_WABA_ID, "GraphApiVersion": "v26.0", "TemplateCacheSeconds": "600"}
    described = deployed.DeployedStack("whatsapp-cloud", outputs, parameters)
    monkeypatch.setattr(deployed, "describe_stack", lambda name, client=None: described)
    monkeypatch.setattr("wacloud.config.DEFAULT_GRAPH_BASE_URL", fake_graph.url)  # stands in for Meta
    return described


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stacks_templates_are_listed_with_their_parameters(stack, fake_graph: FakeGraph, capsys):
    code, out, err = run(capsys, "templates", "list", "--stack", "whatsapp-cloud")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "LANGUAGE", "STATUS", "CATEGORY", "PARAMETERS"]
    assert lines[1].split(None, 4) == ["hello_world", "en_US", "APPROVED", "UTILITY", "none"]
    assert "appointment_reminder  en_US     APPROVED  UTILITY    header: image; body: {{1}}, {{2}}" in out
    assert lines[-1] == f"4 template(s) of account {DEFAULT_WABA_ID}."
    (request,) = fake_graph.requests_to("templates")
    assert (request.phone_number_id, request.authorization) == (DEFAULT_WABA_ID, f"Bearer {ACCESS_TOKEN}")
    assert ACCESS_TOKEN not in out


def test_a_plain_http_graph_endpoint_never_gets_the_stacks_token(stack, fake_graph: FakeGraph, capsys, monkeypatch):
    monkeypatch.setenv("WACLOUD_GRAPH_BASE_URL", "http://127.0.0.1:9")  # e.g. left over from a local run

    code, _, _ = run(capsys, "templates", "list", "--stack", "whatsapp-cloud")

    assert code == 0
    assert len(fake_graph.requests_to("templates")) == 1  # went to the real (here: stand-in) Graph API


def test_sync_caches_the_definitions_where_the_sender_looks(stack, capsys):
    code, out, _ = run(capsys, "templates", "list", "--stack", "whatsapp-cloud", "--status", "approved", "--sync")

    assert code == 0
    assert "3 definition(s) cached" in out and "for 600 s" in out
    cached = Store().templates.get("order_update", "en_US")
    assert cached is not None and cached[0].parameter_format == "NAMED"
    assert Store().templates.get("spring_sale", "en_US") is None  # PAUSED: filtered out


def test_json_output(stack, capsys):
    code, out, _ = run(capsys, "templates", "list", "--stack", "whatsapp-cloud", "--name", "order_update", "--json")

    assert code == 0
    assert [(t["name"], t["language"]) for t in json.loads(out)] == [("order_update", "en_US")]


def test_an_account_is_required(stack, capsys, monkeypatch):
    no_account = deployed.DeployedStack(stack.name, stack.outputs, {})
    monkeypatch.setattr(deployed, "describe_stack", lambda name, client=None: no_account)

    with pytest.raises(SystemExit) as exited:
        cli.main(["templates", "list", "--stack", "whatsapp-cloud"])

    assert exited.value.code == 2
    assert "pass --waba-id" in capsys.readouterr().err


def test_a_graph_error_is_reported_with_metas_words(stack, fake_graph: FakeGraph, capsys):
    # refused, and refused again with the token read afresh
    fake_graph.script(*[graph_error(190, "Error validating access token", status=401)] * 2)

    code, out, err = run(capsys, "templates", "list", "--stack", "whatsapp-cloud")

    assert code == 1
    assert "Graph API error 190" in err and "Error validating access token" in err
    assert ACCESS_TOKEN not in out + err


def test_local_needs_a_running_local_pipeline(tmp_path, monkeypatch, capsys):
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "templates", "list", "--local")

    assert code == 1
    assert "no local pipeline is running here: start one with `make local`" in err


def test_local_reads_the_local_runs_fake_graph(aws, fake_graph: FakeGraph, tmp_path, monkeypatch, capsys):
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):  # restored after the test; the command sets them
        monkeypatch.setenv(name, os.environ.get(name, ""))
    state = LocalState(
        pid=os.getpid(),
        region="us-east-1",
        aws_endpoint="",  # moto in this process
        simulator_url=fake_graph.url,
        outputs={"SecretName": aws.parameters["SecretName"], "MessagesTableName": aws.table_names["MessagesTable"]},
        parameters={"WabaId": DEFAULT_WABA_ID},
        environments={},
    )
    write_state(tmp_path, state)

    code, out, _ = run(capsys, "templates", "list", "--name", "hello_world")  # no --stack: the local run

    assert code == 0
    assert out.splitlines()[1].split(None, 1)[0] == "hello_world"
    (request,) = fake_graph.requests_to("templates")
    assert request.authorization == f"Bearer {ACCESS_TOKEN}"  # from the local run's secret
