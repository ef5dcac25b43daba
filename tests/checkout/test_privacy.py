"""The checkout's export (with the decrypted address) and eraser (open holds released, rows
deleted, other buyers untouched)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User
from shopreel.checkout.models import Checkout
from shopreel.checkout.privacy import erase_checkouts, export_checkouts
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.checkout.support import ADDRESS, active_holds, buyer, level, start, store


async def _principal(uow: UnitOfWork, runtime: Runtime, user_id: str):  # type: ignore[no-untyped-def]
    user = await uow.region().get(User, user_id)
    assert user is not None
    return await accounts.load_principal(uow, runtime, user, auth="session")


async def test_export_and_erase(client: httpx.AsyncClient, app: FastAPI, runtime: Runtime) -> None:
    shop = await store(runtime, 4)
    rae = await buyer(app, runtime, "rae@example.com")
    sam = await buyer(app, runtime, "sam@example.com")
    mine = (await start(client, rae, [(shop.variants[0], 2)])).json()["id"]
    theirs = (await start(client, sam, [(shop.variants[0], 1)])).json()["id"]
    assert await level(runtime, shop.variants[0]) == (4, 3, 0)

    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        principal = await _principal(uow, runtime, rae.id)
        exported = await export_checkouts(uow, runtime, principal)
    assert [c["id"] for c in exported] == [mine]
    assert exported[0]["ship_to"]["line1"] == ADDRESS["line1"]
    assert exported[0]["status"] == "reserved"

    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        principal = await _principal(uow, runtime, rae.id)
        assert await erase_checkouts(uow, runtime, principal) == 1
    assert await active_holds(runtime, mine) == 0
    assert await active_holds(runtime, theirs) == 1
    assert await level(runtime, shop.variants[0]) == (4, 1, 0)
    async with runtime.databases.session(regional("us")) as session:
        left = list(await session.scalars(select(Checkout.id)))
    assert left == [theirs]
