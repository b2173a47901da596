"""`wacloud handover show|release` on a stack (moto): a release says what it did, and says so when
there was no handover to release."""

from __future__ import annotations

import time

from tests.conftest import customers_wrote
from wacloud import cli
from wacloud.adapters.store import Store

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
