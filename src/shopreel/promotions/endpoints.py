"""Flash deals API (under /api/v1/seller/deals): the seller's own deals only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from shopreel.accounts.principal import Principal
from shopreel.deps import UowDep, require_scope
from shopreel.kit.time import as_utc, utcnow
from shopreel.promotions import rules, service
from shopreel.promotions.models import FlashDeal
from shopreel.promotions.schemas import DealIn, DealList, DealRead

router = APIRouter(prefix="/seller/deals", tags=["promotions"])

Reader = Annotated[Principal, Depends(require_scope("catalog:read"))]
Writer = Annotated[Principal, Depends(require_scope("catalog:write"))]


def deal_read(deal: FlashDeal) -> DealRead:
    return DealRead(
        id=deal.id,
        shop_id=deal.shop_id,
        product_id=deal.product_id,
        variant_id=deal.variant_id,
        deal_price_cents=deal.deal_price_cents,
        list_price_cents=deal.list_price_cents,
        reference_low_cents=deal.reference_low_cents,
        max_per_buyer=deal.max_per_buyer,
        starts_at=as_utc(deal.starts_at),
        ends_at=as_utc(deal.ends_at),
        ended_at=as_utc(deal.ended_at) if deal.ended_at else None,
        active=rules.is_active(deal.starts_at, deal.ends_at, deal.ended_at, utcnow()),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_deal(body: DealIn, principal: Writer, uow: UowDep) -> DealRead:
    """A flash deal on one of your variants: below its 30-day low, capped per buyer."""
    deal = await service.create_deal(
        uow,
        principal,
        variant_id=body.variant_id,
        deal_price_cents=body.deal_price_cents,
        max_per_buyer=body.max_per_buyer,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    return deal_read(deal)


@router.get("")
async def list_deals(principal: Reader, uow: UowDep) -> DealList:
    """Your shop's deals, newest first."""
    return DealList(items=[deal_read(d) for d in await service.shop_deals(uow, principal)])


@router.post("/{deal_id}/end")
async def end_deal(
    deal_id: Annotated[str, Path(min_length=1, max_length=64)], principal: Writer, uow: UowDep
) -> DealRead:
    """End a deal now."""
    return deal_read(await service.end_deal(uow, principal, deal_id))
