"""`wacloud templates list`: the account's message templates, the parameters each takes, and
`--sync` to cache them where the sender checks template messages against them."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wacloud.cli.targets import UsageError, add_target_arguments, resolve_target

COLUMNS = ("NAME", "LANGUAGE", "STATUS", "CATEGORY", "PARAMETERS")


def register(commands: Any) -> None:
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
        "cached in the stack's table, where the sender checks template messages against them. The token "
        "comes from the stack's secret (it needs whatsapp_business_management).",
    )
    add_target_arguments(listing)
    listing.add_argument("--waba-id", help="the WhatsApp Business Account ID (default: the stack's WabaId)")
    listing.add_argument("--name", help="only the templates of this name")
    listing.add_argument("--status", type=str.upper, help="only templates in this status (APPROVED, PAUSED, ...)")
    listing.add_argument("--json", action="store_true", help="print the definitions as JSON")
    listing.add_argument("--sync", action="store_true", help="cache the definitions for the sender's check")
    listing.set_defaults(run=list_templates)


def list_templates(args: argparse.Namespace) -> int:
    from wacloud.outbound.template_catalog import fetch_templates
    from wacloud.outbound.template_check import expected_parameters

    target = resolve_target(args)
    waba_id = args.waba_id or target.parameters.get("WabaId", "")
    if not waba_id:
        raise UsageError("no account: pass --waba-id, or deploy the stack with the WabaId parameter")
    definitions = fetch_templates(target.graph(), waba_id, name=args.name)
    chosen = [d for d in definitions if not args.status or (d.status or "").upper() == args.status]
    if args.json:
        print(json.dumps([d.model_dump(mode="json", exclude_none=True) for d in chosen], indent=2))
    else:
        rows = [
            (d.name, d.language, d.status or "", d.category or "", expected_parameters(d).describe()) for d in chosen
        ]
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(COLUMNS)]
        for row in [COLUMNS, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        print(f"{len(chosen)} template(s) of account {waba_id}.")
    if args.sync:
        seconds = int(target.parameters.get("TemplateCacheSeconds") or 3600)
        store = target.store()
        for definition in chosen:
            store.templates.put(definition, ttl_seconds=seconds)
        print(f"{len(chosen)} definition(s) cached in {target.output('MessagesTableName')} for {seconds} s.")
    return 0
