"""`wacloud migrate customers`: carry customers stored before identities existed over to one customer
per person (once after upgrading to this version; safe to run again)."""

from __future__ import annotations

import argparse
from typing import Any

from wacloud.cli.targets import add_target_arguments, resolve_target


def register(commands: Any) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="bring stored records up to this version (after an upgrade)",
        description="Bring the records of the local run or a deployed stack up to this version.",
    )
    steps = migrate.add_subparsers(dest="migrate_command", required=True)
    customers = steps.add_parser(
        "customers",
        help="link each customer stored under both a phone number and a user id into one (keeps every opt-out)",
        description=(
            "Before identities, a customer known by phone number and business-scoped user id was kept twice. "
            "This reads every stored profile (a table scan) and links the two into one customer, found by "
            "either; the latest opt-out choice is kept (at the same second, the opt-out). Nothing is deleted; "
            "running it again changes nothing."
        ),
    )
    add_target_arguments(customers)
    customers.set_defaults(run=run_customers)


def run_customers(args: argparse.Namespace) -> int:
    from wacloud.ops.customer_migration import migrate_customers

    target = resolve_target(args)
    report = migrate_customers(target.store())
    print(f"{target.label}: {report.profiles} customer profiles read, {report.linked} linked by phone and user id")
    return 0
