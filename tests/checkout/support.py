"""Helpers for the checkout tests: a stocked shop, buyers with tokens, and the API calls."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from shopreel.inventory.models import InventoryLevel, StockReservation
from shopreel.ledger.models import LedgerPosting
from shopreel.orders.models import Order
from shopreel.payments.models import Payment, SandboxCapture
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import new_warehouse, seller_principal, stocked
from tests.payments.helpers import SUCCESS, bearer, card_token

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78701",
    "country": "US",
}
_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


@dataclass(frozen=True)
class Store:
    shop_id: str
    variants: list[str]
    warehouse: str


async def store(runtime: Runtime, *stock: int, price: int = 1999) -> Store:
    """An approved shop with one live product of ``len(stock)`` variants at ``price``."""
    seller = await create_seller(runtime)
    principal = await seller_principal(runtime, seller)
    _, variants = await create_product(
        runtime,
        seller.shop,
        option_names=("Size",),
        variants=tuple(((f"S{i}",), price) for i in range(len(stock))),
    )
    warehouse = await new_warehouse(runtime, principal)
    levels = [(v.id, warehouse, units) for v, units in zip(variants, stock, strict=True) if units]
    if levels:
        await stocked(runtime, principal, levels)
    return Store(seller.shop.id, [v.id for v in variants], warehouse)


@dataclass(frozen=True)
class Buyer:
    id: str
    headers: dict[str, str]


async def buyer(app: Any, runtime: Runtime, email: str, country: str = "US") -> Buyer:
    user = await create_user(runtime, email=email, country=country)
    headers = await bearer(app, email, ("orders:read", "payments:write", "cart:write"))
    return Buyer(user.id, headers)


async def start(
    client: httpx.AsyncClient,
    who: Buyer,
    lines: list[tuple[str, int]] | None,
    *,
    idem: str | None = None,
    address: dict[str, str] | None = None,
    shipping: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"address": address or ADDRESS}
    if lines is not None:
        body["lines"] = [{"variant_id": v, "quantity": q} for v, q in lines]
    if shipping:
        body["shipping"] = shipping
    return await client.post(
        "/api/v1/checkouts", json=body, headers={**who.headers, "Idempotency-Key": idem or key()}
    )


async def pay(
    client: httpx.AsyncClient,
    who: Buyer,
    checkout_id: str,
    *,
    card: str = SUCCESS,
    idem: str | None = None,
    token: str | None = None,
) -> httpx.Response:
    token = token or await card_token(client, card)
    return await client.post(
        f"/api/v1/checkouts/{checkout_id}/pay",
        json={"token": token, "return_url": f"/checkout/{checkout_id}/return"},
        headers={**who.headers, "Idempotency-Key": idem or key()},
    )


async def level(runtime: Runtime, variant_id: str) -> tuple[int, int, int]:
    """(on_hand, reserved, sold) summed over warehouses."""
    async with runtime.databases.session(GLOBAL) as session:
        row = (
            await session.execute(
                select(
                    func.coalesce(func.sum(InventoryLevel.on_hand), 0),
                    func.coalesce(func.sum(InventoryLevel.reserved), 0),
                    func.coalesce(func.sum(InventoryLevel.sold), 0),
                ).where(InventoryLevel.variant_id == variant_id)
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def active_holds(runtime: Runtime, reference: str | None = None) -> int:
    async with runtime.databases.session(GLOBAL) as session:
        query = select(func.count()).select_from(StockReservation)
        query = query.where(StockReservation.status == "active")
        if reference is not None:
            query = query.where(StockReservation.reference == reference)
        return int(await session.scalar(query) or 0)


async def count(runtime: Runtime, model: Any, *where: Any, region: str = "us") -> int:
    async with runtime.databases.session(regional(region)) as session:
        value = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(value or 0)


async def charges(runtime: Runtime, checkout_id: str, region: str = "us") -> int:
    """Money actually taken for a checkout: the sandbox's captures of its payments."""
    async with runtime.databases.session(regional(region)) as session:
        payment_auths = select(Payment.provider_authorization_id).where(
            Payment.reference == checkout_id
        )
        value = await session.scalar(
            select(func.count())
            .select_from(SandboxCapture)
            .where(
                SandboxCapture.authorization_id.in_(payment_auths),
                SandboxCapture.status == "succeeded",
            )
        )
        return int(value or 0)


async def orders_of(runtime: Runtime, checkout_id: str, region: str = "us") -> list[Order]:
    async with runtime.databases.session(regional(region)) as session:
        return list(await session.scalars(select(Order).where(Order.checkout_id == checkout_id)))


async def ledger_sum(runtime: Runtime, region: str = "us") -> int:
    """Sum of every posting's signed amount: 0 when every transaction balances."""
    async with runtime.databases.session(regional(region)) as session:
        total = await session.scalar(select(func.coalesce(func.sum(LedgerPosting.amount), 0)))
        return int(total or 0)


__all__ = ["card_token"]
