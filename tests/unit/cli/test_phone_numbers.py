"""`wacloud numbers add|list|show|remove` on a stack (moto Secrets Manager): what is stored is what
the functions' registry reads, the stack's own number is listed "from parameters", and the checks
the model cannot make (the secret grant, one secret per app, the default) are made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from tests.conftest import PHONE_NUMBER_ID
from wacloud import cli
from wacloud.adapters.credentials import SecretReader
from wacloud.adapters.registry import NumberRegistry, get_registry
from wacloud.adapters.store import Store
from wacloud.cli import phone_numbers
from wacloud.config import Settings
from wacloud.local.account import REGION
from wacloud.ops.deployed_stack import DeployedStack
from wacloud.ops.number_migration import migrate_numbers
from wacloud.runtime import singletons

OTHER = "100000000000002"
SECRET_NAME = "whatsapp/cloud-api"  # the template's default SecretName
REGISTRY = f"{SECRET_NAME}/numbers"
EUM_ID = "phone-number-id-0123456789abcdef0123456789abcdef"
WEBHOOK = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/webhook"


@pytest.fixture(autouse=True)
def webhook_url(deployed: DeployedStack) -> None:
    """The HTTP API's output, which the moto stack has not got."""
    deployed.outputs["WebhookUrl"] = WEBHOOK


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["numbers", *argv, "--stack", "whatsapp-cloud"])
    except SystemExit as exc:  # a usage error ends like argparse's own: exit code 2
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def served() -> NumberRegistry:
    """The registry as a function starting now reads it (each function caches its own)."""
    singletons.reset()
    return get_registry()


def served_as(phone_number_id: str) -> NumberRegistry:
    """The registry as functions read it once the stack's PhoneNumberId is `phone_number_id`."""
    settings = Settings(secret_name=SECRET_NAME, phone_number_id=phone_number_id)
    return NumberRegistry.for_settings(
        SecretReader(boto3.client("secretsmanager", region_name=REGION), max_age=0), settings
    )


def stored() -> dict[str, Any]:
    secret = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=REGISTRY)
    return dict(json.loads(secret["SecretString"])["numbers"])


def test_a_fresh_stack_lists_its_own_number_from_parameters(deployed: DeployedStack, capsys) -> None:
    code, out, _ = run(capsys, "list")

    header, row = out.splitlines()
    assert code == 0 and header.split()[:3] == ["PHONE", "NUMBER", "ID"]
    assert row.split()[:3] == [PHONE_NUMBER_ID, "cloud_api", "default"]
    assert row.endswith("default, from parameters")


def test_an_added_number_is_listed_stored_and_served_by_the_functions(deployed: DeployedStack, capsys) -> None:
    code, out, _ = run(capsys, "add", OTHER, "--waba", "200000000000002", "--label", "Sales", "--rate", "20")

    assert (code, out) == (0, f"{OTHER}: added (cloud_api, app default)\n")
    assert stored() == {
        OTHER: {"phone_number_id": OTHER, "waba_id": "200000000000002", "label": "Sales", "send_rate_per_second": 20.0}
    }
    assert served().get(OTHER) is not None  # what the functions read
    _, out, _ = run(capsys, "list", "--json")
    listed = {item["phone_number_id"]: item for item in json.loads(out)}
    assert listed[OTHER]["source"] == "registry" and listed[PHONE_NUMBER_ID]["source"] == "from parameters"
    assert [pnid for pnid, item in listed.items() if item["default"]] == [PHONE_NUMBER_ID]


def test_add_again_changes_only_the_options_given(deployed: DeployedStack, capsys) -> None:
    run(capsys, "add", OTHER, "--waba", "200000000000002", "--label", "Sales")

    code, out, _ = run(capsys, "add", OTHER, "--label", "Sales DE")

    assert (code, out) == (0, f"{OTHER}: changed (cloud_api, app default)\n")
    assert stored()[OTHER] == {"phone_number_id": OTHER, "waba_id": "200000000000002", "label": "Sales DE"}


def test_a_number_of_a_new_app_gets_the_app_s_secret_and_a_note_that_it_is_missing(
    deployed: DeployedStack, capsys
) -> None:
    code, out, err = run(capsys, "add", OTHER, "--app", "sales")

    assert code == 0 and out == f"{OTHER}: added (cloud_api, app sales)\n"
    assert stored()[OTHER]["secret_name"] == f"{SECRET_NAME}/sales"
    assert f"secret {SECRET_NAME}/sales does not exist yet" in err

    _, out, _ = run(capsys, "show", OTHER)
    assert f"webhook url:           {WEBHOOK}/sales" in out.splitlines()


def test_a_number_of_another_business_is_added(deployed: DeployedStack, capsys) -> None:
    code, out, _ = run(capsys, "add", OTHER, "--business", "brand-b")

    assert (code, out) == (0, f"{OTHER}: added (cloud_api, app default)\n")
    assert stored()[OTHER] == {"phone_number_id": OTHER, "business": "brand-b"}
    entry = served().get(OTHER)
    assert entry is not None and entry.business == "brand-b"  # its customers are kept apart


def test_a_served_numbers_business_changes_only_with_force(deployed: DeployedStack, capsys) -> None:
    # On a single-number stack, a typo here would leave every opt-out behind: refused.
    code, out, err = run(capsys, "add", PHONE_NUMBER_ID, "--business", "acme")
    assert (code, out) == (2, "") and "pass --force" in err and "opt-outs" in err
    assert served().get(PHONE_NUMBER_ID).business == "default"  # type: ignore[union-attr]

    assert run(capsys, "add", PHONE_NUMBER_ID, "--business", "acme", "--force")[0] == 0
    assert served().get(PHONE_NUMBER_ID).business == "acme"  # type: ignore[union-attr]


def test_numbers_of_one_waba_serve_one_business(deployed: DeployedStack, capsys) -> None:
    assert run(capsys, "add", OTHER, "--waba", "400000000000001", "--business", "brand-b")[0] == 0

    code, _, err = run(capsys, "add", "100000000000003", "--waba", "400000000000001")  # business default
    assert code == 2 and "one WABA, one business" in err
    assert run(capsys, "add", "100000000000003", "--waba", "400000000000001", "--business", "brand-b")[0] == 0


# One stack for all (a moto stack per case would cost a second each).
REFUSED = [
    (["--secret", "other/secret"], "may read only whatsapp/cloud-api and whatsapp/cloud-api/..."),
    (["--app", "numbers"], "is the registry itself"),
    (["--business", "Brand B"], "business 'Brand B' is not valid"),
    (["--transport", "eum"], "needs eum_phone_number_id"),
    (["--eum-id", "12345"], "eum_phone_number_id '12345' is not valid"),
    (["--rate", "fast"], "--rate 'fast' is not a number"),
    (["--rate", "2000"], "send_rate_per_second 2000.0 must be 0 (no limit) to 1000"),
    (["--rules", "rules.yaml"], "--rules 'rules.yaml': a .json file"),
    (["--window", "sometimes"], "window_policy 'sometimes' is not one of"),
]


def test_an_entry_the_stack_could_not_serve_is_refused_with_the_reason(deployed: DeployedStack, capsys) -> None:
    for argv, reason in REFUSED:
        code, out, err = run(capsys, "add", OTHER, *argv)

        assert (code, out) == (2, ""), argv
        assert reason in err, (argv, err)
    assert served().get(OTHER) is None
    with pytest.raises(botocore.exceptions.ClientError):
        stored()  # nothing was written


def test_two_numbers_of_one_app_share_its_secret(deployed: DeployedStack, capsys) -> None:
    run(capsys, "add", OTHER, "--app", "sales", "--secret", f"{SECRET_NAME}/sales-eu")

    assert run(capsys, "add", "100000000000003", "--app", "sales")[0] == 0
    assert stored()["100000000000003"]["secret_name"] == f"{SECRET_NAME}/sales-eu"
    code, _, err = run(capsys, "add", "100000000000004", "--app", "sales", "--secret", f"{SECRET_NAME}/x")
    assert code == 2 and "one app, one secret" in err


def test_show_names_what_the_number_inherits_and_where_it_comes_from(deployed: DeployedStack, capsys) -> None:
    code, out, _ = run(capsys, "show", PHONE_NUMBER_ID)

    lines = out.splitlines()
    assert code == 0
    assert f"phone_number_id:       {PHONE_NUMBER_ID}" in lines
    assert f"secret_name:           {SECRET_NAME} (the stack's SecretName)" in lines
    assert "window_policy:         enforce (the stack's EnforceCustomerServiceWindow)" in lines
    assert "source:                from parameters" in lines
    assert f"webhook url:           {WEBHOOK}" in lines
    assert not any(line.startswith("eum event topic") for line in lines)


def test_show_of_an_eum_number_names_the_topic_its_waba_must_publish_on(deployed: DeployedStack, capsys) -> None:
    run(capsys, "add", OTHER, "--transport", "eum", "--eum-id", EUM_ID)

    code, out, _ = run(capsys, "show", OTHER)

    assert code == 0 and f"source:                {REGISTRY}" in out.splitlines()
    assert f"eum event topic:       {deployed.outputs.get('EumEventTopicArn', '(this stack')}" in out


def test_showing_or_removing_a_number_not_served_is_an_error(deployed: DeployedStack, capsys) -> None:
    for command in ("show", "remove"):
        code, out, err = run(capsys, command, OTHER)

        assert (code, out) == (1, ""), command
        assert f"{OTHER} is not a number this stack serves" in err


def test_a_new_default_takes_the_role_and_the_old_one_is_still_served(deployed: DeployedStack, capsys) -> None:
    customer = "16505551234"
    Store().customers.set_handover(customer, until=2**40, at=1, wamid="wamid.A")  # on the stack's number

    _, _, err = run(capsys, "add", OTHER, "--default")

    # The role moves; the customers' windows, handovers and history stay each number's.
    assert err == ""
    numbers = served()
    assert numbers.unsuffixed() == numbers.get(PHONE_NUMBER_ID)
    contact = Store().customers.get(customer, numbers.default())
    assert contact is not None and not contact.handed_over_for(numbers.default(), 2)
    assert contact.handed_over_for(numbers.get(PHONE_NUMBER_ID), 2)

    _, out, _ = run(capsys, "list")
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows[OTHER].endswith("default") and rows[PHONE_NUMBER_ID].endswith("from parameters")
    assert "default," not in rows[PHONE_NUMBER_ID]
    assert served().default().phone_number_id == OTHER  # type: ignore[union-attr]

    # Removing it needs --force; then the stack's own number is the default again.
    code, _, err = run(capsys, "remove", OTHER)
    assert code == 1 and "is the default number" in err and "--force" in err
    assert served().get(OTHER) is not None

    code, out, _ = run(capsys, "remove", OTHER, "--force")
    assert code == 0 and out.startswith(f"{OTHER}: removed; the functions stop serving it within 300 s")
    assert stored() == {}
    assert served().default().phone_number_id == PHONE_NUMBER_ID  # type: ignore[union-attr]


def test_the_number_keeping_the_unsuffixed_keys_is_removed_only_with_force_once_phone_number_id_changed(
    deployed: DeployedStack, capsys
) -> None:
    run(capsys, "add", OTHER, "--default")
    Store().customers.set_handover("16505551234", until=2**40, at=1, wamid="wamid.A")  # the stack's number's
    migrate_numbers(Store(), served())  # pins the stack's own number
    deployed.parameters["PhoneNumberId"] = OTHER  # the stack moves to the other number

    code, _, err = run(capsys, "remove", PHONE_NUMBER_ID)

    assert code == 1 and f"removed, they become {OTHER}'s" in err and "--force" in err
    numbers = served_as(OTHER)
    assert numbers.unsuffixed().phone_number_id == PHONE_NUMBER_ID  # type: ignore[union-attr]
    contact = Store().customers.get("16505551234", numbers.get(OTHER))
    assert contact is not None and not contact.handed_over_for(numbers.get(OTHER), 2)
    assert run(capsys, "remove", PHONE_NUMBER_ID, "--force")[0] == 0


def test_the_stack_s_own_number_cannot_be_removed_only_its_stored_settings(deployed: DeployedStack, capsys) -> None:
    code, _, err = run(capsys, "remove", PHONE_NUMBER_ID, "--force")
    assert code == 1 and "parameter PhoneNumberId" in err

    run(capsys, "add", PHONE_NUMBER_ID, "--label", "Support")
    code, out, _ = run(capsys, "remove", PHONE_NUMBER_ID, "--force")
    assert (code, out) == (
        0,
        f"{PHONE_NUMBER_ID}: stored settings removed; it is served with the stack's parameters again\n",
    )


# --- --from-eum ---------------------------------------------------------------------------------------


@pytest.fixture
def eum(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("socialmessaging", region_name=REGION)
    stubber = Stubber(client)
    monkeypatch.setattr(phone_numbers, "social_messaging", lambda: client)
    with stubber:
        yield stubber


def linked(stubber: Stubber) -> None:
    stubber.add_response(
        "get_linked_whatsapp_business_account_phone_number",
        {
            "phoneNumber": {
                "arn": f"arn:aws:social-messaging:{REGION}:123456789012:phone-number-id/{EUM_ID[16:]}",
                "phoneNumber": "+15550000002",
                "phoneNumberId": EUM_ID,
                "metaPhoneNumberId": OTHER,
                "displayPhoneNumberName": "Sales",
                "displayPhoneNumber": "+1 555-000-0002",
                "qualityRating": "GREEN",
            },
            "linkedWhatsAppBusinessAccountId": "waba-0123456789abcdef0123456789abcdef",
        },
        {"id": EUM_ID},
    )
    stubber.add_response(
        "get_linked_whatsapp_business_account",
        {
            "account": {
                "arn": f"arn:aws:social-messaging:{REGION}:123456789012:waba/0123456789abcdef0123456789abcdef",
                "id": "waba-0123456789abcdef0123456789abcdef",
                "wabaId": "200000000000002",
                "registrationStatus": "COMPLETE",
                "linkDate": datetime(2026, 1, 1, tzinfo=UTC),
                "wabaName": "Sales",
                "eventDestinations": [],
                "phoneNumbers": [],
            }
        },
        {"id": "waba-0123456789abcdef0123456789abcdef"},
    )


def test_from_eum_fills_meta_s_ids_and_the_display_number(deployed: DeployedStack, capsys, eum: Stubber) -> None:
    linked(eum)

    code, out, _ = run(capsys, "add", "--from-eum", EUM_ID, "--label", "Sales")

    assert (code, out) == (0, f"{OTHER}: added (eum, app default)\n")
    assert stored()[OTHER] == {
        "phone_number_id": OTHER,
        "waba_id": "200000000000002",
        "transport": "eum",
        "eum_phone_number_id": EUM_ID,
        "display_phone_number": "+1 555-000-0002",
        "label": "Sales",
    }
    eum.assert_no_pending_responses()


def test_from_eum_naming_another_number_than_given_is_refused(deployed: DeployedStack, capsys, eum: Stubber) -> None:
    linked(eum)

    code, _, err = run(capsys, "add", "100000000000009", "--from-eum", EUM_ID)

    assert code == 2 and f"is Meta's number {OTHER}, not 100000000000009" in err


def test_from_eum_that_aws_does_not_know_is_an_error(deployed: DeployedStack, capsys, eum: Stubber) -> None:
    eum.add_client_error(
        "get_linked_whatsapp_business_account_phone_number", "ResourceNotFoundException", "no such number", 404
    )

    code, _, err = run(capsys, "add", "--from-eum", EUM_ID)

    assert code == 1 and "End User Messaging Social answered" in err and "ResourceNotFoundException" in err
