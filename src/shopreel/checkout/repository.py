"""Checkout queries: the catalog facts a checkout is priced with (global plane) and the
checkouts themselves (regional plane)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.catalog.models import Product, Shop, Variant
from shopreel.checkout.models import Checkout


@dataclass(frozen=True, slots=True)
class Offer:
    """One variant as checkout prices it, with its product and shop."""

    variant: Variant
    product: Product
    shop: Shop


async def offers(session: AsyncSession, variant_ids: Sequence[str]) -> dict[str, Offer]:
    if not variant_ids:
        return {}
    rows = await session.execute(
        select(Variant, Product, Shop)
        .join(Product, Product.id == Variant.product_id)
        .join(Shop, Shop.id == Variant.shop_id)
        .where(Variant.id.in_(list(variant_ids)))
    )
    return {v.id: Offer(v, p, s) for v, p, s in rows.all()}


async def checkout(
    session: AsyncSession, checkout_id: str, *, for_update: bool = False
) -> Checkout | None:
    query = select(Checkout).where(Checkout.id == checkout_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query.execution_options(populate_existing=True))).first()


async def stuck(session: AsyncSession, statuses: Sequence[str], before: datetime) -> list[str]:
    """Ids of checkouts in ``statuses`` not touched since ``before`` (the recovery job)."""
    rows = await session.scalars(
        select(Checkout.id)
        .where(Checkout.status.in_(list(statuses)), Checkout.updated_at < before)
        .order_by(Checkout.updated_at, Checkout.id)
        .limit(500)
    )
    return list(rows)


async def buyer_checkouts(session: AsyncSession, buyer_id: str, limit: int) -> list[Checkout]:
    rows = await session.scalars(
        select(Checkout)
        .where(Checkout.buyer_id == buyer_id)
        .order_by(Checkout.created_at.desc(), Checkout.id.desc())
        .limit(limit)
    )
    return list(rows)


async def take_payment_slot(
    session: AsyncSession,
    checkout_id: str,
    *,
    expected: str | None,
    payment_id: str,
    now: datetime,
) -> bool:
    """``UPDATE checkouts SET payment_id = :new … WHERE payment_id IS :expected``: of two
    requests paying one checkout at once, only one starts a payment attempt; the other
    finds the winner's attempt and continues with it (one checkout, one charge)."""
    current = Checkout.payment_id.is_(None) if expected is None else Checkout.payment_id == expected
    result = await session.execute(
        update(Checkout)
        .where(Checkout.id == checkout_id, current)
        .values(payment_id=payment_id, updated_at=now, version=Checkout.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
