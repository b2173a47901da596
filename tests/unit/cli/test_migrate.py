"""`wacloud migrate customers` on a stack (moto): customers stored twice become one, opt-outs kept."""

from __future__ import annotations

from tests.conftest import SESSION
from wacloud import cli
from wacloud.adapters.store import Store


def test_migrating_customers_links_the_two_records_of_one_person(deployed, aws, capsys):
    table = SESSION.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    profile = {"sk": "PROFILE", "wa_id": "16505551234", "user_id": "US.1349"}
    table.put_item(Item={"pk": "CONTACT#16505551234", **profile})
    table.put_item(Item={"pk": "CONTACT#US.1349", **profile})
    table.put_item(Item={"pk": "CONTACT#US.1349", "sk": "OPT", "opted_out": True, "opt_changed_at": 5})

    code = cli.main(["migrate", "customers", "--stack", "whatsapp-cloud"])

    out, _ = capsys.readouterr()
    assert code == 0
    assert out == "stack whatsapp-cloud: 2 customer profiles read, 2 linked by phone and user id\n"
    assert Store().customers.get("+16505551234").opted_out


def test_migrating_numbers_reports_what_it_kept_and_carried_over(deployed, aws, capsys):
    table = SESSION.resource("dynamodb").Table(aws.table_names["MessagesTable"])
    table.put_item(Item={"pk": "CONTACT#16505551234", "sk": "PROFILE", "wa_id": "16505551234"})
    table.put_item(Item={"pk": "CONTACT#16505551234", "sk": "OPT", "opted_out": True, "opt_changed_at": 5})
    number = aws.parameters["PhoneNumberId"]

    code = cli.main(["migrate", "numbers", "--stack", "whatsapp-cloud"])

    out, _ = capsys.readouterr()
    assert code == 0
    assert out == (
        f"stack whatsapp-cloud: number {number} keeps the single-number records (now pinned in the registry); "
        f"default number {number}; 1 customers, 1 opt-outs kept business-wide; 0 inbound messages read (0 to "
        "other businesses' numbers, left alone), other numbers written to: none; carried over: 0 windows, "
        "0 handovers, 0 history lines\n"
    )
    assert Store().customers.get("+16505551234").opted_out
