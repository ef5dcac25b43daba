"""Helpers for inventory tests: API tokens per seller, warehouses, direct DB reads."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from shopreel.inventory.models import (
    InventoryLevel,
    InventoryMovement,
    Warehouse,
    WarehouseAddress,
)
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login

ALL_SCOPES = ("catalog:read", "catalog:write")

WAREHOUSE = {
    "name": "Main",
    "line1": "742 Evergreen Terrace",
    "line2": "Unit 2",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62704",
    "country": "US",
    "handling_days": 2,
}


async def token_for(app: Any, email: str, scopes: tuple[str, ...] = ALL_SCOPES) -> dict[str, str]:
    """Authorization headers with a fresh personal access token of ``email``."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 52000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        csrf = await api_login(c, email)
        created = await c.post(
            "/api/v1/me/tokens",
            json={"name": "inventory tests", "scopes": list(scopes)},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}


async def create_warehouse(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/seller/warehouses", json={**WAREHOUSE, **overrides}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def adjust(
    client: httpx.AsyncClient, headers: dict[str, str], *lines: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/api/v1/seller/inventory/adjustments", json={"lines": list(lines)}, headers=headers
    )


def line(
    variant_id: str, warehouse_id: str, delta: int, reason: str = "received", note: str = ""
) -> dict[str, Any]:
    return {
        "variant_id": variant_id,
        "warehouse_id": warehouse_id,
        "delta": delta,
        "reason": reason,
        "note": note,
    }


async def on_hand(runtime: Runtime, variant_id: str, warehouse_id: str) -> int | None:
    async with runtime.databases.session(GLOBAL) as session:
        value = await session.scalar(
            select(InventoryLevel.on_hand).where(
                InventoryLevel.variant_id == variant_id,
                InventoryLevel.warehouse_id == warehouse_id,
            )
        )
    return None if value is None else int(value)


async def movement_count(runtime: Runtime) -> int:
    async with runtime.databases.session(GLOBAL) as session:
        return int(await session.scalar(select(func.count()).select_from(InventoryMovement)) or 0)


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    """Every warehouse, level and movement: compare before and after a denied request."""
    async with runtime.databases.session(GLOBAL) as session:
        warehouses = [
            (w.id, w.name, w.city, w.postal_code, w.handling_days, w.active)
            for w in await session.scalars(select(Warehouse).order_by(Warehouse.id))
        ]
        levels = [
            (lv.variant_id, lv.warehouse_id, lv.on_hand)
            for lv in await session.scalars(
                select(InventoryLevel).order_by(
                    InventoryLevel.variant_id, InventoryLevel.warehouse_id
                )
            )
        ]
        movements = list(
            await session.scalars(select(InventoryMovement.id).order_by(InventoryMovement.id))
        )
    addresses = []
    for region in runtime.settings.region_names:
        async with runtime.databases.session(regional(region)) as session:
            addresses += [
                (a.warehouse_id, a.region, a.address_ct)
                for a in await session.scalars(
                    select(WarehouseAddress).order_by(WarehouseAddress.warehouse_id)
                )
            ]
    return {
        "warehouses": warehouses,
        "levels": levels,
        "movements": movements,
        "addresses": addresses,
    }


# ---- reservations ----------------------------------------------------------------------------


async def seller_principal(runtime: Runtime, seller: Any) -> Any:
    """The seller's principal, loaded as a signed-in session would."""
    from shopreel.accounts import service as accounts
    from shopreel.uow import UnitOfWork

    async with UnitOfWork(runtime.databases, home_region=seller.user.region) as uow:
        return await accounts.load_principal(uow, runtime, seller.user, auth="session")


async def stocked(
    runtime: Runtime,
    principal: Any,
    levels: list[tuple[str, str, int]],
) -> None:
    """Receive stock: ``(variant_id, warehouse_id, units)`` per line, committed."""
    from shopreel.inventory import service
    from shopreel.inventory.rules import StockChange
    from shopreel.uow import UnitOfWork

    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        await service.adjust_stock(
            uow, principal, [StockChange(v, w, units, "received") for v, w, units in levels]
        )


async def new_warehouse(runtime: Runtime, principal: Any, name: str = "Main") -> str:
    from shopreel.inventory import service
    from shopreel.uow import UnitOfWork

    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        view = await service.create_warehouse(
            uow, runtime, principal, **{**WAREHOUSE, "name": name}
        )
        return view.warehouse.id


async def level(runtime: Runtime, variant_id: str, warehouse_id: str) -> tuple[int, int, int]:
    """(on_hand, reserved, sold) of a level; (0, 0, 0) when it was never written."""
    async with runtime.databases.session(GLOBAL) as session:
        row = (
            await session.execute(
                select(InventoryLevel.on_hand, InventoryLevel.reserved, InventoryLevel.sold).where(
                    InventoryLevel.variant_id == variant_id,
                    InventoryLevel.warehouse_id == warehouse_id,
                )
            )
        ).first()
    return (0, 0, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]))


async def assert_stock_accounted(runtime: Runtime) -> None:
    """The invariant on every level: ``on_hand = available + reserved + sold``, no term
    negative, ``reserved`` equal to the level's active reservations and ``sold`` to its
    claimed ones (in these tests every sold unit came from a claim)."""
    from shopreel.inventory.models import StockReservation

    async with runtime.databases.session(GLOBAL) as session:
        levels = list(await session.scalars(select(InventoryLevel)))
        holds = list(await session.scalars(select(StockReservation)))
    for lv in levels:
        available = lv.on_hand - lv.reserved - lv.sold
        assert min(lv.on_hand, lv.reserved, lv.sold, available) >= 0, lv.__dict__
        assert lv.on_hand == available + lv.reserved + lv.sold
        mine = [
            h for h in holds if (h.variant_id, h.warehouse_id) == (lv.variant_id, lv.warehouse_id)
        ]
        assert lv.reserved == sum(h.quantity for h in mine if h.status == "active")
        assert lv.sold == sum(h.quantity for h in mine if h.status == "claimed")
