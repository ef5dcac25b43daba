"""Flash deals: sellers create and end them; checkout reads the active ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.principal import Principal
from shopreel.catalog import repository as catalog_repository
from shopreel.catalog.models import Variant
from shopreel.catalog.rules import PricePoint
from shopreel.catalog.shops import seller_shop
from shopreel.kit.ids import new_id
from shopreel.kit.time import as_utc, utcnow
from shopreel.promotions import rules
from shopreel.promotions.errors import DealNotFound, DealOverlaps, InvalidDeal
from shopreel.promotions.models import FlashDeal
from shopreel.uow import UnitOfWork


async def create_deal(
    uow: UnitOfWork,
    principal: Principal,
    *,
    variant_id: str,
    deal_price_cents: int,
    max_per_buyer: int,
    ends_at: datetime,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> FlashDeal:
    """A deal on one of the seller's own variants (another shop's variant: 404)."""
    now = as_utc(now) if now else utcnow()
    starts_at = as_utc(starts_at) if starts_at else now
    shop = await seller_shop(uow, principal, write=True)
    session = uow.global_
    variant = await session.get(Variant, variant_id)
    if variant is None or variant.shop_id != shop.id:
        raise InvalidDeal("No such variant in your shop.", code="variant_not_found", status=404)
    history = [
        PricePoint(h.changed_at, h.price_cents, h.compare_at_cents)
        for h in await catalog_repository.price_history_of_variant(session, variant.id)
    ]
    low = rules.check_deal(
        deal_price_cents=deal_price_cents,
        max_per_buyer=max_per_buyer,
        starts_at=starts_at,
        ends_at=ends_at,
        history=history,
        now=now,
    )
    for other in await _deals_of_variant(session, variant.id):
        end = other.ended_at or other.ends_at
        if rules.overlaps(starts_at, ends_at, other.starts_at, end):
            raise DealOverlaps(
                "This variant already has a deal in that time.", extra={"deal_id": other.id}
            )
    deal = FlashDeal(
        id=new_id("deal"),
        shop_id=shop.id,
        product_id=variant.product_id,
        variant_id=variant.id,
        deal_price_cents=deal_price_cents,
        list_price_cents=variant.price_cents,
        reference_low_cents=low,
        max_per_buyer=max_per_buyer,
        starts_at=starts_at,
        ends_at=as_utc(ends_at),
        created_by=principal.id,
        created_at=now,
    )
    session.add(deal)
    await session.flush()
    return deal


async def _deals_of_variant(session: AsyncSession, variant_id: str) -> list[FlashDeal]:
    return list(
        await session.scalars(
            select(FlashDeal)
            .where(FlashDeal.variant_id == variant_id)
            .order_by(FlashDeal.starts_at, FlashDeal.id)
        )
    )


async def shop_deals(uow: UnitOfWork, principal: Principal) -> list[FlashDeal]:
    shop = await seller_shop(uow, principal)
    return list(
        await uow.global_.scalars(
            select(FlashDeal)
            .where(FlashDeal.shop_id == shop.id)
            .order_by(FlashDeal.starts_at.desc(), FlashDeal.id.desc())
            .limit(200)
        )
    )


async def end_deal(
    uow: UnitOfWork, principal: Principal, deal_id: str, *, now: datetime | None = None
) -> FlashDeal:
    """End a deal now (idempotent). Another shop's deal is 404 and stays as it is."""
    now = as_utc(now) if now else utcnow()
    shop = await seller_shop(uow, principal, write=True)
    deal = await uow.global_.get(FlashDeal, deal_id)
    if deal is None or deal.shop_id != shop.id:
        raise DealNotFound("No such deal.")
    if deal.ended_at is None and now < as_utc(deal.ends_at):
        deal.ended_at = max(now, as_utc(deal.starts_at))
    return deal


async def active_deals(
    session: AsyncSession, variant_ids: Sequence[str], at: datetime
) -> dict[str, FlashDeal]:
    """The deal in force at ``at`` per variant (deals of one variant never overlap)."""
    if not variant_ids:
        return {}
    rows = await session.scalars(
        select(FlashDeal).where(
            FlashDeal.variant_id.in_(list(variant_ids)),
            FlashDeal.starts_at <= at,
            FlashDeal.ends_at > at,
        )
    )
    return {
        d.variant_id: d for d in rows if rules.is_active(d.starts_at, d.ends_at, d.ended_at, at)
    }
