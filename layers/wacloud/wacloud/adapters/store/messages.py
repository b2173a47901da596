"""`MSG#<wamid>` / `MESSAGE`: one WhatsApp message, inbound or outbound, with its status history;
`MSG#<wamid>` / `PARTICIPANT#<participant>`: a group message's status for each participant.

Every write is an idempotent, order-independent update: a status webhook may reach the table
before the sender has written the record it belongs to, and both orders end in the same item.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from wacloud.adapters.store.repository import Repository, dynamo_value
from wacloud.adapters.table import Key, Update
from wacloud.models.confirmation_marker import split
from wacloud.models.keys import customer_key
from wacloud.models.records import (
    FAILABLE_BELOW_RANK,
    FAILED_RANK,
    STATUS_RANK,
    Direction,
    ErrorInfo,
    MessageRecord,
    MessageStatus,
    StoredMedia,
)

if TYPE_CHECKING:  # the sender never handles inbound events: their models stay unbuilt there
    from wacloud.models.events import MessageEvent, StatusEvent
    from wacloud.models.outbound import OutboundMessage
    from wacloud.models.outbound_state import OutboundRecord

# On a message item: written only once the item's OUT# record is `accepted` with this wamid (by the
# sender's own answer, or by a status confirming a send whose answer was lost).
OUTBOUND_ACCEPTED = "outbound_accepted"


PARTICIPANT_PREFIX = "PARTICIPANT#"


def key(wamid: str) -> Key:
    return {"pk": f"MSG#{wamid}", "sk": "MESSAGE"}


def participant_key(wamid: str, participant: str) -> Key:
    """A group message's status for one participant: beside the message, in its partition."""
    return {"pk": f"MSG#{wamid}", "sk": PARTICIPANT_PREFIX + customer_key(participant)}


class StatusChange(StrEnum):
    ADVANCED = "advanced"  # the record's status moved forward
    RECORDED = "recorded"  # kept in the history only: a duplicate, late or out-of-order status


@dataclass(frozen=True)
class AppliedStatus:
    change: StatusChange
    # The message item was marked `outbound_accepted`: its outbound record is known to be
    # `accepted` with this wamid, so the status has nothing to confirm there.
    send_recorded: bool
    # A group message's status for one participant: how it moved that participant's own status.
    participant_change: StatusChange | None = None


@dataclass(frozen=True)
class ParticipantStatus:
    """Where a group message stands for one participant."""

    participant: str
    status: str | None
    status_history: dict[str, int]
    error: dict[str, Any] | None = None


class MessageRecords(Repository):
    def get(self, wamid: str) -> MessageRecord | None:
        item = self.table.get(key(wamid))
        if item is None:
            return None
        history = {k.removeprefix("at_"): int(v) for k, v in item.items() if k.startswith("at_")}
        return MessageRecord.model_validate({**item, "status_history": history})

    def was_received(self, wamid: str) -> bool:
        """Whether an inbound message with this wamid is stored (its handling is done)."""
        item = self.table.get(key(wamid))
        return item is not None and item.get("direction") == Direction.INBOUND.value

    def record_inbound(self, event: MessageEvent) -> None:
        """Store an inbound message, beside what its media archive may have written already."""
        message, now = event.message, self._now()
        values: dict[str, Any] = {
            ":wamid": message.id,
            ":direction": Direction.INBOUND.value,
            ":customer": customer_key(message.sender),
            ":phone_number_id": event.phone_number_id,
            ":type": message.type,
            ":status": MessageStatus.RECEIVED.value,
            ":received": message.timestamp or now,
            ":payload": message.model_dump_json(by_alias=True, exclude_none=True),
            ":now": now,
            ":exp": now + self.ttl_seconds,
        }
        sets = [
            "wamid = :wamid",
            "direction = :direction",
            "customer = :customer",
            "phone_number_id = :phone_number_id",
            "#type = :type",
            "#status = :status",
            "at_received = :received",
            "payload = :payload",
            "created_at = if_not_exists(created_at, :now)",
            "updated_at = :now",
            "expires_at = :exp",
        ]
        self.table.update(
            key(message.id), Update("SET " + ", ".join(sets), values, {"#type": "type", "#status": "status"})
        )

    def apply_status(self, event: StatusEvent) -> AppliedStatus:
        """Apply a status webhook: history always, the current status only ever forward. Applying
        the same (or an older) status again changes nothing but `updated_at`."""
        status, now = event.status, self._now()
        participant = status.participant
        participant_change = self._apply_for_participant(event, participant) if participant else None
        name = status.status
        names = {"#at": f"at_{name}"}
        values: dict[str, Any] = {
            ":ts": status.timestamp or now,
            ":wamid": status.id,
            ":now": now,
            ":exp": now + self.ttl_seconds,
        }
        common = [
            "#at = if_not_exists(#at, :ts)",
            "wamid = :wamid",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = if_not_exists(expires_at, :exp)",
        ]
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
                values[f":{attr}"] = dynamo_value(value.model_dump(exclude_none=True))
        producer_data = split(status.biz_opaque_callback_data)[0]  # the confirmation marker is ours
        if producer_data:
            common.append("biz_opaque_callback_data = :cb")
            values[":cb"] = producer_data

        # One participant's `failed` is that participant's, not the group message's.
        advance = None if participant and status.status == MessageStatus.FAILED else self._advance(event)
        if advance is not None:
            expression, advance_values, advance_names, condition = advance
            old = self.table.update(
                key(status.id),
                Update(
                    "SET " + ", ".join(common + latest + expression),
                    {**values, **advance_values},
                    {**names, **advance_names},
                    condition,
                ),
                returns="ALL_OLD",
            )
            if old is not None:
                return AppliedStatus(StatusChange.ADVANCED, bool(old.get(OUTBOUND_ACCEPTED)), participant_change)
        update = Update("SET " + ", ".join(common + if_missing), values, names)
        old = self.table.update(key(status.id), update, returns="ALL_OLD") or {}
        return AppliedStatus(StatusChange.RECORDED, bool(old.get(OUTBOUND_ACCEPTED)), participant_change)

    def _apply_for_participant(self, event: StatusEvent, participant: str) -> StatusChange:
        """A group message's status on the participant's own item, by the same rules as a message's:
        history always, the participant's status only ever forward."""
        status, now = event.status, self._now()
        values: dict[str, Any] = {
            ":ts": status.timestamp or now,
            ":wamid": status.id,
            ":participant": participant,
            ":now": now,
            ":exp": now + self.ttl_seconds,
        }
        common = [
            "#at = if_not_exists(#at, :ts)",
            "wamid = :wamid",
            "participant = :participant",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = if_not_exists(expires_at, :exp)",
        ]
        names = {"#at": f"at_{status.status}"}
        where = participant_key(status.id, participant)
        advance = self._advance(event)
        if advance is not None:
            expression, advance_values, advance_names, condition = advance
            update = Update(
                "SET " + ", ".join(common + expression),
                {**values, **advance_values},
                {**names, **advance_names},
                condition,
            )
            if self.table.update(where, update) is not None:
                return StatusChange.ADVANCED
        self.table.update(where, Update("SET " + ", ".join(common), values, names))
        return StatusChange.RECORDED

    def participants(self, wamid: str) -> list[ParticipantStatus]:
        """Where a group message stands for each participant a status has named."""
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :prefix)", {":pk": key(wamid)["pk"], ":prefix": PARTICIPANT_PREFIX}
        )
        return [
            ParticipantStatus(
                participant=str(item.get("participant") or item["sk"].removeprefix(PARTICIPANT_PREFIX)),
                status=item.get("status"),
                status_history={k.removeprefix("at_"): int(v) for k, v in item.items() if k.startswith("at_")},
                error=item.get("error"),
            )
            for item in items
        ]

    @staticmethod
    def _advance(event: StatusEvent) -> tuple[list[str], dict[str, Any], dict[str, str], str] | None:
        """How a status moves the record's current status (its SET clauses, values, names and
        condition); None for a status outside the lifecycle (kept in the history only)."""
        status = event.status
        rank = FAILED_RANK if status.status == MessageStatus.FAILED else STATUS_RANK.get(status.status)
        if rank is None:
            return None
        expression = ["#status = :status", "status_rank = :rank"]
        values: dict[str, Any] = {":status": status.status, ":rank": rank}
        names = {"#status": "status"}
        if rank != FAILED_RANK:
            # A higher rank than the current one; `failed` (rank 9) is never overtaken.
            return expression, values, names, "attribute_not_exists(status_rank) OR status_rank < :rank"
        values[":failable"] = FAILABLE_BELOW_RANK
        error = status.errors[0] if status.errors else None
        if error is not None:
            expression.append("#error = :error")
            names["#error"] = "error"
            values[":error"] = dynamo_value(
                ErrorInfo(
                    code=error.code,
                    title=error.title,
                    message=error.message,
                    details=error.error_data.details if error.error_data else None,
                    href=error.href,
                ).model_dump(exclude_none=True)
            )
        return expression, values, names, "attribute_not_exists(status_rank) OR status_rank < :failable"

    def record_outbound(self, document: OutboundMessage, wamid: str, phone_number_id: str, *, mark: bool) -> None:
        """A message the business sent, taken by Meta: where its statuses start (`accepted`).

        Status fields only fill in what a status webhook has not written already. `mark`: its
        outbound record is `accepted` with this wamid (see `OUTBOUND_ACCEPTED`)."""
        self._record_outbound(
            wamid,
            idempotency_key=document.idempotency_key,
            customer=customer_key(document.recipient or ""),
            kind=document.kind,
            number=phone_number_id,
            client_ref=document.client_reference,
            mark=mark,
        )

    def record_outbound_from(self, record: OutboundRecord, wamid: str) -> None:
        """The same, from the document's outbound record, once a status confirmed the send with this
        wamid (an End User Messaging Social send, which AWS answers without one; a lost answer)."""
        self._record_outbound(
            wamid,
            idempotency_key=record.idempotency_key,
            customer=record.recipient or "",
            kind=record.type or "",
            number=record.phone_number_id or "",
            client_ref=record.client_ref,
            mark=True,
        )

    def _record_outbound(
        self,
        wamid: str,
        *,
        idempotency_key: str,
        customer: str,
        kind: str,
        number: str,
        client_ref: str | None,
        mark: bool,
    ) -> None:
        now = self._now()
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
            ":customer": customer,
            ":type": kind,
            ":pnid": number,
            ":key": idempotency_key,
            ":accepted": MessageStatus.ACCEPTED.value,
            ":zero": STATUS_RANK[MessageStatus.ACCEPTED],
            ":now": now,
            ":exp": now + self.ttl_seconds,
        }
        if client_ref:
            sets.append("client_ref = :ref")
            values[":ref"] = client_ref
        if mark:
            sets.append(f"{OUTBOUND_ACCEPTED} = :true")
            values[":true"] = True
        self.table.update(key(wamid), Update("SET " + ", ".join(sets), values, {"#type": "type", "#status": "status"}))

    def record_media(self, wamid: str, media: StoredMedia) -> None:
        """An inbound message's media is archived: where it is (an earlier failure is cleared)."""
        self.table.update(
            key(wamid),
            Update(
                "SET media = :media, updated_at = :now REMOVE media_error",
                {":media": dynamo_value(media.model_dump(exclude_none=True)), ":now": self._now()},
            ),
        )

    def record_media_error(self, wamid: str, error: ErrorInfo) -> None:
        """An inbound message's media cannot be archived, for good (an archived copy is kept)."""
        self.table.update(
            key(wamid),
            Update(
                "SET media_error = :error, updated_at = :now",
                {":error": dynamo_value(error.model_dump(exclude_none=True)), ":now": self._now()},
                condition="attribute_not_exists(media)",
            ),
        )
