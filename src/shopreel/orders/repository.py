"""Every SELECT of orders. Functions take the session of the region they read."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.orders.models import Order, OrderEvent, OrderLine


async def orders_for_checkouts(
    session: AsyncSession, checkout_ids: Collection[str]
) -> dict[tuple[str, str], Order]:
    """The existing orders of these checkouts, by ``(checkout_id, shop_id)``."""
    if not checkout_ids:
        return {}
    rows = await session.scalars(select(Order).where(Order.checkout_id.in_(sorted(checkout_ids))))
    return {(o.checkout_id, o.shop_id): o for o in rows}


async def orders_of_checkout(session: AsyncSession, checkout_id: str) -> list[Order]:
    return list(
        await session.scalars(
            select(Order).where(Order.checkout_id == checkout_id).order_by(Order.id)
        )
    )


def _newest_first(
    query: Select[Order], after: tuple[datetime, str] | None, limit: int
) -> Select[Order]:
    if after is not None:
        placed_at, order_id = after
        query = query.where(
            or_(
                Order.placed_at < placed_at,
                and_(Order.placed_at == placed_at, Order.id < order_id),
            )
        )
    return query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)


async def buyer_orders(
    session: AsyncSession, buyer_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[Order]:
    """Up to ``limit`` of the buyer's orders placed before ``after``, newest first."""
    query = _newest_first(select(Order).where(Order.buyer_id == buyer_id), after, limit)
    return list(await session.scalars(query))


async def shop_orders(
    session: AsyncSession, shop_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[Order]:
    """Up to ``limit`` of a shop's orders in this region placed before ``after``."""
    query = _newest_first(select(Order).where(Order.shop_id == shop_id), after, limit)
    return list(await session.scalars(query))


async def lines_of(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, list[OrderLine]]:
    found: dict[str, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return found
    rows = await session.scalars(
        select(OrderLine)
        .where(OrderLine.order_id.in_(list(order_ids)))
        .order_by(OrderLine.order_id, OrderLine.position)
    )
    for line in rows:
        found[line.order_id].append(line)
    return found


async def events_of(session: AsyncSession, order_id: str) -> list[OrderEvent]:
    """The order's history, oldest first (ids are time-ordered and break ties)."""
    return list(
        await session.scalars(
            select(OrderEvent)
            .where(OrderEvent.order_id == order_id)
            .order_by(OrderEvent.created_at, OrderEvent.id)
        )
    )


async def buyer_order_ids(session: AsyncSession, buyer_id: str) -> list[str]:
    return list(
        await session.scalars(select(Order.id).where(Order.buyer_id == buyer_id).order_by(Order.id))
    )
