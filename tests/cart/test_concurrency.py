"""Concurrent changes of one buyer's cart (two tabs, a double click), each in its own unit
of work. The cart row is locked before its lines are read, so concurrent first adds create
one cart, merges do not lose quantities, and the line limit cannot be raced past."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from shopreel.cart import service
from shopreel.cart.errors import QuantityLimit
from shopreel.cart.models import Cart
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.cart.helpers import Buyer, create_buyer, lines_in, stock_all
from tests.fixtures.sellers import create_product, create_seller


async def _add(runtime: Runtime, buyer: Buyer, variant_id: str, quantity: int) -> bool:
    try:
        async with UnitOfWork(runtime.databases, home_region=buyer.region) as uow:
            await service.add_item(uow, buyer.id, variant_id, quantity)
    except QuantityLimit:
        return False
    return True


async def test_concurrent_first_adds_make_one_cart(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, variants = await create_product(
        runtime,
        seller.shop,
        option_names=("Color",),
        variants=[((color,), 500) for color in ("red", "green", "blue", "black")],
    )
    await stock_all(runtime, variants, 50)
    buyer = await create_buyer(runtime)
    results = await asyncio.gather(*(_add(runtime, buyer, v.id, 2) for v in variants))
    assert results == [True] * 4
    assert await lines_in(runtime, buyer) == {v.id: 2 for v in variants}
    async with runtime.databases.session(regional(buyer.region)) as session:
        assert await session.scalar(select(func.count()).select_from(Cart)) == 1


async def test_concurrent_merges_never_pass_the_line_limit(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (variant,) = await create_product(runtime, seller.shop)
    await stock_all(runtime, [variant], 100)
    buyer = await create_buyer(runtime)
    assert await _add(runtime, buyer, variant.id, 1)
    results = await asyncio.gather(*(_add(runtime, buyer, variant.id, 3) for _ in range(8)))
    # 1 + 6 * 3 = 19: a seventh addition of 3 would pass 20
    assert results.count(True) == 6 and results.count(False) == 2
    assert await lines_in(runtime, buyer) == {variant.id: 19}
