"""Data-subject rights for warehouse addresses, and the demo seeding hook."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from shopreel.accounts import service as accounts
from shopreel.accounts.principal import Principal
from shopreel.inventory import privacy as inventory_privacy
from shopreel.inventory import service
from shopreel.inventory.demo import DEMO_WAREHOUSE, seed_demo_inventory
from shopreel.inventory.models import InventoryLevel, InventoryMovement, Warehouse, WarehouseAddress
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import PASSWORD
from tests.fixtures.sellers import Seller, create_product, create_seller
from tests.inventory.helpers import WAREHOUSE


async def _principal(runtime: Runtime, seller: Seller) -> Principal:
    async with UnitOfWork(runtime.databases, home_region=seller.user.region) as uow:
        return await accounts.load_principal(uow, runtime, seller.user, auth="session")


async def _add(runtime: Runtime, principal: Principal, **overrides: object) -> str:
    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        view = await service.create_warehouse(uow, runtime, principal, **{**WAREHOUSE, **overrides})  # type: ignore[arg-type]
        return view.warehouse.id


def test_hooks_are_registered_once() -> None:
    inventory_privacy.register()  # importing twice (or calling again) must not raise
    assert [n for n, _, _ in privacy.exporters()].count("warehouse_addresses") == 1
    assert [n for n, _, _ in privacy.erasers()].count("warehouse_addresses") == 1


async def test_export_contains_decrypted_addresses_and_deletion_erases_them(
    runtime: Runtime,
) -> None:
    seller = await create_seller(runtime)
    principal = await _principal(runtime, seller)
    other = await create_seller(runtime)
    other_principal = await _principal(runtime, other)
    mine = await _add(runtime, principal, line1="1 Private Lane", name="Home")
    theirs = await _add(runtime, other_principal, line1="9 Other Street")

    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        request = await privacy.open_request(uow, principal, "export")
        archive, manifest = await privacy.build_archive(uow, runtime, principal, request)
    entry = next(f for f in manifest["files"] if f["name"] == "warehouse_addresses.json")
    assert entry["records"] == 1
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        records = json.loads(bundle.read("warehouse_addresses.json"))
    assert [(r["warehouse_id"], r["line1"], r["name"], r["postal_code"]) for r in records] == [
        (mine, "1 Private Lane", "Home", "62704")
    ]

    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        result = await privacy.delete_account(uow, runtime, principal, PASSWORD)
    assert result.erased["warehouse_addresses"] == 1
    async with runtime.databases.session(regional("us")) as session:
        left = list(await session.scalars(select(WarehouseAddress.warehouse_id)))
    assert left == [theirs]
    async with runtime.databases.session(GLOBAL) as session:
        # the shipping facts stay with the (now suspended) shop
        assert await session.get(Warehouse, mine) is not None


async def test_seed_demo_inventory(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    principal = await _principal(runtime, seller)
    _, variants = await create_product(
        runtime,
        seller.shop,
        option_names=("Size",),
        variants=tuple(((str(size),), 1000) for size in range(30)),
    )
    warehouse_id = await seed_demo_inventory(
        runtime, shop_id=seller.shop.id, owner_id=seller.user.id, region=seller.user.region
    )
    again = await seed_demo_inventory(
        runtime, shop_id=seller.shop.id, owner_id=seller.user.id, region=seller.user.region
    )
    assert again == warehouse_id  # idempotent
    async with runtime.databases.session(GLOBAL) as session:
        levels = {
            lv.variant_id: lv.on_hand
            for lv in await session.scalars(
                select(InventoryLevel).where(InventoryLevel.warehouse_id == warehouse_id)
            )
        }
        moves = list(await session.scalars(select(InventoryMovement)))
        count = await session.scalar(select(func.count()).select_from(Warehouse))
    assert count == 1 and set(levels) == {v.id for v in variants}
    assert {m.variant_id: m.on_hand_after for m in moves} == {
        v: q for v, q in levels.items() if q > 0
    }
    assert all(m.reason == "received" and m.actor_id == seller.user.id for m in moves)
    # the owner sees the demo warehouse with its decrypted address through the service
    async with UnitOfWork(runtime.databases, home_region=principal.region) as uow:
        (view,) = await service.list_warehouses(uow, runtime, principal)
    assert (view.warehouse.name, view.warehouse.city, view.line1) == (
        DEMO_WAREHOUSE,
        "Oakland",
        "1 Demo Way",
    )
