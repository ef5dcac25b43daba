"""The cart's part of data-subject rights (see :mod:`shopreel.sovereignty.privacy`).

* Export: the user's cart lines as stored (catalog ids, quantity, the price seen, dates).
* Erasure: the cart and its lines are deleted (the ``carts`` entry of ``PLANNED_ERASERS``).

Registered when :mod:`shopreel.cart.endpoints` is imported (the app imports it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from shopreel.accounts.principal import Principal
from shopreel.cart import repository
from shopreel.cart.models import Cart, CartItem
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork

NAME = "carts"


async def export_cart(
    uow: UnitOfWork, _runtime: Runtime, principal: Principal
) -> list[dict[str, Any]]:
    items = await repository.items_of_user(uow.region(principal.region), principal.id)
    return [
        {
            "variant_id": i.variant_id,
            "product_id": i.product_id,
            "shop_id": i.shop_id,
            "quantity": i.quantity,
            "unit_price_cents_when_added": i.unit_price_cents,
            "currency": i.currency,
            "added_at": i.created_at,
            "updated_at": i.updated_at,
        }
        for i in items
    ]


async def erase_cart(uow: UnitOfWork, _runtime: Runtime, principal: Principal) -> int:
    """Deletes the cart's lines and the cart; returns the number of lines deleted."""
    session = uow.region(principal.region)
    cart_ids = list(await session.scalars(select(Cart.id).where(Cart.user_id == principal.id)))
    if not cart_ids:
        return 0
    lines = len(
        list(await session.scalars(select(CartItem.id).where(CartItem.cart_id.in_(cart_ids))))
    )
    await session.execute(delete(CartItem).where(CartItem.cart_id.in_(cart_ids)))
    await session.execute(delete(Cart).where(Cart.id.in_(cart_ids)))
    return lines


def register() -> None:
    """Register the hooks once (idempotent: importing twice must not raise)."""
    if NAME not in {name for name, _, _ in privacy.exporters()}:
        privacy.register_exporter(NAME, export_cart, description="Your shopping cart")
    if NAME not in {name for name, _, _ in privacy.erasers()}:
        privacy.register_eraser(NAME, erase_cart, description="cart and its lines deleted")


register()
