"""Reservations under real concurrency: every call opens its own connections and short
transactions. On PostgreSQL they contend for the same rows at once (the flash-sale case);
on SQLite the database serializes writers, and the same invariants must hold."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from shopreel.inventory import reservations
from shopreel.inventory.errors import OutOfStock, PurchaseCapExceeded, ReservationExpired
from shopreel.inventory.reservations import DealCap, ReservationLine
from shopreel.runtime import Runtime
from tests.inventory.helpers import assert_stock_accounted, level
from tests.inventory.test_reservations import shelf, statuses

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def buyer(i: int) -> str:
    return f"usr_us_buyer{i:020d}"


async def test_flash_sale_never_oversells(runtime: Runtime) -> None:
    """220 buyers want one unit each of a SKU with 50 in stock: exactly 50 get one."""
    s = await shelf(runtime, 50)
    (variant,) = s.variants

    async def attempt(i: int) -> bool:
        try:
            await reservations.reserve(
                runtime,
                [ReservationLine(variant, 1)],
                reference=f"chk_{i}",
                buyer_id=buyer(i),
                now=T0,
            )
        except OutOfStock:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(220)))
    assert sum(results) == 50
    assert await level(runtime, variant, s.warehouse) == (50, 50, 0)
    await assert_stock_accounted(runtime)

    # and paying for all of them at once sells exactly 50
    winners = [i for i, ok in enumerate(results) if ok]
    await asyncio.gather(*(reservations.claim(runtime, f"chk_{i}", now=T0) for i in winners))
    assert await level(runtime, variant, s.warehouse) == (50, 0, 50)
    await assert_stock_accounted(runtime)


async def test_crossing_carts_do_not_deadlock(runtime: Runtime) -> None:
    """Carts name the same three SKUs in opposite orders, some failing (and compensating)
    because one SKU runs out; no call may fail with anything but ``out_of_stock``."""
    s = await shelf(runtime, 40, 40, 25)
    a, b, c = s.variants
    forward = [ReservationLine(a, 1), ReservationLine(b, 1), ReservationLine(c, 1)]
    backward = list(reversed(forward))

    async def cart(i: int) -> bool:
        try:
            await reservations.reserve(
                runtime,
                forward if i % 2 == 0 else backward,
                reference=f"cart_{i}",
                buyer_id=buyer(i),
                now=T0,
            )
        except OutOfStock:
            return False
        return True

    results = await asyncio.gather(*(cart(i) for i in range(60)))
    assert sum(results) == 25  # c had 25: every cart that got c got all three
    for variant, on_hand in ((a, 40), (b, 40), (c, 25)):
        assert await level(runtime, variant, s.warehouse) == (on_hand, 25, 0)
    await assert_stock_accounted(runtime)

    # release half and claim the other half, concurrently, in opposite orders of carts
    won = [i for i, ok in enumerate(results) if ok]
    work = [
        reservations.release(runtime, f"cart_{i}", now=T0)
        if n % 2
        else reservations.claim(runtime, f"cart_{i}", now=T0)
        for n, i in enumerate(won)
    ]
    await asyncio.gather(*work)
    claimed = len(won[::2])
    for variant, on_hand in ((a, 40), (b, 40), (c, 25)):
        assert await level(runtime, variant, s.warehouse) == (on_hand, 0, claimed)
    await assert_stock_accounted(runtime)


async def test_claim_and_expiry_race_ends_claimed_xor_expired(runtime: Runtime) -> None:
    """Payments arrive (at a time the hold is still valid) while expiry jobs run (at a time
    past every TTL): each reservation ends exactly one way, and the units follow."""
    s = await shelf(runtime, 60)
    (variant,) = s.variants
    count = 40
    for i in range(count):
        await reservations.reserve(
            runtime, [ReservationLine(variant, 1)], reference=f"chk_{i}", buyer_id=buyer(i), now=T0
        )
    assert await level(runtime, variant, s.warehouse) == (60, count, 0)

    rng = random.Random(3)
    delays = {i: rng.random() * 0.2 for i in range(count)}

    async def pay(i: int) -> bool:
        await asyncio.sleep(delays[i])  # payments trickle in while the jobs run
        try:
            await reservations.claim(runtime, f"chk_{i}", now=T0 + timedelta(minutes=9))
        except ReservationExpired:
            return False
        return True

    late = T0 + timedelta(minutes=30)
    order = list(range(count))
    random.Random(5).shuffle(order)

    async def job(start: float) -> int:
        await asyncio.sleep(start)
        return await reservations.expire_reservations(runtime, late, batch=7)

    jobs = [job(start) for start in (0.02, 0.05, 0.1)]
    results = await asyncio.gather(*(pay(i) for i in order), *jobs)
    paid = dict(zip(order, results[:count], strict=True))
    expired_by_jobs = sum(results[count:])  # type: ignore[arg-type]

    for i in range(count):
        (status,) = await statuses(runtime, f"chk_{i}")
        assert status == ("claimed" if paid[i] else "expired")
    claimed = sum(paid.values())
    assert expired_by_jobs == count - claimed  # each expiry counted once across the jobs
    assert await level(runtime, variant, s.warehouse) == (60, 0, claimed)
    await assert_stock_accounted(runtime)


async def test_concurrent_claims_of_one_checkout_sell_once(runtime: Runtime) -> None:
    s = await shelf(runtime, 10, 10)
    a, b = s.variants
    await reservations.reserve(
        runtime,
        [ReservationLine(a, 2), ReservationLine(b, 3)],
        reference="chk",
        buyer_id=buyer(1),
        now=T0,
    )
    results = await asyncio.gather(*(reservations.claim(runtime, "chk", now=T0) for _ in range(12)))
    assert all(sorted(h.id for h in r) == sorted(h.id for h in results[0]) for r in results)
    assert await level(runtime, a, s.warehouse) == (10, 0, 2)
    assert await level(runtime, b, s.warehouse) == (10, 0, 3)
    await assert_stock_accounted(runtime)


async def test_caps_hold_under_concurrency(runtime: Runtime) -> None:
    """One scalper opens 30 checkouts at once for a deal capped at 3 per buyer; other
    buyers buy alongside. The scalper gets exactly 3 units."""
    s = await shelf(runtime, 100)
    (variant,) = s.variants
    cap = DealCap("deal_drop", 3)
    scalper = buyer(666)

    async def attempt(reference: str, who: str) -> str:
        try:
            await reservations.reserve(
                runtime,
                [ReservationLine(variant, 1, cap)],
                reference=reference,
                buyer_id=who,
                now=T0,
            )
        except PurchaseCapExceeded:
            return "capped"
        return "held"

    work = [attempt(f"scalp_{i}", scalper) for i in range(30)]
    work += [attempt(f"fair_{i}", buyer(i)) for i in range(20)]
    results = await asyncio.gather(*work)
    assert results[:30].count("held") == 3
    assert results[30:] == ["held"] * 20
    assert await reservations.cap_usage(runtime, cap.deal_id, scalper, variant) == 3
    assert await level(runtime, variant, s.warehouse) == (100, 23, 0)
    await assert_stock_accounted(runtime)


@pytest.mark.parametrize("rounds", [3])
async def test_mixed_traffic_keeps_every_unit_accounted(runtime: Runtime, rounds: int) -> None:
    """Reserve, claim, release and expire all at once on two SKUs; at the end every level
    still adds up and matches its reservations."""
    s = await shelf(runtime, 30, 12)
    a, b = s.variants
    rng = random.Random(11)

    async def shopper(i: int) -> None:
        lines = [ReservationLine(a, rng.randint(1, 2))]
        if i % 3 == 0:
            lines.append(ReservationLine(b, 1))
        reference = f"mix_{i}"
        try:
            await reservations.reserve(
                runtime, lines, reference=reference, buyer_id=buyer(i), now=T0
            )
        except OutOfStock:
            return
        await asyncio.sleep(0)
        choice = i % 3
        try:
            if choice == 0:
                await reservations.claim(runtime, reference, now=T0 + timedelta(minutes=1))
            elif choice == 1:
                await reservations.release(runtime, reference, now=T0)
        except ReservationExpired:
            pass

    for r in range(rounds):
        jobs = [reservations.expire_reservations(runtime, T0 + timedelta(minutes=10))]
        await asyncio.gather(*(shopper(r * 100 + i) for i in range(40)), *jobs)
        await assert_stock_accounted(runtime)
    await reservations.expire_reservations(runtime, T0 + timedelta(hours=1))
    on_hand_a, reserved_a, sold_a = await level(runtime, a, s.warehouse)
    assert (on_hand_a, reserved_a) == (30, 0) and 0 < sold_a <= 30
    await assert_stock_accounted(runtime)
