"""`wacloud dlq list|redrive`: the dead-letter queues of a deployed stack or of the local run: the
inbound and outbound queues' (FIFO), and the EUM ingest's (`eum`: events it could not queue; a
redrive publishes them on the stack's EUM topic again, which hands them to the ingest)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from wacloud.cli.targets import CommandError, UsageError, resolve_target

QUEUES = ("inbound", "outbound", "eum")
QUEUE_HELP = "inbound, outbound, or eum: the End User Messaging Social ingest's (EumIngestDLQ)"


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def register(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="list and redrive the dead-letter queues (a deployed stack's, or the local run's)",
        description="Dead-letter queues. With --stack, boto3's usual credentials and region are used.",
    )
    actions = dlq.add_subparsers(dest="dlq_command", required=True)

    listing = actions.add_parser(
        "list",
        aliases=["inspect"],
        help="list the messages on a DLQ without removing them (each look counts as a receive)",
    )
    listing.add_argument("queue", choices=QUEUES, help=QUEUE_HELP)
    _where(listing, "the DLQ is read from its outputs", "the DLQ's URL")
    listing.add_argument("--limit", type=_positive, default=100, help="at most this many messages (default 100)")
    listing.add_argument(
        "--show-bodies", action="store_true", help="also print each body (phone numbers and message text!)"
    )
    listing.set_defaults(run=list_letters)

    redrive = actions.add_parser(
        "redrive", help="move the messages on a DLQ back to where they are read from (eum: the EUM topic)"
    )
    redrive.add_argument("queue", choices=QUEUES, help=QUEUE_HELP)
    _where(redrive, "the DLQ and its target are read from its outputs", "the DLQ's URL (with --target-url)")
    redrive.add_argument(
        "--target-url", help="where to move the messages (with --dlq-url): the queue; for eum, the EUM topic's ARN"
    )
    redrive.add_argument("--limit", type=_positive, default=None, help="at most this many messages (default all)")
    redrive.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    redrive.set_defaults(run=redrive_letters)


def _where(parser: argparse.ArgumentParser, stack_help: str, url_help: str) -> None:
    where = parser.add_mutually_exclusive_group()  # none: the local run, like the other commands
    where.add_argument("--stack", metavar="NAME", help=f"a deployed stack: {stack_help}")
    where.add_argument("--local", action="store_true", help="the running local pipeline (the default)")
    where.add_argument("--dlq-url", help=url_help)


def _queues(args: argparse.Namespace) -> tuple[str, str]:
    """(DLQ URL, source queue URL; for eum the EUM topic's ARN)."""
    from wacloud.ops import dead_letters as dlq

    if args.dlq_url:
        return args.dlq_url, getattr(args, "target_url", None) or ""
    if args.stack:
        return dlq.stack_queue_urls(args.stack, args.queue)
    target = resolve_target(args)  # the local run: the same outputs (its EUM topic feeds the ingest's poller)
    dlq_key, source_key = dlq.STACK_OUTPUTS[args.queue]
    return target.output(dlq_key), target.output(source_key)


def _line(letter: Any, now: datetime) -> str:
    return (
        f"{letter.message_id}  group={letter.display_group}  receives={letter.receive_count}  "
        f"age={letter.age(now)}  {letter.describe()}"
    )


def list_letters(args: argparse.Namespace) -> int:
    from wacloud.ops import dead_letters as dlq

    dlq_url, _ = _queues(args)
    letters = dlq.inspect(dlq_url, limit=args.limit)
    now = datetime.now(UTC)
    for letter in letters:
        print(_line(letter, now))
        if args.show_bodies:
            print(f"    body: {letter.body}")
    total = dlq.approximate_count(dlq_url)
    print(f"{len(letters)} message(s) shown from the {args.queue} DLQ {dlq_url} (about {total} on the queue).")
    if total > len(letters):
        print("Not all are shown: --limit, or a FIFO queue returns no more of a group while its first are looked at.")
    return 0


def redrive_letters(args: argparse.Namespace) -> int:
    from wacloud.ops import dead_letters as dlq
    from wacloud.ops import redrive

    if args.dlq_url and not args.target_url:
        raise UsageError("dlq redrive: --dlq-url needs --target-url, the queue to move the messages to")
    if not args.dlq_url and args.target_url:
        raise UsageError("dlq redrive: --target-url goes with --dlq-url; otherwise both come from the outputs")
    if args.queue == "eum" and args.target_url and not args.target_url.startswith("arn:"):
        raise UsageError("dlq redrive eum: --target-url is the EUM event topic's ARN (output EumEventTopicArn)")
    dlq_url, target_url = _queues(args)
    refused = None if args.yes else _confirm(dlq_url, target_url, args)
    if refused is not None:
        return refused

    def progress(outcomes: list[Any]) -> None:  # printed batch by batch, as they move
        now = datetime.now(UTC)
        for outcome in outcomes:
            state = "moved " if outcome.moved else "FAILED"
            error = f"  ({outcome.error})" if outcome.error else ""
            print(f"{state} {_line(outcome.letter, now)}{error}", flush=True)

    move = redrive.republish if args.queue == "eum" else redrive.redrive
    result = move(dlq_url, target_url, limit=args.limit, on_progress=progress)
    if result.stopped:
        print(f"Stopped early: {result.stopped}")
    print(
        f"{result.moved} message(s) moved to {_where_to(args, target_url)}; {result.failed} not moved (still on "
        f"the DLQ); about {dlq.approximate_count(dlq_url)} left on the {args.queue} DLQ."
    )
    return 0 if result.failed == 0 and not result.stopped else 1


def _where_to(args: argparse.Namespace, target_url: str) -> str:
    return (
        f"the EUM topic {target_url} (its subscription hands them to the ingest)" if args.queue == "eum" else target_url
    )


def _confirm(dlq_url: str, target_url: str, args: argparse.Namespace) -> int | None:
    """Ask on the terminal: None to go on, else the exit code."""
    from wacloud.ops import dead_letters as dlq

    if not sys.stdin.isatty():
        raise CommandError("refusing to move messages without --yes: no terminal to confirm on.", exit_code=2)
    preview = dlq.inspect(dlq_url, limit=args.limit or 100)
    now = datetime.now(UTC)
    for letter in preview:
        print(_line(letter, now))
    total = dlq.approximate_count(dlq_url)
    if not total and not preview:
        print(f"The {args.queue} DLQ {dlq_url} is empty: nothing to move.")
        return 0
    scope = f"up to {args.limit}" if args.limit else "all"
    print(
        f"Move {scope} of the messages on the {args.queue} DLQ (about {total}) to "
        f"{_where_to(args, target_url)}? [y/N] ",
        end="",
        flush=True,
    )
    if sys.stdin.readline().strip().lower() in ("y", "yes"):
        return None
    print("Nothing moved.")
    return 1
