"""The `wacloud` commands as a user runs them, against a live local run: a customer says things, the
business sends, `status` tells what happened, `invoke` runs a handler, the DLQs list, errors are clear."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from wacloud import cli
from wacloud.adapters.store import Store
from wacloud.local.pipeline import LocalPipeline, wait_until
from wacloud.ops import dead_letters

CUSTOMER = "16505551234"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    # The local run shares this process: leave out its functions' own (EMF metric) lines.
    out = "".join(line for line in out.splitlines(keepends=True) if not line.startswith('{"_aws"'))
    return code, out, err


def customer_wrote(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """`wacloud say`, then wait until the processor has handled it (say returns once the webhook
    answered; the processor works on in the background), so the customer's window is open."""
    code, out, _ = run(capsys, "say", text)
    assert code == 0, out
    wamid = out.split()[0]
    deadline = time.monotonic() + 15
    while Store().messages.get(wamid) is None:
        assert time.monotonic() < deadline, f"{wamid} was not handled"
        time.sleep(0.05)


def invoke_in_a_fresh_process(function: str, event: str) -> subprocess.CompletedProcess[str]:
    """`wacloud invoke` as a user runs it: its own process, this run's state file."""
    return subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "wacloud.cli", "invoke", function, "-e", event],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ.copy(),
    )


def replies_to(live: LocalPipeline, wamid: str) -> list[Any]:
    return live.graph.replies_to(wamid)


def test_a_customer_says_hi_and_gets_the_auto_reply(live, capsys):
    code, out, _ = run(capsys, "say", "Hi, where is my order?", "--name", "Ana")

    assert code == 0
    wamid = out.split()[0]
    assert out.split()[1:4] == ["webhook", "answered", "200"], out
    assert wait_until(lambda: bool(replies_to(live, wamid)), timeout=20)
    record = Store().messages.get(wamid)
    assert (record.type, json.loads(record.payload)["text"]["body"]) == ("text", "Hi, where is my order?")


def test_a_customer_taps_a_button_shares_a_location_and_sends_a_photo(live, capsys, tmp_path):
    photo = tmp_path / "receipt.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"jpeg" * 100)
    said = {
        "button": run(capsys, "say", "--button-reply", "tomorrow:Tomorrow", "--reply-to", "wamid.BUSINESS"),
        "location": run(capsys, "say", "--location", "37.4847,-122.1477,HQ"),
        "photo": run(capsys, "say", "my receipt", "--image", str(photo)),
    }
    assert {name: answer[0] for name, answer in said.items()} == {"button": 0, "location": 0, "photo": 0}
    wamids = {name: answer[1].split()[0] for name, answer in said.items()}

    store = Store()
    assert wait_until(lambda: (m := store.messages.get(wamids["photo"])) is not None and m.media is not None, 20)
    button = json.loads(store.messages.get(wamids["button"]).payload)
    assert button["interactive"]["button_reply"] == {"id": "tomorrow", "title": "Tomorrow"}
    assert button["context"]["id"] == "wamid.BUSINESS"
    assert json.loads(store.messages.get(wamids["location"]).payload)["location"]["name"] == "HQ"
    assert store.messages.get(wamids["photo"]).media.size == photo.stat().st_size


def test_the_business_sends_and_waits_until_the_message_is_read(live, capsys):
    customer_wrote(capsys, "hello")  # the customer's window is open
    code, out, _ = run(
        capsys, "send", "--to", f"+{CUSTOMER}", "--text", "Your order shipped", "--wait", "30", "--until", "read"
    )

    assert code == 0, out
    key, *progress = out.splitlines()
    assert [line.split()[-1] for line in progress][-1] == "read"
    # The sender writes the outbound record, then the message's, and the simulated statuses (0.1-0.3 s
    # apart here) may arrive in any order on a busy machine: the timeline fills in a moment later.
    deadline = time.monotonic() + 10
    timeline = {"accepted", "sent", "delivered", "read"}
    while not timeline <= set((record := Store().messages.get(Store().outbound.get(key).wamid)).status_history):
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    code, out, _ = run(capsys, "status", key)
    assert code == 0
    assert "state       accepted" in out and "status      read" in out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("    ")] == [
        "accepted",
        "sent",
        "delivered",
        "read",
    ]


def test_a_local_file_is_put_in_the_media_bucket_and_sent(live, capsys, tmp_path):
    customer_wrote(capsys, "send me the invoice")
    invoice = tmp_path / "invoice-42.pdf"
    invoice.write_bytes(b"%PDF-1.7 the invoice")

    code, out, err = run(
        capsys, "send", "--to", f"+{CUSTOMER}", "--document", str(invoice), "--key", "invoice-42", "--wait", "30"
    )

    assert code == 0, out + err
    assert "outbound/cli/" in err and err.strip().endswith("invoice-42.pdf")
    (sent,) = [r for r in live.graph.messages() if r.body["type"] == "document"]
    assert live.graph.files[sent.body["document"]["id"]].data == b"%PDF-1.7 the invoice"
    assert sent.body["document"]["filename"] == "invoice-42.pdf"


def test_a_template_that_does_not_fit_is_rejected_with_the_reason(live, capsys):
    code, out, _ = run(
        capsys, "send", "--to", f"+{CUSTOMER}", "--template", "appointment_reminder", "--param", "Ana", "--wait", "20"
    )

    assert code == 1
    assert "rejected: template 'appointment_reminder' (en_US): the header takes a image parameter" in out


def test_a_document_the_contract_refuses_is_refused_before_it_is_queued(live, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["send", "--to", "not-a-number", "--text", "hi"])

    assert exited.value.code == 2
    assert "message.to: should be a phone number such as +16505551234" in capsys.readouterr().err


def test_status_of_an_unknown_id_is_an_error(live, capsys):
    code, _, err = run(capsys, "status", "never-sent")

    assert code == 1
    assert "no outbound document with key 'never-sent'" in err


def test_the_dead_letter_queues_of_the_local_run(live, capsys):
    code, out, _ = run(capsys, "dlq", "list", "outbound", "--local")

    assert code == 0
    assert "0 message(s) shown from the outbound DLQ" in out and "wacloud-local-outbound-dlq.fifo" in out


def test_an_eum_event_the_ingest_could_not_queue_is_listed_then_redriven_to_it(live, capsys, monkeypatch):
    """The local run's EumIngestDLQ: where the topic's queue puts an event after the ingest's three
    failed tries; a redrive publishes it on the topic again, and the ingest takes it."""
    second, invoke = live.numbers[1], live.invoke

    def inbound_queue_down(logical_id: str, event: dict[str, Any]) -> Any:
        if logical_id == "EumIngestFunction":
            raise RuntimeError("the inbound queue is down")
        return invoke(logical_id, event)

    monkeypatch.setattr(live, "invoke", inbound_queue_down)
    code, out, _ = run(capsys, "say", "where is my parcel", "--number", second.phone_number_id)
    assert code == 0, out
    wamid = out.split()[0]
    dead = live.outputs()["EumIngestDLQUrl"]
    assert wait_until(lambda: dead_letters.approximate_count(dead) == 1, timeout=20)

    code, out, _ = run(capsys, "dlq", "list", "eum", "--local")
    assert code == 0
    assert "group=-" in out and "eum SNS notification sns=1 field=messages" in out
    assert "1 message(s) shown from the eum DLQ" in out and "where is my parcel" not in out

    monkeypatch.setattr(live, "invoke", invoke)  # the queue is back
    code, out, _ = run(capsys, "dlq", "redrive", "eum", "--local", "--yes")
    assert code == 0, out
    assert "1 message(s) moved to the EUM topic" in out
    assert wait_until(lambda: bool(replies_to(live, wamid)), timeout=20)
    (reply,) = replies_to(live, wamid)
    assert (reply.route, reply.phone_number_id) == ("eum_send", second.phone_number_id)
    assert dead_letters.approximate_count(dead) == 0


def test_invoke_runs_a_handler_with_a_sample_event_in_a_fresh_process(live):
    result = invoke_in_a_fresh_process("webhook", "events/webhook-post-text.json")

    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"ok": True, "events": 1})
    assert "invoking WebhookFunction (the local run) with events/webhook-post-text.json" in result.stderr


def test_every_command_explains_itself(capsys):
    commands = [[], ["local"], ["say"], ["send"], ["status"], ["invoke"], ["dlq", "list"], ["templates", "list"]]
    for command in [*commands, ["handover", "show"], ["handover", "release"]]:
        with pytest.raises(SystemExit) as exited:
            cli.main([*command, "--help"])
        assert exited.value.code == 0
        assert "usage: wacloud" in capsys.readouterr().out


def test_without_a_local_run_the_commands_say_how_to_start_one(capsys, tmp_path, monkeypatch):
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "say", "hi")

    assert code == 1
    assert "no local pipeline is running here: start one with `make local`, or pass --stack NAME" in err


def test_a_customer_reacts_to_the_businesss_message(live, capsys):
    run(capsys, "say", "hello again")
    assert wait_until(lambda: bool(live.graph.messages()), timeout=20)
    business = live.graph.messages()[-1].wamid

    code, out, _ = run(capsys, "say", "--reaction", "👍", "--reply-to", business)

    assert code == 0
    customer = live.simulator.customers[CUSTOMER]
    assert wait_until(lambda: customer.find(business).reaction == "👍", timeout=10)
    store = Store()
    assert wait_until(lambda: store.messages.get(out.split()[0]) is not None, timeout=20)
    assert json.loads(store.messages.get(out.split()[0]).payload)["reaction"] == {"message_id": business, "emoji": "👍"}


def test_the_messages_api_is_served_by_the_local_front_door(live):
    import requests

    base = live.front_door.url
    document = {
        "idempotency_key": "via-http-1",
        "message": {"to": f"+{CUSTOMER}", "type": "text", "text": {"body": "Sent over HTTP"}},
    }
    run_hi = requests.post(
        f"{live.graph.url}/_sim/customers/{CUSTOMER}/messages",
        json={"text": "hi"},
        headers={"X-Wacloud-Simulator": "1"},
        timeout=10,
    )
    assert run_hi.status_code == 200

    queued = requests.post(f"{base}/messages", json=document, timeout=10)
    assert queued.status_code == 202 and queued.json()["status_path"] == "/messages/via-http-1"
    assert wait_until(
        lambda: (
            requests.get(f"{base}/messages/via-http-1", timeout=10).json().get("message", {}).get("status")
            in ("delivered", "read")
        ),
        timeout=20,
    )
    # A cross-site form could post text/plain; the local door wants JSON (the deployed API wants SigV4).
    forged = requests.post(f"{base}/messages", data="{}", headers={"Content-Type": "text/plain"}, timeout=10)
    assert forged.status_code == 403


def test_invoke_sender_talks_to_the_simulated_graph_api(live, capsys):
    customer_wrote(capsys, "hi")  # the sample's customer has written
    before = len(live.graph.requests_to("messages"))

    result = invoke_in_a_fresh_process("sender", "events/sender-sqs-messages.json")

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout[result.stdout.index("{\n") :]) == {"batchItemFailures": []}
    assert len(live.graph.requests_to("messages")) > before  # not graph.facebook.com
    assert "graph.facebook.com" not in result.stderr


def test_mistakes_are_said_plainly(live, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["say", "hi", "--from", "12"])
    assert exited.value.code == 2
    assert "'12' is not a phone number" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exited:
        cli.main(["send", "--to", f"+{CUSTOMER}", "--document", "missing-invoice.pdf"])
    assert exited.value.code == 2
    assert (
        "no file missing-invoice.pdf here, and no key missing-invoice.pdf in the media bucket"
        in capsys.readouterr().err
    )


def test_a_customer_with_a_human_is_shown_and_released(live, capsys):
    import time

    code, out, _ = run(capsys, "say", "hello", "--name", "Ana")
    assert code == 0
    store = Store()
    assert wait_until(lambda: store.customers.get(CUSTOMER) is not None, timeout=20)
    store.customers.set_handover(CUSTOMER, until=int(time.time()) + 3600, at=int(time.time()), wamid="wamid.ASKED")

    code, out, _ = run(capsys, "handover", "show", f"+{CUSTOMER}")
    assert code == 0 and "with a human since" in out
    code, out, _ = run(capsys, "handover", "release", f"+{CUSTOMER}")
    assert code == 0 and "released" in out
    assert not store.customers.get(CUSTOMER).handed_over(int(time.time()))
    code, out, _ = run(capsys, "handover", "show", f"+{CUSTOMER}")
    assert "not handed over" in out
    code, _, err = run(capsys, "handover", "show", "+19999999999")
    assert code == 1 and "have not written" in err


def test_a_customer_known_only_by_username_writes_and_is_answered_through_recipient(live, capsys):
    code, out, _ = run(capsys, "say", "hello from a username", "--from", "@ana.b")
    assert code == 0, out
    wamid = out.split()[0]
    deadline = time.monotonic() + 15
    while not live.graph.replies_to(wamid):
        assert time.monotonic() < deadline, "no reply"
        time.sleep(0.05)
    (reply,) = live.graph.replies_to(wamid)
    assert reply.body["recipient"].startswith("US.") and "to" not in reply.body
    assert Store().customers.get("@ana.b").user_id == reply.body["recipient"]


def test_say_refuses_what_is_neither_a_number_nor_a_username(live, capsys):
    with pytest.raises(SystemExit):
        run(capsys, "say", "hi", "--from", "ana b")


def test_say_number_writes_to_the_second_number_and_the_reply_leaves_from_it(live, capsys):
    second = live.numbers[1]
    code, out, _ = run(capsys, "say", "hello, second number", "--number", second.phone_number_id)
    assert code == 0, out
    wamid = out.split()[0]
    assert wait_until(lambda: bool(replies_to(live, wamid)), timeout=20)
    (reply,) = replies_to(live, wamid)
    assert (reply.route, reply.phone_number_id) == ("eum_send", second.phone_number_id)
    with pytest.raises(SystemExit):
        cli.main(["say", "hi", "--number", "not-a-number"])
