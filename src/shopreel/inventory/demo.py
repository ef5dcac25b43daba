"""Demo data: one warehouse with stock for every variant of a shop.

Called by the demo seed after the shop's catalog is written. Bulk inserts (no per-row
conditional updates: nobody else is writing while the demo world is built), each level with
its ``received`` movement, so the journal explains every unit on hand.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from sqlalchemy import insert, select

from shopreel.accounts.models import UserKey
from shopreel.catalog.models import Variant
from shopreel.inventory.models import (
    InventoryLevel,
    InventoryMovement,
    MovementReason,
    Warehouse,
    WarehouseAddress,
)
from shopreel.inventory.service import address_context
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime

DEMO_WAREHOUSE = "Demo warehouse"
_BATCH = 2000


def demo_quantity(variant_id: str) -> int:
    """A stable quantity in 0..119 per variant; about one in ten is 0 (out of stock) and
    some are low, so the low-stock filter has something to show."""
    value = zlib.crc32(variant_id.encode()) % 120
    return 0 if value < 12 else value


async def seed_demo_inventory(runtime: Runtime, *, shop_id: str, owner_id: str, region: str) -> str:
    """Create the demo warehouse (Oakland, CA) of ``shop_id`` with an encrypted street
    address in the owner's home region and stock for every variant; returns the warehouse
    id. Idempotent: when the shop already has the demo warehouse, nothing is written."""
    async with runtime.databases.session(GLOBAL) as session:
        existing = await session.scalar(
            select(Warehouse.id).where(
                Warehouse.shop_id == shop_id, Warehouse.name == DEMO_WAREHOUSE
            )
        )
    if existing is not None:
        return existing

    warehouse_id = new_id("wh")
    now = utcnow()
    async with runtime.databases.transaction(regional(region)) as session:
        key = await session.get(UserKey, owner_id)
        if key is None:
            raise LookupError(f"no data key for {owner_id!r} in region {region!r}")
        cipher = runtime.cipher(region)
        data_key = cipher.open(key.wrapped_key)
        lines = json.dumps({"line1": "1 Demo Way", "line2": "Dock 4"})
        session.add(
            WarehouseAddress(
                warehouse_id=warehouse_id,
                region=region,
                owner_id=owner_id,
                address_ct=cipher.encrypt(data_key, lines, address_context(warehouse_id)),
                updated_at=now,
            )
        )

    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(
            Warehouse(
                id=warehouse_id,
                shop_id=shop_id,
                name=DEMO_WAREHOUSE,
                country="US",
                subdivision="CA",
                city="Oakland",
                postal_code="94607",
                handling_days=1,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        variant_ids = list(
            await session.scalars(
                select(Variant.id).where(Variant.shop_id == shop_id).order_by(Variant.id)
            )
        )
        levels: list[dict[str, Any]] = []
        movements: list[dict[str, Any]] = []
        for variant_id in variant_ids:
            quantity = demo_quantity(variant_id)
            levels.append(
                {
                    "variant_id": variant_id,
                    "warehouse_id": warehouse_id,
                    "shop_id": shop_id,
                    "on_hand": quantity,
                    "updated_at": now,
                }
            )
            if quantity:
                movements.append(
                    {
                        "id": new_id("mov"),
                        "variant_id": variant_id,
                        "warehouse_id": warehouse_id,
                        "shop_id": shop_id,
                        "delta": quantity,
                        "on_hand_after": quantity,
                        "reason": MovementReason.RECEIVED.value,
                        "note": "Demo stock",
                        "actor_id": owner_id,
                        "created_at": now,
                    }
                )
        for start in range(0, len(levels), _BATCH):
            await session.execute(insert(InventoryLevel), levels[start : start + _BATCH])
        for start in range(0, len(movements), _BATCH):
            await session.execute(insert(InventoryMovement), movements[start : start + _BATCH])
    return warehouse_id
