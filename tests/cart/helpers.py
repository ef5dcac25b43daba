"""Helpers for cart tests: buyers, stock written straight to the global plane, API tokens,
and a snapshot of every cart in every region (compare before and after a denied call)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update

from shopreel.accounts.models import User
from shopreel.cart.models import Cart, CartItem
from shopreel.catalog.models import Product, Shop, Variant
from shopreel.inventory.models import InventoryLevel, Warehouse
from shopreel.kit.ids import new_id
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login, create_user

CART_SCOPES = ("orders:read", "cart:write")
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Buyer:
    user: User
    email: str

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def region(self) -> str:
        return self.user.region


async def create_buyer(runtime: Runtime, *, country: str = "US") -> Buyer:
    email = f"buyer{next(_numbers)}-{new_id('x')[-6:]}@example.com"
    return Buyer(await create_user(runtime, email=email, country=country), email)


async def stock(
    runtime: Runtime,
    variant: Variant,
    on_hand: int,
    *,
    reserved: int = 0,
    sold: int = 0,
    active: bool = True,
) -> str:
    """A warehouse of the variant's shop holding ``on_hand`` units of it."""
    warehouse = Warehouse(
        id=new_id("wh"),
        shop_id=variant.shop_id,
        name=f"Warehouse {next(_numbers)}",
        country="US",
        subdivision="IL",
        city="Springfield",
        postal_code="62704",
        active=active,
    )
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(warehouse)
        await session.flush()
        session.add(
            InventoryLevel(
                variant_id=variant.id,
                warehouse_id=warehouse.id,
                shop_id=variant.shop_id,
                on_hand=on_hand,
                reserved=reserved,
                sold=sold,
            )
        )
    return warehouse.id


async def stock_all(runtime: Runtime, variants: list[Variant], on_hand: int) -> None:
    """One warehouse per shop holding ``on_hand`` units of each variant."""
    warehouses: dict[str, str] = {}
    async with runtime.databases.transaction(GLOBAL) as session:
        for variant in variants:
            if variant.shop_id not in warehouses:
                warehouses[variant.shop_id] = new_id("wh")
                session.add(
                    Warehouse(
                        id=warehouses[variant.shop_id],
                        shop_id=variant.shop_id,
                        name="Bulk",
                        country="US",
                    )
                )
        await session.flush()
        session.add_all(
            InventoryLevel(
                variant_id=v.id,
                warehouse_id=warehouses[v.shop_id],
                shop_id=v.shop_id,
                on_hand=on_hand,
            )
            for v in variants
        )


async def set_price(runtime: Runtime, variant_id: str, cents: int) -> None:
    async with runtime.databases.transaction(GLOBAL) as session:
        await session.execute(
            update(Variant).where(Variant.id == variant_id).values(price_cents=cents)
        )


async def set_product_status(runtime: Runtime, product_id: str, status: str) -> None:
    async with runtime.databases.transaction(GLOBAL) as session:
        await session.execute(update(Product).where(Product.id == product_id).values(status=status))


async def set_shop_status(runtime: Runtime, shop_id: str, status: str) -> None:
    async with runtime.databases.transaction(GLOBAL) as session:
        await session.execute(update(Shop).where(Shop.id == shop_id).values(status=status))


async def delete_variant(runtime: Runtime, variant_id: str) -> None:
    async with runtime.databases.transaction(GLOBAL) as session:
        variant = await session.get(Variant, variant_id)
        assert variant is not None
        await session.delete(variant)


async def carts_snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every cart and line of every region, as plain tuples."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for region in runtime.settings.region_names:
        async with runtime.databases.session(regional(region)) as session:
            carts = [
                (c.id, c.user_id, c.updated_at)
                for c in await session.scalars(select(Cart).order_by(Cart.id))
            ]
            items = [
                (i.id, i.cart_id, i.variant_id, i.quantity, i.unit_price_cents, i.updated_at)
                for i in await session.scalars(select(CartItem).order_by(CartItem.id))
            ]
        snapshot[region] = [*carts, *items]
    return snapshot


async def lines_in(runtime: Runtime, user: Buyer) -> dict[str, int]:
    """``{variant_id: quantity}`` of the user's cart, read in the user's region."""
    async with runtime.databases.session(regional(user.region)) as session:
        rows = await session.execute(
            select(CartItem.variant_id, CartItem.quantity)
            .join(Cart, Cart.id == CartItem.cart_id)
            .where(Cart.user_id == user.id)
        )
        return {variant_id: quantity for variant_id, quantity in rows}


async def bearer(app: Any, email: str, scopes: tuple[str, ...] = CART_SCOPES) -> dict[str, str]:
    """Authorization headers with a fresh personal access token of ``email``."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 52000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        csrf = await api_login(c, email)
        created = await c.post(
            "/api/v1/me/tokens",
            json={"name": "cart tests", "scopes": list(scopes)},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}
