"""Data-subject rights for orders: the export holds the decrypted addresses; erasure keeps
the amounts (tax records, the ledger) and shreds the name and address."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User
from shopreel.accounts.principal import Principal
from shopreel.orders import privacy as orders_privacy
from shopreel.orders import service
from shopreel.orders.models import Order, OrderEvent, OrderLine
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import PASSWORD
from tests.orders.conftest import World
from tests.orders.helpers import ADDRESS


async def _principal(runtime: Runtime, user: User) -> Principal:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        return await accounts.load_principal(uow, runtime, user, auth="session")


def test_hooks_are_registered_once() -> None:
    orders_privacy.register()
    assert [n for n, _, _ in privacy.exporters()].count("orders") == 1
    assert [n for n, _, _ in privacy.erasers()].count("orders") == 1
    assert "orders" not in privacy.missing_erasers()


async def test_export_holds_the_buyers_orders_with_addresses(
    runtime: Runtime, world: World
) -> None:
    principal = await _principal(runtime, world.alice)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        request = await privacy.open_request(uow, principal, "export")
        archive, manifest = await privacy.build_archive(uow, runtime, principal, request)
    entry = next(f for f in manifest["files"] if f["name"] == "orders.json")
    assert entry["records"] == 2
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        records = json.loads(bundle.read("orders.json"))
    assert sorted(r["id"] for r in records) == sorted([world.o1.id, world.o2.id])
    first = next(r for r in records if r["id"] == world.o1.id)
    assert first["ship_to"] == ADDRESS
    assert first["total_cents"] == world.o1.total_cents
    assert [line["quantity"] for line in first["lines"]] == [2, 1]
    assert [h["kind"] for h in first["history"]] == ["order.placed"]


async def _rows(runtime: Runtime, region: str) -> dict[str, dict[str, object]]:
    async with runtime.databases.session(regional(region)) as session:
        return {
            o.id: {c.key: getattr(o, c.key) for c in Order.__table__.columns}
            for o in await session.scalars(select(Order))
        }


async def test_erasure_keeps_amounts_and_shreds_the_address(runtime: Runtime, world: World) -> None:
    principal = await _principal(runtime, world.alice)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        await service.transition(
            uow, world.o1.id, "partially_refunded", actor=world.alice.id, reason="Ada's mug broke"
        )
    before = await _rows(runtime, "us")
    intl_before = await _rows(runtime, "intl")
    async with runtime.databases.session(regional("us")) as session:
        lines_before = len(list(await session.scalars(select(OrderLine))))

    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        result = await privacy.delete_account(uow, runtime, principal, PASSWORD)
    assert result.erased["orders"] == 2

    after = await _rows(runtime, "us")
    assert set(after) == set(before)
    for order_id, row in after.items():
        assert row["ship_to_ct"] is None
        kept = {k: v for k, v in row.items() if k not in ("ship_to_ct", "updated_at")}
        assert kept == {
            k: v for k, v in before[order_id].items() if k not in ("ship_to_ct", "updated_at")
        }
        assert (row["ship_to_country"], row["total_cents"]) == (
            before[order_id]["ship_to_country"],
            before[order_id]["total_cents"],
        )
    assert await _rows(runtime, "intl") == intl_before  # another buyer's orders untouched
    async with runtime.databases.session(regional("us")) as session:
        assert len(list(await session.scalars(select(OrderLine)))) == lines_before
        events = list(
            await session.scalars(select(OrderEvent).where(OrderEvent.order_id == world.o1.id))
        )
        reasons = [e.data.get("reason") for e in events if e.kind == "order.status_changed"]
        assert reasons == [""]
        order = await session.get(Order, world.o1.id)
        assert order is not None
        assert await service.open_ship_to(runtime, session, order) is None
