"""Meta's throughput limit per phone number, shared by every sender invocation.

Graph answers 130429 above a number's throughput tier (80 messages/s by default). Each concurrent
sender (Lambda invocations x recipients sent to side by side) counts against the same limit, so
they share one budget in DynamoDB: time is cut into 100 ms slots, each allowed its share of the
rate, and an atomic `ADD` on the slot's counter item reserves sends from it. One call reserves for
every send of the process waiting at that moment (a sender's recipient threads share it); what a
slot cannot give is waited for in the next one. Only sends about to start are reserved for, so a
slow sender does not sit on budget others could use, and a reservation is good until its slot ends
plus a short grace: over any interval of T seconds at most rate x (T + 0.3 s) + 1 sends start,
within the one second's worth of burst a token bucket allowing `rate` per second lets through, with
room to spare for sends that reach Graph late (a busy sender, network jitter, clocks a little
apart). That keeps 130429 rare, not impossible (another system sending from the number, a tier
lower than configured): a 130429 is retried like any throttling error.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wacloud.adapters.store.rate_counters import RateCounters
from wacloud.runtime.metrics import count

SLOT_SECONDS = 0.1
GRACE_SECONDS = 0.2  # slot + grace well under 1 s: room for sends to reach Graph late


@dataclass
class _Reserved:
    sends: int
    good_until: float


class SendRateLimiter:
    """`acquire(phone_number_id)` before each Graph send; blocks until the shared budget allows it."""

    def __init__(
        self,
        *,
        counters: RateCounters,
        rate_per_second: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._counters = counters
        self.rate = rate_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._reserved: dict[str, _Reserved] = {}
        # Threads of this process waiting to send, per number: one reservation covers them all.
        self._waiting_lock = threading.Lock()
        self._waiting: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, phone_number_id: str, *, before_wait: Callable[[], None] | None = None) -> None:
        """Take one send from the shared budget, waiting for a later slot if this one is spent.

        `before_wait` runs before each wait (the sender raises there when the invocation's time is
        nearly up, so the document goes back to the queue instead of being cut off mid-send).
        """
        if not self.enabled:
            return
        self._count_waiting(phone_number_id, +1)
        waiting = True
        try:
            # One reservation at a time per process: the threads queue up behind it, then share it.
            with self._lock:
                self._take(phone_number_id, before_wait)
                # Before the next thread reserves: it must not reserve for this one again.
                self._count_waiting(phone_number_id, -1)
                waiting = False
        finally:
            if waiting:  # the wait was given up (too little time left) or the counter failed
                self._count_waiting(phone_number_id, -1)

    def _count_waiting(self, phone_number_id: str, change: int) -> None:
        with self._waiting_lock:
            self._waiting[phone_number_id] = self._waiting.get(phone_number_id, 0) + change

    def _take(self, phone_number_id: str, before_wait: Callable[[], None] | None) -> None:
        waited = False
        while True:
            now = self._clock()
            reserved = self._reserved.get(phone_number_id)
            if reserved is not None and reserved.sends > 0 and now <= reserved.good_until:
                reserved.sends -= 1
                if waited:
                    count("SendRateWaited")  # sends held back by the shared limit
                return
            slot = math.floor(now / SLOT_SECONDS)
            granted = self._reserve(phone_number_id, slot, self._waiting[phone_number_id])
            if granted:
                self._reserved[phone_number_id] = _Reserved(granted, (slot + 1) * SLOT_SECONDS + GRACE_SECONDS)
                continue
            waited = True
            if before_wait is not None:
                before_wait()
            # Sleeping with the lock held: the other threads would wait for the same slot anyway.
            self._sleep(max(0.0, (slot + 1) * SLOT_SECONDS - now) + 0.001)

    def slot_budget(self, slot: int) -> int:
        """Sends allowed in this slot: the rate spread over the slots, fractions carried to the next."""
        return math.floor(self.rate * (slot + 1) * SLOT_SECONDS + 1e-9) - math.floor(
            self.rate * slot * SLOT_SECONDS + 1e-9
        )

    def _reserve(self, phone_number_id: str, slot: int, wanted: int) -> int:
        """Atomically add `wanted` to the slot's counter; what was still free of its budget is ours."""
        budget = self.slot_budget(slot)
        if budget == 0:
            return 0
        wanted = max(1, min(wanted, budget))
        used_before = self._counters.add(phone_number_id, slot, wanted)
        return max(0, min(wanted, budget - used_before))
