"""One WhatsApp number the stack serves: an entry of the registry of numbers (`adapters/registry.py`).

A frozen dataclass checked in `__post_init__`, not pydantic: the webhook and the EUM ingest read
the registry on their cold start, which pydantic's import alone would make longer
(`tests/functions/test_cold_imports.py`). Blank fields inherit the stack's settings (`resolved`),
so an entry written today follows a parameter changed tomorrow.
"""

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from wacloud.config import Settings
from wacloud.errors import ConfigurationError

Transport = Literal["cloud_api", "eum"]
TRANSPORTS: tuple[str, ...] = ("cloud_api", "eum")
WINDOW_POLICIES: tuple[str, ...] = ("", "enforce", "off")
OPT_OUT_SCOPES: tuple[str, ...] = ("business", "number")

DEFAULT_APP = "default"
DEFAULT_BUSINESS = "default"

_DIGITS = re.compile(r"[0-9]{1,32}")
# Meta's ids never start with 0, and the store relies on it: the default number's history keys are
# `HIST#<11-digit time>` (a leading 0 until 2286), another number's `HIST#<id>#...`.
_PHONE_NUMBER_ID = re.compile(r"[1-9][0-9]{0,31}")
# An app names a webhook path (/webhook/<app>) and, by convention, a secret (<SecretName>/<app>).
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")
# AWS End User Messaging Social's own id, or its ARN (botocore's pattern, with the id's characters).
_EUM_ID = re.compile(
    r"phone-number-id-[0-9a-zA-Z]+|arn:[^:\s]+:social-messaging:[^:\s]*:[0-9]*:phone-number-id/[0-9a-zA-Z]+"
)
_EUM_ID_MAX = 115
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_API_VERSION = re.compile(r"v[0-9]+\.[0-9]+")
_BOT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*")
_DISPLAY = re.compile(r"\+?[0-9][0-9 ()-]{2,31}")
_MAX_RATE = 1000.0  # Meta's highest throughput tier, as Settings.send_rate_per_second
_MAX_TEXT = 1024


def eum_id_key(aws_id: str) -> str:
    """`phone-number-id-<id>` for either form AWS names a number by (the id or its ARN)."""
    if aws_id.startswith("arn:") and ":phone-number-id/" in aws_id:
        return "phone-number-id-" + aws_id.rsplit("/", 1)[1]
    return aws_id


@dataclass(frozen=True)
class NumberEntry:
    """A number: Meta's phone number id (the key), how it is reached and what it inherits.

    Invalid values raise `ConfigurationError` naming the field (a registry edited by hand included).
    """

    phone_number_id: str  # Meta's id, digits
    waba_id: str = ""  # Meta's WABA id: matches webhook fields that name no number
    app: str = DEFAULT_APP  # the Meta app whose webhook carries it: /webhook or /webhook/<app>
    transport: Transport = "cloud_api"  # how we send
    eum_phone_number_id: str = ""  # phone-number-id-<hex> or its ARN; required for "eum"
    secret_name: str = ""  # the app's secret (app_secret, verify_token, access_token); "" = SecretName
    business: str = DEFAULT_BUSINESS  # business portfolio: BSUID scope, business-wide opt-outs
    rules: str = ""  # "" = the stack's ConversationRules
    bot: str = ""  # "" = the stack's ConversationBot
    send_rate_per_second: float | None = None  # None = SendRatePerSecond
    window_policy: Literal["", "enforce", "off"] = ""  # "" = EnforceCustomerServiceWindow
    opt_out_scope: Literal["business", "number"] = "business"
    meta_api_version: str = ""  # "" = GraphApiVersion (also End User Messaging Social's metaApiVersion)
    display_phone_number: str = ""
    label: str = ""
    default: bool = False  # sends documents that name no number
    # Keeps the single-number version's keys (`last_inbound_at`, `HANDOVER`, `HIST#<at>`): the number
    # the stack served before it had a registry. The registry sets it on each entry it serves (one
    # number at most: `adapters/registry.py`); None, on an entry no registry placed, follows `default`.
    unsuffixed_keys: bool | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name == "send_rate_per_second":
                continue  # _check_rate
            value = getattr(self, field.name)
            if field.name == "unsuffixed_keys" and value is None:
                continue
            expected = bool if field.name in ("default", "unsuffixed_keys") else str
            if not isinstance(value, expected):
                raise ConfigurationError(f"number entry: {field.name} must be a {expected.__name__}, not {value!r}")
        self._check_ids()
        self._check_choices()
        self._check_rate()
        self._check_texts()

    def _check_ids(self) -> None:
        _require(_PHONE_NUMBER_ID, self.phone_number_id, "phone_number_id", "Meta's phone number id: digits")
        if self.waba_id:
            _require(_DIGITS, self.waba_id, "waba_id", "Meta's WhatsApp Business Account id: digits")
        _require(_NAME, self.app, "app", "lower-case letters, digits, - and _, at most 48")
        _require(_NAME, self.business, "business", "lower-case letters, digits, - and _, at most 48")
        if self.eum_phone_number_id:
            if len(self.eum_phone_number_id) > _EUM_ID_MAX:
                raise ConfigurationError(f"number entry: eum_phone_number_id is longer than {_EUM_ID_MAX} characters")
            _require(_EUM_ID, self.eum_phone_number_id, "eum_phone_number_id", "phone-number-id-<id> or its ARN")
        elif self.transport == "eum":
            raise ConfigurationError(
                f"number entry {self.phone_number_id}: transport 'eum' needs eum_phone_number_id "
                "(AWS End User Messaging Social's phone-number-id-...)"
            )
        if self.secret_name:
            _require(_SECRET_NAME, self.secret_name, "secret_name", "a Secrets Manager secret name")

    def _check_choices(self) -> None:
        for name, allowed in (
            ("transport", TRANSPORTS),
            ("window_policy", WINDOW_POLICIES),
            ("opt_out_scope", OPT_OUT_SCOPES),
        ):
            value = getattr(self, name)
            if value not in allowed:
                shown = ", ".join(repr(choice) for choice in allowed)
                raise ConfigurationError(f"number entry: {name} {value!r} is not one of {shown}")

    def _check_rate(self) -> None:
        rate = self.send_rate_per_second
        if rate is None:
            return
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate):
            raise ConfigurationError(f"number entry: send_rate_per_second must be a number, not {rate!r}")
        if not 0 <= rate <= _MAX_RATE:
            raise ConfigurationError(f"number entry: send_rate_per_second {rate!r} must be 0 (no limit) to 1000")
        object.__setattr__(self, "send_rate_per_second", float(rate))  # 5 and 5.0 alike, as JSON reads them

    def _check_texts(self) -> None:
        if self.meta_api_version:
            _require(_API_VERSION, self.meta_api_version, "meta_api_version", "like v23.0")
        if self.bot:
            _require(_BOT, self.bot, "bot", "module:attribute")
        if self.display_phone_number:
            _require(_DISPLAY, self.display_phone_number, "display_phone_number", "a phone number as Meta shows it")
        for name in ("rules", "label"):
            value = getattr(self, name)
            if len(value) > _MAX_TEXT or not value.isprintable():
                raise ConfigurationError(f"number entry: {name} must be printable, at most {_MAX_TEXT} characters")

    @property
    def eum_key(self) -> str:
        """AWS's id in one form (`phone-number-id-...`), whichever form the entry holds; "" if none."""
        return eum_id_key(self.eum_phone_number_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> "NumberEntry":
        """The stack's own number (`PhoneNumberId`, `WabaId`): the default, and the keeper of the
        unsuffixed keys, unless the registry says otherwise. Its other fields stay blank: they are
        the stack's settings by definition."""
        if not settings.phone_number_id:
            raise ConfigurationError("WACLOUD_PHONE_NUMBER_ID is not set: the stack has no number of its own")
        return cls(
            phone_number_id=settings.phone_number_id, waba_id=settings.waba_id, default=True, unsuffixed_keys=True
        )

    def resolved(self, settings: Settings) -> "NumberEntry":
        """This entry with every blank inherited from the stack's settings: the values to act on."""
        return dataclasses.replace(
            self,
            secret_name=self.secret_name or settings.secret_name,
            rules=self.rules or settings.rules,
            bot=self.bot or settings.bot,
            send_rate_per_second=(
                settings.send_rate_per_second if self.send_rate_per_second is None else self.send_rate_per_second
            ),
            window_policy=self.window_policy or ("enforce" if settings.enforce_service_window else "off"),
            meta_api_version=self.meta_api_version or settings.graph_api_version,
        )

    def to_item(self) -> dict[str, Any]:
        """The entry as JSON-able data: its id and every field that differs from the default."""
        item: dict[str, Any] = {"phone_number_id": self.phone_number_id}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name != "phone_number_id" and value != field.default:
                item[field.name] = value
        return item

    @classmethod
    def from_item(cls, item: object) -> "NumberEntry":
        """An entry from `to_item`'s data; unknown or missing fields are a `ConfigurationError`."""
        if not isinstance(item, dict):
            raise ConfigurationError(f"number entry must be a JSON object, not {type(item).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(str(key) for key in item if key not in known)
        if unknown:
            raise ConfigurationError(f"number entry: unknown field(s) {', '.join(unknown)}")
        if "phone_number_id" not in item:
            raise ConfigurationError("number entry: phone_number_id is missing")
        return cls(**item)


def _require(pattern: re.Pattern[str], value: str, name: str, expected: str) -> None:
    if not pattern.fullmatch(value):
        raise ConfigurationError(f"number entry: {name} {value[:120]!r} is not valid ({expected})")
