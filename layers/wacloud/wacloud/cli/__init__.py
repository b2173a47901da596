"""The `wacloud` command: the local run and the simulated customers, and the same operations on the
local run or a deployed stack (send, status, invoke, dlq, templates, handover, migrate).

Each command lives in a module of its own that registers its parser; what a command needs beyond the
standard library is imported when it runs, so `wacloud --help` stays quick.
"""

from __future__ import annotations

import argparse
import os
import sys

from wacloud.cli import dlq, handover, invoke, local, messages, migrate, phone_numbers, templates
from wacloud.cli.targets import CommandError, UsageError

SIGPIPE_EXIT_CODE = 128 + 13  # what a shell reports for a tool SIGPIPE ended

EPILOG = """\
Without --stack, a command works on the local pipeline running here (`wacloud local`, or `make local`).
With --stack NAME it works on a deployed stack, with boto3's usual credentials and region.

  wacloud local                           the whole pipeline, a chat view at http://127.0.0.1:3001/
  wacloud say "Hi"                        a simulated customer writes
  wacloud send --to +16505551234 --text "Your order shipped" --wait
  wacloud status <idempotency key or wamid>
  wacloud invoke webhook -e events/webhook-post-text.json
  wacloud dlq list outbound --stack whatsapp-cloud
  wacloud templates list --stack whatsapp-cloud
  wacloud handover release +16505551234   automatic replies again for a customer a person was helping
  wacloud migrate customers --stack whatsapp-cloud   once after upgrading: one customer per person
  wacloud numbers list --stack whatsapp-cloud       the numbers the stack serves, and how each is reached
"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="wacloud",
        description="WhatsApp Cloud API on AWS serverless: run it locally, operate it deployed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (local, messages, invoke, dlq, templates, handover, migrate, phone_numbers):
        module.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run a command; its exit code. A reader that went away (`wacloud status ... | head`) ends the
    command quietly with 141, as SIGPIPE ends a Unix tool, instead of a traceback."""
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # what is still buffered meets a closed pipe here, not at exit
    except BrokenPipeError:
        # Python's own flush at exit would fail again: let it write to nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return SIGPIPE_EXIT_CODE


def _run(argv: list[str] | None) -> int:
    root = parser()
    args = root.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    from wacloud.errors import WacloudError

    try:
        return int(args.run(args))
    except UsageError as exc:  # like argparse's own errors: exit code 2
        root.exit(exc.exit_code, f"wacloud {args.command}: {exc}\n")
    except CommandError as exc:
        print(f"wacloud {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except (WacloudError, ClientError, BotoCoreError) as exc:
        print(f"wacloud {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
