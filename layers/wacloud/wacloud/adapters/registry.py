"""The registry of numbers: every number the stack serves, kept in one Secrets Manager secret,
`<SecretName>/numbers`, which an operator changes with `wacloud numbers` (no redeploy).

    {"version": 1, "numbers": {"<phone number id>": {<NumberEntry.to_item()>}, ...}}

Why a secret: every function already has the Secrets Manager client and grant, so the webhook's
cold start pays one `GetSecretValue` and no new client (a table or SSM would cost it a client and a
call: docs/ARCHITECTURE.md); it is versioned (`AWSPREVIOUS` is the undo), encrypted and audited. It
holds secret *names*, never values. Read through `credentials.SecretReader`, so it is cached like
the credentials (`POWERTOOLS_PARAMETERS_MAX_AGE`).

A stack that never stored one serves its own number: the registry always holds
`NumberEntry.from_settings(settings)` (the default) unless a stored entry has that id; a stored
`default: true` takes the default's role from it. The customers' unsuffixed keys (windows, handovers,
history of the single-number version) are one fixed number's, whatever the default: a stored entry
marked `unsuffixed_keys` (`wacloud migrate numbers` pins the stack's own number so), else the
stack's own number. No pydantic, Powertools, store or requests here: the webhook imports this module.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from wacloud.adapters.credentials import SecretReader, secrets_provider
from wacloud.config import Settings, get_settings
from wacloud.errors import ConfigurationError, TransientError
from wacloud.models.number_entry import NumberEntry, eum_id_key
from wacloud.runtime.logs import child_logger
from wacloud.runtime.singletons import singleton

logger = child_logger(__name__)

VERSION = 1
# A number the registry does not know makes it read the secret again, at most this often per id: a
# number just added works at once, and a flood of one unknown id costs one call per period.
MISS_RECHECK_SECONDS = 30
MAX_MISSES_KEPT = 1024  # unknown ids remembered for that; past it the memory starts again
# A webhook path naming an unknown app does the same per app; the path is open to anyone, so all
# unknown apps together re-read at most this often (the next read serves every app added before it).
APP_MISS_RECHECK_ANY_SECONDS = 1
# Secrets Manager holds 64 KB; past this `put` refuses (about 200 numbers: more is another stack).
MAX_DOCUMENT_BYTES = 60 * 1024


def registry_secret_name(secret_name: str) -> str:
    """The registry's secret, beside the stack's own (`SecretName`): under the functions' grant."""
    return f"{secret_name}/numbers"


class RegistryConflictError(ConfigurationError):
    """Another writer changed the registry between our read and our write: theirs may be lost."""


@dataclass(frozen=True)
class _Snapshot:
    raw: str | None  # the secret's text (None: no secret), to parse again only when it changes
    entries: dict[str, NumberEntry]  # by phone number id, the implicit default included
    default_id: str | None
    unsuffixed_id: str | None  # the number that keeps the single-number version's keys


class NumberRegistry:
    """The numbers, read from the registry's secret; `put` and `remove` are the CLI's."""

    def __init__(
        self,
        reader: SecretReader,
        *,
        secret_name: str,
        implicit: NumberEntry | None,
        stack_secret: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.secret_name = secret_name  # the registry's own secret
        self.stack_secret = stack_secret  # SecretName: the default app's secret
        self.implicit = implicit  # the stack's own number (PhoneNumberId), if it has one
        self._clock = clock
        self._lock = threading.Lock()  # the sender's recipient threads share it
        self._snapshot: _Snapshot | None = None
        self._misses: dict[str, float] = {}  # phone number id -> when a miss last read the secret
        self._app_misses: dict[str, float] = {}  # app -> the same
        self._last_app_recheck = float("-inf")

    @classmethod
    def for_settings(cls, reader: SecretReader, settings: Settings, **kwargs: Any) -> NumberRegistry:
        implicit = NumberEntry.from_settings(settings) if settings.phone_number_id else None
        return cls(
            reader,
            secret_name=registry_secret_name(settings.secret_name),
            implicit=implicit,
            stack_secret=settings.secret_name,
            **kwargs,
        )

    # --- reading ----------------------------------------------------------------------------------

    def get(self, phone_number_id: str) -> NumberEntry | None:
        """The number's entry, or None if the stack does not serve it (after one fresh read, unless
        one happened in the last `MISS_RECHECK_SECONDS`)."""
        entry = self._read().entries.get(phone_number_id)
        if entry is not None:
            return entry
        # Per id: another unknown number's miss must not hide a number added a moment ago (its events
        # would be refused for good).
        if not self._may_recheck(self._misses, phone_number_id):
            return None
        return self._read(force_fetch=True).entries.get(phone_number_id)

    def default(self) -> NumberEntry | None:
        """The number that sends a document naming none."""
        snapshot = self._read()
        return snapshot.entries[snapshot.default_id] if snapshot.default_id else None

    def unsuffixed(self) -> NumberEntry | None:
        """The number that keeps the single-number version's keys (`models.records.number_scope`)."""
        snapshot = self._read()
        return snapshot.entries[snapshot.unsuffixed_id] if snapshot.unsuffixed_id else None

    def entries(self) -> list[NumberEntry]:
        """Every number, by phone number id."""
        return [entry for _, entry in sorted(self._read().entries.items())]

    def stored(self) -> dict[str, NumberEntry]:
        """The entries the secret holds (the implicit default not among them unless stored)."""
        raw = self.reader.get(self.secret_name, missing_ok=True)
        return _parse(self.secret_name, raw) if raw is not None else {}

    def for_app(self, app: str) -> list[NumberEntry]:
        """The numbers whose webhooks come from Meta app `app`."""
        return [entry for entry in self.entries() if entry.app == app]

    def wabas(self, app: str) -> set[str]:
        """The WABAs of app `app`'s numbers (fields naming no number are matched by their WABA)."""
        return {entry.waba_id for entry in self.for_app(app) if entry.waba_id}

    def eum_wabas(self) -> set[str]:
        """The WABAs with a number reached through End User Messaging Social."""
        return {entry.waba_id for entry in self.entries() if entry.transport == "eum" and entry.waba_id}

    def secret_for_app(self, app: str) -> str | None:
        """The secret holding app `app`'s credentials; None if no number belongs to the app (after one
        fresh read, as `get` does for an unknown number: an app just added is served at once)."""
        numbers = self.for_app(app)
        if not numbers and self._may_recheck(self._app_misses, app, any_seconds=APP_MISS_RECHECK_ANY_SECONDS):
            self._read(force_fetch=True)
            numbers = self.for_app(app)
        if not numbers:
            return None
        names = {entry.secret_name or self.stack_secret for entry in numbers}
        if len(names) > 1:
            raise ConfigurationError(f"the numbers of app {app!r} name different secrets: {', '.join(sorted(names))}")
        return names.pop()

    def by_eum_id(self, aws_id: str) -> NumberEntry | None:
        """The number AWS End User Messaging Social calls `aws_id` (its id or its ARN)."""
        key = eum_id_key(aws_id)
        for entry in self.entries():
            if entry.eum_phone_number_id and entry.eum_key == key:
                return entry
        return None

    def _may_recheck(self, misses: dict[str, float], key: str, *, any_seconds: float = 0) -> bool:
        """Whether a miss of `key` may read the secret again now: at most once per
        `MISS_RECHECK_SECONDS` per key, and per `any_seconds` for all keys of `misses` together."""
        with self._lock:
            now = self._clock()
            if now - misses.get(key, float("-inf")) < MISS_RECHECK_SECONDS:
                return False
            if any_seconds:
                if now - self._last_app_recheck < any_seconds:
                    return False
                self._last_app_recheck = now
            if len(misses) >= MAX_MISSES_KEPT:
                misses.clear()
            misses[key] = now
            return True

    def _read(self, *, force_fetch: bool = False) -> _Snapshot:
        raw = self.reader.get(self.secret_name, force_fetch=force_fetch, missing_ok=True)
        with self._lock:
            if self._snapshot is not None and self._snapshot.raw == raw:
                return self._snapshot
        snapshot = self._build(raw)
        with self._lock:
            self._snapshot = snapshot
        return snapshot

    def _build(self, raw: str | None) -> _Snapshot:
        stored = _parse(self.secret_name, raw) if raw is not None else {}
        entries = dict(stored)
        if self.implicit is not None and self.implicit.phone_number_id not in entries:
            entries[self.implicit.phone_number_id] = self.implicit
        own = self.implicit.phone_number_id if self.implicit is not None else None
        default_id = _first_marked(stored, "default") or own
        # Pinned (`wacloud migrate numbers`), the stack's own number keeps its keys when PhoneNumberId
        # changes; unpinned, they are PhoneNumberId's, as they were before there was a registry.
        unsuffixed_id = _first_marked(stored, "unsuffixed_keys") or own
        # Exactly one entry says it is the default, and at most one that it keeps the unsuffixed keys.
        entries = {
            pnid: _marked(entry, default=pnid == default_id, unsuffixed_keys=pnid == unsuffixed_id)
            for pnid, entry in entries.items()
        }
        return _Snapshot(raw, entries, default_id, unsuffixed_id)

    # --- writing (the CLI) -----------------------------------------------------------------------

    def put(self, entry: NumberEntry) -> None:
        """Store `entry` (replacing one with its id). Marked default, or as keeping the unsuffixed
        keys, it takes that role from any other (an entry read here says False: nothing to store)."""
        numbers, version = self._read_for_write()
        entry = dataclasses.replace(entry, unsuffixed_keys=entry.unsuffixed_keys or None)
        if entry.default:
            numbers = {pnid: dataclasses.replace(other, default=False) for pnid, other in numbers.items()}
        if entry.unsuffixed_keys:
            numbers = {pnid: dataclasses.replace(other, unsuffixed_keys=None) for pnid, other in numbers.items()}
        numbers[entry.phone_number_id] = entry
        self._write(numbers, version)

    def remove(self, phone_number_id: str) -> bool:
        """Forget a stored entry; False if none was stored (the implicit default cannot be removed)."""
        numbers, version = self._read_for_write()
        if numbers.pop(phone_number_id, None) is None:
            return False
        self._write(numbers, version)
        return True

    def _read_for_write(self) -> tuple[dict[str, NumberEntry], str | None]:
        try:
            answer = self.reader.client.get_secret_value(SecretId=self.secret_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return {}, None
            raise _unavailable(self.secret_name, exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(self.secret_name, exc) from exc
        return _parse(self.secret_name, answer.get("SecretString")), answer["VersionId"]

    def _write(self, numbers: dict[str, NumberEntry], version: str | None) -> None:
        document = {"version": VERSION, "numbers": {pnid: numbers[pnid].to_item() for pnid in sorted(numbers)}}
        text = json.dumps(document, indent=1, sort_keys=True)
        if len(text.encode()) > MAX_DOCUMENT_BYTES:
            limit = MAX_DOCUMENT_BYTES // 1024
            raise ConfigurationError(f"the registry would pass {limit} KB: serve more numbers from another stack")
        client = self.reader.client
        try:
            if version is None:
                client.create_secret(
                    Name=self.secret_name,
                    SecretString=text,
                    Description="wacloud: the numbers this stack serves (wacloud numbers list)",
                )
            else:
                client.put_secret_value(SecretId=self.secret_name, SecretString=text)
                self._check_no_conflict(version)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceExistsException":
                raise RegistryConflictError(
                    f"{self.secret_name} was created by someone else meanwhile: run the command again"
                ) from exc
            raise _unavailable(self.secret_name, exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(self.secret_name, exc) from exc
        self.reader.get(self.secret_name, force_fetch=True, missing_ok=True)  # this process sees it at once

    def _check_no_conflict(self, version: str) -> None:
        """Our write made the version we read `AWSPREVIOUS`, unless another write came in between
        (Secrets Manager has no conditional write: this is how a lost update is noticed)."""
        stages = self.reader.client.describe_secret(SecretId=self.secret_name).get("VersionIdsToStages", {})
        if "AWSPREVIOUS" not in stages.get(version, []):
            raise RegistryConflictError(
                f"{self.secret_name} changed while this change was written: check `wacloud numbers list` "
                "and make the other change again if it is missing"
            )


def _first_marked(stored: dict[str, NumberEntry], role: str) -> str | None:
    """The stored number holding `role` (of several, by a hand edit, the lowest id)."""
    marked = sorted(pnid for pnid, entry in stored.items() if getattr(entry, role))
    if len(marked) > 1:
        logger.warning(
            "registry: several numbers hold one role, the first counts", extra={"role": role, "numbers": marked}
        )
    return marked[0] if marked else None


def _marked(entry: NumberEntry, *, default: bool, unsuffixed_keys: bool) -> NumberEntry:
    if entry.default is default and entry.unsuffixed_keys is unsuffixed_keys:
        return entry
    return dataclasses.replace(entry, default=default, unsuffixed_keys=unsuffixed_keys)


def _parse(name: str, raw: str | None) -> dict[str, NumberEntry]:
    """The stored entries; anything malformed is a `ConfigurationError` naming what (never guessed at:
    the registry decides which messages are served)."""
    try:
        document = json.loads(raw or "")
    except ValueError as exc:
        raise ConfigurationError(f"secret {name!r} is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("numbers"), dict):
        raise ConfigurationError(f"secret {name!r} is not a registry of numbers ({{'version': 1, 'numbers': {{...}}}})")
    if document.get("version") != VERSION:
        raise ConfigurationError(
            f"secret {name!r} has registry version {document.get('version')!r}; this wacloud reads {VERSION}"
        )
    entries: dict[str, NumberEntry] = {}
    for pnid, item in document["numbers"].items():
        try:
            entry = NumberEntry.from_item(item)
        except ConfigurationError as exc:
            raise ConfigurationError(f"secret {name!r}, number {pnid}: {exc}") from exc
        if entry.phone_number_id != pnid:
            raise ConfigurationError(f"secret {name!r}: number {pnid} holds the entry of {entry.phone_number_id}")
        entries[pnid] = entry
    return entries


def _unavailable(name: str, exc: Exception) -> TransientError:
    return TransientError(f"secret {name!r} could not be read or written: {exc}")


@singleton
def get_registry() -> NumberRegistry:
    """The process's registry, on the process's secret reader (one cache for both)."""
    return NumberRegistry.for_settings(secrets_provider(), get_settings())
