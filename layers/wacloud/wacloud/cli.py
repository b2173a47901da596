"""The `wacloud` command."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

# The local run's modules need the `local` extra (moto, PyYAML): imported by the commands that use them.
DEFAULT_PORT = 3000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wacloud", description="WhatsApp Cloud API on AWS serverless.")
    commands = parser.add_subparsers(dest="command", required=True)
    port = int(os.environ.get("WACLOUD_LOCAL_PORT", DEFAULT_PORT))

    local = commands.add_parser("local", help="run the whole pipeline on this machine (no Docker, no AWS)")
    local.add_argument("--port", type=int, default=port, help=f"front door port (default {port})")
    local.add_argument(
        "--demo", action="store_true", help="send one message, wait for the reply and its statuses, exit"
    )
    local.add_argument("--verbose", action="store_true", help="show the functions' own (JSON) logs")
    local.add_argument("--no-status-webhooks", action="store_true", help="the fake Graph API sends no statuses")

    say = commands.add_parser("say", help="post a customer's text message to the running local webhook")
    say.add_argument("text")
    say.add_argument("--from", dest="sender", default="16505551234", help="the customer's number")
    say.add_argument("--name", default="Local Customer", help="the customer's profile name")
    say.add_argument("--port", type=int, default=port)

    _add_dlq_commands(commands)

    args = parser.parse_args(argv)
    if args.command == "dlq":
        return _dlq(parser, args)
    if args.command == "local":
        from wacloud.local.run import run_local

        return run_local(
            port=args.port, demo=args.demo, verbose=args.verbose, status_webhooks=not args.no_status_webhooks
        )
    from wacloud.local.meta_webhooks import text_message
    from wacloud.local.pipeline import local_setting, post_signed

    body = text_message(args.text, phone_number_id=local_setting("phone_number_id"), sender=args.sender, name=args.name)
    try:
        status, answer = post_signed(f"http://127.0.0.1:{args.port}", body, local_setting("app_secret"))
    except OSError as exc:
        print(f"No local pipeline on port {args.port}: {exc}. Start it with `make local`.", file=sys.stderr)
        return 1
    print(f"{status} {answer}")
    return 0 if status == 200 else 1


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _add_dlq_commands(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="inspect and redrive a deployed stack's dead-letter queues (AWS credentials needed)",
        description="Dead-letter queues of a deployed stack. Uses boto3's usual credentials and region.",
    )
    actions = dlq.add_subparsers(dest="dlq_command", required=True)

    inspect = actions.add_parser(
        "inspect", help="list the messages on a DLQ without removing them (each look counts as a receive)"
    )
    inspect.add_argument("queue", choices=("inbound", "outbound"))
    where = inspect.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the stack's name: the DLQ is read from its outputs")
    where.add_argument("--dlq-url", help="the DLQ's URL")
    inspect.add_argument("--limit", type=_positive, default=100, help="at most this many messages (default 100)")
    inspect.add_argument(
        "--show-bodies", action="store_true", help="also print each body (phone numbers and message text!)"
    )

    redrive = actions.add_parser("redrive", help="move the messages on a DLQ back to the queue they came from")
    redrive.add_argument("queue", choices=("inbound", "outbound"))
    where = redrive.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the stack's name: both queues are read from its outputs")
    where.add_argument("--dlq-url", help="the DLQ's URL (with --target-url)")
    redrive.add_argument("--target-url", help="the queue to move the messages to (with --dlq-url)")
    redrive.add_argument("--limit", type=_positive, default=None, help="at most this many messages (default all)")
    redrive.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _dlq(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from wacloud import dlq

    if args.dlq_command == "redrive" and args.dlq_url and not args.target_url:
        parser.error("dlq redrive: --dlq-url needs --target-url, the queue to move the messages to")
    if args.dlq_command == "redrive" and args.stack and args.target_url:
        parser.error("dlq redrive: --target-url goes with --dlq-url; with --stack both come from the outputs")
    try:
        if args.stack:
            dlq_url, source_url = dlq.stack_queue_urls(args.stack, args.queue)
        else:
            dlq_url, source_url = args.dlq_url, getattr(args, "target_url", None) or ""
        if args.dlq_command == "inspect":
            return _dlq_inspect(dlq_url, args)
        return _dlq_redrive(dlq_url, source_url, args)
    except (dlq.DlqError, ClientError, BotoCoreError) as exc:
        print(f"wacloud dlq {args.dlq_command}: {exc}", file=sys.stderr)
        return 1


def _letter_line(letter: Any, now: datetime) -> str:
    return (
        f"{letter.message_id}  group={letter.display_group}  receives={letter.receive_count}  "
        f"age={letter.age(now)}  {letter.describe()}"
    )


def _dlq_inspect(dlq_url: str, args: argparse.Namespace) -> int:
    from wacloud import dlq

    letters = dlq.inspect(dlq_url, limit=args.limit)
    now = datetime.now(UTC)
    for letter in letters:
        print(_letter_line(letter, now))
        if args.show_bodies:
            print(f"    body: {letter.body}")
    total = dlq.approximate_count(dlq_url)
    print(f"{len(letters)} message(s) shown from the {args.queue} DLQ {dlq_url} (about {total} on the queue).")
    if total > len(letters):
        print("Not all are shown: --limit, or a FIFO queue returns no more of a group while its first are looked at.")
    return 0


def _dlq_redrive(dlq_url: str, target_url: str, args: argparse.Namespace) -> int:
    from wacloud import dlq

    if not args.yes:
        if not sys.stdin.isatty():
            print(
                "wacloud dlq redrive: refusing to move messages without --yes: no terminal to confirm on.",
                file=sys.stderr,
            )
            return 2
        preview = dlq.inspect(dlq_url, limit=args.limit or 100)
        now = datetime.now(UTC)
        for letter in preview:
            print(_letter_line(letter, now))
        total = dlq.approximate_count(dlq_url)
        if not total and not preview:
            print(f"The {args.queue} DLQ {dlq_url} is empty: nothing to move.")
            return 0
        scope = f"up to {args.limit}" if args.limit else "all"
        print(
            f"Move {scope} of the messages on the {args.queue} DLQ (about {total}) to {target_url}? [y/N] ",
            end="",
            flush=True,
        )
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("Nothing moved.")
            return 1
    result = dlq.redrive(dlq_url, target_url, limit=args.limit)
    now = datetime.now(UTC)
    for outcome in result.outcomes:
        state = "moved " if outcome.moved else "FAILED"
        error = f"  ({outcome.error})" if outcome.error else ""
        print(f"{state} {_letter_line(outcome.letter, now)}{error}")
    if result.stopped:
        print(f"Stopped early: {result.stopped}")
    print(
        f"{result.moved} message(s) moved to {target_url}; {result.failed} not moved (still on the DLQ); "
        f"about {dlq.approximate_count(dlq_url)} left on the {args.queue} DLQ."
    )
    return 0 if result.failed == 0 and not result.stopped else 1


if __name__ == "__main__":
    sys.exit(main())
