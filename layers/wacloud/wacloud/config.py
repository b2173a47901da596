"""Settings every function reads from its environment, checked once per cold start.

Plain dataclasses, not pydantic: the webhook reads three of these on its cold start and is held to
a budget pydantic's import and model building alone would spend (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from wacloud.errors import ConfigurationError
from wacloud.runtime.singletons import singleton

DEFAULT_GRAPH_BASE_URL = "https://graph.facebook.com"
# The newest stable Graph API version (docs/OPERATIONS.md says how to move to the next one).
DEFAULT_GRAPH_API_VERSION = "v26.0"
PREFIX = "WACLOUD_"

_SNS_ARN = r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}"

# What pydantic took for a boolean, which the template's "true"/"false" parameters rely on.
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def setting(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
    max_length: int | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A field of `Settings` with its limits, read from `WACLOUD_<FIELD NAME>`."""
    limits = {"ge": ge, "gt": gt, "le": le, "pattern": pattern, "max_length": max_length, "choices": choices}
    return dataclasses.field(default=default, metadata={k: v for k, v in limits.items() if v not in (None, ())})


def variable(name: str) -> str:
    """The environment variable a field is read from."""
    return PREFIX + name.upper()


@dataclasses.dataclass(frozen=True)
class Settings:
    """The `WACLOUD_*` environment variables that template.yaml sets on the functions.

    Secrets are not here: only the secret's *name* is, the values come from Secrets Manager.
    Every value is checked against its limits however the settings are made (a `ConfigurationError`
    naming the variable); `dataclasses.replace` makes a checked copy.
    """

    secret_name: str = setting("whatsapp/cloud-api")
    table_name: str = setting("")
    idempotency_table_name: str = setting("")
    inbound_queue_url: str = setting("")
    outbound_queue_url: str = setting("")
    # Where the sender schedules a delayed check of each `unconfirmed` send (template:
    # UnconfirmedCheckQueue, read UnconfirmedAlarmSeconds later); empty: no checks are scheduled.
    unconfirmed_check_queue_url: str = setting("")
    unconfirmed_check_seconds: int = setting(900, ge=0, le=900)
    graph_api_version: str = setting(DEFAULT_GRAPH_API_VERSION, pattern=r"^v\d+\.\d+$")
    # Overridden only by the local run and tests, which point the sender at a fake Graph API.
    graph_base_url: str = setting(DEFAULT_GRAPH_BASE_URL)
    # The stack's own number: the registry of numbers' default unless it stores another
    # (wacloud.adapters.registry, `<secret_name>/numbers`; `wacloud numbers`).
    phone_number_id: str = setting("")
    # The WhatsApp Business Account: lets the sender fetch template definitions to check documents against.
    waba_id: str = setting("", pattern=r"^[0-9]*$")
    # The SNS topics AWS End User Messaging Social publishes the WABAs' events on (comma-separated
    # ARNs; template: EumEventTopic): the EUM ingest refuses an event from any other topic.
    eum_topic_arns: str = setting("", pattern=rf"({_SNS_ARN}(\s*,\s*{_SNS_ARN})*)?")
    # Where inbound media is archived and outbound media (`s3_key`) is read from.
    media_bucket: str = setting("")
    archive_media: bool = setting(True)
    # Template definitions are cached this long (a template webhook from Meta drops them sooner).
    template_cache_seconds: int = setting(3600, ge=0)
    auto_reply_text: str = setting("", max_length=4096)
    # The conversation (wacloud.conversation): a rules file in the processor's package or at
    # s3://bucket/key (AutoReplyText answers everything when there is none), and a bot
    # (`module:attribute`) whose handlers go first.
    rules: str = setting("")
    bot: str = setting("")
    history_size: int = setting(20, ge=0, le=100)
    history_days: int = setting(7, ge=1)
    handover_hours: int = setting(24, ge=1)
    typing_indicator: bool = setting(True)
    mark_read: bool = setting(True)
    # Refuse free-form messages outside the 24-hour customer service window (Meta would answer 131047).
    enforce_service_window: bool = setting(True)
    # A customer's whole message equal to one of these (case and trailing punctuation ignored).
    opt_out_keywords: str = setting("STOP,UNSUBSCRIBE,STOP ALL")
    opt_in_keywords: str = setting("START,SUBSCRIBE,UNSTOP")
    record_ttl_days: int = setting(90, ge=1)
    # Meta sends at most 3 MB; anything larger is not Meta.
    max_webhook_bytes: int = setting(3 * 1024 * 1024, gt=0)
    # Recipients (FIFO groups) of one sender batch sent to side by side (template: SendConcurrency);
    # 1 sends one after the other.
    send_concurrency: int = setting(1, ge=1, le=10)
    # The phone number's throughput tier (Meta: 80 messages/s by default, up to 1,000), shared by
    # every sender through a counter in DynamoDB (`rate_limit`); 0 turns the shared limit off.
    send_rate_per_second: float = setting(80.0, ge=0, le=1000)
    # Transient send failures are retried after base x 2^(attempt-1) seconds (jittered), capped.
    retry_base_seconds: int = setting(30, ge=0)
    retry_max_seconds: int = setting(900, ge=0, le=43_200)
    # The queues' maxReceiveCount: the attempt after which SQS moves a document to the DLQ.
    max_receive_count: int = setting(5, ge=1)
    # Meta retries a webhook for up to 7 days, so remember processed events a little longer.
    idempotency_ttl_seconds: int = setting(8 * 24 * 3600, gt=0)
    # X-Ray for the functions (template parameter Tracing). wacloud.runtime.tracing reads the variable
    # itself, at import, before any settings exist; this field validates it at the first settings read.
    tracing: Literal["Active", "PassThrough"] = setting("PassThrough", choices=("Active", "PassThrough"))
    # The replay window: a message older than this (by Meta's timestamp) is recorded but not acted
    # on (no reply, no read receipt, no opt-out change, no media download). Meta stops redelivering
    # after 7 days, so an older body is a replay.
    max_event_age_seconds: int = setting(7 * 24 * 3600, gt=0)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check(field, getattr(self, field.name))
        # An event is either still remembered by idempotency or too old to act on: never acted on twice.
        # (A customer message is remembered by its own record, a change by its idempotency record.)
        if self.max_event_age_seconds > self.idempotency_ttl_seconds:
            raise ConfigurationError("WACLOUD_MAX_EVENT_AGE_SECONDS must not exceed WACLOUD_IDEMPOTENCY_TTL_SECONDS")
        if self.max_event_age_seconds > self.record_ttl_days * 86400:
            raise ConfigurationError("WACLOUD_MAX_EVENT_AGE_SECONDS must not exceed WACLOUD_RECORD_TTL_DAYS")

    @property
    def eum_topics(self) -> frozenset[str]:
        """`eum_topic_arns` as a set."""
        return frozenset(arn.strip() for arn in self.eum_topic_arns.split(",") if arn.strip())

    @classmethod
    def from_env(cls, environ: Mapping[str, object]) -> Settings:
        """The settings from `WACLOUD_*` variables (strings, as the environment holds them; a value of
        the field's own type is taken as it is). Unknown `WACLOUD_*` names are ignored."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = variable(field.name)
            if name in environ:
                values[field.name] = _parse(name, str(field.type), environ[name])
        return cls(**values)


def _parse(name: str, kind: str, raw: object) -> object:
    if not isinstance(raw, str):
        return raw  # checked, with the field's type, by _check
    text = raw.strip()
    try:
        if kind == "bool":
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError("not a boolean")
        if kind == "int":
            return _integer(text)
        if kind == "float":
            return float(text)
    except ValueError as exc:
        raise ConfigurationError(f"{name}: {raw!r} is not a valid {kind}") from exc
    return raw


def _integer(text: str) -> int:
    """'5', or '5.0' as CloudFormation may pass a Number parameter (pydantic took both)."""
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise
        return int(number)


_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "bool": (bool,), "int": (int,), "float": (int, float)}


def _check(field: dataclasses.Field[Any], value: object) -> None:
    name, rules = variable(field.name), field.metadata
    kind = str(field.type)
    expected = _TYPES.get(kind, (str,))
    if not isinstance(value, expected) or (kind in ("int", "float") and isinstance(value, bool)):
        raise ConfigurationError(f"{name}: {value!r} is not a valid {kind}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigurationError(f"{name}: {value!r} is not a finite number")
    if isinstance(value, int | float):
        if "gt" in rules and not value > rules["gt"]:
            raise ConfigurationError(f"{name}: {value!r} must be greater than {rules['gt']}")
        if "ge" in rules and not value >= rules["ge"]:
            raise ConfigurationError(f"{name}: {value!r} must be at least {rules['ge']}")
        if "le" in rules and not value <= rules["le"]:
            raise ConfigurationError(f"{name}: {value!r} must be at most {rules['le']}")
    if isinstance(value, str):
        if "pattern" in rules and not re.fullmatch(rules["pattern"], value):
            raise ConfigurationError(f"{name}: {value!r} does not match {rules['pattern']}")
        if "max_length" in rules and len(value) > rules["max_length"]:
            raise ConfigurationError(f"{name}: longer than {rules['max_length']} characters")
        if "choices" in rules and value not in rules["choices"]:
            raise ConfigurationError(f"{name}: {value!r} is not one of {', '.join(rules['choices'])}")


def keywords(value: str) -> frozenset[str]:
    """A comma-separated keyword list, normalised like `normalise_keyword`."""
    return frozenset(normalise_keyword(word) for word in value.split(",") if word.strip())


def normalise_keyword(text: str) -> str:
    """'  Stop ! ' -> 'STOP': case, spacing and trailing `.` or `!` (with spaces before them) ignored."""
    return " ".join(text.upper().split()).rstrip(".! ")


@singleton
def get_settings() -> Settings:
    """The settings of this process (a singleton: `wacloud.runtime.singletons.reset()` forgets it)."""
    return Settings.from_env(os.environ)
