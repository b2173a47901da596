"""The `wacloud` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wacloud.errors import WacloudError

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
    _add_templates_commands(commands)

    args = parser.parse_args(argv)
    if args.command == "dlq":
        return _dlq(parser, args)
    if args.command == "templates":
        return _templates(parser, args)
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


def _add_templates_commands(commands: Any) -> None:
    templates = commands.add_parser(
        "templates",
        help="the WhatsApp Business Account's message templates",
        description="Message templates of a WhatsApp Business Account, from the Graph API.",
    )
    actions = templates.add_subparsers(dest="templates_command", required=True)
    listing = actions.add_parser(
        "list",
        help="list the account's templates and the parameters each takes",
        description="GET /{waba-id}/message_templates, every page. With --sync the definitions are also "
        "cached in the stack's table, where the sender checks template messages against them.",
    )
    where = listing.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="a deployed stack: the token from its secret, the account from its WabaId")
    where.add_argument("--local", action="store_true", help="the running local pipeline (`wacloud local`)")
    listing.add_argument("--waba-id", help="the WhatsApp Business Account ID (default: the stack's WabaId)")
    listing.add_argument("--name", help="only the templates of this name")
    listing.add_argument("--status", type=str.upper, help="only templates in this status (APPROVED, PAUSED, ...)")
    listing.add_argument("--json", action="store_true", help="print the definitions as JSON")
    listing.add_argument("--sync", action="store_true", help="cache the definitions for the sender's check")


def _templates(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from wacloud.graph import GraphError, GraphTransportError
    from wacloud.template_catalog import expected_parameters, fetch_templates

    try:
        target = _template_source(args)
    except (ClientError, BotoCoreError, ValueError) as exc:
        print(f"wacloud templates list: {exc}", file=sys.stderr)
        return 1
    if not target.waba_id:
        parser.error("templates list: no account: pass --waba-id, or deploy the stack with the WabaId parameter")
    try:
        definitions = fetch_templates(target.graph, target.waba_id, token=target.token, name=args.name)
    except (GraphError, GraphTransportError) as exc:
        print(f"wacloud templates list: {exc}", file=sys.stderr)
        return 1
    chosen = [d for d in definitions if not args.status or (d.status or "").upper() == args.status]
    if args.json:
        print(json.dumps([d.model_dump(mode="json", exclude_none=True) for d in chosen], indent=2))
    else:
        rows = [
            (d.name, d.language, d.status or "", d.category or "", expected_parameters(d).describe()) for d in chosen
        ]
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(_TEMPLATE_COLUMNS)]
        for row in [_TEMPLATE_COLUMNS, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        print(f"{len(chosen)} template(s) of account {target.waba_id}.")
    if args.sync:
        from wacloud.store import MessageStore

        try:
            store = MessageStore(target.table_name)
            for definition in chosen:
                store.put_template(definition, ttl_seconds=target.cache_seconds)
        except WacloudError as exc:
            print(f"wacloud templates list: could not cache the definitions: {exc}", file=sys.stderr)
            return 1
        print(f"{len(chosen)} definition(s) cached in {target.table_name} for {target.cache_seconds} s.")
    return 0


_TEMPLATE_COLUMNS = ("NAME", "LANGUAGE", "STATUS", "CATEGORY", "PARAMETERS")


@dataclass(frozen=True)
class _TemplateSource:
    graph: Any
    token: str
    waba_id: str
    table_name: str
    cache_seconds: int


def _template_source(args: argparse.Namespace) -> _TemplateSource:
    """Where the templates come from: a deployed stack (its secret, parameters and table) or the local run."""
    import boto3

    from wacloud.config import DEFAULT_GRAPH_BASE_URL
    from wacloud.graph import GraphClient

    if args.local:
        from wacloud.local.pipeline import find_project_dir
        from wacloud.local.state import read_state

        state = read_state(find_project_dir())
        if state is None:
            raise ValueError("no local pipeline is running here: start one with `make local`")
        # The local run's AWS is a moto server; --sync writes to its table.
        os.environ.update(AWS_ENDPOINT_URL=state.aws_endpoint, AWS_DEFAULT_REGION=state.region)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        graph = GraphClient(base_url=state.graph_url, api_version="v25.0")
        return _TemplateSource(graph, state.access_token, args.waba_id or state.waba_id, state.table_name, 3600)
    from wacloud.deployed import describe_stack

    stack = describe_stack(args.stack)
    missing = [key for key in ("SecretName", "MessagesTableName") if not stack.outputs.get(key)]
    if missing:
        raise ValueError(f"stack {args.stack} has no output {' or '.join(missing)}: is it a deployed wacloud stack?")
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.outputs["SecretName"])
    token = json.loads(secret["SecretString"]).get("access_token")
    if not token:
        raise ValueError(f"secret {stack.outputs['SecretName']} has no access_token")
    version = stack.parameters.get("GraphApiVersion") or "v25.0"
    # Another Graph endpoint (a proxy) only over HTTPS: the production token goes with every call.
    base_url = os.environ.get("WACLOUD_GRAPH_BASE_URL", "")
    return _TemplateSource(
        graph=GraphClient(
            base_url=base_url if base_url.startswith("https://") else DEFAULT_GRAPH_BASE_URL, api_version=version
        ),
        token=token,
        waba_id=args.waba_id or stack.parameters.get("WabaId", ""),
        table_name=stack.outputs["MessagesTableName"],
        cache_seconds=int(stack.parameters.get("TemplateCacheSeconds") or 3600),
    )


if __name__ == "__main__":
    sys.exit(main())
