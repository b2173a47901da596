"""`wacloud handover show|release` on a stack (moto): a release says what it did, and says so when
there was no handover to release; a customer of another business is addressed with `--business`."""

from __future__ import annotations

import time

import pytest

from tests.conftest import customers_wrote, message_event
from wacloud import cli
from wacloud.adapters.store import Store
from wacloud.models.number_entry import NumberEntry

CUSTOMER = "16505551234"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["handover", *argv, "--stack", "whatsapp-cloud"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_customer_with_a_human_is_released(deployed, capsys):
    customers_wrote(CUSTOMER)
    now = int(time.time())
    Store().customers.set_handover(CUSTOMER, until=now + 3600, at=now, wamid="wamid.ASKED")

    code, out, _ = run(capsys, "release", f"+{CUSTOMER}")

    assert (code, out) == (0, f"+{CUSTOMER}: released; automatic replies resume with their next message\n")
    assert not Store().customers.get(CUSTOMER).handed_over(int(time.time()))


def test_releasing_a_customer_never_handed_over_says_there_was_no_handover(deployed, capsys):
    customers_wrote(CUSTOMER)

    code, out, _ = run(capsys, "release", f"+{CUSTOMER}")

    assert code == 0  # what a release is for holds already
    assert out == f"+{CUSTOMER}: no handover to release; automatic replies already answer them\n"
    assert "released" not in out


def test_an_expired_handover_is_not_released_again(deployed, capsys):
    customers_wrote(CUSTOMER)
    now = int(time.time())
    Store().customers.set_handover(CUSTOMER, until=now - 60, at=now - 3600, wamid="wamid.ASKED")

    code, out, _ = run(capsys, "release", f"+{CUSTOMER}")

    assert code == 0 and "no handover to release" in out


def test_a_customer_who_never_wrote_is_an_error(deployed, capsys):
    code, out, err = run(capsys, "release", "+19999999999")

    assert (code, out) == (1, "")
    assert "no contact '+19999999999': they have not written to this number" in err


def test_a_customer_known_only_by_user_id_is_shown_by_their_user_id_or_username(deployed, capsys):
    from wacloud.models.identity import CustomerIdentity

    customer = Store().customers.touch(CustomerIdentity(user_id="US.1349", username="ana.b"), at=1, ref="call")
    now = int(time.time())
    Store().customers.set_handover(customer, until=now + 3600, at=now, wamid="wamid.ASKED")

    for name in ("US.1349", "@ana.b"):
        code, out, _ = run(capsys, "show", name)
        assert code == 0 and out.startswith("US.1349: with a human since"), out


def test_a_customer_of_another_business_is_shown_and_released_with_its_business(deployed, capsys):
    brand_b = NumberEntry(phone_number_id="100000000000004", business="brand-b")
    customer = Store().customers.upsert(message_event("hi", sender=CUSTOMER), brand_b)
    assert customer is not None
    now = int(time.time())
    Store().customers.set_handover(customer, until=now + 3600, at=now, wamid="wamid.ASKED", entry=brand_b)

    code, _, err = run(capsys, "show", f"+{CUSTOMER}")  # the default business's: nobody
    assert code == 1 and "no contact '+16505551234': they have not written to this number" in err
    code, out, _ = run(capsys, "show", f"+{CUSTOMER}", "--business", "brand-b")
    assert code == 0 and out.startswith(f"{CUSTOMER}: with a human on number 100000000000004 since"), out

    code, out, _ = run(capsys, "release", f"+{CUSTOMER}", "--business", "brand-b")

    assert (code, out) == (0, f"+{CUSTOMER}: released; automatic replies resume with their next message\n")
    assert Store().customers.handovers(CUSTOMER, business="brand-b") == {}


def test_a_business_name_the_registry_would_refuse_is_a_usage_error(deployed, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["handover", "show", f"+{CUSTOMER}", "--business", "Brand B", "--stack", "whatsapp-cloud"])
    assert exited.value.code == 2
    assert "'Brand B': lower-case letters, digits, - and _, at most 48" in capsys.readouterr().err
