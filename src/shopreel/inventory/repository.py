"""Every inventory query. Stock levels change only through :func:`add_to_level` and
:func:`set_level_if`: single-statement conditional updates, so no read-modify-write race
can push ``on_hand`` below zero or lose a concurrent change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.catalog import shops
from shopreel.catalog.models import Product, Shop, Variant
from shopreel.inventory.models import InventoryLevel, InventoryMovement, Warehouse, WarehouseAddress
from shopreel.inventory.rules import MAX_ON_HAND, LevelKey
from shopreel.kit.time import utcnow

Lock = Literal["share", "update"] | None


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# ---- shops and warehouses --------------------------------------------------------------------


shop_of_owner = shops.shop_of_owner


async def lock_shop(session: AsyncSession, shop_id: str) -> None:
    """Serialize warehouse creation per shop (the per-shop limit and unique names)."""
    await session.execute(select(Shop.id).where(Shop.id == shop_id).with_for_update())


async def warehouses_of(session: AsyncSession, shop_id: str) -> list[Warehouse]:
    result = await session.scalars(
        select(Warehouse)
        .where(Warehouse.shop_id == shop_id)
        .order_by(Warehouse.active.desc(), Warehouse.created_at, Warehouse.id)
    )
    return list(result)


async def warehouse_of_shop(
    session: AsyncSession, shop_id: str, warehouse_id: str, *, lock: Lock = None
) -> Warehouse | None:
    """The warehouse if it belongs to ``shop_id`` (None otherwise: another shop's warehouse
    and an unknown id look the same). ``lock`` takes a row lock on PostgreSQL; SQLite
    serializes writers and ignores it."""
    query = select(Warehouse).where(Warehouse.id == warehouse_id, Warehouse.shop_id == shop_id)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    return (await session.scalars(query)).first()


async def warehouses_for_change(
    session: AsyncSession, shop_id: str, warehouse_ids: Iterable[str]
) -> dict[str, Warehouse]:
    """The shop's warehouses among ``warehouse_ids``, locked FOR SHARE in id order.

    A shared lock lets any number of stock changes run together while a deactivation
    (which locks the warehouse FOR UPDATE and then checks for stock) waits for them: a
    warehouse can never be deactivated while a change is adding stock to it."""
    ids = sorted(set(warehouse_ids))
    if not ids:
        return {}
    result = await session.scalars(
        select(Warehouse)
        .where(Warehouse.shop_id == shop_id, Warehouse.id.in_(ids))
        .order_by(Warehouse.id)
        .with_for_update(read=True)
    )
    return {w.id: w for w in result}


async def count_warehouses(session: AsyncSession, shop_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Warehouse).where(Warehouse.shop_id == shop_id)
    )
    return int(count or 0)


async def warehouse_stock(session: AsyncSession, warehouse_id: str) -> int:
    """Units on hand in a warehouse, across variants."""
    total = await session.scalar(
        select(func.coalesce(func.sum(InventoryLevel.on_hand), 0)).where(
            InventoryLevel.warehouse_id == warehouse_id
        )
    )
    return int(total or 0)


async def addresses_of(
    session: AsyncSession, warehouse_ids: Sequence[str]
) -> dict[str, WarehouseAddress]:
    if not warehouse_ids:
        return {}
    result = await session.scalars(
        select(WarehouseAddress).where(WarehouseAddress.warehouse_id.in_(list(warehouse_ids)))
    )
    return {a.warehouse_id: a for a in result}


async def addresses_of_owner(session: AsyncSession, owner_id: str) -> list[WarehouseAddress]:
    result = await session.scalars(
        select(WarehouseAddress)
        .where(WarehouseAddress.owner_id == owner_id)
        .order_by(WarehouseAddress.warehouse_id)
    )
    return list(result)


# ---- variants --------------------------------------------------------------------------------


async def variant_ids_of_shop(
    session: AsyncSession, shop_id: str, variant_ids: Iterable[str]
) -> set[str]:
    """Which of ``variant_ids`` belong to ``shop_id``."""
    ids = sorted(set(variant_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[start : start + 500]
        result = await session.scalars(
            select(Variant.id).where(Variant.shop_id == shop_id, Variant.id.in_(chunk))
        )
        found.update(result)
    return found


# ---- levels: the only writers ------------------------------------------------------------------


async def ensure_level(session: AsyncSession, shop_id: str, key: LevelKey) -> None:
    """Create the (variant, warehouse) level at 0 unless it exists.

    ``INSERT ... ON CONFLICT DO NOTHING`` is race-safe: when two requests create the same
    level at once, one inserts and the other does nothing, and both then run the
    conditional update on the one row."""
    values = {
        "variant_id": key[0],
        "warehouse_id": key[1],
        "shop_id": shop_id,
        "on_hand": 0,
        "updated_at": utcnow(),
    }
    statement: Any
    if _dialect(session) == "postgresql":
        statement = pg_insert(InventoryLevel).values(values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(InventoryLevel).values(values).on_conflict_do_nothing()
    await session.execute(statement)


def _floor() -> Any:
    """The lowest level a change may leave. Issue #4 (reservations) replaces this with the
    reserved quantity of the row, so a seller cannot remove stock that buyers hold."""
    return literal(0)


async def add_to_level(session: AsyncSession, key: LevelKey, delta: int) -> int | None:
    """Add ``delta`` to a level in one conditional UPDATE; the new ``on_hand``, or None when
    the level is missing or the change would leave it below the floor or above the
    maximum (then nothing changed).

    ``UPDATE ... SET on_hand = on_hand + :delta WHERE ... AND on_hand + :delta >= 0``: the
    check and the write are one statement, so concurrent changes of the same row are
    serialized by the row lock and each sees the other's result (PostgreSQL re-checks the
    WHERE clause on the latest row version)."""
    after = InventoryLevel.on_hand + delta
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            after >= _floor(),
            after <= MAX_ON_HAND,
        )
        .values(on_hand=after, updated_at=utcnow())
        .returning(InventoryLevel.on_hand)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    return None if row is None else int(row[0])


async def level_on_hand(session: AsyncSession, key: LevelKey) -> int | None:
    value = await session.scalar(
        select(InventoryLevel.on_hand).where(
            InventoryLevel.variant_id == key[0], InventoryLevel.warehouse_id == key[1]
        )
    )
    return None if value is None else int(value)


async def set_level_if(session: AsyncSession, key: LevelKey, expected: int, on_hand: int) -> bool:
    """Compare-and-set: set the level to ``on_hand`` only if it is still ``expected``.
    False when a concurrent change got there first (the caller re-reads and retries)."""
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            InventoryLevel.on_hand == expected,
        )
        .values(on_hand=on_hand, updated_at=utcnow())
        .returning(InventoryLevel.on_hand)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def insert_movements(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(InventoryMovement), list(rows))


# ---- reads for the seller ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockRow:
    variant_id: str
    product_id: str
    product_title: str
    product_status: str
    options: dict[str, str]
    sku: str
    warehouse_id: str
    warehouse_name: str
    on_hand: int


def _like(q: str) -> str:
    escaped = q.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def stock_rows(
    session: AsyncSession,
    shop_id: str,
    *,
    warehouse_id: str | None,
    q: str | None,
    low_stock_below: int | None,
    after: LevelKey | None,
    limit: int,
) -> list[StockRow]:
    """One row per (variant, warehouse) of the shop, levels that were never written showing
    0; ordered by (variant_id, warehouse_id) for keyset pagination. Without a warehouse
    filter only active warehouses are listed (inactive ones hold no stock)."""
    on_hand = func.coalesce(InventoryLevel.on_hand, 0)
    query = (
        select(
            Variant.id,
            Product.id,
            Product.title,
            Product.status,
            Variant.options,
            Variant.sku,
            Warehouse.id,
            Warehouse.name,
            on_hand,
        )
        .select_from(Variant)
        .join(Product, Product.id == Variant.product_id)
        .join(Warehouse, Warehouse.shop_id == Variant.shop_id)
        .outerjoin(
            InventoryLevel,
            and_(
                InventoryLevel.variant_id == Variant.id,
                InventoryLevel.warehouse_id == Warehouse.id,
            ),
        )
        .where(Variant.shop_id == shop_id)
    )
    if warehouse_id:
        query = query.where(Warehouse.id == warehouse_id)
    else:
        query = query.where(Warehouse.active.is_(True))
    if q:
        pattern = _like(q)
        query = query.where(
            or_(
                func.lower(Product.title).like(pattern, escape="\\"),
                func.lower(Variant.sku).like(pattern, escape="\\"),
            )
        )
    if low_stock_below is not None:
        query = query.where(on_hand < low_stock_below)
    if after is not None:
        query = query.where(tuple_(Variant.id, Warehouse.id) > tuple_(after[0], after[1]))
    query = query.order_by(Variant.id, Warehouse.id).limit(limit)
    rows = (await session.execute(query)).all()
    return [
        StockRow(
            variant_id=r[0],
            product_id=r[1],
            product_title=r[2],
            product_status=r[3],
            options=dict(r[4] or {}),
            sku=r[5],
            warehouse_id=r[6],
            warehouse_name=r[7],
            on_hand=int(r[8]),
        )
        for r in rows
    ]


async def movements(
    session: AsyncSession,
    shop_id: str,
    *,
    variant_id: str | None,
    warehouse_id: str | None,
    before: str | None,
    limit: int,
) -> list[InventoryMovement]:
    """Newest first. Movement ids are time-ordered, so the id is the cursor."""
    query = select(InventoryMovement).where(InventoryMovement.shop_id == shop_id)
    if variant_id:
        query = query.where(InventoryMovement.variant_id == variant_id)
    if warehouse_id:
        query = query.where(InventoryMovement.warehouse_id == warehouse_id)
    if before:
        query = query.where(InventoryMovement.id < before)
    result = await session.scalars(query.order_by(InventoryMovement.id.desc()).limit(limit))
    return list(result)


async def variant_labels(
    session: AsyncSession, shop_id: str, variant_ids: Iterable[str]
) -> dict[str, tuple[str, str, dict[str, str]]]:
    """(product title, SKU, options) per variant of the shop, for movement listings."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Variant.id, Product.title, Variant.sku, Variant.options)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.shop_id == shop_id, Variant.id.in_(ids))
    )
    return {r[0]: (r[1], r[2], dict(r[3] or {})) for r in rows}
