"""`wacloud handover`: who is with a human (no automatic replies), and handing them back to the bot."""

from __future__ import annotations

import argparse
import time
from typing import Any

from wacloud.cli.targets import CommandError, add_target_arguments, resolve_target


def register(commands: Any) -> None:
    handover = commands.add_parser(
        "handover",
        help="a customer handed over to a human: show it, or release them back to automatic replies",
        description=(
            "A rule or bot that hands a customer over stops automatic replies for them until the handover "
            "is released or expires (docs/CONVERSATIONS.md)."
        ),
    )
    actions = handover.add_subparsers(dest="handover_command", required=True)
    for name, help_text, run in (
        ("show", "whether the customer is with a human, since when and until when", run_show),
        (
            "release",
            "automatic replies resume with the customer's next message (a customer not with a human: "
            "said so, exit code 0; one who never wrote: exit code 1)",
            run_release,
        ),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        add_target_arguments(action)
        action.add_argument(
            "customer",
            metavar="NUMBER|USER_ID|@USERNAME",
            help="any of their names: number (+16505551234), business-scoped user id or @username",
        )
        action.set_defaults(run=run)


def _contact(store: Any, customer: str) -> Any:
    contact = store.customers.get(customer)
    if contact is None:
        raise CommandError(f"no contact {customer!r}: they have not written to this number")
    return contact


def run_show(args: argparse.Namespace) -> int:
    contact = _contact(resolve_target(args).store(), args.customer)
    if not contact.handed_over(int(time.time())):
        print(f"{contact.address}: automatic replies (not handed over)")
        return 0
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(contact.handover_at or 0))
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(contact.handover_until or 0))
    print(f"{contact.address}: with a human since {since}, until {until} unless released")
    return 0


def run_release(args: argparse.Namespace) -> int:
    store = resolve_target(args).store()
    contact = _contact(store, args.customer)
    if not contact.handed_over(int(time.time())):
        # Not an error: what a release is for already holds (an expired handover is left to expire).
        print(f"{args.customer}: no handover to release; automatic replies already answer them")
        return 0
    store.customers.release_handover(args.customer)
    print(f"{args.customer}: released; automatic replies resume with their next message")
    return 0
