"""Inventory JSON API (under /api/v1): a seller's warehouses, stock levels and movements.

Tokens need ``catalog:read`` to read and ``catalog:write`` to change; browser sessions
carry every scope and prove same origin with the CSRF header on writes (see deps.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from shopreel.accounts.principal import Principal
from shopreel.deps import RuntimeDep, UowDep, require_scope
from shopreel.inventory import privacy as _privacy_hooks  # noqa: F401  (registers the hooks)
from shopreel.inventory import rules, service
from shopreel.inventory.models import InventoryMovement
from shopreel.inventory.repository import StockRow
from shopreel.inventory.schemas import (
    AdjustmentBatch,
    BatchResult,
    CountBatch,
    MovementPage,
    MovementRead,
    StockPage,
    StockRowRead,
    WarehouseCreate,
    WarehouseList,
    WarehouseRead,
    WarehouseUpdate,
)
from shopreel.inventory.service import WarehouseView

router = APIRouter(prefix="/seller", tags=["inventory"])

Reader = Annotated[Principal, Depends(require_scope("catalog:read"))]
Writer = Annotated[Principal, Depends(require_scope("catalog:write"))]
WarehouseId = Annotated[str, Path(min_length=1, max_length=64)]
OptionalId = Annotated[str | None, Query(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=400)]
Limit = Annotated[int | None, Query(ge=1, le=service.MAX_PAGE_SIZE)]


def warehouse_read(view: WarehouseView) -> WarehouseRead:
    w = view.warehouse
    return WarehouseRead(
        id=w.id,
        shop_id=w.shop_id,
        name=w.name,
        line1=view.line1,
        line2=view.line2,
        city=w.city,
        state=w.subdivision,
        postal_code=w.postal_code,
        country=w.country,
        handling_days=w.handling_days,
        active=w.active,
        created_at=w.created_at,
        updated_at=w.updated_at,
    )


def movement_read(m: InventoryMovement | dict[str, Any]) -> MovementRead:
    if isinstance(m, dict):
        return MovementRead.model_validate(m)
    return MovementRead.model_validate(m, from_attributes=True)


def stock_row_read(row: StockRow) -> StockRowRead:
    return StockRowRead(
        variant_id=row.variant_id,
        product_id=row.product_id,
        product_title=row.product_title,
        product_status=row.product_status,
        options=row.options,
        sku=row.sku,
        warehouse_id=row.warehouse_id,
        warehouse_name=row.warehouse_name,
        on_hand=row.on_hand,
        reserved=row.reserved,
        sold=row.sold,
        available=rules.available(row.on_hand, row.reserved, row.sold),
    )


# ---- warehouses ------------------------------------------------------------------------------


@router.get("/warehouses")
async def list_warehouses(principal: Reader, uow: UowDep, runtime: RuntimeDep) -> WarehouseList:
    """Your shop's warehouses (active first), with their street addresses."""
    views = await service.list_warehouses(uow, runtime, principal)
    return WarehouseList(
        items=[warehouse_read(v) for v in views], limit=rules.MAX_WAREHOUSES_PER_SHOP
    )


@router.post("/warehouses", status_code=status.HTTP_201_CREATED)
async def create_warehouse(
    body: WarehouseCreate, principal: Writer, uow: UowDep, runtime: RuntimeDep
) -> WarehouseRead:
    """Add a warehouse; its street lines are stored encrypted in your home region."""
    view = await service.create_warehouse(uow, runtime, principal, **body.model_dump())
    return warehouse_read(view)


@router.get("/warehouses/{warehouse_id}")
async def get_warehouse(
    warehouse_id: WarehouseId, principal: Reader, uow: UowDep, runtime: RuntimeDep
) -> WarehouseRead:
    """One of your warehouses."""
    return warehouse_read(await service.get_warehouse(uow, runtime, principal, warehouse_id))


@router.patch("/warehouses/{warehouse_id}")
async def update_warehouse(
    warehouse_id: WarehouseId,
    body: WarehouseUpdate,
    principal: Writer,
    uow: UowDep,
    runtime: RuntimeDep,
) -> WarehouseRead:
    """Change a warehouse's name, address or handling time."""
    view = await service.update_warehouse(
        uow, runtime, principal, warehouse_id, body.model_dump(exclude_unset=True)
    )
    return warehouse_read(view)


@router.post("/warehouses/{warehouse_id}/deactivate")
async def deactivate_warehouse(
    warehouse_id: WarehouseId, principal: Writer, uow: UowDep, runtime: RuntimeDep
) -> WarehouseRead:
    """Stop using a warehouse; 409 warehouse_has_stock while it holds any stock."""
    view = await service.set_warehouse_active(uow, runtime, principal, warehouse_id, active=False)
    return warehouse_read(view)


@router.post("/warehouses/{warehouse_id}/activate")
async def activate_warehouse(
    warehouse_id: WarehouseId, principal: Writer, uow: UowDep, runtime: RuntimeDep
) -> WarehouseRead:
    """Use a deactivated warehouse again."""
    view = await service.set_warehouse_active(uow, runtime, principal, warehouse_id, active=True)
    return warehouse_read(view)


# ---- stock -----------------------------------------------------------------------------------


@router.get("/inventory")
async def list_stock(
    principal: Reader,
    uow: UowDep,
    warehouse_id: OptionalId = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    low_stock_below: Annotated[int | None, Query(ge=1, le=rules.MAX_ON_HAND)] = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> StockPage:
    """Stock per variant per warehouse (levels never written show 0)."""
    rows, next_cursor = await service.list_stock(
        uow,
        principal,
        warehouse_id=warehouse_id,
        q=q,
        low_stock_below=low_stock_below,
        cursor=cursor,
        limit=limit,
    )
    return StockPage(items=[stock_row_read(r) for r in rows], next_cursor=next_cursor)


@router.post("/inventory/adjustments")
async def adjust_stock(body: AdjustmentBatch, principal: Writer, uow: UowDep) -> BatchResult:
    """Add or remove stock, up to 500 lines, all or nothing (409 insufficient_stock)."""
    lines = [
        rules.StockChange(x.variant_id, x.warehouse_id, x.delta, x.reason, x.note)
        for x in body.lines
    ]
    recorded = await service.adjust_stock(uow, principal, lines)
    return BatchResult(movements=[movement_read(m) for m in recorded])


@router.post("/inventory/counts")
async def count_stock(body: CountBatch, principal: Writer, uow: UowDep) -> BatchResult:
    """Set counted quantities, up to 500 lines, all or nothing; records 'count' movements."""
    lines = [rules.StockCount(x.variant_id, x.warehouse_id, x.on_hand, x.note) for x in body.lines]
    recorded = await service.count_stock(uow, principal, lines)
    return BatchResult(movements=[movement_read(m) for m in recorded])


@router.get("/inventory/movements")
async def list_movements(
    principal: Reader,
    uow: UowDep,
    variant_id: OptionalId = None,
    warehouse_id: OptionalId = None,
    cursor: Cursor = None,
    limit: Limit = None,
) -> MovementPage:
    """The stock journal, newest first: who changed what, why, and the level after."""
    found, next_cursor = await service.list_movements(
        uow,
        principal,
        variant_id=variant_id,
        warehouse_id=warehouse_id,
        cursor=cursor,
        limit=limit,
    )
    return MovementPage(items=[movement_read(m) for m in found], next_cursor=next_cursor)
