"""Helpers for orders tests: consistent drafts, orders placed through the service (the
checkout is not involved), signed-in clients and snapshots of every order row."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import utcnow
from shopreel.orders import service
from shopreel.orders.models import Order, OrderEvent, OrderLine
from shopreel.orders.rules import OrderDraft, OrderLineDraft
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import api_login

_numbers = itertools.count(1)

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "line2": "Apt 4",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78701",
    "country": "US",
    "phone": "+1 512 555 0100",
}


def line_draft(
    *, quantity: int = 2, unit_price_cents: int = 1999, discount_cents: int = 200, tax: int = 313
) -> OrderLineDraft:
    number = next(_numbers)
    return OrderLineDraft(
        variant_id=f"var_test{number:04d}",
        product_id=f"prd_test{number:04d}",
        sku=f"SKU-{number}",
        title=f"Mug {number}",
        options={"Color": "Blue"},
        quantity=quantity,
        unit_price_cents=unit_price_cents,
        discount_cents=discount_cents,
        net_cents=quantity * unit_price_cents - discount_cents,
        tax_cents=tax,
        warehouse_id=None,
    )


def draft(
    buyer_id: str,
    shop_id: str,
    *,
    checkout_id: str | None = None,
    lines: tuple[OrderLineDraft, ...] | None = None,
    shipping_cents: int = 599,
    shipping_tax_cents: int = 49,
    ship_to: dict[str, str] | None = None,
    **overrides: Any,
) -> OrderDraft:
    """A draft whose parts add up (unless ``overrides`` break them)."""
    lines = lines or (line_draft(), line_draft(quantity=1, discount_cents=0, tax=165))
    subtotal = sum(line.quantity * line.unit_price_cents for line in lines)
    discount = sum(line.discount_cents for line in lines)
    tax = sum(line.tax_cents for line in lines) + shipping_tax_cents
    made = OrderDraft(
        checkout_id=checkout_id or new_id("chk", region_of(buyer_id)),
        buyer_id=buyer_id,
        shop_id=shop_id,
        payment_id=new_id("pay", region_of(buyer_id)),
        currency="USD",
        subtotal_cents=subtotal,
        discount_cents=discount,
        shipping_cents=shipping_cents,
        tax_cents=tax,
        total_cents=subtotal - discount + shipping_cents + tax,
        tax_jurisdiction="US-TX",
        shipping_method="standard",
        shipping_label="Standard (3-5 days)",
        ship_to=ship_to or dict(ADDRESS),
        lines=lines,
    )
    return replace(made, **overrides)


async def place(
    runtime: Runtime, *drafts: OrderDraft, placed_at: datetime | None = None
) -> list[Order]:
    """Create the drafts' orders through the service in one committed unit of work."""
    region = region_of(drafts[0].buyer_id)
    async with UnitOfWork(runtime.databases, home_region=region) as uow:
        return await service.create_orders(uow, runtime, drafts, placed_at=placed_at or utcnow())


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    """Every order, line and event row of every region: compare before and after a denial."""
    found: dict[str, Any] = {}
    for region in runtime.settings.region_names:
        async with runtime.databases.session(regional(region)) as session:
            for model in (Order, OrderLine, OrderEvent):
                rows = await session.scalars(select(model).order_by(model.id))
                found[f"{region}.{model.__tablename__}"] = [
                    {c.key: getattr(row, c.key) for c in model.__table__.columns} for row in rows
                ]
    return found


@asynccontextmanager
async def signed_in(app: Any, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with ``email``'s browser session."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.30", 54000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await api_login(client, email)
        yield client


async def bearer(app: Any, email: str, scopes: tuple[str, ...]) -> dict[str, str]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.31", 54001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        csrf = await api_login(c, email)
        created = await c.post(
            "/api/v1/me/tokens",
            json={"name": "orders tests", "scopes": list(scopes)},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}
