"""`wacloud numbers add|list|show|remove`: the registry of numbers a stack serves
(`<SecretName>/numbers`, wacloud.adapters.registry), on the local run or a deployed stack.

A change reaches the functions within their secret cache (SecretCacheSeconds), and a number just
added at once: a number the registry does not know makes a function read it again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from wacloud.cli.targets import CommandError, Target, UsageError, add_target_arguments, resolve_target

if TYPE_CHECKING:  # imported when a command runs: `wacloud --help` stays quick
    from wacloud.adapters.registry import NumberRegistry
    from wacloud.models.number_entry import NumberEntry

COLUMNS = ("PHONE NUMBER ID", "TRANSPORT", "APP", "WABA", "DISPLAY", "LABEL", "")
FROM_PARAMETERS = "from parameters"
# As the template's ConversationRules (the settings take any text; the processor loads it).
RULES = re.compile(r"s3://\S+/\S+\.json|[A-Za-z0-9_./-]+\.json")
# An entry's blank fields are these parameters' values.
INHERITED = {
    "secret_name": "SecretName",
    "rules": "ConversationRules",
    "bot": "ConversationBot",
    "send_rate_per_second": "SendRatePerSecond",
    "window_policy": "EnforceCustomerServiceWindow",
    "meta_api_version": "GraphApiVersion",
}

# `add`'s options: (flag, entry field, help). Absent options keep what the number has (or the default).
FIELD_OPTIONS = (
    ("--waba", "waba_id", "Meta's WhatsApp Business Account id (matches template and account webhooks)"),
    ("--app", "app", "the Meta app whose webhook carries the number: /webhook/<app> (default: default)"),
    ("--transport", "transport", "how replies are sent: cloud_api (Meta's Graph API) or eum (AWS End User Messaging)"),
    ("--eum-id", "eum_phone_number_id", "AWS End User Messaging Social's phone-number-id-... (or its ARN)"),
    ("--secret", "secret_name", "the app's secret (default: SecretName for app default, else SecretName/<app>)"),
    ("--business", "business", "the business portfolio: its customers are its own (default: default)"),
    ("--rules", "rules", "its rules file (default: the stack's ConversationRules)"),
    ("--bot", "bot", "its bot, module:attribute (default: the stack's ConversationBot)"),
    ("--rate", "send_rate_per_second", "messages per second, 0 = no limit (default: the stack's SendRatePerSecond)"),
    ("--window", "window_policy", "the 24-hour window check: enforce or off (default: EnforceCustomerServiceWindow)"),
    (
        "--opt-out-scope",
        "opt_out_scope",
        "whether a customer's opt-out stops this number or every number: number|business",
    ),
    ("--api-version", "meta_api_version", "Meta API version, as v23.0 (default: the stack's GraphApiVersion)"),
    ("--display", "display_phone_number", "the number as customers see it, e.g. +1 555-000-0001"),
    ("--label", "label", "a name for people: 'Support', 'Sales DE'"),
)


def register(commands: Any) -> None:
    numbers = commands.add_parser(
        "numbers",
        help="the WhatsApp numbers the stack serves, and how each is reached",
        description="The registry of numbers (the secret <SecretName>/numbers). The stack's own number "
        "(PhoneNumberId) is always served; it is the default unless another is marked --default.",
    )
    actions = numbers.add_subparsers(dest="numbers_command", required=True)

    listing = _action(actions, "list", run_list, "every number the stack serves")
    listing.add_argument("--json", action="store_true", help="print the entries as JSON")

    show = _action(actions, "show", run_show, "one number: its settings, webhook URL and EUM topic")
    show.add_argument("phone_number_id", metavar="PHONE_NUMBER_ID")
    show.add_argument("--json", action="store_true", help="print the entry as JSON")

    add = _action(
        actions,
        "add",
        run_add,
        "serve a number, or change one (options not given keep their value)",
        "Add a number to the registry, or change one: options not given keep what the number has. "
        "Functions serve it at once.",
    )
    add.add_argument("phone_number_id", metavar="PHONE_NUMBER_ID", nargs="?", help="Meta's phone number id")
    for flag, _, help_text in FIELD_OPTIONS:
        add.add_argument(flag, help=help_text)
    add.add_argument("--default", action="store_true", help="send documents that name no number from it")
    add.add_argument(
        "--force",
        action="store_true",
        help="change a served number's --business (its customers, opt-outs too, stay with the old business)",
    )
    add.add_argument(
        "--from-eum",
        metavar="PHONE_NUMBER_ID_ARN",
        help="fill the id, WABA and display number from AWS End User Messaging Social's phone-number-id-... "
        "(transport eum unless --transport says otherwise)",
    )

    remove = _action(
        actions,
        "remove",
        run_remove,
        "stop serving a number (within the functions' secret cache age)",
        "Remove a stored number. The default number only with --force; the stack's own number "
        "(PhoneNumberId) stays served: change that parameter to stop it.",
    )
    remove.add_argument("phone_number_id", metavar="PHONE_NUMBER_ID")
    remove.add_argument("--force", action="store_true", help="remove it even if it is the default number")


def _action(actions: Any, name: str, run: Any, help_text: str, description: str = "") -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text, description=description or help_text)
    add_target_arguments(parser)
    parser.set_defaults(run=run)
    return parser


# --- the target's registry -------------------------------------------------------------------------


def target_registry(target: Target) -> NumberRegistry:
    """The target's registry, read afresh on every call (a command sees what is stored now)."""
    import boto3

    from wacloud.adapters.credentials import SecretReader
    from wacloud.adapters.registry import NumberRegistry
    from wacloud.config import Settings

    settings = Settings(
        secret_name=target.output("SecretName"),
        phone_number_id=target.parameters.get("PhoneNumberId", ""),
        waba_id=target.parameters.get("WabaId", ""),
    )
    return NumberRegistry.for_settings(SecretReader(boto3.client("secretsmanager"), max_age=0), settings)


def _source(registry: NumberRegistry, entry: NumberEntry) -> str:
    """Where an entry comes from: the registry's secret, or the stack's parameters."""
    return "" if entry.phone_number_id in registry.stored() else FROM_PARAMETERS


# --- list, show -------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    registry = target_registry(resolve_target(args))
    entries, stored = registry.entries(), registry.stored()
    if args.json:
        print(json.dumps([_item(entry, entry.phone_number_id in stored) for entry in entries], indent=2))
        return 0
    rows = [COLUMNS]
    for entry in entries:
        notes = [
            note
            for note, on in (("default", entry.default), (FROM_PARAMETERS, entry.phone_number_id not in stored))
            if on
        ]
        rows.append(
            (
                entry.phone_number_id,
                entry.transport,
                entry.app,
                entry.waba_id or "-",
                entry.display_phone_number or "-",
                entry.label or "-",
                ", ".join(notes),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def run_show(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    registry = target_registry(target)
    entry = _served(registry, args.phone_number_id)
    source = _source(registry, entry)
    if args.json:
        print(json.dumps(_item(entry, not source), indent=2))
        return 0
    for field in dataclasses.fields(entry):
        value = getattr(entry, field.name)
        if field.name in INHERITED and value in ("", None):
            value = _inherited(target, INHERITED[field.name])
        print(f"{field.name + ':':<22} {'-' if value in ('', None) else value}")
    print(f"{'source:':<22} {source or registry.secret_name}")
    webhook = target.outputs.get("WebhookUrl", "")
    if webhook:
        print(f"{'webhook url:':<22} {webhook if entry.app == 'default' else f'{webhook}/{entry.app}'}")
    if entry.transport == "eum" or entry.eum_phone_number_id:
        topic = target.outputs.get("EumEventTopicArn") or "(this stack has no EumEventTopicArn output)"
        print(f"{'eum event topic:':<22} {topic}")
    return 0


def _inherited(target: Target, parameter: str) -> str:
    """A blank field's value: the stack's parameter (as the functions' settings have it)."""
    value = target.parameters.get(parameter) or target.outputs.get(parameter, "")
    if parameter == "EnforceCustomerServiceWindow":
        value = "enforce" if value.strip().lower() not in ("false", "0", "no") else "off"
    return f"{value or '-'} (the stack's {parameter})"


def _item(entry: NumberEntry, stored: bool) -> dict[str, Any]:
    return {**dataclasses.asdict(entry), "source": "registry" if stored else FROM_PARAMETERS}


def _served(registry: NumberRegistry, phone_number_id: str) -> NumberEntry:
    entry = registry.get(phone_number_id)
    if entry is None:
        raise CommandError(f"{phone_number_id} is not a number this stack serves (wacloud numbers list)")
    return entry


# --- add, remove ------------------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    from wacloud.errors import ConfigurationError
    from wacloud.models.number_entry import NumberEntry

    target = resolve_target(args)
    registry = target_registry(target)
    changes = {
        field: getattr(args, _dest(flag)) for flag, field, _ in FIELD_OPTIONS if getattr(args, _dest(flag)) is not None
    }
    if args.from_eum:
        changes = {**from_eum(args.from_eum, args.phone_number_id), **changes}
    pnid = args.phone_number_id or changes.pop("phone_number_id", None)
    changes.pop("phone_number_id", None)
    if not pnid:
        raise UsageError("give the PHONE_NUMBER_ID (or --from-eum phone-number-id-...)")
    if "send_rate_per_second" in changes:
        changes["send_rate_per_second"] = _rate(changes["send_rate_per_second"])
    if args.default:
        changes["default"] = True
    known = registry.get(pnid)
    if known is not None and "app" in changes and "secret_name" not in changes and changes["app"] != known.app:
        changes["secret_name"] = ""  # moved to another app: that app's secret, below
    try:
        base = known if known is not None else NumberEntry(phone_number_id=pnid)
        entry = dataclasses.replace(base, **changes)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from exc
    entry = _with_app_secret(registry, entry, explicit="secret_name" in changes)
    _check(registry, entry)
    _check_business(registry, entry, known, force=args.force)
    # Moving the default moves no customer's window, handover or history: those stay each number's
    # (the unsuffixed keys the stack's own number's, `models.records.number_scope`).
    registry.put(entry)
    print(f"{pnid}: {'changed' if known is not None else 'added'} ({entry.transport}, app {entry.app})")
    _warn_if_secret_missing(registry, entry)
    return 0


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _rate(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise UsageError(f"--rate {text!r} is not a number") from exc


def _with_app_secret(registry: NumberRegistry, entry: NumberEntry, *, explicit: bool) -> NumberEntry:
    """An app's numbers share its secret: a new app's is `<SecretName>/<app>` unless given."""
    if explicit or entry.app == "default" or entry.secret_name:
        return entry
    others = [other for other in registry.for_app(entry.app) if other.phone_number_id != entry.phone_number_id]
    secret = others[0].secret_name if others else f"{registry.stack_secret}/{entry.app}"
    return dataclasses.replace(entry, secret_name=secret)


def _check(registry: NumberRegistry, entry: NumberEntry) -> None:
    """What the model cannot know: the stack's grant, the app's other numbers, what is built yet."""
    stack_secret = registry.stack_secret
    secret = entry.secret_name or stack_secret
    if secret != stack_secret and not secret.startswith(stack_secret + "/"):
        raise UsageError(f"--secret {secret!r}: the functions may read only {stack_secret} and {stack_secret}/...")
    if secret == registry.secret_name:
        raise UsageError(f"{secret} is the registry itself, not an app's secret: choose another --secret or --app")
    others = {
        other.secret_name or stack_secret
        for other in registry.for_app(entry.app)
        if other.phone_number_id != entry.phone_number_id
    }
    if others and others != {secret}:
        raise UsageError(f"app {entry.app!r}'s numbers use secret {', '.join(sorted(others))}: one app, one secret")
    if entry.rules and not RULES.fullmatch(entry.rules):
        raise UsageError(
            f"--rules {entry.rules!r}: a .json file in the processor's package, or s3://<bucket>/<key>.json"
        )


def _check_business(registry: NumberRegistry, entry: NumberEntry, known: NumberEntry | None, *, force: bool) -> None:
    """A number's business decides whose customers it sees (`adapters/store/customer_keys.py`)."""
    if known is not None and known.business != entry.business and not force:
        raise UsageError(
            f"{entry.phone_number_id} serves business {known.business!r}: moved to {entry.business!r}, it starts "
            f"with no customers, and their opt-outs, windows and history stay {known.business!r}'s; "
            "pass --force to move it anyway"
        )
    # A WhatsApp Business Account is one business portfolio's at Meta (its BSUIDs are that business's).
    others = {
        other.business
        for other in registry.entries()
        if other.phone_number_id != entry.phone_number_id and entry.waba_id and other.waba_id == entry.waba_id
    }
    if others and others != {entry.business}:
        raise UsageError(
            f"WABA {entry.waba_id}'s numbers serve business {', '.join(sorted(others))}: one WABA, one business"
        )


def _warn_if_secret_missing(registry: NumberRegistry, entry: NumberEntry) -> None:
    """A Cloud API number of a new app needs its app's secret (an EUM number none: IAM, SNS)."""
    from wacloud.errors import TransientError

    secret = entry.secret_name or registry.stack_secret
    if entry.transport != "cloud_api" or secret == registry.stack_secret:
        return
    try:
        missing = registry.reader.get(secret, missing_ok=True) is None
    except TransientError:
        return  # not ours to read (a narrower role): the functions' grant is what counts
    if missing:
        print(
            f"note: secret {secret} does not exist yet: create it with the app's "
            '{"access_token", "app_secret", "verify_token"} before Meta calls its webhook',
            file=sys.stderr,
        )


def run_remove(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    registry = target_registry(target)
    entry = _served(registry, args.phone_number_id)
    if entry.default and not args.force:
        raise CommandError(
            f"{entry.phone_number_id} is the default number (documents naming no number are sent from it): "
            "pass --force, or mark another one --default first"
        )
    own = registry.implicit.phone_number_id if registry.implicit is not None else None
    if entry.unsuffixed_keys and own != entry.phone_number_id and not args.force:
        # Pinned by `wacloud migrate numbers`, then PhoneNumberId changed: removed, its keys fall to that.
        raise CommandError(
            f"{entry.phone_number_id} keeps the windows, handovers and history of the single-number version "
            f"(the stack's number before PhoneNumberId changed): removed, they become {own or 'no one'}'s; "
            "pass --force to remove it anyway"
        )
    if not registry.remove(entry.phone_number_id):
        raise CommandError(
            f"{entry.phone_number_id} is the stack's own number (parameter PhoneNumberId), not stored: "
            "change that parameter to stop serving it"
        )
    cache = target.parameters.get("SecretCacheSeconds") or "300"
    again = registry.get(entry.phone_number_id)
    if again is not None:
        print(f"{entry.phone_number_id}: stored settings removed; it is served with the stack's parameters again")
    else:
        print(f"{entry.phone_number_id}: removed; the functions stop serving it within {cache} s (SecretCacheSeconds)")
    return 0


# --- End User Messaging Social ----------------------------------------------------------------------


def social_messaging() -> Any:
    """A client of AWS End User Messaging Social (the local run's is pointed at its fake)."""
    import boto3

    return boto3.client("socialmessaging")


def from_eum(aws_id: str, phone_number_id: str | None) -> dict[str, Any]:
    """The fields AWS knows of a linked number: Meta's ids and the display number."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = social_messaging()
    try:
        linked = client.get_linked_whatsapp_business_account_phone_number(id=aws_id)
        number = linked["phoneNumber"]
        account = client.get_linked_whatsapp_business_account(id=linked["linkedWhatsAppBusinessAccountId"])["account"]
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"--from-eum {aws_id}: End User Messaging Social answered: {exc}") from exc
    meta_id = str(number.get("metaPhoneNumberId", ""))
    if phone_number_id and phone_number_id != meta_id:
        raise UsageError(f"--from-eum {aws_id} is Meta's number {meta_id}, not {phone_number_id}")
    return {
        "phone_number_id": meta_id,
        "waba_id": str(account.get("wabaId", "")),
        "display_phone_number": str(number.get("displayPhoneNumber", "")),
        "eum_phone_number_id": aws_id,
        "transport": "eum",
    }
