"""wacloud dlq list|redrive: the command over the dead-letter tools (moto)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import boto3
import pytest

from tests.conftest import TEMPLATE, queue_bodies
from tests.unit.ops.conftest import (
    OTHER_PHONE,
    PHONE,
    TEXT,
    CloudFormation,
    FailingSends,
    delivered_messages,
    eum_message,
    inbound_message_event,
    keys,
    notification,
    on_failure_record,
    outbound,
    put,
    put_standard,
    subscribed_queue,
    visible,
)
from wacloud.cli import dlq as dlq_command
from wacloud.cli import main
from wacloud.cli.targets import Target
from wacloud.local.cloudformation import Stack
from wacloud.ops import dead_letters as dlq
from wacloud.ops import redrive
from wacloud.runtime.masking import mask_wamid

# --- the command -----------------------------------------------------------------------------------


def no_full_number(text: str) -> None:
    assert PHONE not in text
    assert OTHER_PHONE not in text


LINE = re.compile(r"^(?P<id>\S+)  group=(?P<group>\S+)  receives=(?P<receives>\d+)  age=(?P<age>\d+\w+)  (?P<what>.+)$")


def test_cli_inspect_prints_one_masked_line_per_message_and_a_summary(
    aws: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    url = aws.queue_urls["OutboundDLQ"]
    first = put(url, outbound("order-1234-shipped"), group=PHONE)
    second = put(url, outbound("order-99", to=OTHER_PHONE), group=OTHER_PHONE)

    code = main(["dlq", "inspect", "outbound", "--dlq-url", url])

    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    parsed = [LINE.match(line) for line in lines[:2]]
    assert all(parsed), lines
    assert [(m["id"], m["group"], m["receives"], m["what"]) for m in parsed] == [  # type: ignore[index]
        (first, "165******34", "1", "key=order-1234-shipped type=text"),
        (second, "4477******23", "1", "key=order-99 type=text"),
    ]
    assert lines[2] == f"2 message(s) shown from the outbound DLQ {url} (about 2 on the queue)."
    no_full_number(out + err)
    assert TEXT not in out
    assert len(visible(url)) == 2


def test_cli_inspect_of_inbound_events_shows_kind_and_masked_wamid(
    aws: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    url = aws.queue_urls["InboundDLQ"]
    document, group, wamid = inbound_message_event()
    put(url, document, group=group)

    assert main(["dlq", "inspect", "inbound", "--dlq-url", url]) == 0

    out = capsys.readouterr().out
    assert "group=165******34  receives=1" in out
    assert f"kind=message type=text wamid={mask_wamid(wamid)}" in out
    no_full_number(out)
    assert wamid not in out
    assert TEXT not in out
    assert "Ana Lima" not in out


def test_cli_shows_bodies_only_when_asked(aws: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    url = aws.queue_urls["OutboundDLQ"]
    put(url, outbound("k-1"))

    main(["dlq", "inspect", "outbound", "--dlq-url", url])
    assert TEXT not in capsys.readouterr().out
    main(["dlq", "inspect", "outbound", "--dlq-url", url, "--show-bodies"])
    assert f"    body: {outbound('k-1')}" in capsys.readouterr().out


def test_cli_redrive_yes_moves_everything_and_reports_each_message(
    aws: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    first = put(url, outbound("k-1"), group=PHONE)
    second = put(url, outbound("k-2", to=OTHER_PHONE), group=OTHER_PHONE)

    code = main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source, "--yes"])

    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"moved  {first}  group=165******34  receives=1  age=")
    assert lines[0].endswith("key=k-1 type=text")
    assert lines[1].startswith(f"moved  {second}  group=4477******23  receives=1  age=")
    assert lines[2] == (
        f"2 message(s) moved to {source}; 0 not moved (still on the DLQ); about 0 left on the outbound DLQ."
    )
    no_full_number(out + err)
    assert keys(queue_bodies(aws, "OutboundQueue")) == ["k-1", "k-2"]
    assert visible(url) == []


def test_cli_redrive_reports_what_was_not_moved_and_fails(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    failing = put(url, outbound("k-1"), group="g-1")
    put(url, outbound("k-2"), group="g-2")
    real_redrive = redrive.redrive
    monkeypatch.setattr(redrive, "redrive", lambda *a, **kw: real_redrive(*a, **kw, client=FailingSends('"k-1"')))

    code = main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source, "--yes"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"FAILED {failing}  group=g-1" in out
    assert "(InternalError: try later)" in out
    assert "1 message(s) moved" in out
    assert "1 not moved (still on the DLQ); about 1 left on the outbound DLQ." in out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_redrive_without_yes_and_without_a_terminal_refuses_and_moves_nothing(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    put(url, outbound("k-1"))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped: even a "y" is no confirmation

    code = main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source])

    err = capsys.readouterr().err
    assert code != 0
    assert "--yes" in err
    assert len(visible(url)) == 1
    assert visible(source) == []


@pytest.mark.parametrize(("answer", "code", "moved"), [("y\n", 0, True), ("n\n", 1, False), ("\n", 1, False)])
def test_cli_redrive_asks_on_a_terminal_after_showing_what_it_would_move(
    aws: Stack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
    moved: bool,
) -> None:
    source, url = aws.queue_urls["OutboundQueue"], aws.queue_urls["OutboundDLQ"]
    message_id = put(url, outbound("k-1"))
    monkeypatch.setattr("sys.stdin", Terminal(answer))

    assert main(["dlq", "redrive", "outbound", "--dlq-url", url, "--target-url", source]) == code

    out = capsys.readouterr().out
    assert out.startswith(f"{message_id}  group=165******34  receives=1  ")
    assert f"Move all of the messages on the outbound DLQ (about 1) to {source}? [y/N] " in out
    no_full_number(out)
    assert (len(visible(source)), len(visible(url))) == ((1, 0) if moved else (0, 1))


def test_cli_finds_the_queues_by_stack_name(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, url = aws.queue_urls["InboundQueue"], aws.queue_urls["InboundDLQ"]
    put(url, json.dumps({"kind": "change", "field": "f"}), group="change-1")
    cloudformation = CloudFormation({"InboundDLQUrl": url, "InboundQueueUrl": source})
    real_client = boto3.client
    monkeypatch.setattr(
        dlq.boto3,
        "client",
        lambda name, *a, **kw: cloudformation if name == "cloudformation" else real_client(name, *a, **kw),
    )

    assert main(["dlq", "redrive", "inbound", "--stack", "whatsapp-cloud", "--yes"]) == 0

    assert cloudformation.calls == [{"StackName": "whatsapp-cloud"}]
    assert "1 message(s) moved" in capsys.readouterr().out
    assert [r["body"]["field"] for r in queue_bodies(aws, "InboundQueue")] == ["f"]


def test_cli_lists_the_eum_ingests_dlq_of_a_stack_and_redrives_it_to_the_eum_topic(
    aws: Stack, deployed: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dlq, "describe_stack", lambda name, client=None: deployed)
    topic, dead = aws.topic_arns["EumEventTopic"], aws.queue_urls["EumIngestDLQ"]
    ingest = subscribed_queue(aws)  # stands for the ingest's subscription
    message = eum_message()
    letter = put_standard(dead, on_failure_record(topic, message))

    assert main(["dlq", "list", "eum", "--stack", "whatsapp-cloud"]) == 0
    out = capsys.readouterr().out
    line = LINE.match(out.splitlines()[0])
    assert line is not None, out
    assert (line["id"], line["group"]) == (letter, "-")
    assert line["what"] == "eum on-failure record condition=RetriesExhausted sns=1 field=messages"
    no_full_number(out)
    assert TEXT not in out

    assert main(["dlq", "redrive", "eum", "--stack", "whatsapp-cloud", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"1 message(s) moved to the EUM topic {topic}" in out
    assert delivered_messages(ingest) == [message]
    assert visible(dead) == []


def test_cli_redrives_the_eum_dlq_of_the_local_run_to_its_topic(
    aws: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --stack: the local run's outputs, whose EUM topic feeds the queue its ingest drains."""
    local = Target("the local run", aws.outputs(TEMPLATE), dict(aws.parameters))
    monkeypatch.setattr(dlq_command, "resolve_target", lambda args: local)
    ingest = subscribed_queue(aws)
    message = eum_message()
    put_standard(aws.queue_urls["EumIngestDLQ"], notification(aws.topic_arns["EumEventTopic"], message))

    assert main(["dlq", "redrive", "eum", "--yes"]) == 0

    assert "1 message(s) moved to the EUM topic" in capsys.readouterr().out
    assert delivered_messages(ingest) == [message]


@pytest.mark.parametrize(
    "argv",
    [
        ["dlq", "redrive", "eum", "--dlq-url", "https://dlq", "--target-url", "https://q"],  # not a topic
        ["dlq", "redrive", "outbound", "--dlq-url", "https://dlq"],  # no target
        ["dlq", "redrive", "outbound", "--stack", "s", "--target-url", "https://q"],
        ["dlq", "inspect", "sideways", "--stack", "s"],
        ["dlq", "inspect", "outbound", "--stack", "s", "--limit", "0"],
    ],
)
def test_cli_refuses_incomplete_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_cli_without_a_stack_or_url_works_on_the_local_run(
    capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch
) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)  # a folder with no local run going

    assert main(["dlq", "list", "outbound"]) == 1
    assert "no local pipeline is running here" in capsys.readouterr().err
