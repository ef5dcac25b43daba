"""Concurrent callers of create_orders for the same checkout (a retry racing the recovery
job, say), each in its own unit of work: one set of orders, and every caller ends up with
the same ids. A caller that loses the race at the unique index gets 409
``orders_being_created`` and finds the winner's orders when it tries again."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from shopreel.kit.time import utcnow
from shopreel.orders import service
from shopreel.orders.errors import OrderCreationConflict
from shopreel.orders.models import Order, OrderEvent, OrderLine
from shopreel.orders.rules import OrderDraft
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import create_seller
from tests.orders.helpers import draft


async def _create_until_done(runtime: Runtime, drafts: list[OrderDraft]) -> tuple[list[str], int]:
    """What the checkout does: create in its unit of work, roll back and retry on conflict.
    Returns the order ids and how many conflicts it met."""
    conflicts = 0
    while True:
        try:
            async with UnitOfWork(runtime.databases, home_region="us") as uow:
                orders = await service.create_orders(uow, runtime, drafts, placed_at=utcnow())
                ids = [o.id for o in orders]
            return ids, conflicts
        except OrderCreationConflict:
            conflicts += 1
            assert conflicts < 20


async def test_racing_callers_create_one_set_of_orders(runtime: Runtime) -> None:
    buyer = await create_user(runtime)
    first, second = await create_seller(runtime), await create_seller(runtime)
    one = draft(buyer.id, first.shop.id)
    drafts = [one, draft(buyer.id, second.shop.id, checkout_id=one.checkout_id)]

    results = await asyncio.gather(*(_create_until_done(runtime, drafts) for _ in range(8)))

    assert len({tuple(ids) for ids, _ in results}) == 1
    async with runtime.databases.session(regional("us")) as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Order, OrderLine, OrderEvent)
        ]
    assert counts == [2, 4, 2]
