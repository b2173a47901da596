"""`CALL#<call id>` / `CALL`: one WhatsApp call (Calling API), from its `calls` webhooks.

The item keeps when each event was first seen (`at_connect`, `at_ringing`, `at_terminate`...), the
call's parties and direction, the SDP of its connect, a terminated call's outcome and times, and
its `state`, which only ever moves forward (connect < ringing < accepted | rejected < terminate):
webhooks arrive late, twice and out of order, as statuses do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from wacloud.adapters.store.repository import Repository, dynamo_value, truncate
from wacloud.adapters.table import Key, Update

if TYPE_CHECKING:
    from wacloud.models.calls import Call, CallStatus

STATE_RANK = {"connect": 1, "ringing": 2, "accepted": 3, "rejected": 3, "terminate": 4}


def key(call_id: str) -> Key:
    return {"pk": f"CALL#{call_id}", "sk": "CALL"}


class CallRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    call_id: str
    state: str | None = None
    direction: str | None = None
    customer: str | None = None  # the customer's address: BSUID, else phone number
    phone_number_id: str | None = None
    sdp_type: str | None = None
    sdp: str | None = None
    outcome: str | None = None  # a terminated call's COMPLETED / FAILED
    start_time: int | None = None
    end_time: int | None = None
    duration: int | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[dict[str, Any]] | None = None
    history: dict[str, int] = Field(default_factory=dict)  # event -> first seen (unix seconds)


class CallRecords(Repository):
    def get(self, call_id: str) -> CallRecord | None:
        item = self.table.get(key(call_id))
        if item is None:
            return None
        history = {k.removeprefix("at_"): int(v) for k, v in item.items() if k.startswith("at_")}
        return CallRecord.model_validate({**item, "history": history})

    def record_call(self, call: Call, *, customer: str, phone_number_id: str) -> bool:
        """A connect or terminate event of a call; True when it moved the call's state forward."""
        errors = [e.model_dump(exclude_none=True) for e in call.errors or []]
        facts = {
            "direction": call.direction,
            "customer": customer or None,
            "phone_number_id": phone_number_id or None,
            "sdp_type": call.session.sdp_type if call.session else None,
            "sdp": truncate(call.session.sdp) if call.session and call.session.sdp else None,
            "outcome": call.outcome,
            "start_time": call.start_time,
            "end_time": call.end_time,
            "duration": call.duration,
            "biz_opaque_callback_data": call.biz_opaque_callback_data,
            "errors": dynamo_value(errors) if errors else None,
        }
        known = {name: value for name, value in facts.items() if value is not None}
        sets = [f"#{name} = :{name}" for name in known]
        given = {f":{name}": value for name, value in known.items()}
        names = {f"#{name}": name for name in known}
        return self._apply(
            call.id, (call.event or "unknown").lower(), call.timestamp, Update(", ".join(sets), given, names)
        )

    def record_status(self, status: CallStatus, *, customer: str) -> bool:
        """A business-initiated call's status (RINGING, ACCEPTED, REJECTED)."""
        sets: list[str] = []
        given: dict[str, Any] = {}
        if customer:
            sets.append("customer = if_not_exists(customer, :customer)")
            given[":customer"] = customer
        if status.biz_opaque_callback_data:
            sets.append("biz_opaque_callback_data = :cb")
            given[":cb"] = status.biz_opaque_callback_data
        return self._apply(
            status.id, (status.status or "unknown").lower(), status.timestamp, Update(", ".join(sets), given)
        )

    def _apply(self, call_id: str, event: str, at: int | None, facts: Update) -> bool:
        """History always (`at_<event>`, the first time seen), the state only ever forward; `facts`:
        the event's own SET clauses, with their values and names."""
        now = self._now()
        common = [
            "#at = if_not_exists(#at, :ts)",
            "call_id = :id",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = if_not_exists(expires_at, :exp)",
            *([facts.expression] if facts.expression else []),
        ]
        values = {**facts.values, ":ts": at or now, ":id": call_id, ":now": now, ":exp": now + self.ttl_seconds}
        names = {**facts.names, "#at": f"at_{event}"}
        rank = STATE_RANK.get(event)
        if rank is not None:
            advance = Update(
                "SET " + ", ".join([*common, "#state = :state", "state_rank = :rank"]),
                {**values, ":state": event, ":rank": rank},
                {**names, "#state": "state"},
                "attribute_not_exists(state_rank) OR state_rank < :rank",
            )
            if self.table.update(key(call_id), advance) is not None:
                return True
        self.table.update(key(call_id), Update("SET " + ", ".join(common), values, names))
        return False
