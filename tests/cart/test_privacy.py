"""Data-subject rights for carts: the export holds the lines, account deletion erases
them (and nothing of other users)."""

from __future__ import annotations

import io
import json
import zipfile

from shopreel.accounts import service as accounts
from shopreel.cart import privacy as cart_privacy
from shopreel.cart import service
from shopreel.runtime import Runtime
from shopreel.sovereignty import privacy
from shopreel.uow import UnitOfWork
from tests.cart.helpers import carts_snapshot, create_buyer, lines_in, stock
from tests.fixtures.factories import PASSWORD
from tests.fixtures.sellers import create_product, create_seller


def test_hooks_are_registered_once() -> None:
    cart_privacy.register()
    assert [n for n, _, _ in privacy.exporters()].count("carts") == 1
    assert [n for n, _, _ in privacy.erasers()].count("carts") == 1
    assert "carts" not in privacy.missing_erasers()


async def test_export_and_erasure(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (variant,) = await create_product(runtime, seller.shop, variants=(((), 1234),))
    await stock(runtime, variant, 10)
    buyer = await create_buyer(runtime)
    other = await create_buyer(runtime)
    for user, quantity in ((buyer, 2), (other, 1)):
        async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
            await service.add_item(uow, user.id, variant.id, quantity)

    async with UnitOfWork(runtime.databases, home_region=buyer.region) as uow:
        principal = await accounts.load_principal(uow, runtime, buyer.user, auth="session")
        request = await privacy.open_request(uow, principal, "export")
        archive, manifest = await privacy.build_archive(uow, runtime, principal, request)
    entry = next(f for f in manifest["files"] if f["name"] == "carts.json")
    assert entry["records"] == 1
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        records = json.loads(bundle.read("carts.json"))
    assert [
        (r["variant_id"], r["quantity"], r["unit_price_cents_when_added"], r["shop_id"])
        for r in records
    ] == [(variant.id, 2, 1234, seller.shop.id)]

    async with UnitOfWork(runtime.databases, home_region=buyer.region) as uow:
        result = await privacy.delete_account(uow, runtime, principal, PASSWORD)
    assert result.erased["carts"] == 1
    assert await lines_in(runtime, buyer) == {}
    assert await lines_in(runtime, other) == {variant.id: 1}
    remaining = await carts_snapshot(runtime)
    assert not any(buyer.id in row for row in remaining["us"])
