"""Which shop a seller acts on: the one rule every seller route uses.

A seller owns one shop (``Shop.owner_id`` is their account id). Owning it is the authority:
every seller query is then scoped to that shop's id, so another shop's objects are simply not
found. Accounts without a shop get 403 ``shop_required`` (seller routes are for sellers); a
suspended shop can still be read but not changed (403 ``shop_suspended``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.principal import Principal
from shopreel.catalog.models import Shop, ShopStatus
from shopreel.errors import PermissionDenied
from shopreel.uow import UnitOfWork


class ShopRequired(PermissionDenied):
    """The account owns no shop: apply to sell at /seller/onboarding first."""

    code = "shop_required"


class ShopSuspended(PermissionDenied):
    """The shop is suspended by marketplace operations: readable, not changeable."""

    code = "shop_suspended"


async def shop_of_owner(session: AsyncSession, owner_id: str) -> Shop | None:
    """The shop a user owns (the oldest, should there ever be several)."""
    result = await session.scalars(
        select(Shop).where(Shop.owner_id == owner_id).order_by(Shop.created_at, Shop.id).limit(1)
    )
    return result.first()


async def seller_shop(uow: UnitOfWork, principal: Principal, *, write: bool = False) -> Shop:
    """The caller's shop, or :class:`ShopRequired`; with ``write``, :class:`ShopSuspended`
    when marketplace operations suspended it."""
    shop = await shop_of_owner(uow.global_, principal.id)
    if shop is None:
        raise ShopRequired("You have no shop yet. Apply to sell at /seller/onboarding.")
    if write and shop.status == ShopStatus.SUSPENDED.value:
        raise ShopSuspended("Your shop is suspended: it can be read but not changed.")
    return shop
