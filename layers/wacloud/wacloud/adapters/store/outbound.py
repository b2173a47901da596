"""`OUT#<idempotency key>` / `OUTBOUND`: what happened to an outbound document (GSI `by-client-ref`).

Its conditional writes are derived from the state machine in `wacloud.models.outbound_state`: a
send's outcome is written only over `RECORDED_OVER`, a confirmation only over `CONFIRMABLE`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from wacloud.adapters.store.repository import Repository, dynamo_value, truncate
from wacloud.adapters.table import Item, Key, Update
from wacloud.models.keys import customer_key
from wacloud.models.outbound_state import (
    CONFIRMABLE,
    IN_FLIGHT,
    RECORDED_OVER,
    SETTLED,
    OutboundRecord,
    OutboundState,
    SendOutcome,
)

if TYPE_CHECKING:
    from wacloud.models.outbound import OutboundMessage

CLIENT_REF_INDEX = "by-client-ref"
# A document's writes go only where its key names no other document (no digest: a record from
# before digests were kept, a status's, an invalid document's): two racing under one key, one wins.
SAME_DOCUMENT = "(attribute_not_exists(digest) OR digest = :digest OR invalid = :true)"


def key(idempotency_key: str) -> Key:
    return {"pk": f"OUT#{idempotency_key}", "sk": "OUTBOUND"}


def state_condition(states: Iterable[OutboundState | None]) -> tuple[str, dict[str, str]]:
    """`#state` is one of `states` (None: no state yet), as a condition and its values."""
    wanted = sorted(state.value for state in states if state is not None)
    values = {f":in_{state}": state for state in wanted}
    clauses = [f"#state IN ({', '.join(values)})"] if values else []
    if None in states:
        clauses.insert(0, "attribute_not_exists(#state)")
    return "(" + " OR ".join(clauses) + ")", values


class OutboundRecords(Repository):
    def get(self, idempotency_key: str) -> OutboundRecord | None:
        item = self.table.get(key(idempotency_key))
        return OutboundRecord.model_validate(item) if item else None

    @staticmethod
    def from_items(idempotency_key: str, items: list[Item]) -> OutboundRecord | None:
        """The record among items read together with others (`Store.send_context`)."""
        wanted = key(idempotency_key)
        item = next((i for i in items if i["pk"] == wanted["pk"] and i["sk"] == wanted["sk"]), None)
        return OutboundRecord.model_validate(item) if item else None

    def find_by_client_reference(self, client_reference: str) -> list[OutboundRecord]:
        """Records carrying this client reference (eventually consistent: a GSI)."""
        items = self.table.query("client_ref = :ref", {":ref": client_reference}, index=CLIENT_REF_INDEX)
        return [OutboundRecord.model_validate(item) for item in items if item.get("sk") == "OUTBOUND"]

    def record(
        self,
        document: OutboundMessage,
        outcome: SendOutcome,
        phone_number_id: str,
        *,
        unless_confirmed: bool = False,
        owner: str | None = None,
        digest: str | None = None,
    ) -> bool:
        """Write a send's outcome unless the record is settled already; False when nothing was written.

        A settled outcome may replace `sending`; an open one (`retrying`) only for the attempt that
        wrote it (`owner`). `unless_confirmed`: not over a record a status webhook has already named
        (`confirmed_wamid`). `digest`: the document's, kept to tell a reused key's other document."""
        now = self._now()
        names = {"#state": "state", "#type": "type"}
        values: dict[str, Any] = {":state": outcome.state.value, ":one": 1, ":zero": 0}
        sets = ["#state = :state", "attempts = if_not_exists(attempts, :zero) + :one"]
        self._describe(document, phone_number_id, now, sets, values, digest=digest)
        # An earlier attempt's error or reason (a retry, then a redrive that went through) is not
        # this outcome's: what the outcome does not carry is removed.
        stale = ["sending_owner", "invalid", "#raw"]
        names.update({"#error": "error", "#raw": "raw"})
        if outcome.error is not None:
            sets.append("#error = :error")
            values[":error"] = dynamo_value(outcome.error.model_dump(exclude_none=True))
        else:
            stale.append("#error")
        for name in ("wamid", "reason", "transport", "transport_message_id"):
            value = getattr(outcome, name)
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
            elif name == "reason":
                stale.append(name)
        expression = "SET " + ", ".join(sets) + " REMOVE " + ", ".join(stale)
        if outcome.state in SETTLED:
            condition, states = state_condition({*RECORDED_OVER, *IN_FLIGHT})
        else:
            condition, states = state_condition(RECORDED_OVER)
            if owner:
                condition += " OR (#state = :sending AND sending_owner = :owner)"
                states.update({":sending": OutboundState.SENDING.value, ":owner": owner})
        condition = f"({condition} OR invalid = :true)"
        if unless_confirmed:
            condition += " AND attribute_not_exists(confirmed_wamid)"
        if digest:
            condition += f" AND {SAME_DOCUMENT}"
        written = self.table.update(
            key(document.idempotency_key), Update(expression, {**values, **states, ":true": True}, names, condition)
        )
        return written is not None

    def mark_sending(
        self,
        document: OutboundMessage,
        phone_number_id: str,
        *,
        owner: str,
        digest: str | None,
        transport: str | None = None,
    ) -> bool:
        """`sending`, just before the send call (`owner`: the attempt making it): the send's lock.
        `transport`: the way out other than the Cloud API, kept on the record from now on (so an
        `unconfirmed` send that a status confirms still says how it left). False when the record is
        no longer open or names another document (nothing written)."""
        now = self._now()
        names = {"#state": "state", "#type": "type", "#error": "error", "#raw": "raw"}
        values: dict[str, Any] = {":state": OutboundState.SENDING.value, ":owner": owner, ":true": True}
        sets = ["#state = :state", "sending_owner = :owner"]
        if transport:
            sets.append("transport = :transport")
            values[":transport"] = transport
        self._describe(document, phone_number_id, now, sets, values, digest=digest)
        condition, states = state_condition(RECORDED_OVER)
        written = self.table.update(
            key(document.idempotency_key),
            Update(
                "SET " + ", ".join(sets) + " REMOVE #error, reason, invalid, #raw",
                {**values, **states},
                names,
                f"({condition} OR invalid = :true)" + (f" AND {SAME_DOCUMENT}" if digest else ""),
            ),
        )
        return written is not None

    def _describe(
        self,
        document: OutboundMessage,
        phone_number_id: str,
        now: int,
        sets: list[str],
        values: dict[str, Any],
        *,
        digest: str | None,
    ) -> None:
        """What every write of a document's record says of the document itself."""
        sets += [
            "idempotency_key = :key",
            "recipient = :recipient",
            "#type = :type",
            "phone_number_id = :pnid",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = :exp",
        ]
        values.update(
            {
                ":key": document.idempotency_key,
                ":recipient": customer_key(document.recipient or ""),
                ":type": document.kind,
                ":pnid": phone_number_id,
                ":now": now,
                ":exp": now + self.ttl_seconds,
            }
        )
        if document.client_reference:
            sets.append("client_ref = :ref")
            values[":ref"] = document.client_reference
        if digest:
            sets.append("digest = :digest")
            values[":digest"] = digest

    def record_invalid(self, idempotency_key: str, reason: str, *, raw: str | None = None) -> bool:
        """A document we refused before any Graph call because it broke the contract (no document
        to speak of: only the key it gave, the reason and what it was). It saves no result: written
        only where no valid document's record is (a malformed duplicate changes nothing: False)."""
        now = self._now()
        names = {"#state": "state"}
        values: dict[str, Any] = {
            ":state": OutboundState.REJECTED.value,
            ":reason": reason,
            ":key": idempotency_key,
            ":now": now,
            ":exp": now + self.ttl_seconds,
            ":true": True,
        }
        sets = [
            "#state = :state",
            "reason = :reason",
            "idempotency_key = :key",
            "invalid = :true",
            "updated_at = :now",
            "created_at = if_not_exists(created_at, :now)",
            "expires_at = :exp",
        ]
        if raw is not None:
            sets.append("#raw = :raw")
            names["#raw"] = "raw"
            values[":raw"] = truncate(raw)
        written = self.table.update(
            key(idempotency_key),
            # Not over a record a status made either (no state, `confirmed_wamid`): Meta has that one.
            Update(
                "SET " + ", ".join(sets),
                values,
                names,
                "(attribute_not_exists(#state) AND attribute_not_exists(confirmed_wamid)) OR invalid = :true",
            ),
        )
        return written is not None

    def note_confirmation(self, idempotency_key: str, wamid: str) -> OutboundRecord:
        """Leave a status's wamid on the record (`confirmed_wamid`, the first one only), for a send
        whose outcome is still being written; the record as it is now."""
        now = self._now()
        item = self.table.update(
            key(idempotency_key),
            Update(
                "SET confirmed_wamid = if_not_exists(confirmed_wamid, :wamid), "
                "idempotency_key = if_not_exists(idempotency_key, :key), "
                "expires_at = if_not_exists(expires_at, :exp)",
                {":wamid": wamid, ":key": idempotency_key, ":exp": now + self.ttl_seconds},
            ),
            returns="ALL_NEW",
        )
        return OutboundRecord.model_validate(item)

    def add_transport_id(self, document: OutboundMessage, outcome: SendOutcome, *, digest: str | None) -> bool:
        """Add AWS's message id (and the transport) of an accepted send to its record, already made
        `accepted` by a status that arrived before the send's answer was written; its state, wamid
        and error stay. False when the record is not accepted, has an id already, or is another's."""
        condition = "#state = :accepted AND attribute_not_exists(transport_message_id)"
        sets = ["transport_message_id = :id", "updated_at = :now"]
        values: dict[str, Any] = {
            ":accepted": OutboundState.ACCEPTED.value,
            ":id": outcome.transport_message_id,
            ":now": self._now(),
        }
        if outcome.transport:
            sets.append("transport = :transport")
            values[":transport"] = outcome.transport
        if digest:
            condition += " AND (attribute_not_exists(digest) OR digest = :digest)"
            values[":digest"] = digest
        update = Update("SET " + ", ".join(sets), values, {"#state": "state"}, condition)
        written = self.table.update(key(document.idempotency_key), update)
        return written is not None

    def accept_confirmed(self, idempotency_key: str, wamid: str) -> bool:
        """Make a `CONFIRMABLE` record (or an acceptance without its wamid) `accepted` with the
        wamid a status named; False when the record was not one of those."""
        condition, states = state_condition(CONFIRMABLE)
        condition += " OR (#state = :accepted AND attribute_not_exists(wamid))"
        written = self.table.update(
            key(idempotency_key),
            Update(
                # Meta took it: the lost answer's or an attempt's error no longer says what happened.
                "SET #state = :accepted, wamid = :wamid, updated_at = :now REMOVE #error, sending_owner",
                {":accepted": OutboundState.ACCEPTED.value, ":wamid": wamid, ":now": self._now(), **states},
                {"#state": "state", "#error": "error"},
                condition,
            ),
        )
        return written is not None
