"""The `wacloud` command."""

from __future__ import annotations

import argparse
import os
import sys

from wacloud.local.pipeline import local_setting, post_signed
from wacloud.local.run import DEFAULT_PORT, run_local


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

    args = parser.parse_args(argv)
    if args.command == "local":
        return run_local(
            port=args.port, demo=args.demo, verbose=args.verbose, status_webhooks=not args.no_status_webhooks
        )
    from wacloud.local.meta_webhooks import text_message

    body = text_message(args.text, phone_number_id=local_setting("phone_number_id"), sender=args.sender, name=args.name)
    try:
        status, answer = post_signed(f"http://127.0.0.1:{args.port}", body, local_setting("app_secret"))
    except OSError as exc:
        print(f"No local pipeline on port {args.port}: {exc}. Start it with `make local`.", file=sys.stderr)
        return 1
    print(f"{status} {answer}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
