"""`wacloud send` (an outbound document onto the queue, as any producer would) and `wacloud status`
(what happened to it: the outbound record and the message's status history)."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wacloud.cli.targets import CommandError, Target, UsageError, add_target_arguments, resolve_target

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
FINAL_STATES = ("failed", "rejected", "unconfirmed", "dead_lettered")
PROGRESS = ("accepted", "sent", "delivered", "read", "played")
WAIT_STEP_SECONDS = 0.5
KEY_USED_EXIT_CODE = 3  # not a failure of this send: the key's earlier one stands


def register(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="put an outbound message on the queue and print its idempotency key",
        description="Builds an outbound document (docs/OUTBOUND_CONTRACT.md) from the options or a JSON file, "
        "checks it against the contract, and puts it on the outbound queue with the recipient as its "
        "group. A local file given as media is put in the media bucket first and named by its key.",
    )
    add_target_arguments(send)
    send.add_argument("--to", help="the recipient: a phone number (+16505551234) or a business-scoped user id")
    what = send.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="a text message")
    what.add_argument("--template", metavar="NAME", help="a message template (see `wacloud templates list`)")
    for kind in MEDIA_KINDS:
        what.add_argument(
            f"--{kind}",
            metavar="SRC",
            help=f"a{'n' if kind[0] in 'aei' else ''} {kind}: a file, an https link, a media id or a bucket key",
        )
    what.add_argument("--file", metavar="JSON", help="a whole document (or just its message) from a JSON file")
    send.add_argument("--caption", help="the media's caption")
    send.add_argument("--filename", help="the document's file name")
    send.add_argument("--language", default="en_US", help="the template's language (default en_US)")
    send.add_argument(
        "--param", action="append", default=[], metavar="VALUE", help="a body parameter, in order ({{1}}, {{2}}, ...)"
    )
    send.add_argument(
        "--named", action="append", default=[], metavar="NAME=VALUE", help="a named body parameter ({{NAME}})"
    )
    send.add_argument(
        "--button-url-param",
        action="append",
        default=[],
        metavar="INDEX=VALUE",
        help="the variable part of URL button INDEX (0 for the first button; `templates list` shows them)",
    )
    send.add_argument("--preview-url", action="store_true", help="show a preview of the text's first link")
    send.add_argument("--reply-to", metavar="WAMID", help="quote this message")
    send.add_argument("--key", help="the idempotency key (default: a new one)")
    send.add_argument("--client-ref", help="your own reference, to find the message by later")
    send.add_argument("--phone-number-id", help="the sending number (default: the stack's PhoneNumberId)")
    send.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=60.0,
        metavar="SECONDS",
        help="follow the message until it is delivered (see --until) or fails (default 60 s)",
    )
    send.add_argument(
        "--until",
        choices=("accepted", "sent", "delivered", "read"),
        default="delivered",
        help="with --wait: the status to wait for (default delivered; read needs the customer to read it)",
    )
    send.set_defaults(run=run_send)

    status = commands.add_parser(
        "status",
        help="what happened to a message: by idempotency key or wamid",
        description="The outbound record (state, error, reason, attempts) and the message's status history.",
    )
    add_target_arguments(status)
    status.add_argument("id", metavar="KEY|WAMID", help="an outbound document's idempotency key, or a wamid")
    status.add_argument("--json", action="store_true", help="print the records as JSON")
    status.set_defaults(run=run_status)


def run_send(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from wacloud.models.validation_errors import describe
    from wacloud.outbound.contract import OutboundMessage

    target = resolve_target(args)
    document = _document(args, target)
    try:
        model = OutboundMessage.model_validate(document)
    except ValidationError as exc:
        raise UsageError(f"the message breaks the contract: {describe(exc)}") from exc
    if args.key or args.file:  # a key made here is new
        _refuse_a_used_key(target, model)
    _enqueue(target, model)
    print(model.idempotency_key)
    if args.wait is None:
        return 0
    return _follow(target, model.idempotency_key, args.wait, until=args.until)


def _document(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    if args.file:
        try:
            loaded = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {args.file}: {exc}") from exc
        document = loaded if isinstance(loaded, dict) and "message" in loaded else {"message": loaded}
    else:
        if not args.to:
            raise UsageError("--to is required (the recipient's number or user id)")
        document = {"message": {"to": args.to, **_message(args, target)}}
    if args.reply_to:
        document["message"]["context"] = {"message_id": args.reply_to}
    document.setdefault("idempotency_key", args.key or _new_key())
    for field, value in (("client_reference", args.client_ref), ("phone_number_id", args.phone_number_id)):
        if value:
            document[field] = value
    return document


def _message(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    if args.text is not None:
        return {"type": "text", "text": {"body": args.text, **({"preview_url": True} if args.preview_url else {})}}
    if args.template:
        return {"type": "template", "template": _template(args)}
    kind = next(k for k in MEDIA_KINDS if getattr(args, k))
    media = _media_source(getattr(args, kind), target)
    if args.caption:
        media["caption"] = args.caption
    if args.filename:
        media["filename"] = args.filename
    return {"type": kind, kind: media}


def _template(args: argparse.Namespace) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [{"type": "text", "text": value} for value in args.param]
    for name, value in _pairs("--named", "NAME=VALUE", args.named):
        parameters.append({"type": "text", "parameter_name": name, "text": value})
    components: list[dict[str, Any]] = [{"type": "body", "parameters": parameters}] if parameters else []
    for index, value in _pairs("--button-url-param", "INDEX=VALUE", args.button_url_param):
        if not index.isdigit():
            raise UsageError(f"--button-url-param takes the button's index (0, 1, ...), not {index!r}")
        components.append(
            {"type": "button", "sub_type": "url", "index": index, "parameters": [{"type": "text", "text": value}]}
        )
    template: dict[str, Any] = {"name": args.template, "language": {"code": args.language}}
    if components:
        template["components"] = components
    return template


def _pairs(option: str, form: str, given: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for pair in given:
        name, equals, value = pair.partition("=")
        if not equals:
            raise UsageError(f"{option} takes {form}, not {pair!r}")
        pairs.append((name, value))
    return pairs


def _media_source(source: str, target: Target) -> dict[str, Any]:
    """A link, a media id, a key in the media bucket, or a local file put there first."""
    if source.startswith("https://"):
        return {"link": source}
    path = Path(source)
    if path.is_file():
        return {"s3_key": _put_in_bucket(path, target)}
    if re.fullmatch(r"[0-9]{6,}", source):
        return {"id": source}
    if source.startswith(("/", "./", "../", "~")):
        raise UsageError(f"no file {source}")
    if not _in_bucket(source, target):
        raise UsageError(f"no file {source} here, and no key {source} in the media bucket")
    return {"s3_key": source}


def _in_bucket(key: str, target: Target) -> bool:
    import boto3
    from botocore.exceptions import ClientError

    try:
        boto3.client("s3").head_object(Bucket=target.output("MediaBucketName"), Key=key)
    except ClientError:
        return False
    return True


def _put_in_bucket(path: Path, target: Target) -> str:
    import boto3

    from wacloud.models import media_types

    data = path.read_bytes()
    key = f"outbound/cli/{hashlib.sha256(data).hexdigest()[:16]}/{path.name}"
    mime_type = media_types.mime_type_for(path.name, None) or "application/octet-stream"
    bucket = target.output("MediaBucketName")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=mime_type)
    print(f"put {path} in s3://{bucket}/{key}", file=sys.stderr)
    return key


def _new_key() -> str:
    return f"cli-{datetime.now(UTC):%Y%m%dT%H%M%S}-{hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:8]}"


def _refuse_a_used_key(target: Target, model: Any) -> None:
    """A key the store knows has sent (or is sending) its own document: the sender answers the same
    document from that record and refuses another, so nothing new would go out (exit code 3). A key
    whose document was refused as invalid is free. What differs is told from the recipient, type
    and client reference."""
    from wacloud.models.keys import customer_key
    from wacloud.outbound.contract import document_digest

    key = model.idempotency_key
    record = target.store().outbound.get(key)
    if record is None or record.invalid:
        return
    wamid = record.wamid or record.confirmed_wamid
    used = f"key {key!r} was used already ({record.state or 'sent'}{', ' + wamid if wamid else ''})"
    given = (
        ("to", record.recipient, customer_key(model.recipient or "")),
        ("type", record.type, model.kind),
        ("client ref", record.client_ref, model.client_reference),
    )
    differs = [f"{name} {was}, not {now}" for name, was, now in given if record.type and was != now]
    if differs:
        used += f" for another message ({'; '.join(differs)})"
    elif record.names_another_document(document_digest(model)):
        used += " for another message"
    after = "`wacloud dlq redrive outbound` sends it again" if record.state == "dead_lettered" else ""
    raise CommandError(
        f"{used}: nothing new was sent. A key sends one message: give a new --key (or none) for a new one; "
        f"`wacloud status {key}` shows what happened{'; ' + after if after else ''}.",
        exit_code=KEY_USED_EXIT_CODE,
    )


def _enqueue(target: Target, model: Any) -> None:
    import boto3

    from wacloud.outbound.contract import deduplication_id, message_group_id

    body = model.model_dump_json(exclude_none=True)
    boto3.client("sqs").send_message(
        QueueUrl=target.output("OutboundQueueUrl"),
        MessageBody=body,
        MessageGroupId=message_group_id(model.recipient or model.idempotency_key),
        MessageDeduplicationId=deduplication_id(body),
    )


def _follow(target: Target, key: str, seconds: float, *, until: str) -> int:
    """Print each change of the document's state and its message's status, until it reaches
    `until` (0), ends otherwise (1: failed, rejected, unconfirmed, in the DLQ) or time runs out (1)."""
    store = target.store()
    deadline = time.monotonic() + seconds
    seen: list[str] = []
    wamid_shown = False
    while time.monotonic() < deadline:
        outbound = store.outbound.get(key)
        message = store.messages.get(outbound.wamid) if outbound is not None and outbound.wamid else None
        wamid = (outbound.wamid or outbound.confirmed_wamid) if outbound is not None else None
        if wamid and not wamid_shown:
            wamid_shown = True
            print(f"  {datetime.now():%H:%M:%S}  wamid {wamid}", flush=True)
        step = _step(outbound, message)
        if step and (not seen or seen[-1] != step):
            seen.append(step)
            print(f"  {datetime.now():%H:%M:%S}  {step}", flush=True)
        status = message.status.value if message is not None and message.status is not None else None
        if status == "failed":
            return 1
        if status in PROGRESS and PROGRESS.index(status) >= PROGRESS.index(until):
            return 0
        if outbound is not None and outbound.state == "accepted" and outbound.type == "read_receipt":
            return 0  # a read receipt has no message of its own to follow
        if outbound is not None and outbound.state in FINAL_STATES:
            if outbound.state == "dead_lettered":
                print("  in the outbound DLQ: `wacloud dlq redrive outbound` once the cause is fixed", flush=True)
            return 1
        time.sleep(WAIT_STEP_SECONDS)
    print(f"  still waiting after {seconds:g} s: `wacloud status {key}` shows what happens next", flush=True)
    return 1


def _step(outbound: Any, message: Any) -> str:
    if outbound is None:
        return "queued"
    if message is not None and message.status is not None:
        error = f": {_error(message.error)}" if message.error else ""
        return f"{message.status}{error}"
    detail = outbound.reason or (_error(outbound.error) if outbound.error else "")
    return f"{outbound.state}{': ' + detail if detail else ''}"


def _error(error: Any) -> str:
    parts = [str(error.code) if error.code is not None else "", error.title or "", error.details or ""]
    return " ".join(part for part in parts if part)


def run_status(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    store = target.store()
    outbound = store.outbound.get(args.id)
    wamid = (outbound.wamid or outbound.confirmed_wamid) if outbound is not None else args.id
    message = store.messages.get(wamid) if wamid else None
    if outbound is None and message is None:
        raise CommandError(f"no outbound document with key {args.id!r} and no message with that wamid")
    if args.json:
        records = {"outbound": outbound, "message": message}
        print(json.dumps({k: v.model_dump(mode="json", exclude_none=True) for k, v in records.items() if v}, indent=2))
        return 0
    if outbound is not None:
        print(f"Outbound document {outbound.idempotency_key}")
        _rows(
            ("state", outbound.state),
            ("to", outbound.recipient),
            ("type", outbound.type),
            ("client ref", outbound.client_ref),
            ("attempts", outbound.attempts),
            ("reason", outbound.reason),
            ("error", _error(outbound.error) if outbound.error else None),
            ("wamid", outbound.wamid or outbound.confirmed_wamid),
            ("updated", _time(outbound.updated_at)),
        )
    if message is not None:
        print(f"Message {message.wamid}")
        _rows(
            ("direction", {"in": "from the customer", "out": "to the customer"}.get(str(message.direction))),
            ("customer", message.customer),
            ("type", message.type),
            ("status", message.status),
            ("error", _error(message.error) if message.error else None),
            ("pricing", _pricing(message.pricing)),
            ("media", f"s3://{message.media.bucket}/{message.media.key}" if message.media else None),
        )
        for status, at in message.timeline():
            print(f"    {_time(at)}  {status}")
    return 0


def _pricing(pricing: dict[str, Any] | None) -> str | None:
    """What Meta's status webhooks said the message is charged as (`billable` is deprecated)."""
    fields = (("model", "pricing_model"), ("type", "type"), ("category", "category"))
    return ", ".join(f"{name} {pricing[field]}" for name, field in fields if pricing.get(field)) if pricing else None


def _rows(*rows: tuple[str, Any]) -> None:
    for name, value in rows:
        if value not in (None, ""):
            print(f"  {name:<11} {value}")


def _time(at: int | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else ""
