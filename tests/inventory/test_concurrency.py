"""Concurrent stock changes, each in its own unit of work (its own connection and
transaction). On PostgreSQL they really run at once and contend for the same rows; on
SQLite the database serializes writers, so the same tests check the same invariants."""

from __future__ import annotations

import asyncio
import random

from shopreel.accounts import service as accounts
from shopreel.accounts.principal import Principal
from shopreel.inventory import service
from shopreel.inventory.errors import InsufficientStock
from shopreel.inventory.rules import StockChange, StockCount
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.sellers import Seller, create_product, create_seller
from tests.inventory.helpers import WAREHOUSE, movement_count, on_hand


async def _principal(runtime: Runtime, seller: Seller) -> Principal:
    async with UnitOfWork(runtime.databases, home_region=seller.user.region) as uow:
        return await accounts.load_principal(uow, runtime, seller.user, auth="session")


async def _warehouse(runtime: Runtime, principal: Principal, name: str = "Main") -> str:
    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        view = await service.create_warehouse(
            uow, runtime, principal, **{**WAREHOUSE, "name": name}
        )
        return view.warehouse.id


async def _adjust(runtime: Runtime, principal: Principal, *lines: StockChange) -> bool:
    """One request's worth of work: True when committed, False when refused for stock."""
    try:
        async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
            await service.adjust_stock(uow, principal, list(lines))
    except InsufficientStock:
        return False
    return True


async def test_concurrent_decrements_never_oversell(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    principal = await _principal(runtime, seller)
    _, (variant,) = await create_product(runtime, seller.shop)
    warehouse = await _warehouse(runtime, principal)
    initial = 40
    assert await _adjust(
        runtime, principal, StockChange(variant.id, warehouse, initial, "received")
    )

    rng = random.Random(7)
    deltas = [rng.randint(1, 3) for _ in range(60)]  # ~120 units wanted, 40 on hand
    results = await asyncio.gather(
        *(
            _adjust(runtime, principal, StockChange(variant.id, warehouse, -d, "adjustment"))
            for d in deltas
        )
    )
    taken = sum(d for d, ok in zip(deltas, results, strict=True) if ok)
    final = await on_hand(runtime, variant.id, warehouse)
    assert final is not None and final >= 0
    assert final == initial - taken
    # the stock ran out: nothing left that any refused request could have taken
    assert all(d > final for d, ok in zip(deltas, results, strict=True) if not ok)
    assert await movement_count(runtime) == 1 + sum(results)


async def test_concurrent_first_receipts_create_one_level(runtime: Runtime) -> None:
    """Many requests add to a level that does not exist yet: the insert races are absorbed
    by ON CONFLICT DO NOTHING and every unit is counted."""
    seller = await create_seller(runtime)
    principal = await _principal(runtime, seller)
    _, (variant,) = await create_product(runtime, seller.shop)
    warehouse = await _warehouse(runtime, principal)
    results = await asyncio.gather(
        *(
            _adjust(runtime, principal, StockChange(variant.id, warehouse, 2, "received"))
            for _ in range(25)
        )
    )
    assert all(results)
    assert await on_hand(runtime, variant.id, warehouse) == 50


async def test_crossing_batches_do_not_deadlock(runtime: Runtime) -> None:
    """Batches name the same levels in opposite orders; applied in lock order they wait for
    each other instead of deadlocking (PostgreSQL would abort one with a deadlock error)."""
    seller = await create_seller(runtime)
    principal = await _principal(runtime, seller)
    _, variants = await create_product(
        runtime, seller.shop, option_names=("Size",), variants=((("S",), 100), (("M",), 100))
    )
    main = await _warehouse(runtime, principal, "Main")
    east = await _warehouse(runtime, principal, "East")
    keys = [(v.id, w) for v in variants for w in (main, east)]
    assert await _adjust(runtime, principal, *(StockChange(v, w, 100, "received") for v, w in keys))

    def batch(reverse: bool) -> list[StockChange]:
        ordered = list(reversed(keys)) if reverse else keys
        return [StockChange(v, w, -1, "adjustment") for v, w in ordered]

    results = await asyncio.gather(
        *(_adjust(runtime, principal, *batch(i % 2 == 1)) for i in range(30))
    )
    assert all(results)
    for v, w in keys:
        assert await on_hand(runtime, v, w) == 70


async def test_counts_and_adjustments_interleave_without_losing_a_change(runtime: Runtime) -> None:
    """A count is compare-and-set: its movement's delta is exactly what it changed, so the
    journal always adds up to the level, whatever ran at the same time."""
    seller = await create_seller(runtime)
    principal = await _principal(runtime, seller)
    _, (variant,) = await create_product(runtime, seller.shop)
    warehouse = await _warehouse(runtime, principal)
    assert await _adjust(runtime, principal, StockChange(variant.id, warehouse, 50, "received"))

    async def count(value: int) -> None:
        async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
            await service.count_stock(uow, principal, [StockCount(variant.id, warehouse, value)])

    work = [
        _adjust(runtime, principal, StockChange(variant.id, warehouse, 1, "received"))
        for _ in range(10)
    ] + [count(30 + i) for i in range(5)]
    await asyncio.gather(*work)
    final = await on_hand(runtime, variant.id, warehouse)
    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        moves, _ = await service.list_movements(uow, principal, limit=200)
    assert sum(m.delta for m in moves) == final
    assert all(m.on_hand_after >= 0 for m in moves)
