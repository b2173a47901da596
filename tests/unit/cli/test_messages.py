"""`wacloud send` and `wacloud status` on a stack (moto): the document built from the options, what
`--wait` prints, a key used before, and what status shows of a message."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import PHONE_NUMBER_ID, outbound_document, queue_bodies, status_event
from wacloud import cli
from wacloud.adapters.store import Store
from wacloud.cli import messages
from wacloud.local.cloudformation import Stack
from wacloud.models.outbound_state import SendOutcome
from wacloud.outbound.outcomes import record_outcome

CUSTOMER = "+16505551234"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main([*argv, "--stack", "whatsapp-cloud"])
    out, err = capsys.readouterr()
    return code, out, err


def send_and_take(store: Store, key: str, *, status: str | None = None) -> None:
    """What the sender does with the document (Graph took it) and, with `status`, a status webhook."""
    record_outcome(store, outbound_document(key, to=CUSTOMER), SendOutcome.accepted(WAMID), PHONE_NUMBER_ID)
    if status is not None:
        store.messages.apply_status(status_event(status, int(time.time()), WAMID))


@pytest.fixture
def sender(deployed: Any, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A sender that takes each queued document at once."""
    store = Store()
    monkeypatch.setattr(messages, "_enqueue", lambda target, model: send_and_take(store, model.idempotency_key))
    return store


# --- send --wait ------------------------------------------------------------------------------------


def test_send_wait_prints_the_wamid_once_graph_took_it(sender, capsys):
    code, out, _ = run(capsys, "send", "--to", CUSTOMER, "--text", "hello", "--wait", "5", "--until", "accepted")

    assert code == 0
    key, *progress = out.splitlines()
    assert key.startswith("cli-")
    assert [line.split()[1:] for line in progress] == [["wamid", WAMID], ["accepted"]]


# --- a key used before ------------------------------------------------------------------------------


def test_a_key_used_for_another_message_sends_nothing_and_says_so(deployed, aws: Stack, capsys):
    send_and_take(Store(), "order-1234-shipped")  # to +16505551234, a text

    code, out, err = run(capsys, "send", "--to", "+447700900123", "--text", "other", "--key", "order-1234-shipped")

    assert code == messages.KEY_USED_EXIT_CODE == 3
    assert out == ""
    assert f"key 'order-1234-shipped' was used already (accepted, {WAMID}) for another message" in err
    assert "(to 16505551234, not 447700900123): nothing new was sent" in err
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_key_used_for_a_message_like_this_one_sends_nothing_either(deployed, aws: Stack, capsys):
    # The store keeps no digest of the body: a changed text to the same recipient is not told apart.
    send_and_take(Store(), "order-1234-shipped")

    code, _, err = run(capsys, "send", "--to", CUSTOMER, "--text", "hello", "--key", "order-1234-shipped", "--wait")

    assert code == 3
    assert f"key 'order-1234-shipped' was used already (accepted, {WAMID}): nothing new was sent" in err
    assert "another message" not in err
    assert queue_bodies(aws, "OutboundQueue") == []


def test_a_dead_lettered_keys_document_is_sent_again_by_a_redrive(deployed, capsys):
    error = {"code": 131000, "title": "Something went wrong"}
    document = outbound_document("order-9", to=CUSTOMER)
    record_outcome(Store(), document, SendOutcome.model_validate({"state": "dead_lettered", "error": error}), "1")

    code, _, err = run(capsys, "send", "--to", CUSTOMER, "--text", "hello", "--key", "order-9")

    assert code == 3
    assert "(dead_lettered): nothing new was sent" in err and "`wacloud dlq redrive outbound` sends it again" in err


def test_a_new_key_is_sent(deployed, aws: Stack, capsys):
    code, out, _ = run(capsys, "send", "--to", CUSTOMER, "--text", "hello", "--key", "order-1")

    assert (code, out) == (0, "order-1\n")
    (queued,) = queue_bodies(aws, "OutboundQueue")
    assert queued["body"]["message"]["text"]["body"] == "hello"


# --- templates ---------------------------------------------------------------------------------------


def test_a_templates_url_button_takes_its_parameter_from_the_command_line(deployed, aws: Stack, capsys):
    code, _, err = run(
        capsys,
        *("send", "--to", CUSTOMER, "--template", "order_update"),
        *("--named", "order_id=1234", "--named", "total=$12.50", "--button-url-param", "0=1234"),
    )

    assert code == 0, err
    (queued,) = queue_bodies(aws, "OutboundQueue")
    assert queued["body"]["message"]["template"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "order_id", "text": "1234"},
                {"type": "text", "parameter_name": "total", "text": "$12.50"},
            ],
        },
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1234"}]},
    ]


@pytest.mark.parametrize(("given", "said"), [("1234", "takes INDEX=VALUE"), ("first=1234", "the button's index")])
def test_a_url_button_parameter_needs_the_buttons_index(deployed, capsys, given, said):
    with pytest.raises(SystemExit) as exited:
        run(capsys, "send", "--to", CUSTOMER, "--template", "order_update", "--button-url-param", given)

    assert exited.value.code == 2
    assert said in capsys.readouterr().err


# --- status ------------------------------------------------------------------------------------------


def test_status_shows_what_the_message_is_charged_as(deployed, capsys):
    send_and_take(Store(), "order-1234-shipped", status="sent")  # statuses carry Meta's pricing

    code, out, _ = run(capsys, "status", "order-1234-shipped")

    assert code == 0
    assert "  pricing     model PMP, type free_customer_service, category service\n" in out


def test_status_of_a_message_without_pricing_shows_none(deployed, capsys):
    send_and_take(Store(), "order-1234-shipped")  # accepted: no status webhook yet

    code, out, _ = run(capsys, "status", WAMID)

    assert code == 0
    assert "status      accepted" in out and "pricing" not in out
