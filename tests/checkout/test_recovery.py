"""The recovery job on stuck states that no crash test reaches: a buyer who never paid, a
second step never answered, an authorization whose hold ran out, and a superseded
authorization of a completed checkout."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.checkout.models import Checkout
from shopreel.checkout.recovery import recover
from shopreel.kit.time import utcnow
from shopreel.payments import service as payments
from shopreel.payments.models import Payment
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.checkout.support import (
    active_holds,
    buyer,
    charges,
    level,
    orders_of,
    pay,
    start,
    store,
)
from tests.payments.helpers import CHALLENGE, card_token


async def _checkout(runtime: Runtime, checkout_id: str) -> Checkout:
    async with runtime.databases.session(regional("us")) as session:
        row = await session.get(Checkout, checkout_id)
        assert row is not None
        return row


async def _authorized_only(
    client: httpx.AsyncClient, runtime: Runtime, checkout_id: str, buyer_id: str
) -> None:
    """The provider authorized the checkout's payment, and then nothing more happened."""
    token = await card_token(client)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        checkout = await uow.region().get(Checkout, checkout_id)
        assert checkout is not None
        payment = await payments.create_payment(
            uow,
            buyer_id=buyer_id,
            amount_cents=checkout.total_cents,
            currency="USD",
            reference=checkout_id,
        )
        checkout.payment_id = payment.id
        await payments.authorize_payment(uow, runtime, payment.id, buyer_id=buyer_id, token=token)


async def test_an_unpaid_checkout_expires_and_its_stock_returns(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    mo = await buyer(app, runtime, "mo@example.com")
    checkout_id = (await start(client, mo, [(shop.variants[0], 2)])).json()["id"]
    early = await recover(runtime, utcnow() + timedelta(minutes=5))
    assert early.expired == [] and await level(runtime, shop.variants[0]) == (3, 2, 0)
    late = await recover(runtime, utcnow() + timedelta(minutes=11))
    assert late.expired == [checkout_id]
    assert (await _checkout(runtime, checkout_id)).status == "expired"
    assert await level(runtime, shop.variants[0]) == (3, 0, 0)
    assert await active_holds(runtime) == 0
    again = await recover(runtime, utcnow() + timedelta(minutes=12))
    assert again.as_dict()["expired"] == 0


async def test_an_unanswered_second_step_ends_without_a_charge(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 1)
    ned = await buyer(app, runtime, "ned@example.com")
    checkout_id = (await start(client, ned, [(shop.variants[0], 1)])).json()["id"]
    pending = await pay(client, ned, checkout_id, card=CHALLENGE)
    assert pending.json()["status"] == "requires_action"
    report = await recover(runtime, utcnow() + timedelta(minutes=40))
    assert checkout_id in report.expired
    row = await _checkout(runtime, checkout_id)
    assert (row.status, row.failure_code) == ("expired", "payment_abandoned")
    assert await charges(runtime, checkout_id) == 0
    assert await level(runtime, shop.variants[0]) == (1, 0, 0)


async def test_an_authorization_without_an_order_becomes_the_order(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    """The buyer's connection dropped after the provider authorized: nobody retries."""
    shop = await store(runtime, 2)
    oz = await buyer(app, runtime, "oz@example.com")
    checkout_id = (await start(client, oz, [(shop.variants[0], 1)])).json()["id"]
    await _authorized_only(client, runtime, checkout_id, oz.id)
    report = await recover(runtime, utcnow() + timedelta(minutes=3))
    assert report.completed == [checkout_id]
    assert len(await orders_of(runtime, checkout_id)) == 1
    assert await charges(runtime, checkout_id) == 1
    assert await level(runtime, shop.variants[0]) == (2, 0, 1)


async def test_an_authorization_whose_hold_ran_out_is_voided(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 2)
    pia = await buyer(app, runtime, "pia@example.com")
    checkout_id = (await start(client, pia, [(shop.variants[0], 1)])).json()["id"]
    await _authorized_only(client, runtime, checkout_id, pia.id)
    report = await recover(runtime, utcnow() + timedelta(minutes=11))
    assert report.refused == {checkout_id: "reservation_expired"}
    assert (await _checkout(runtime, checkout_id)).status == "expired"
    async with runtime.databases.session(regional("us")) as session:
        statuses = list(
            await session.scalars(select(Payment.status).where(Payment.reference == checkout_id))
        )
    assert statuses == ["voided"]
    assert await charges(runtime, checkout_id) == 0
    assert await orders_of(runtime, checkout_id) == []
    assert await level(runtime, shop.variants[0]) == (2, 0, 0)


async def test_an_authorization_we_never_recorded_is_found_by_its_key(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    """The provider authorized, the answer never reached our database, and no webhook came:
    the job asks the provider by the call's idempotency key and finishes the sale."""
    shop = await store(runtime, 2)
    quinn = await buyer(app, runtime, "quinn@example.com")
    checkout_id = (await start(client, quinn, [(shop.variants[0], 1)])).json()["id"]
    token = await card_token(client)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        checkout = await uow.region().get(Checkout, checkout_id)
        assert checkout is not None
        payment = await payments.create_payment(
            uow,
            buyer_id=quinn.id,
            amount_cents=checkout.total_cents,
            currency="USD",
            reference=checkout_id,
        )
        checkout.payment_id = payment.id
    provider = payments.provider_for(runtime, "sandbox", "us")
    held = await provider.authorize(
        token,
        payment.amount_cents,
        "USD",
        f"{payment.id}:authorize",
        {"payment_id": payment.id, "reference": checkout_id},
    )
    assert held.status == "authorized"
    report = await recover(runtime, utcnow() + timedelta(minutes=3))
    assert report.completed == [checkout_id]
    assert await charges(runtime, checkout_id) == 1
    assert len(await orders_of(runtime, checkout_id)) == 1
    assert await provider.find_authorization("pay_us_never:authorize") is None


async def test_the_job_and_a_retry_finishing_one_checkout_at_once_make_one_order(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 10)
    ray = await buyer(app, runtime, "ray@example.com")
    ids = []
    for _ in range(3):
        checkout_id = (await start(client, ray, [(shop.variants[0], 1)])).json()["id"]
        await _authorized_only(client, runtime, checkout_id, ray.id)
        ids.append(checkout_id)
    token = await card_token(client)
    job = asyncio.create_task(recover(runtime, utcnow() + timedelta(minutes=3)))
    answers = await asyncio.gather(
        *(pay(client, ray, checkout_id, token=token) for checkout_id in ids)
    )
    await job
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    for checkout_id in ids:
        assert len(await orders_of(runtime, checkout_id)) == 1
        assert await charges(runtime, checkout_id) == 1
    assert await level(runtime, shop.variants[0]) == (10, 0, 3)
