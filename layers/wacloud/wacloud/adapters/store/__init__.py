"""DynamoDB access: message records and their status lifecycle, outbound requests, contacts.

One table, keyed `pk`/`sk`:
  MSG#<wamid>          MESSAGE    a message, inbound or outbound, with its status history
  OUT#<idempotency key> OUTBOUND  what happened to an outbound document (GSI `by-client-ref`)
  CONTACT#<wa_id>      PROFILE    a customer: profile, last inbound time
  CONTACT#<wa_id>      OPT        their opt-out choice (no TTL)
  CONTACT#<wa_id>      HANDOVER   with a human until a time: no automatic replies
  CONTACT#<wa_id>      HIST#<at>#<in|out>#<wamid>#<n>  conversation history (TTL: WACLOUD_HISTORY_DAYS)
  RATE#<number id>#<slot> RATE    the shared send rate's counter for a 100 ms slot (wacloud.outbound.send_rate)
  REJECT#<source>#<ref> REJECTION input we could not use, with the reason
  CHANGE#<digest>      CHANGE     other webhook changes (template, quality, account updates)
  MEDIA#<digest>       UPLOAD     a media bucket object uploaded to Graph: its media id (reused 29 days)
  TEMPLATE#<name>      LANG#<code> a message template's definition, cached for the sender's check

Every write is an idempotent, order-independent update: a status webhook may reach the table
before the sender has written the record it belongs to, and both orders end in the same item.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from wacloud.adapters.table import Table, UnprocessedError
from wacloud.config import get_settings
from wacloud.errors import TransientError
from wacloud.models.graph import TemplateDefinition
from wacloud.models.keys import customer_key, digest
from wacloud.models.outbound import OutboundMessage
from wacloud.models.records import (
    FAILABLE_BELOW_RANK,
    FAILED_RANK,
    OPEN_OUTBOUND_STATES,
    STATUS_RANK,
    ContactRecord,
    Direction,
    ErrorInfo,
    HistoryEntry,
    MessageRecord,
    MessageStatus,
    OutboundRecord,
    OutboundState,
    RejectionRecord,
    StoredMedia,
)
from wacloud.runtime.singletons import singleton

if TYPE_CHECKING:  # the sender never handles inbound events: their models stay unbuilt there
    from wacloud.models.events import ChangeEvent, MessageEvent, StatusEvent

CLIENT_REF_INDEX = "by-client-ref"
# Outbound states a status webhook naming the document turns into `accepted`.
_CONFIRMABLE = (OutboundState.UNCONFIRMED, OutboundState.RETRYING, OutboundState.DEAD_LETTERED)
# Raw input kept on a rejection or change record (a DynamoDB item holds at most 400 KB).
MAX_STORED_RAW_CHARS = 32 * 1024
# Graph keeps an uploaded media id for 30 days; reuse it for one day less.
UPLOAD_REUSE_SECONDS = 29 * 86400


class StoreError(TransientError):
    """DynamoDB failed (throttled, unavailable, misconfigured); the work must be retried."""


class StatusChange(StrEnum):
    ADVANCED = "advanced"  # the record's status moved forward
    RECORDED = "recorded"  # kept in the history only: a duplicate, late or out-of-order status


@dataclass(frozen=True)
class AppliedStatus:
    change: StatusChange
    # The message item was marked `outbound_accepted`: its outbound record is known to be
    # `accepted` with this wamid, so the status has nothing to confirm there.
    send_recorded: bool


# On a MSG# item: written only once the item's OUT# record is `accepted` with this wamid (by the
# sender's own answer, or by a status confirming a send whose answer was lost).
OUTBOUND_ACCEPTED = "outbound_accepted"


@singleton
def _table(name: str) -> Table:
    return Table(name)


def _dynamo(value: Any) -> Any:
    """DynamoDB takes Decimal, not float: round-trip through JSON."""
    return json.loads(json.dumps(value), parse_float=Decimal)


class MessageStore:
    def __init__(
        self,
        table_name: str | None = None,
        *,
        table: Table | None = None,
        ttl_days: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = get_settings()
        self._table_name = table_name or settings.table_name
        self._table_override = table
        self.ttl_seconds = (ttl_days or settings.record_ttl_days) * 86400
        self._clock = clock

    @property
    def table(self) -> Table:
        return self._table_override or _table(self._table_name)

    # -- inbound ---------------------------------------------------------------------------------

    def record_inbound(self, event: MessageEvent) -> bool:
        """Store an inbound message once; False if this wamid is already stored."""
        message, now = event.message, self._now()
        item = {
            "pk": f"MSG#{message.id}",
            "sk": "MESSAGE",
            "wamid": message.id,
            "direction": Direction.INBOUND.value,
            "customer": customer_key(message.sender),
            "phone_number_id": event.phone_number_id,
            "type": message.type,
            "status": MessageStatus.RECEIVED.value,
            "at_received": message.timestamp or now,
            "payload": message.model_dump_json(by_alias=True, exclude_none=True),
            "created_at": now,
            "updated_at": now,
            "expires_at": now + self.ttl_seconds,
        }
        return self._put_once(item)

    def upsert_contact(self, event: MessageEvent) -> None:
        """Remember who wrote and when; an older message arriving late does not move time back.

        A customer known by both a phone number and a business-scoped user id is written under
        both, so a producer addressing either one finds the same window and opt-out.
        """
        message, contact = event.message, event.contact
        now, at = self._now(), message.timestamp or self._now()
        user_id = message.from_user_id or (contact.user_id if contact else None)
        values: dict[str, Any] = {":at": at, ":wamid": message.id, ":now": now, ":exp": now + self.ttl_seconds}
        sets = [
            "last_inbound_at = :at",
            "last_inbound_wamid = :wamid",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "first_inbound_wamid = if_not_exists(first_inbound_wamid, :wamid)",
            "expires_at = :exp",
        ]
        optional = {
            "wa_id": message.from_ or None,
            "user_id": user_id,
            "profile_name": contact.profile.name if contact and contact.profile else None,
            "username": contact.profile.username if contact and contact.profile else None,
        }
        for name, value in optional.items():
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        for customer in contact_keys(message.from_, user_id):
            self._update(
                {"pk": f"CONTACT#{customer}", "sk": "PROFILE"},
                "SET " + ", ".join(sets),
                values,
                condition="attribute_not_exists(last_inbound_at) OR last_inbound_at <= :at",
            )

    def set_opt_out(self, customers: list[str], opted_out: bool, *, at: int, keyword: str) -> bool:
        """Record a customer's opt-out (or opt-in) keyword; a later choice is never undone by an
        earlier one arriving late. False when a newer choice was already recorded.

        Kept in its own item, without a TTL: an opt-out must outlive the contact's profile.
        """
        now = self._now()
        at = at or now  # a message without a timestamp counts as sent now
        written = [
            self._update(
                {"pk": f"CONTACT#{customer}", "sk": "OPT"},
                "SET opted_out = :out, opt_changed_at = :at, opt_keyword = :kw, updated_at = :now",
                {":out": opted_out, ":at": at, ":kw": keyword, ":now": now},
                condition="attribute_not_exists(opt_changed_at) OR opt_changed_at <= :at",
            )
            for customer in contact_keys(*customers)
        ]
        return any(written)

    def set_handover(self, customer: str, *, until: int, at: int, wamid: str) -> None:
        """Hand the customer to a human until `until` (`wamid`: the message that asked for one):
        no automatic replies meanwhile."""
        self._update(
            {"pk": f"CONTACT#{customer_key(customer)}", "sk": "HANDOVER"},
            "SET handover_until = :until, handover_at = :at, handover_wamid = :wamid, expires_at = :until",
            {":until": until, ":at": at, ":wamid": wamid},
        )

    def release_handover(self, customer: str) -> None:
        """The human is done: automatic replies resume with the customer's next message."""
        try:
            self.table.delete_item(Key={"pk": f"CONTACT#{customer_key(customer)}", "sk": "HANDOVER"})
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"DeleteItem failed: {exc}") from exc

    def append_history(self, customer: str, entries: list[HistoryEntry], *, ttl_seconds: int) -> None:
        """Add lines to the customer's conversation history (idempotent: a line's key derives from
        its message, so a redelivered event rewrites the same items)."""
        if not entries:
            return
        pk, expires = f"CONTACT#{customer_key(customer)}", self._now() + ttl_seconds
        items = [
            {
                "pk": pk,
                "sk": f"HIST#{entry.at:011d}#{entry.direction.value}#{entry.wamid or ''}#{index:02d}",
                "expires_at": expires,
                **entry.model_dump(mode="json", exclude_none=True),
            }
            for index, entry in enumerate(entries)
        ]
        try:
            self.table.batch_put(items)
        except (ClientError, BotoCoreError, UnprocessedError) as exc:
            raise StoreError(f"BatchWriteItem failed: {exc}") from exc

    def get_history(self, customer: str, *, limit: int = 20) -> list[HistoryEntry]:
        """The customer's latest `limit` lines, oldest first."""
        if limit <= 0:
            return []
        try:
            response = self.table.query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :history)",
                ExpressionAttributeValues={":pk": f"CONTACT#{customer_key(customer)}", ":history": "HIST#"},
                ScanIndexForward=False,
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"Query failed: {exc}") from exc
        return [HistoryEntry.model_validate(item) for item in reversed(response.get("Items", []))]

    def apply_status(self, event: StatusEvent) -> AppliedStatus:
        """Apply a status webhook: history always, the current status only ever forward. Applying
        the same (or an older) status again changes nothing but `updated_at`."""
        status, now = event.status, self._now()
        name = status.status
        names = {"#at": f"at_{name}"}
        values: dict[str, Any] = {":ts": status.timestamp or now, ":wamid": status.id, ":now": now}
        common = [
            "#at = if_not_exists(#at, :ts)",
            "wamid = :wamid",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = if_not_exists(expires_at, :exp)",
        ]
        values[":exp"] = now + self.ttl_seconds
        if status.recipient:
            common.append("customer = if_not_exists(customer, :customer)")
            values[":customer"] = customer_key(status.recipient)
        # Pricing and conversation: the advancing status's replace them; a repeated, late or
        # out-of-order one only fills them in when missing.
        latest, if_missing = [], []
        for attr in ("pricing", "conversation"):
            value = getattr(status, attr)
            if value is not None:
                latest.append(f"{attr} = :{attr}")
                if_missing.append(f"{attr} = if_not_exists({attr}, :{attr})")
                values[f":{attr}"] = _dynamo(value.model_dump(exclude_none=True))
        if status.biz_opaque_callback_data:
            common.append("biz_opaque_callback_data = :cb")
            values[":cb"] = status.biz_opaque_callback_data
        key = {"pk": f"MSG#{status.id}", "sk": "MESSAGE"}

        rank = FAILED_RANK if name == MessageStatus.FAILED else STATUS_RANK.get(name)
        if rank is not None:
            advance = ["#status = :status", "status_rank = :rank"]
            advance_values: dict[str, Any] = {":status": name, ":rank": rank}
            advance_names = {"#status": "status"}
            if rank == FAILED_RANK:
                condition = "attribute_not_exists(status_rank) OR status_rank < :failable"
                advance_values[":failable"] = FAILABLE_BELOW_RANK
                error = status.errors[0] if status.errors else None
                if error is not None:
                    advance.append("#error = :error")
                    advance_names["#error"] = "error"
                    advance_values[":error"] = _dynamo(
                        ErrorInfo(
                            code=error.code,
                            title=error.title,
                            message=error.message,
                            details=error.error_data.details if error.error_data else None,
                            href=error.href,
                        ).model_dump(exclude_none=True)
                    )
            else:
                # A higher rank than the current one; `failed` (rank 9) is never overtaken.
                condition = "attribute_not_exists(status_rank) OR status_rank < :rank"
            old = self._update_item(
                key,
                "SET " + ", ".join(common + latest + advance),
                {**values, **advance_values},
                names={**names, **advance_names},
                condition=condition,
            )
            if old is not None:
                return AppliedStatus(StatusChange.ADVANCED, send_recorded=bool(old.get(OUTBOUND_ACCEPTED)))
        old = self._update_item(key, "SET " + ", ".join(common + if_missing), values, names=names) or {}
        return AppliedStatus(StatusChange.RECORDED, send_recorded=bool(old.get(OUTBOUND_ACCEPTED)))

    def record_change(self, event: ChangeEvent) -> bool:
        """Keep another webhook change (template status, quality, account update) once."""
        now = self._now()
        return self._put_once(
            {
                "pk": f"CHANGE#{digest(event.key)}",
                "sk": "CHANGE",
                "field": event.field,
                "waba_id": event.waba_id,
                "value": _truncate(json.dumps(event.value, default=str)),
                "created_at": now,
                "expires_at": now + self.ttl_seconds,
            }
        )

    # -- outbound --------------------------------------------------------------------------------

    def record_accepted(self, document: OutboundMessage, wamid: str | None, phone_number_id: str) -> None:
        """Graph took the document: the outbound record points at the wamid, which carries the status."""
        now = self._now()
        accepted = self._set_outbound(
            document, OutboundState.ACCEPTED, phone_number_id=phone_number_id, extra={"wamid": wamid} if wamid else {}
        )
        if not wamid:
            return  # read receipts have no message of their own
        sets = [
            "wamid = :wamid",
            "direction = :dir",
            "customer = :customer",
            "#type = :type",
            "phone_number_id = :pnid",
            "idempotency_key = :key",
            "at_accepted = if_not_exists(at_accepted, :now)",
            "#status = if_not_exists(#status, :accepted)",
            "status_rank = if_not_exists(status_rank, :zero)",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = if_not_exists(expires_at, :exp)",
        ]
        values: dict[str, Any] = {
            ":wamid": wamid,
            ":dir": Direction.OUTBOUND.value,
            ":customer": customer_key(document.recipient or ""),
            ":type": document.kind,
            ":pnid": phone_number_id,
            ":key": document.idempotency_key,
            ":accepted": MessageStatus.ACCEPTED.value,
            ":zero": STATUS_RANK[MessageStatus.ACCEPTED],
            ":now": now,
            ":exp": now + self.ttl_seconds,
        }
        if document.client_reference:
            sets.append("client_ref = :ref")
            values[":ref"] = document.client_reference
        if accepted:  # not when a final state was already there: then its statuses may still confirm
            sets.append(f"{OUTBOUND_ACCEPTED} = :true")
            values[":true"] = True
        # Written whether or not the outbound record already had a final state (a duplicate's success).
        # Not in one transaction with it: a status webhook updating this item at the same moment
        # would cancel the transaction, and transactional writes cost twice as much.
        self._update(
            {"pk": f"MSG#{wamid}", "sk": "MESSAGE"},
            "SET " + ", ".join(sets),
            values,
            names={"#type": "type", "#status": "status"},
        )

    def record_policy_rejection(self, document: OutboundMessage, reason: str, phone_number_id: str) -> None:
        """We refused a valid document before any Graph call: it breaks a sending rule."""
        self._set_outbound(document, OutboundState.REJECTED, phone_number_id=phone_number_id, extra={"reason": reason})

    def record_failed(self, document: OutboundMessage, error: ErrorInfo, phone_number_id: str) -> None:
        """Graph refused the document for good."""
        self._set_outbound(document, OutboundState.FAILED, phone_number_id=phone_number_id, error=error)

    def record_retrying(
        self, document: OutboundMessage, error: ErrorInfo, phone_number_id: str, *, last_attempt: bool = False
    ) -> None:
        """A transient failure: SQS delivers the document again, or, after the last attempt, to the DLQ."""
        state = OutboundState.DEAD_LETTERED if last_attempt else OutboundState.RETRYING
        self._set_outbound(document, state, phone_number_id=phone_number_id, error=error)

    def record_unconfirmed(self, document: OutboundMessage, error: ErrorInfo, phone_number_id: str) -> None:
        """Graph took the request but did not answer: not retried; a status webhook may confirm it.

        The status webhook can win the race against this write: then it has left `confirmed_wamid`
        on the record, and the document is recorded as accepted instead.
        """
        if self._set_outbound(
            document, OutboundState.UNCONFIRMED, phone_number_id=phone_number_id, error=error, unless_confirmed=True
        ):
            return
        item = self._get(f"OUT#{document.idempotency_key}", "OUTBOUND") or {}
        if item.get("confirmed_wamid") and item.get("state") in (None, *OPEN_OUTBOUND_STATES):
            self.record_accepted(document, str(item["confirmed_wamid"]), phone_number_id)

    def confirm_outbound(self, idempotency_key: str, wamid: str) -> bool:
        """A status webhook names an outbound document (by our callback data): it was accepted.

        True when this turned an `unconfirmed`, `retrying` or `dead_lettered` record (or an accepted
        one without its wamid) into `accepted` with the wamid. Either way the wamid is left on the
        record, for a send whose outcome is still being written.
        """
        now = self._now()
        key = {"pk": f"OUT#{idempotency_key}", "sk": "OUTBOUND"}
        try:
            item = self.table.update_item(
                Key=key,
                UpdateExpression="SET confirmed_wamid = if_not_exists(confirmed_wamid, :wamid), "
                "idempotency_key = if_not_exists(idempotency_key, :key), "
                "expires_at = if_not_exists(expires_at, :exp)",
                ExpressionAttributeValues={":wamid": wamid, ":key": idempotency_key, ":exp": now + self.ttl_seconds},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"UpdateItem failed: {exc}") from exc
        state = item.get("state")
        if state == OutboundState.ACCEPTED and item.get("wamid") == wamid:
            # Accepted with this very wamid: (again) mark its message, in case the write that
            # follows a confirmation failed last time; later statuses then skip this method.
            self._mark_outbound_accepted(wamid, idempotency_key, now)
            return False
        # A status proves Meta took the message: whatever the send itself concluded short of a
        # final answer (no answer, an error it did not mean, the last attempt) becomes `accepted`.
        if state not in _CONFIRMABLE and not (state == OutboundState.ACCEPTED and not item.get("wamid")):
            return False  # the send's own answer recorded another wamid, or a final refusal
        confirmed = self._update(
            {"pk": f"OUT#{idempotency_key}", "sk": "OUTBOUND"},
            "SET #state = :accepted, wamid = :wamid, updated_at = :now",
            {":accepted": OutboundState.ACCEPTED.value, ":wamid": wamid, ":now": now},
            names={"#state": "state"},
            condition="#state IN (:c1, :c2, :c3) OR (#state = :accepted AND attribute_not_exists(wamid))",
            extra_values={f":c{i}": open_state.value for i, open_state in enumerate(_CONFIRMABLE, start=1)},
        )
        if confirmed:
            self._mark_outbound_accepted(wamid, idempotency_key, now)
        return confirmed

    def _mark_outbound_accepted(self, wamid: str, idempotency_key: str, now: int) -> None:
        self._update(
            {"pk": f"MSG#{wamid}", "sk": "MESSAGE"},
            f"SET direction = :dir, idempotency_key = :key, {OUTBOUND_ACCEPTED} = :true, updated_at = :now",
            {":dir": Direction.OUTBOUND.value, ":key": idempotency_key, ":true": True, ":now": now},
        )

    def record_rejected(self, idempotency_key: str, reason: str, *, raw: str | None = None) -> None:
        """We refused a document before any Graph call (it broke the contract)."""
        now = self._now()
        names = {"#state": "state"}
        values: dict[str, Any] = {
            ":state": OutboundState.REJECTED.value,
            ":reason": reason,
            ":key": idempotency_key,
            ":now": now,
            ":exp": now + self.ttl_seconds,
        }
        sets = [
            "#state = :state",
            "reason = :reason",
            "idempotency_key = :key",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = :exp",
        ]
        if raw is not None:
            sets.append("#raw = :raw")
            names["#raw"] = "raw"
            values[":raw"] = _truncate(raw)
        self._update(
            {"pk": f"OUT#{idempotency_key}", "sk": "OUTBOUND"},
            "SET " + ", ".join(sets),
            values,
            names=names,
            condition="attribute_not_exists(#state) OR #state IN (:open1, :open2)",
            extra_values={":open1": OPEN_OUTBOUND_STATES[0].value, ":open2": OPEN_OUTBOUND_STATES[1].value},
        )

    def record_rejection(self, source: str, ref: str, reason: str, raw: str | None) -> None:
        """Keep input that is not an outbound document we can name (e.g. a poison inbound event)."""
        now = self._now()
        self._put_once(
            {
                "pk": f"REJECT#{source}#{ref}",
                "sk": "REJECTION",
                "source": source,
                "ref": ref,
                "reason": reason,
                "raw": _truncate(raw or ""),
                "created_at": now,
                "expires_at": now + self.ttl_seconds,
            }
        )

    # -- media -----------------------------------------------------------------------------------

    def record_media(self, wamid: str, media: StoredMedia) -> None:
        """An inbound message's media is archived: where it is (an earlier failure is cleared)."""
        self._update(
            {"pk": f"MSG#{wamid}", "sk": "MESSAGE"},
            "SET media = :media, updated_at = :now REMOVE media_error",
            {":media": _dynamo(media.model_dump(exclude_none=True)), ":now": self._now()},
        )

    def record_media_error(self, wamid: str, error: ErrorInfo) -> None:
        """An inbound message's media cannot be archived, for good (an archived copy is kept)."""
        self._update(
            {"pk": f"MSG#{wamid}", "sk": "MESSAGE"},
            "SET media_error = :error, updated_at = :now",
            {":error": _dynamo(error.model_dump(exclude_none=True)), ":now": self._now()},
            condition="attribute_not_exists(media)",
        )

    def get_uploaded_media(self, source: str) -> str | None:
        """The Graph media id of a bucket object uploaded within the last 29 days (`source` names the
        object's version and the number it was uploaded for)."""
        item = self._get(f"MEDIA#{digest(source)}", "UPLOAD")
        if item is None or int(item.get("uploaded_at", 0)) < self._now() - UPLOAD_REUSE_SECONDS:
            return None
        return str(item["media_id"])

    def put_uploaded_media(self, source: str, media_id: str) -> None:
        now = self._now()
        self._update(
            {"pk": f"MEDIA#{digest(source)}", "sk": "UPLOAD"},
            "SET media_id = :id, uploaded_at = :now, expires_at = :exp",
            {":id": media_id, ":now": now, ":exp": now + UPLOAD_REUSE_SECONDS},
        )

    # -- template definitions --------------------------------------------------------------------

    def get_template(self, name: str, language: str) -> tuple[TemplateDefinition, int] | None:
        """A cached template definition and when it was fetched."""
        item = self._get(f"TEMPLATE#{name}", f"LANG#{language}")
        if item is None:
            return None
        return TemplateDefinition.model_validate_json(str(item["definition"])), int(item.get("fetched_at", 0))

    def put_template(self, definition: TemplateDefinition, *, ttl_seconds: int) -> None:
        now = self._now()
        self._update(
            {"pk": f"TEMPLATE#{definition.name}", "sk": f"LANG#{definition.language}"},
            "SET #definition = :definition, fetched_at = :now, expires_at = :exp",
            {":definition": definition.model_dump_json(exclude_none=True), ":now": now, ":exp": now + ttl_seconds},
            names={"#definition": "definition"},  # a reserved word
        )

    def forget_template(self, name: str, language: str | None = None) -> None:
        """Drop cached definitions of a template (one language, or all): it changed at Meta."""
        if language:
            keys = [{"pk": f"TEMPLATE#{name}", "sk": f"LANG#{language}"}]
        else:
            try:
                items = self.table.query(
                    KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"TEMPLATE#{name}"}
                )["Items"]
            except (ClientError, BotoCoreError) as exc:
                raise StoreError(f"Query failed: {exc}") from exc
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
        for key in keys:
            try:
                self.table.delete_item(Key=key)
            except (ClientError, BotoCoreError) as exc:
                raise StoreError(f"DeleteItem failed: {exc}") from exc

    # -- reads -----------------------------------------------------------------------------------

    def get_message(self, wamid: str) -> MessageRecord | None:
        item = self._get(f"MSG#{wamid}", "MESSAGE")
        if item is None:
            return None
        history = {k.removeprefix("at_"): int(v) for k, v in item.items() if k.startswith("at_")}
        return MessageRecord.model_validate({**item, "status_history": history})

    def get_outbound(self, idempotency_key: str) -> OutboundRecord | None:
        item = self._get(f"OUT#{idempotency_key}", "OUTBOUND")
        return OutboundRecord.model_validate(item) if item else None

    def get_contact(self, customer: str) -> ContactRecord | None:
        """The contact's profile and opt-out choice (two items of one partition, one round trip)."""
        return _contact(customer, self._batch_get(_contact_item_keys(customer)))

    def get_send_context(
        self, idempotency_key: str, customer: str | None
    ) -> tuple[OutboundRecord | None, ContactRecord | None]:
        """What the sender checks before a send, in one round trip: the document's outbound record
        and its recipient's contact."""
        outbound_key = {"pk": f"OUT#{idempotency_key}", "sk": "OUTBOUND"}
        items = self._batch_get([outbound_key, *(_contact_item_keys(customer) if customer else [])])
        outbound = next((i for i in items if i["pk"] == outbound_key["pk"] and i["sk"] == "OUTBOUND"), None)
        contact = _contact(customer, [i for i in items if i["pk"].startswith("CONTACT#")]) if customer else None
        return (OutboundRecord.model_validate(outbound) if outbound else None), contact

    def get_rejection(self, source: str, ref: str) -> RejectionRecord | None:
        item = self._get(f"REJECT#{source}#{ref}", "REJECTION")
        return RejectionRecord.model_validate(item) if item else None

    def find_by_client_reference(self, client_reference: str) -> list[OutboundRecord]:
        """Outbound records carrying this client reference (eventually consistent: a GSI)."""
        try:
            response = self.table.query(
                IndexName=CLIENT_REF_INDEX,
                KeyConditionExpression="client_ref = :ref",
                ExpressionAttributeValues={":ref": client_reference},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"query by client reference failed: {exc}") from exc
        items = response.get("Items", [])
        return [OutboundRecord.model_validate(item) for item in items if item.get("sk") == "OUTBOUND"]

    # -- plumbing --------------------------------------------------------------------------------

    def _set_outbound(
        self,
        document: OutboundMessage,
        state: OutboundState,
        *,
        phone_number_id: str,
        error: ErrorInfo | None = None,
        extra: dict[str, Any] | None = None,
        unless_confirmed: bool = False,
    ) -> bool:
        """Write an outbound state unless a final one is there; False when nothing was written."""
        now = self._now()
        names = {"#state": "state", "#type": "type"}
        values: dict[str, Any] = {
            ":state": state.value,
            ":key": document.idempotency_key,
            ":pnid": phone_number_id,
            ":now": now,
            ":exp": now + self.ttl_seconds,
            ":one": 1,
            ":zero": 0,
            ":recipient": customer_key(document.recipient or ""),
            ":type": document.kind,
        }
        sets = [
            "#state = :state",
            "idempotency_key = :key",
            "recipient = :recipient",
            "#type = :type",
            "phone_number_id = :pnid",
            "attempts = if_not_exists(attempts, :zero) + :one",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = :exp",
        ]
        if document.client_reference:
            sets.append("client_ref = :ref")
            values[":ref"] = document.client_reference
        if error is not None:
            sets.append("#error = :error")
            names["#error"] = "error"
            values[":error"] = _dynamo(error.model_dump(exclude_none=True))
        for name, value in (extra or {}).items():
            sets.append(f"{name} = :x_{name}")
            values[f":x_{name}"] = value
        # A final state is never overwritten (a late retry report after a duplicate's success).
        condition = "(attribute_not_exists(#state) OR #state IN (:open1, :open2))"
        if unless_confirmed:
            condition += " AND attribute_not_exists(confirmed_wamid)"
        return self._update(
            {"pk": f"OUT#{document.idempotency_key}", "sk": "OUTBOUND"},
            "SET " + ", ".join(sets),
            values,
            names=names,
            condition=condition,
            extra_values={":open1": OPEN_OUTBOUND_STATES[0].value, ":open2": OPEN_OUTBOUND_STATES[1].value},
        )

    def _put_once(self, item: dict[str, Any]) -> bool:
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise StoreError(f"PutItem failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"PutItem failed: {exc}") from exc
        return True

    def _update(self, key: dict[str, str], expression: str, values: dict[str, Any], **options: Any) -> bool:
        """UpdateItem; False when the condition did not hold (nothing written). Options as `_update_item`."""
        return self._update_item(key, expression, values, return_old=False, **options) is not None

    def _update_item(
        self,
        key: dict[str, str],
        expression: str,
        values: dict[str, Any],
        *,
        names: dict[str, str] | None = None,
        condition: str | None = None,
        extra_values: dict[str, Any] | None = None,
        return_old: bool = True,
    ) -> dict[str, Any] | None:
        """UpdateItem; None when the condition did not hold (nothing written), else the item as it
        was before (empty when it was new, or when not asked for). The old item costs no capacity."""
        kwargs: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {**values, **(extra_values or {})},
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if condition:
            kwargs["ConditionExpression"] = condition
        if return_old:
            kwargs["ReturnValues"] = "ALL_OLD"
        try:
            response = self.table.update_item(**kwargs)
        except ClientError as exc:
            if condition and _is_condition_failure(exc):
                return None
            raise StoreError(f"UpdateItem failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"UpdateItem failed: {exc}") from exc
        return response.get("Attributes") or {}

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Several items in one round trip (strongly consistent), whatever DynamoDB left for later."""
        try:
            return self.table.batch_get(keys)
        except (ClientError, BotoCoreError, UnprocessedError) as exc:
            raise StoreError(f"BatchGetItem failed: {exc}") from exc

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            response = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"GetItem failed: {exc}") from exc
        return response.get("Item")

    def _now(self) -> int:
        return int(self._clock())


def contact_keys(*addresses: str | None) -> list[str]:
    """The distinct contact keys of a customer's addresses (phone digits, business-scoped user id)."""
    keys: list[str] = []
    for address in addresses:
        key = customer_key(address) if address else ""
        if key and key not in keys:
            keys.append(key)
    return keys


def _contact_item_keys(customer: str) -> list[dict[str, str]]:
    pk = f"CONTACT#{customer_key(customer)}"
    return [{"pk": pk, "sk": sk} for sk in ("PROFILE", "OPT", "HANDOVER")]


def _contact(customer: str, items: list[dict[str, Any]]) -> ContactRecord | None:
    """A contact from its PROFILE, OPT and HANDOVER items (any may be missing)."""
    by_sk = {item["sk"]: item for item in items}
    if not by_sk:
        return None
    merged = dict(by_sk.get("PROFILE", {}))
    for sk, fields in (("OPT", ("opted_out", "opt_changed_at", "opt_keyword")), ("HANDOVER", _HANDOVER_FIELDS)):
        merged.update({k: by_sk[sk][k] for k in fields if k in by_sk.get(sk, {})})
    return ContactRecord.model_validate({"wa_id": customer_key(customer), **merged})


_HANDOVER_FIELDS = ("handover_until", "handover_at", "handover_wamid")


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_STORED_RAW_CHARS else text[:MAX_STORED_RAW_CHARS] + "...(truncated)"


def _is_condition_failure(exc: ClientError) -> bool:
    return _code(exc) == "ConditionalCheckFailedException"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))
