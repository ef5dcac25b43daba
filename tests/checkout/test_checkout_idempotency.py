"""Retries of money-moving checkout calls: 50 sequential retries and 32 concurrent copies of
one request run the operation once (one hold, one charge, one order)."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from shopreel.checkout.models import Checkout
from shopreel.payments.models import Payment
from shopreel.runtime import Runtime
from tests.checkout.support import (
    active_holds,
    buyer,
    charges,
    count,
    level,
    orders_of,
    pay,
    start,
    store,
)
from tests.payments.helpers import card_token


async def test_fifty_retries_one_charge_one_order_identical_bodies(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    jo = await buyer(app, runtime, "jo@example.com")
    starts = [await start(client, jo, [(shop.variants[0], 1)], idem="start-1") for _ in range(50)]
    assert {r.status_code for r in starts} == {201}
    assert len({r.content for r in starts}) == 1
    assert [r.headers.get("idempotent-replayed") for r in starts[1:]] == ["true"] * 49
    checkout_id = starts[0].json()["id"]
    assert await level(runtime, shop.variants[0]) == (3, 1, 0)
    assert await count(runtime, Checkout, Checkout.buyer_id == jo.id) == 1

    token = await card_token(client)
    pays = [await pay(client, jo, checkout_id, token=token, idem="pay-1") for _ in range(50)]
    assert {r.status_code for r in pays} == {200}
    assert len({r.content for r in pays}) == 1
    assert pays[0].json()["status"] == "completed"
    assert await charges(runtime, checkout_id) == 1
    assert len(await orders_of(runtime, checkout_id)) == 1
    assert await count(runtime, Payment, Payment.reference == checkout_id) == 1
    assert await level(runtime, shop.variants[0]) == (3, 0, 1)

    # a new key for the paid checkout changes nothing either
    late = await pay(client, jo, checkout_id, token=token, idem="pay-2")
    assert late.status_code == 200 and late.json()["orders"] == pays[0].json()["orders"]
    assert await charges(runtime, checkout_id) == 1


async def test_thirty_two_concurrent_copies_run_once(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 40)
    kim = await buyer(app, runtime, "kim@example.com")
    starts = await asyncio.gather(
        *(start(client, kim, [(shop.variants[0], 2)], idem="burst-start") for _ in range(32))
    )
    created = [r for r in starts if r.status_code == 201]
    assert created, [r.text for r in starts]
    assert {r.status_code for r in starts} <= {201, 409}
    assert all(
        r.json()["code"] == "idempotency_request_in_flight" for r in starts if r.status_code == 409
    )
    assert len({r.json()["id"] for r in created}) == 1
    checkout_id = created[0].json()["id"]
    assert await count(runtime, Checkout, Checkout.buyer_id == kim.id) == 1
    assert await level(runtime, shop.variants[0]) == (40, 2, 0)
    assert await active_holds(runtime, checkout_id) == 1

    token = await card_token(client)
    pays = await asyncio.gather(
        *(pay(client, kim, checkout_id, token=token, idem="burst-pay") for _ in range(32))
    )
    assert {r.status_code for r in pays} <= {200, 409}
    done = [r for r in pays if r.status_code == 200]
    assert done and len({r.content for r in done}) == 1
    # whatever the interleaving, one execution: one payment, one charge, one order
    assert await count(runtime, Payment, Payment.reference == checkout_id) == 1
    assert await charges(runtime, checkout_id) == 1
    assert len(await orders_of(runtime, checkout_id)) == 1
    assert await level(runtime, shop.variants[0]) == (40, 0, 2)


async def test_concurrent_payments_with_different_keys_charge_once(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    """Two tabs, two keys, one checkout: one payment attempt wins, the other joins it."""
    shop = await store(runtime, 5)
    lu = await buyer(app, runtime, "lu@example.com")
    checkout_id = (await start(client, lu, [(shop.variants[0], 1)])).json()["id"]
    token = await card_token(client)
    answers = await asyncio.gather(
        *(pay(client, lu, checkout_id, token=token, idem=f"tab-{i}") for i in range(8))
    )
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.json()["payment"]["id"] for r in answers}) == 1
    assert await charges(runtime, checkout_id) == 1
    assert len(await orders_of(runtime, checkout_id)) == 1
    assert await level(runtime, shop.variants[0]) == (5, 0, 1)
