"""`wacloud handover`: who is with a human (no automatic replies), and handing them back to the bot.

A customer is a business portfolio's (`--business`, default `default`): the same phone number
writing to another business's numbers is another customer, with handovers of its own."""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from wacloud.cli.targets import CommandError, add_target_arguments, resolve_target

DEFAULT_BUSINESS = "default"
# The registry's rule for a business's name (`NumberEntry.business`).
_BUSINESS = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


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
        ("show", "whether the customer is with a human, on which number, since when and until when", run_show),
        (
            "release",
            "automatic replies resume with the customer's next message, on every number of the business "
            "(a customer not with a human: said so, exit code 0; one who never wrote: exit code 1)",
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
        action.add_argument(
            "--business",
            type=business_name,
            default=DEFAULT_BUSINESS,
            help="the business portfolio whose customer this is (its numbers' `business`; default: default)",
        )
        action.set_defaults(run=run)


def business_name(value: str) -> str:
    if not _BUSINESS.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r}: lower-case letters, digits, - and _, at most 48")
    return value


def _contact(store: Any, customer: str, business: str) -> Any:
    contact = store.customers.get(customer, business=business)
    if contact is None:
        if business == DEFAULT_BUSINESS:
            raise CommandError(f"no contact {customer!r}: they have not written to this number")
        raise CommandError(f"no contact {customer!r} of business {business!r}: they have not written to its numbers")
    return contact


def _active(store: Any, contact: Any, business: str) -> dict[str, Any]:
    """The customer's handovers still running, by number ("": the stack's own number)."""
    now = int(time.time())
    found = store.customers.handovers(contact.customer_id, business=business)
    return {number: h for number, h in sorted(found.items()) if h.handover_until and now < h.handover_until}


def run_show(args: argparse.Namespace) -> int:
    store = resolve_target(args).store()
    contact = _contact(store, args.customer, args.business)
    active = _active(store, contact, args.business)
    if not active:
        print(f"{contact.address}: automatic replies (not handed over)")
        return 0
    for number, handover in active.items():
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(handover.handover_at or 0))
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(handover.handover_until or 0))
        where = f" on number {number}" if number else ""
        print(f"{contact.address}: with a human{where} since {since}, until {until} unless released")
    return 0


def run_release(args: argparse.Namespace) -> int:
    store = resolve_target(args).store()
    contact = _contact(store, args.customer, args.business)
    if not _active(store, contact, args.business):
        # Not an error: what a release is for already holds (an expired handover is left to expire).
        print(f"{args.customer}: no handover to release; automatic replies already answer them")
        return 0
    store.customers.release_handover(args.customer, business=args.business)
    print(f"{args.customer}: released; automatic replies resume with their next message")
    return 0
