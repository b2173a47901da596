"""`RATE#<phone number id>#<slot>` / `RATE`: the shared send rate's counter for one 100 ms slot
(`wacloud.outbound.send_rate` decides how much to reserve)."""

from __future__ import annotations

from wacloud.adapters.store.repository import Repository
from wacloud.adapters.table import Key, Update

COUNTER_TTL_SECONDS = 120


def key(phone_number_id: str, slot: int) -> Key:
    return {"pk": f"RATE#{phone_number_id}#{slot}", "sk": "RATE"}


class RateCounters(Repository):
    def add(self, phone_number_id: str, slot: int, sends: int) -> int:
        """Atomically add `sends` to the slot's counter; how many the slot had counted before."""
        answer = self.table.update(
            key(phone_number_id, slot),
            Update(
                "ADD used :n SET expires_at = if_not_exists(expires_at, :exp)",
                {":n": sends, ":exp": self._now() + COUNTER_TTL_SECONDS},
            ),
            returns="UPDATED_NEW",
        )
        return int((answer or {})["used"]) - sends
