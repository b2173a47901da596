"""The shared send rate: concurrent senders together stay within the phone number's throughput tier."""

from __future__ import annotations

import itertools
import threading
import time
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from wacloud.adapters.store import Store
from wacloud.adapters.store.rate_counters import RateCounters
from wacloud.adapters.table import StoreError, Table
from wacloud.local.account import REGION
from wacloud.local.cloudformation import Stack
from wacloud.outbound.send_rate import GRACE_SECONDS, SLOT_SECONDS, SendRateLimiter

pytestmark = pytest.mark.usefixtures("aws")
NUMBER = "1234567890"


class VirtualClock:
    """Time that moves only when someone sleeps (or a send takes `step` seconds)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def table(stack: Stack):
    return boto3.resource("dynamodb", region_name=REGION).Table(stack.table_names["MessagesTable"])


def limiter(stack: Stack, clock: VirtualClock, rate: float) -> SendRateLimiter:
    counters = Store(clock=clock).rate_counters
    return SendRateLimiter(counters=counters, rate_per_second=rate, clock=clock, sleep=clock.sleep)


def conforms_to_token_bucket(times: list[float], rate: float) -> bool:
    """Would a token bucket of `rate` per second, holding at most one second's worth, let every send through?"""
    tokens, last = rate, None
    for at in sorted(times):
        if last is not None:
            tokens = min(rate, tokens + (at - last) * rate)
        last = at
        if tokens < 1 - 1e-9:
            return False
        tokens -= 1
    return True


@pytest.mark.parametrize("rate", [80, 15, 7.5, 1000, 3])
def test_the_slots_of_a_second_add_up_to_the_rate(rate: float) -> None:
    one = SendRateLimiter(counters=mock.Mock(), rate_per_second=rate)
    slots_per_second = round(1 / SLOT_SECONDS)
    for second in range(4):
        total = sum(one.slot_budget(second * slots_per_second + i) for i in range(slots_per_second))
        assert abs(total - rate) < 1, (second, total)


def test_concurrent_senders_together_send_at_the_rate_and_never_above_it(aws: Stack) -> None:
    clock = VirtualClock()
    rate = 40
    senders = [limiter(aws, clock, rate) for _ in range(6)]  # six Lambda environments
    sent: list[float] = []
    waits = mock.patch("wacloud.outbound.send_rate.count").start()
    # Round robin, each send taking 20 ms: far more demand than the rate allows, and each sender
    # holding a reservation while the others take theirs.
    for sender in itertools.islice(itertools.cycle(senders), 600):
        sender.acquire(NUMBER)
        sent.append(clock.now)
        clock.now += 0.02
    elapsed = sent[-1] - sent[0]
    assert conforms_to_token_bucket(sent, rate)
    assert len(sent) / elapsed >= 0.9 * rate  # the budget is used, not wasted
    assert clock.slept  # the senders did wait for later slots
    assert waits.call_count > 0 and {c.args for c in waits.call_args_list} == {("SendRateWaited",)}
    mock.patch.stopall()


def test_a_reservation_is_not_used_after_its_slot_and_grace(aws: Stack) -> None:
    clock = VirtualClock()
    one = limiter(aws, clock, 80)
    one._waiting[NUMBER] = 7  # seven other threads about to send: one reservation of 8 for all of them
    one.acquire(NUMBER)  # reserves 8 in this slot, uses 1
    one._waiting[NUMBER] = 0
    clock.now += SLOT_SECONDS + GRACE_SECONDS + 0.01
    with mock.patch.object(one, "_reserve", wraps=one._reserve) as reserve:
        one.acquire(NUMBER)
    assert reserve.call_count == 1  # the 7 left over were dropped, a fresh slot was reserved from


def test_a_spent_slot_is_waited_out_and_the_caller_can_refuse_to_wait(aws: Stack) -> None:
    clock = VirtualClock(start=1_800_000_000.0)
    first, second = limiter(aws, clock, 10), limiter(aws, clock, 10)  # 1 send per slot
    first.acquire(NUMBER)
    refused = RuntimeError("not enough time left")

    def out_of_time() -> None:
        raise refused

    with pytest.raises(RuntimeError) as excinfo:
        second.acquire(NUMBER, before_wait=out_of_time)
    assert excinfo.value is refused
    second.acquire(NUMBER)  # waits for the next slot
    assert clock.slept and clock.now >= 1_800_000_000.0 + SLOT_SECONDS


def test_numbers_have_separate_budgets(aws: Stack) -> None:
    clock = VirtualClock()
    one = limiter(aws, clock, 10)
    one.acquire("111")
    one.acquire("222")
    assert clock.slept == []


def test_rate_zero_turns_the_shared_limit_off() -> None:
    calls = mock.Mock()
    off = SendRateLimiter(counters=calls, rate_per_second=0)
    for _ in range(100):
        off.acquire(NUMBER)
    calls.assert_not_called()


def test_the_counters_expire(aws: Stack) -> None:
    clock = VirtualClock()
    limiter(aws, clock, 80).acquire(NUMBER)
    (item,) = table(aws).scan()["Items"]
    assert item["pk"].startswith(f"RATE#{NUMBER}#")
    assert clock.now < item["expires_at"] <= clock.now + 300


def test_a_dynamodb_failure_is_a_store_error_not_a_send() -> None:
    failing = mock.Mock()
    failing.update_item.side_effect = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
    )
    counters = RateCounters(Table("messages", client=failing), ttl_seconds=120)
    with pytest.raises(StoreError):
        SendRateLimiter(counters=counters, rate_per_second=80).acquire(NUMBER)


def test_threads_of_one_sender_share_one_reservation(aws: Stack) -> None:
    clock = VirtualClock()
    one = limiter(aws, clock, 80)  # 8 sends per 100 ms slot
    with mock.patch.object(one, "_reserve", wraps=one._reserve) as reserve:
        with one._lock:  # a reservation in flight: the threads queue up behind it
            threads = [threading.Thread(target=one.acquire, args=(NUMBER,)) for _ in range(8)]
            for thread in threads:
                thread.start()
            while one._waiting.get(NUMBER, 0) < 8:
                time.sleep(0.001)
        for thread in threads:
            thread.join()
    assert reserve.call_count == 1
    assert clock.slept == []
