"""Warehouses and stock use cases. Functions take the unit of work first; they flush, never
commit.

A seller acts only on their own shop: every function starts from the caller's shop and
looks warehouses and variants up *within* it, so another shop's ids are simply not found
(404) and nothing is written before every id of a request has been checked.

A refused stock change raises after earlier lines of the batch were applied in the open
transaction: the caller must roll back (endpoints do, by raising; pages roll back the
global session explicitly). That is what makes a batch all-or-nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from shopreel.accounts import repository as accounts_repository
from shopreel.accounts.principal import Principal
from shopreel.catalog import shops
from shopreel.catalog.models import Shop
from shopreel.errors import NotAuthenticated
from shopreel.inventory import repository, rules
from shopreel.inventory.errors import (
    InsufficientStock,
    InventoryErrorCode,
    StockConflict,
    VariantNotFound,
    WarehouseNotFound,
)
from shopreel.inventory.models import MovementReason, Warehouse, WarehouseAddress
from shopreel.inventory.rules import StockChange, StockCount, WarehouseFields
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
COUNT_RETRIES: Final = 5


# ---- the caller's shop -----------------------------------------------------------------------


async def find_shop(uow: UnitOfWork, principal: Principal) -> Shop | None:
    """The shop the principal owns, or None (no application started yet)."""
    return await repository.shop_of_owner(uow.global_, principal.id)


async def seller_shop(uow: UnitOfWork, principal: Principal, *, write: bool = False) -> Shop:
    """The caller's shop: 403 ``shop_required`` for accounts that own none (shoppers), 403
    ``shop_suspended`` for changes to a suspended shop (it can still be read). Owning the
    shop is the authority: every query below is scoped to this shop's id."""
    return await shops.seller_shop(uow, principal, write=write)


# ---- warehouse addresses (home region, encrypted) --------------------------------------------


def address_context(warehouse_id: str) -> str:
    return f"warehouse_addresses.address_ct:{warehouse_id}"


async def owner_data_key(uow: UnitOfWork, runtime: Runtime, principal: Principal) -> bytes:
    key = await accounts_repository.user_key(uow.region(principal.region), principal.id)
    if key is None:
        raise NotAuthenticated("This account no longer exists.")
    return runtime.cipher(principal.region).open(key.wrapped_key)


def _seal(
    runtime: Runtime, region: str, data_key: bytes, warehouse_id: str, f: WarehouseFields
) -> bytes:
    plain = json.dumps({"line1": f.line1, "line2": f.line2}, ensure_ascii=False)
    return runtime.cipher(region).encrypt(data_key, plain, address_context(warehouse_id))


def open_address(
    runtime: Runtime, region: str, data_key: bytes, address: WarehouseAddress | None
) -> tuple[str, str]:
    """(line1, line2) of an address row; empty lines when there is none (erased)."""
    if address is None:
        return "", ""
    plain = runtime.cipher(region).decrypt_text(
        data_key, address.address_ct, address_context(address.warehouse_id)
    )
    lines = json.loads(plain)
    return str(lines.get("line1", "")), str(lines.get("line2", ""))


@dataclass(frozen=True, slots=True)
class WarehouseView:
    """A warehouse with its street lines decrypted, for its owner only."""

    warehouse: Warehouse
    line1: str
    line2: str


async def _views(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, warehouses: Sequence[Warehouse]
) -> list[WarehouseView]:
    if not warehouses:
        return []
    addresses = await repository.addresses_of(
        uow.region(principal.region), [w.id for w in warehouses]
    )
    data_key = await owner_data_key(uow, runtime, principal)
    views = []
    for w in warehouses:
        line1, line2 = open_address(runtime, principal.region, data_key, addresses.get(w.id))
        views.append(WarehouseView(w, line1, line2))
    return views


# ---- warehouses ------------------------------------------------------------------------------


async def list_warehouses(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> list[WarehouseView]:
    shop = await seller_shop(uow, principal)
    return await _views(
        uow, runtime, principal, await repository.warehouses_of(uow.global_, shop.id)
    )


async def get_warehouse(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, warehouse_id: str
) -> WarehouseView:
    shop = await seller_shop(uow, principal)
    warehouse = await _own_warehouse(uow, shop, warehouse_id)
    return (await _views(uow, runtime, principal, [warehouse]))[0]


async def _own_warehouse(
    uow: UnitOfWork, shop: Shop, warehouse_id: str, *, lock: repository.Lock = None
) -> Warehouse:
    warehouse = await repository.warehouse_of_shop(uow.global_, shop.id, warehouse_id, lock=lock)
    if warehouse is None:
        raise WarehouseNotFound("No such warehouse.", extra={"warehouse_id": warehouse_id[:64]})
    return warehouse


async def _check_unique_name(
    uow: UnitOfWork, shop: Shop, name: str, *, except_id: str | None = None
) -> None:
    for other in await repository.warehouses_of(uow.global_, shop.id):
        if other.id != except_id and rules.same_name(other.name, name):
            raise StockConflict(
                "You already have a warehouse with this name.",
                code=InventoryErrorCode.WAREHOUSE_NAME_TAKEN.value,
                extra={"field": "name"},
            )


async def create_warehouse(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    name: str,
    line1: str,
    line2: str = "",
    city: str,
    state: str = "",
    postal_code: str,
    country: str,
    handling_days: int = 2,
) -> WarehouseView:
    """Add a warehouse: its shipping facts to the global plane, its street lines encrypted
    under the owner's data key in the owner's home region."""
    shop = await seller_shop(uow, principal, write=True)
    fields = rules.normalize_warehouse(
        name=name,
        line1=line1,
        line2=line2,
        city=city,
        subdivision=state,
        postal_code=postal_code,
        country=country,
        handling_days=handling_days,
    )
    await repository.lock_shop(uow.global_, shop.id)
    if await repository.count_warehouses(uow.global_, shop.id) >= rules.MAX_WAREHOUSES_PER_SHOP:
        raise StockConflict(
            f"A shop can have at most {rules.MAX_WAREHOUSES_PER_SHOP} warehouses.",
            code=InventoryErrorCode.WAREHOUSE_LIMIT.value,
        )
    await _check_unique_name(uow, shop, fields.name)
    now = utcnow()
    warehouse = Warehouse(
        id=new_id("wh"),
        shop_id=shop.id,
        name=fields.name,
        country=fields.country,
        subdivision=fields.subdivision,
        city=fields.city,
        postal_code=fields.postal_code,
        handling_days=fields.handling_days,
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.global_.add(warehouse)
    data_key = await owner_data_key(uow, runtime, principal)
    regional = uow.region(principal.region)
    regional.add(
        WarehouseAddress(
            warehouse_id=warehouse.id,
            region=principal.region,
            owner_id=principal.id,
            address_ct=_seal(runtime, principal.region, data_key, warehouse.id, fields),
            updated_at=now,
        )
    )
    await uow.global_.flush()
    await regional.flush()
    return WarehouseView(warehouse, fields.line1, fields.line2)


async def update_warehouse(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    warehouse_id: str,
    changes: dict[str, Any],
) -> WarehouseView:
    """Change some fields (keys as in :func:`create_warehouse`; absent keys keep their
    value). The whole result is validated again, e.g. a US warehouse keeps a valid ZIP."""
    shop = await seller_shop(uow, principal, write=True)
    warehouse = await _own_warehouse(uow, shop, warehouse_id, lock="update")
    current = (await _views(uow, runtime, principal, [warehouse]))[0]

    def pick(key: str, value: Any) -> Any:
        new = changes.get(key)
        return value if new is None else new

    fields = rules.normalize_warehouse(
        name=pick("name", warehouse.name),
        line1=pick("line1", current.line1),
        line2=pick("line2", current.line2),
        city=pick("city", warehouse.city),
        subdivision=pick("state", warehouse.subdivision),
        postal_code=pick("postal_code", warehouse.postal_code),
        country=pick("country", warehouse.country),
        handling_days=pick("handling_days", warehouse.handling_days),
    )
    await _check_unique_name(uow, shop, fields.name, except_id=warehouse.id)
    now = utcnow()
    warehouse.name = fields.name
    warehouse.city = fields.city
    warehouse.subdivision = fields.subdivision
    warehouse.postal_code = fields.postal_code
    warehouse.country = fields.country
    warehouse.handling_days = fields.handling_days
    warehouse.updated_at = now
    if (fields.line1, fields.line2) != (current.line1, current.line2):
        data_key = await owner_data_key(uow, runtime, principal)
        regional = uow.region(principal.region)
        sealed = _seal(runtime, principal.region, data_key, warehouse.id, fields)
        address = await regional.get(WarehouseAddress, warehouse.id)
        if address is None:
            regional.add(
                WarehouseAddress(
                    warehouse_id=warehouse.id,
                    region=principal.region,
                    owner_id=principal.id,
                    address_ct=sealed,
                    updated_at=now,
                )
            )
        else:
            address.address_ct = sealed
            address.updated_at = now
        await regional.flush()
    await uow.global_.flush()
    return WarehouseView(warehouse, fields.line1, fields.line2)


async def set_warehouse_active(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, warehouse_id: str, *, active: bool
) -> WarehouseView:
    """Activate or deactivate. A warehouse holding stock cannot be deactivated (409
    ``warehouse_has_stock``): move or count its stock to zero first.

    The warehouse row is locked FOR UPDATE before the stock is summed, and stock changes
    hold it FOR SHARE (PostgreSQL), so no change can add stock between the check and the
    deactivation."""
    shop = await seller_shop(uow, principal, write=True)
    warehouse = await _own_warehouse(uow, shop, warehouse_id, lock="update")
    if not active and warehouse.active:
        on_hand = await repository.warehouse_stock(uow.global_, warehouse.id)
        if on_hand > 0:
            raise StockConflict(
                f"This warehouse still holds {on_hand} units. Move or count them out first.",
                code=InventoryErrorCode.WAREHOUSE_HAS_STOCK.value,
                extra={"on_hand": on_hand},
            )
    if warehouse.active != active:
        warehouse.active = active
        warehouse.updated_at = utcnow()
        await uow.global_.flush()
    return (await _views(uow, runtime, principal, [warehouse]))[0]


# ---- stock changes ---------------------------------------------------------------------------


async def _check_lines(
    uow: UnitOfWork, shop: Shop, lines: Sequence[StockChange] | Sequence[StockCount]
) -> None:
    """Every variant and warehouse of the batch belongs to the shop (404 otherwise) and
    every warehouse is active (409); checked before anything is written."""
    session = uow.global_
    variants = await repository.variant_ids_of_shop(session, shop.id, (x.variant_id for x in lines))
    for line in lines:
        if line.variant_id not in variants:
            raise VariantNotFound(
                "No such variant in your shop.", extra={"variant_id": line.variant_id}
            )
    warehouses = await repository.warehouses_for_change(
        session, shop.id, (x.warehouse_id for x in lines)
    )
    for line in lines:
        found = warehouses.get(line.warehouse_id)
        if found is None:
            raise WarehouseNotFound(
                "No such warehouse in your shop.", extra={"warehouse_id": line.warehouse_id}
            )
        if not found.active:
            raise StockConflict(
                f"The warehouse {found.name!r} is inactive. Activate it first.",
                code=InventoryErrorCode.WAREHOUSE_INACTIVE.value,
                extra={"warehouse_id": found.id},
            )


def _movement(
    shop: Shop,
    principal: Principal,
    key: rules.LevelKey,
    delta: int,
    after: int,
    reason: str,
    note: str,
) -> dict[str, Any]:
    return {
        "variant_id": key[0],
        "warehouse_id": key[1],
        "shop_id": shop.id,
        "delta": delta,
        "on_hand_after": after,
        "reason": reason,
        "note": note,
        "actor_id": principal.id,
    }


async def _record(uow: UnitOfWork, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write the journal; ids are generated together and sorted, so within one batch the
    (time-ordered) ids follow the order in which the lines were applied."""
    now = utcnow()
    for movement_id, row in zip(sorted(new_id("mov") for _ in rows), rows, strict=True):
        row["id"] = movement_id
        row["created_at"] = now
    await repository.insert_movements(uow.global_, rows)
    return rows


def _below_held(
    counts: repository.LevelCounts | None, where: dict[str, str], delta: int, action: str
) -> InsufficientStock:
    """409 ``insufficient_stock``: the change would take ``on_hand`` below what buyers hold
    (reserved) or bought and await (sold); the body says how the level is made up."""
    counts = counts or repository.LevelCounts(0, 0, 0)
    on_hand, reserved, sold = counts.on_hand, counts.reserved, counts.sold
    held = reserved + sold
    if held:
        message = (
            f"{on_hand} on hand, of which {reserved} reserved by buyers and {sold} sold "
            f"awaiting shipment; {action}. Nothing was changed."
        )
    else:
        message = f"Only {on_hand} on hand; {action}. Nothing was changed."
    return InsufficientStock(
        message,
        extra={
            **where,
            "on_hand": on_hand,
            "reserved": reserved,
            "sold": sold,
            "available": rules.available(on_hand, reserved, sold),
            "delta": delta,
        },
    )


async def adjust_stock(
    uow: UnitOfWork, principal: Principal, lines: Sequence[StockChange]
) -> list[dict[str, Any]]:
    """Apply a batch of adjustments, all or nothing; returns the movements recorded.

    Lines are applied in lock order (:func:`rules.in_lock_order`), each as one conditional
    update; the first that would take a level below zero raises 409 ``insufficient_stock``
    (the caller rolls back, so none of the batch applies)."""
    shop = await seller_shop(uow, principal, write=True)
    plan = rules.plan_adjustments(lines)
    await _check_lines(uow, shop, plan)
    session = uow.global_
    rows: list[dict[str, Any]] = []
    for line in plan:
        if line.delta > 0:
            await repository.ensure_level(session, shop.id, line.key)
        after = await repository.add_to_level(session, line.key, line.delta)
        if after is None:
            counts = await repository.level_counts(session, line.key)
            on_hand = counts.on_hand if counts else 0
            where = {"variant_id": line.variant_id, "warehouse_id": line.warehouse_id}
            if line.delta > 0:
                raise StockConflict(
                    f"A level cannot exceed {rules.MAX_ON_HAND:,} units.",
                    code=InventoryErrorCode.STOCK_LIMIT.value,
                    extra={**where, "on_hand": on_hand, "delta": line.delta},
                )
            raise _below_held(counts, where, line.delta, f"cannot remove {-line.delta}")
        rows.append(_movement(shop, principal, line.key, line.delta, after, line.reason, line.note))
    return await _record(uow, rows)


async def count_stock(
    uow: UnitOfWork, principal: Principal, lines: Sequence[StockCount]
) -> list[dict[str, Any]]:
    """Set levels to counted quantities; each records a ``count`` movement with the
    difference (0 when the count confirmed the level: the count itself is worth keeping).

    A compare-and-set loop rather than a blind write, so the movement's delta is exactly
    what this count changed even when a sale or another adjustment lands at the same time."""
    shop = await seller_shop(uow, principal, write=True)
    plan = rules.plan_counts(lines)
    await _check_lines(uow, shop, plan)
    session = uow.global_
    rows: list[dict[str, Any]] = []
    for line in plan:
        await repository.ensure_level(session, shop.id, line.key)
        for _ in range(COUNT_RETRIES):
            counts = await repository.level_counts(session, line.key)
            before = counts.on_hand if counts else 0
            if counts is not None and line.on_hand < counts.reserved + counts.sold:
                raise _below_held(
                    counts,
                    {"variant_id": line.variant_id, "warehouse_id": line.warehouse_id},
                    line.on_hand - before,
                    f"cannot count {line.on_hand}",
                )
            if await repository.set_level_if(session, line.key, before, line.on_hand):
                break
        else:
            raise StockConflict(
                "The stock kept changing while counting; try again.",
                code=InventoryErrorCode.CONCURRENT_UPDATE.value,
                extra={"variant_id": line.variant_id, "warehouse_id": line.warehouse_id},
            )
        rows.append(
            _movement(
                shop,
                principal,
                line.key,
                line.on_hand - before,
                line.on_hand,
                MovementReason.COUNT.value,
                line.note,
            )
        )
    return await _record(uow, rows)


# ---- reads -----------------------------------------------------------------------------------


def _page_size(limit: int | None) -> int:
    return PAGE_SIZE if limit is None else max(1, min(limit, MAX_PAGE_SIZE))


async def list_stock(
    uow: UnitOfWork,
    principal: Principal,
    *,
    warehouse_id: str | None = None,
    q: str | None = None,
    low_stock_below: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[repository.StockRow], str | None]:
    """A page of (variant, warehouse) stock rows and the cursor of the next page."""
    shop = await seller_shop(uow, principal)
    if warehouse_id:
        await _own_warehouse(uow, shop, warehouse_id)
    after = rules.decode_cursor(cursor, 2) if cursor else None
    size = _page_size(limit)
    rows = await repository.stock_rows(
        uow.global_,
        shop.id,
        warehouse_id=warehouse_id or None,
        q=" ".join((q or "").split())[:100] or None,
        low_stock_below=low_stock_below,
        after=(after[0], after[1]) if after else None,
        limit=size + 1,
    )
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = rules.encode_cursor(rows[-1].variant_id, rows[-1].warehouse_id)
    return rows, next_cursor


async def list_movements(
    uow: UnitOfWork,
    principal: Principal,
    *,
    variant_id: str | None = None,
    warehouse_id: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[Any], str | None]:
    """A page of the shop's movements, newest first. Filtering by another shop's variant or
    warehouse is 404, like reading it."""
    shop = await seller_shop(uow, principal)
    if variant_id and not await repository.variant_ids_of_shop(uow.global_, shop.id, [variant_id]):
        raise VariantNotFound(
            "No such variant in your shop.", extra={"variant_id": variant_id[:64]}
        )
    if warehouse_id:
        await _own_warehouse(uow, shop, warehouse_id)
    before = rules.decode_cursor(cursor, 1)[0] if cursor else None
    size = _page_size(limit)
    found = await repository.movements(
        uow.global_,
        shop.id,
        variant_id=variant_id or None,
        warehouse_id=warehouse_id or None,
        before=before,
        limit=size + 1,
    )
    next_cursor = None
    if len(found) > size:
        found = found[:size]
        next_cursor = rules.encode_cursor(found[-1].id)
    return found, next_cursor
