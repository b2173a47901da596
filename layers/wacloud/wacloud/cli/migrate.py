"""`wacloud migrate customers|numbers`: bring stored records up to this version (once after
upgrading; each safe to run again). `customers`: customers stored before identities existed become
one customer per person. `numbers`: records kept before the stack served several numbers go to the
number each belongs to."""

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
    numbers = steps.add_parser(
        "numbers",
        help="give each number its own windows, handovers and history (keeps every opt-out)",
        description=(
            "Windows, handovers and history are per number now; the stack's own number keeps the records it had, "
            "and every opt-out stays business-wide (binding every number). This reads the table (a scan): "
            "where a kept message record shows a customer wrote to another number, that number gets its "
            "window, the handover that message started and its history lines (copied; nothing is deleted; "
            "opt-outs, marketing choices and identities are never written). It also pins the stack's own number "
            "in the registry as the one keeping those records, so a later PhoneNumberId change moves nothing. "
            "Running it again changes nothing."
        ),
    )
    add_target_arguments(numbers)
    numbers.set_defaults(run=run_numbers)


def run_customers(args: argparse.Namespace) -> int:
    from wacloud.ops.customer_migration import migrate_customers

    target = resolve_target(args)
    report = migrate_customers(target.store())
    print(f"{target.label}: {report.profiles} customer profiles read, {report.linked} linked by phone and user id")
    return 0


def run_numbers(args: argparse.Namespace) -> int:
    from wacloud.cli.phone_numbers import target_registry
    from wacloud.ops.number_migration import migrate_numbers

    target = resolve_target(args)
    report = migrate_numbers(target.store(), target_registry(target))
    others = ", ".join(report.other_numbers) or "none"
    print(
        f"{target.label}: number {report.unsuffixed_number} keeps the single-number records"
        f"{' (now pinned in the registry)' if report.pinned else ''}; default number {report.default_number}; "
        f"{report.customers} customers, "
        f"{report.opt_outs} opt-outs kept business-wide; {report.messages} inbound messages read "
        f"({report.other_business} to other businesses' numbers, left alone), "
        f"other numbers written to: {others}; carried over: {report.windows} windows, "
        f"{report.handovers} handovers, {report.history} history lines"
    )
    return 0
