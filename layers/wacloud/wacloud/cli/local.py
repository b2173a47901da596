"""`wacloud local` (the whole pipeline on this machine) and `wacloud say` (a simulated customer writes,
to the default business number or to the one `--number` names)."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from wacloud.cli.targets import CommandError, UsageError, local_target

SIMULATOR_HEADER = "X-Wacloud-Simulator"  # the simulator refuses POSTs without it (cross-site requests)

DEFAULT_PORT = 3000
DEFAULT_SIMULATOR_PORT = 3001


def register(commands: Any) -> None:
    port = int(os.environ.get("WACLOUD_LOCAL_PORT", DEFAULT_PORT))
    simulator_port = int(os.environ.get("WACLOUD_SIMULATOR_PORT", DEFAULT_SIMULATOR_PORT))
    local = commands.add_parser(
        "local",
        help="run the whole pipeline on this machine (no Docker, no AWS, no Meta)",
        description="AWS emulated by moto, every function in-process, the webhook behind a local front "
        "door, and a simulated Meta: Graph API, customers, and a chat view to type as them.",
    )
    local.add_argument("--port", type=int, default=port, help=f"the webhook's front door (default {port})")
    local.add_argument(
        "--simulator-port",
        type=int,
        default=simulator_port,
        help=f"the chat view and simulated Graph API (default {simulator_port})",
    )
    local.add_argument(
        "--demo", action="store_true", help="send one message, wait for the reply and its statuses, exit"
    )
    local.add_argument("--verbose", action="store_true", help="show the functions' own (JSON) logs")
    local.add_argument(
        "--show-personal-data",
        action="store_true",
        help="print phone numbers, wamids, customers' text and the app secret in full (masked by default)",
    )
    local.add_argument("--no-status-webhooks", action="store_true", help="the simulated Meta sends no statuses")
    local.set_defaults(run=run_local)

    say = commands.add_parser(
        "say",
        help="a simulated customer sends a message to the running local pipeline",
        description="A customer's message of any type, signed like Meta's webhook and posted to the local "
        "webhook; it shows in the chat view too. Without options it is a text.",
    )
    say.add_argument("text", nargs="?", help="the text (or the caption of --image/--document)")
    say.add_argument(
        "--from",
        dest="sender",
        type=_customer,
        default="16505551234",
        help="the customer's number (default 16505551234), or @username for one known only by username and user id",
    )
    say.add_argument("--group", metavar="GROUP_ID", help="write in this simulated group (the customer is its member)")
    say.add_argument("--name", default="Local Customer", help="the customer's profile name")
    say.add_argument(
        "--number",
        metavar="PHONE_NUMBER_ID",
        type=_number_id,
        help="the business number written to, by its Meta phone number id (default: the default number; in a "
        "--group, the group's own number, and naming another is refused; `wacloud local` lists them, one on "
        "the Cloud API, one on End User Messaging Social)",
    )
    kind = say.add_mutually_exclusive_group()
    kind.add_argument("--button-reply", metavar="ID[:TITLE]", help="tap a reply button")
    kind.add_argument("--list-reply", metavar="ID[:TITLE]", help="choose a list row")
    kind.add_argument("--quick-reply", metavar="PAYLOAD[:TEXT]", help="tap a template's quick-reply button")
    kind.add_argument("--location", metavar="LAT,LON[,NAME]", help="share a location")
    kind.add_argument("--image", metavar="PATH", help="send a photo (JPEG or PNG)")
    kind.add_argument("--document", metavar="PATH", help="send a file")
    kind.add_argument("--voice", metavar="PATH", help="send a voice note (OGG/Opus)")
    kind.add_argument("--reaction", metavar="EMOJI", help="react to --reply-to (an empty string removes it)")
    kind.add_argument("--message", metavar="JSON", help='any message object, e.g. \'{"type": "order", ...}\'')
    say.add_argument("--reply-to", metavar="WAMID", help="the business's message this answers (quoted)")
    say.set_defaults(run=run_say)


def _customer(value: str) -> str:
    if re.fullmatch(r"@[A-Za-z0-9._]{1,64}", value):
        return value  # a customer with a username and no phone number
    digits = "".join(c for c in value if c.isdigit())
    if not 6 <= len(digits) <= 15 or not all(c.isdigit() or c in "+ -()" for c in value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a phone number (6 to 15 digits, e.g. 16505551234) or an @username"
        )
    return digits


def _number_id(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,30}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a phone number id (digits, e.g. 100000000000002)")
    return value


def run_local(args: argparse.Namespace) -> int:
    from wacloud.local.run import run_local as run

    return run(
        port=args.port,
        simulator_port=args.simulator_port,
        demo=args.demo,
        verbose=args.verbose,
        show_personal_data=args.show_personal_data,
        status_webhooks=not args.no_status_webhooks,
    )


def run_say(args: argparse.Namespace) -> int:
    import requests

    local = local_target().local
    if local is None:  # pragma: no cover - local_target always has one
        raise CommandError("no local pipeline is running here")
    simulator = local.simulator_url
    customer = f"{simulator}/_sim/customers/{quote(args.sender)}"
    message = _message(args, lambda path, kind: _upload(f"{customer}/media", path, kind))
    url, document = f"{customer}/messages", {"name": args.name, "message": message}
    if args.number:
        document["phone_number_id"] = args.number
    if args.group:
        url, document = f"{simulator}/_sim/groups/{quote(args.group)}/messages", {**document, "from": args.sender}
    try:
        answer = requests.post(
            url,
            json=document,
            headers={SIMULATOR_HEADER: "1"},
            timeout=30,
        )
    except requests.RequestException as exc:
        raise CommandError(f"the local run's simulator did not answer at {simulator}: {exc}") from exc
    result = answer.json()
    if answer.status_code != 200:
        raise CommandError(result.get("error") or f"the simulator answered {answer.status_code}")
    print(f"{result['wamid']}  webhook answered {result['webhook_status']} {result['webhook_answer']}")
    return 0 if result["webhook_status"] == 200 else 1


def _message(args: argparse.Namespace, upload: Any) -> dict[str, Any]:
    """The message object the options describe (a text when none describes another kind)."""
    if args.reaction is not None:
        if not args.reply_to:
            raise UsageError("--reaction needs --reply-to, the message reacted to")
        return {"type": "reaction", "reaction": {"message_id": args.reply_to, "emoji": args.reaction}}
    builders = (
        (args.message, _raw_message),
        (args.button_reply, lambda value: _choice("button_reply", value)),
        (args.list_reply, lambda value: _choice("list_reply", value)),
        (args.quick_reply, _quick_reply),
        (args.location, _location),
        (args.image or args.document or args.voice, lambda _: _media(args, upload)),
    )
    message = next((build(value) for value, build in builders if value), None)
    if message is None:
        if not args.text:
            raise UsageError("say what? give a text, or one of --button-reply, --location, --image, ...")
        message = {"type": "text", "text": {"body": args.text}}
    if args.reply_to:
        message["context"] = {"id": args.reply_to}
    return message


def _raw_message(value: str) -> dict[str, Any]:
    try:
        message = json.loads(value)
    except ValueError as exc:
        raise UsageError(f"--message is not JSON: {exc}") from exc
    if not isinstance(message, dict) or not message.get("type"):
        raise UsageError("--message is a JSON object with a 'type'")
    return message


def _choice(kind: str, value: str) -> dict[str, Any]:
    reply_id, _, title = value.partition(":")
    return {"type": "interactive", "interactive": {"type": kind, kind: {"id": reply_id, "title": title or reply_id}}}


def _quick_reply(value: str) -> dict[str, Any]:
    payload, _, text = value.partition(":")
    return {"type": "button", "button": {"payload": payload, "text": text or payload}}


def _location(value: str) -> dict[str, Any]:
    parts = value.split(",", 2)
    try:
        location: dict[str, Any] = {"latitude": float(parts[0]), "longitude": float(parts[1])}
    except (ValueError, IndexError) as exc:
        raise UsageError("--location takes LAT,LON[,NAME], e.g. 37.4847,-122.1477,HQ") from exc
    return {"type": "location", "location": location | ({"name": parts[2]} if len(parts) > 2 else {})}


def _media(args: argparse.Namespace, upload: Any) -> dict[str, Any]:
    kind = "image" if args.image else "document" if args.document else "audio"
    path = Path(args.image or args.document or args.voice)
    media = upload(path, kind)
    if args.voice:
        media["voice"] = True
    if args.document:
        media["filename"] = path.name
    if args.text and kind != "audio":
        media["caption"] = args.text
    return {"type": kind, kind: media}


def _upload(url: str, path: Path, kind: str) -> dict[str, Any]:
    """Hand the simulator a file, as the customer's phone hands it to Meta: its media id."""
    import requests

    from wacloud.models import media_types

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    mime_type = media_types.mime_type_for(path.name, None) or "application/octet-stream"
    answer = requests.post(url, data=data, headers={"Content-Type": mime_type, SIMULATOR_HEADER: "1"}, timeout=30)
    if answer.status_code != 200:
        raise CommandError(f"the simulator refused the file: {answer.text}")
    return {"id": answer.json()["id"], "mime_type": mime_type}
