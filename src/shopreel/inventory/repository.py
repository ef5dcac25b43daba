"""Every inventory query. Stock levels change only through :func:`add_to_level` and
:func:`set_level_if`: single-statement conditional updates, so no read-modify-write race
can push ``on_hand`` below zero or lose a concurrent change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, insert, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopreel.catalog import shops
from shopreel.catalog.models import Product, Shop, Variant
from shopreel.inventory.models import (
    InventoryLevel,
    InventoryMovement,
    PurchaseCapCounter,
    ReservationStatus,
    StockReservation,
    Warehouse,
    WarehouseAddress,
)
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
    """The lowest ``on_hand`` a seller's change may leave: what buyers hold (reserved) plus
    what they bought and still await shipment (sold). The database CHECK
    ``on_hand - reserved - sold >= 0`` is the last line behind it."""
    return InventoryLevel.reserved + InventoryLevel.sold


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


@dataclass(frozen=True, slots=True)
class LevelCounts:
    on_hand: int
    reserved: int
    sold: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.sold


async def level_counts(session: AsyncSession, key: LevelKey) -> LevelCounts | None:
    row = (
        await session.execute(
            select(InventoryLevel.on_hand, InventoryLevel.reserved, InventoryLevel.sold).where(
                InventoryLevel.variant_id == key[0], InventoryLevel.warehouse_id == key[1]
            )
        )
    ).first()
    return None if row is None else LevelCounts(int(row[0]), int(row[1]), int(row[2]))


async def set_level_if(session: AsyncSession, key: LevelKey, expected: int, on_hand: int) -> bool:
    """Compare-and-set: set the level to ``on_hand`` only if it is still ``expected`` and
    not below what buyers hold (``reserved + sold``). False when refused: the caller
    re-reads to tell a concurrent change (retry) from the floor (409)."""
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            InventoryLevel.on_hand == expected,
            literal(on_hand) >= _floor(),
        )
        .values(on_hand=on_hand, updated_at=utcnow())
        .returning(InventoryLevel.on_hand)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def insert_movements(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(InventoryMovement), list(rows))


# ---- reservations: single-statement conditional updates --------------------------------------
#
# Every statement below is one UPDATE whose WHERE clause is the rule, so the check and the
# write cannot be separated by a concurrent change; "no row" means refused, nothing changed.
# Callers run them in short transactions of their own, the level UPDATE last, so the level
# row (the hot row of a flash sale) is locked only from that UPDATE to the COMMIT.


async def reservation_candidates(
    session: AsyncConnection | AsyncSession, variant_id: str
) -> list[tuple[str, str, int]]:
    """``(warehouse_id, shop_id, available)`` of a variant's levels in active warehouses, in
    warehouse id order. A snapshot to choose where to try; the claim itself decides."""
    rows = await session.execute(
        select(
            InventoryLevel.warehouse_id,
            InventoryLevel.shop_id,
            InventoryLevel.on_hand - InventoryLevel.reserved - InventoryLevel.sold,
        )
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .where(InventoryLevel.variant_id == variant_id, Warehouse.active.is_(True))
        .order_by(InventoryLevel.warehouse_id)
    )
    return [(r[0], r[1], int(r[2])) for r in rows]


async def best_available(
    session: AsyncConnection | AsyncSession, variant_ids: Sequence[str]
) -> dict[str, int]:
    """The most units one active warehouse can give, per variant (a line is never split
    across warehouses). A snapshot for refusing early without taking any lock: the
    reservation's conditional update still decides."""
    if not variant_ids:
        return {}
    rows = await session.execute(
        select(
            InventoryLevel.variant_id,
            func.max(InventoryLevel.on_hand - InventoryLevel.reserved - InventoryLevel.sold),
        )
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .where(InventoryLevel.variant_id.in_(list(variant_ids)), Warehouse.active.is_(True))
        .group_by(InventoryLevel.variant_id)
    )
    return {r[0]: max(int(r[1] or 0), 0) for r in rows}


async def reserve_units(session: AsyncSession, key: LevelKey, quantity: int) -> bool:
    """``reserved += q`` if at least ``q`` are available: the flash-sale claim, one statement
    (``UPDATE … SET reserved = reserved + :q WHERE … AND on_hand - reserved - sold >= :q``).
    """
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            InventoryLevel.on_hand - InventoryLevel.reserved - InventoryLevel.sold >= quantity,
        )
        .values(reserved=InventoryLevel.reserved + quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


async def sell_units(session: AsyncSession, key: LevelKey, quantity: int) -> bool:
    """``reserved -= q, sold += q`` (a paid reservation); refused if fewer are reserved."""
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            InventoryLevel.reserved >= quantity,
        )
        .values(
            reserved=InventoryLevel.reserved - quantity,
            sold=InventoryLevel.sold + quantity,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


async def unreserve_units(session: AsyncSession, key: LevelKey, quantity: int) -> bool:
    """``reserved -= q`` (released or expired): the units are available again."""
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            InventoryLevel.reserved >= quantity,
        )
        .values(reserved=InventoryLevel.reserved - quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


async def unsell_units(session: AsyncSession, key: LevelKey, quantity: int) -> bool:
    """``sold -= q``: a claimed line whose payment then failed; the units are available
    again (refused if fewer are sold)."""
    result = await session.execute(
        update(InventoryLevel)
        .where(
            InventoryLevel.variant_id == key[0],
            InventoryLevel.warehouse_id == key[1],
            InventoryLevel.sold >= quantity,
        )
        .values(sold=InventoryLevel.sold - quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


async def end_claimed(session: AsyncSession, reservation_id: str, now: datetime) -> bool:
    """``UPDATE stock_reservations SET status = 'released' WHERE id = :id AND status =
    'claimed'``: only the transaction that makes this transition gives the units back."""
    result = await session.execute(
        update(StockReservation)
        .where(
            StockReservation.id == reservation_id,
            StockReservation.status == ReservationStatus.CLAIMED.value,
        )
        .values(status=ReservationStatus.RELEASED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def _one_row(result: Any) -> bool:
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def insert_reservation(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(StockReservation).values(values))


# PostgreSQL: the claim of a level and the row that records it in ONE statement (a
# data-modifying CTE), run in autocommit. The level row is then locked only while the server
# executes and commits that statement: no client round trip (and no event-loop delay of a
# busy app process) happens while the hot row is held. The INSERT reads the UPDATE's
# RETURNING, so a refused claim inserts nothing; a failed INSERT (the unique index) aborts
# the statement and with it the UPDATE.
_HOLD_ONE_STATEMENT = text(
    """
    WITH held AS (
        UPDATE inventory_levels
        SET reserved = reserved + :quantity, updated_at = CAST(:now AS TIMESTAMPTZ)
        WHERE variant_id = :variant_id AND warehouse_id = :warehouse_id
          AND on_hand - reserved - sold >= :quantity
        RETURNING variant_id, warehouse_id
    )
    INSERT INTO stock_reservations (id, reference, buyer_id, shop_id, variant_id, warehouse_id,
        quantity, status, deal_id, expires_at, created_at, updated_at)
    SELECT CAST(:id AS VARCHAR), CAST(:reference AS VARCHAR), CAST(:buyer_id AS VARCHAR),
        CAST(:shop_id AS VARCHAR), held.variant_id, held.warehouse_id,
        CAST(:quantity AS INTEGER), 'active', CAST(:deal_id AS VARCHAR),
        CAST(:expires_at AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ)
    FROM held
    RETURNING id
    """
)

# PostgreSQL: a one-line claim as ONE statement (autocommit), for the same reason. No
# ``reserved >= quantity`` guard: the CHECK ``reserved >= 0`` aborts the whole statement
# (status change included) if a level ever held less than its reservation.
_CLAIM_ONE_STATEMENT = text(
    """
    WITH claimed AS (
        UPDATE stock_reservations
        SET status = 'claimed', updated_at = CAST(:now AS TIMESTAMPTZ)
        WHERE id = :id AND status = 'active' AND expires_at > CAST(:now AS TIMESTAMPTZ)
        RETURNING variant_id, warehouse_id, quantity
    )
    UPDATE inventory_levels AS level
    SET reserved = level.reserved - claimed.quantity, sold = level.sold + claimed.quantity,
        updated_at = CAST(:now AS TIMESTAMPTZ)
    FROM claimed
    WHERE level.variant_id = claimed.variant_id AND level.warehouse_id = claimed.warehouse_id
    RETURNING level.variant_id
    """
)


async def hold_in_one_statement(connection: AsyncConnection, values: dict[str, Any]) -> bool:
    """PostgreSQL only, on an autocommit connection: reserve the units and insert the
    reservation (``values`` as for :func:`insert_reservation`) atomically; False when the
    level had too little available (nothing written)."""
    params = {k: values[k] for k in _HOLD_PARAMS}
    params["now"] = values["created_at"]
    result = await connection.execute(_HOLD_ONE_STATEMENT, params)
    return result.first() is not None


_HOLD_PARAMS = (
    "id",
    "reference",
    "buyer_id",
    "shop_id",
    "variant_id",
    "warehouse_id",
    "quantity",
    "deal_id",
    "expires_at",
)


async def claim_in_one_statement(
    connection: AsyncConnection, reservation_id: str, now: datetime
) -> bool:
    """PostgreSQL only, on an autocommit connection: claim one active, unexpired
    reservation and move its units from reserved to sold; False when it was no longer
    active (claimed, released or expired meanwhile) or past its expiry."""
    result = await connection.execute(_CLAIM_ONE_STATEMENT, {"id": reservation_id, "now": now})
    return result.first() is not None


Executor = AsyncConnection | AsyncSession
"""Reservation reads run on a plain (autocommit) connection too: no transaction to open."""


async def reservations_of(executor: Executor, reference: str) -> list[Any]:
    """Rows (attributes named like :class:`StockReservation`'s) of a checkout, oldest
    first."""
    result = await executor.execute(
        select(*StockReservation.__table__.columns)
        .where(StockReservation.reference == reference)
        .order_by(StockReservation.id)
    )
    return list(result.all())


@dataclass(frozen=True, slots=True)
class EndedHold:
    """What a status transition of an active reservation returned."""

    variant_id: str
    warehouse_id: str
    quantity: int
    buyer_id: str
    deal_id: str | None


async def end_active(
    session: AsyncSession,
    reservation_id: str,
    status: ReservationStatus,
    now: datetime,
    *,
    due_by: datetime | None = None,
    valid_at: datetime | None = None,
) -> EndedHold | None:
    """``UPDATE stock_reservations SET status = :status WHERE id = :id AND status =
    'active'`` [``AND expires_at <= :due_by``] [``AND expires_at > :valid_at``]: the one
    transition an active reservation makes. Whoever changes the status first wins; a claim
    and an expiry racing for the same row see each other's result (PostgreSQL re-checks the
    WHERE clause on the newest row version), so a reservation ends claimed XOR expired.
    None when the row was no longer active (or not in the time window)."""
    conditions = [
        StockReservation.id == reservation_id,
        StockReservation.status == ReservationStatus.ACTIVE.value,
    ]
    if due_by is not None:
        conditions.append(StockReservation.expires_at <= due_by)
    if valid_at is not None:
        conditions.append(StockReservation.expires_at > valid_at)
    result = await session.execute(
        update(StockReservation)
        .where(*conditions)
        .values(status=status.value, updated_at=now)
        .returning(
            StockReservation.variant_id,
            StockReservation.warehouse_id,
            StockReservation.quantity,
            StockReservation.buyer_id,
            StockReservation.deal_id,
        )
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    if row is None:
        return None
    return EndedHold(row[0], row[1], int(row[2]), row[3], row[4])


async def due_reservations(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    """Ids of active reservations whose TTL has passed, oldest expiry first."""
    result = await session.scalars(
        select(StockReservation.id)
        .where(
            StockReservation.status == ReservationStatus.ACTIVE.value,
            StockReservation.expires_at <= now,
        )
        .order_by(StockReservation.expires_at, StockReservation.id)
        .limit(limit)
    )
    return list(result)


# ---- per-buyer caps --------------------------------------------------------------------------


async def take_under_cap(
    session: AsyncSession, deal_id: str, buyer_id: str, variant_id: str, quantity: int, cap: int
) -> bool:
    """Count ``quantity`` more units for the buyer under the deal if that stays within
    ``cap``: a race-safe insert of the counter row, then ``UPDATE … SET quantity = quantity
    + :q WHERE … AND quantity + :q <= :cap``. Concurrent checkouts of one buyer serialize on
    this (per buyer, so uncontended) row and each sees the other's count."""
    values = {
        "deal_id": deal_id,
        "buyer_id": buyer_id,
        "variant_id": variant_id,
        "quantity": 0,
        "updated_at": utcnow(),
    }
    statement: Any
    if _dialect(session) == "postgresql":
        statement = pg_insert(PurchaseCapCounter).values(values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(PurchaseCapCounter).values(values).on_conflict_do_nothing()
    await session.execute(statement)
    result = await session.execute(
        update(PurchaseCapCounter)
        .where(
            PurchaseCapCounter.deal_id == deal_id,
            PurchaseCapCounter.buyer_id == buyer_id,
            PurchaseCapCounter.variant_id == variant_id,
            PurchaseCapCounter.quantity + quantity <= cap,
        )
        .values(quantity=PurchaseCapCounter.quantity + quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


async def give_back_under_cap(
    session: AsyncSession, deal_id: str, buyer_id: str, variant_id: str, quantity: int
) -> None:
    """A released or expired hold no longer counts against the buyer's cap."""
    await session.execute(
        update(PurchaseCapCounter)
        .where(
            PurchaseCapCounter.deal_id == deal_id,
            PurchaseCapCounter.buyer_id == buyer_id,
            PurchaseCapCounter.variant_id == variant_id,
            PurchaseCapCounter.quantity >= quantity,
        )
        .values(quantity=PurchaseCapCounter.quantity - quantity, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def cap_usage(session: AsyncSession, deal_id: str, buyer_id: str, variant_id: str) -> int:
    value = await session.scalar(
        select(PurchaseCapCounter.quantity).where(
            PurchaseCapCounter.deal_id == deal_id,
            PurchaseCapCounter.buyer_id == buyer_id,
            PurchaseCapCounter.variant_id == variant_id,
        )
    )
    return int(value or 0)


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
    reserved: int = 0
    sold: int = 0


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
    reserved = func.coalesce(InventoryLevel.reserved, 0)
    sold = func.coalesce(InventoryLevel.sold, 0)
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
            reserved,
            sold,
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
        query = query.where(on_hand - reserved - sold < low_stock_below)
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
            reserved=int(r[9]),
            sold=int(r[10]),
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
