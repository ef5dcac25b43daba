"""The flash sale: 1,000 buyers at once for 100 units of one SKU, through the HTTP API in
process (PostgreSQL), and reservations that expire on a fake clock and give the stock back.

The buyers and their journey (tokenize, checkout, pay) are the ones ``shopreel bench
flash-sale`` drives over the network (``shopreel.bench.flash_buyers``, the accounts and the
audit from ``shopreel.bench.flash_world``); here they run against the app in process, and the
assertions are exact, not timed. The last tests run the benchmark command itself."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from shopreel import cli
from shopreel.bench.flash_buyers import ADDRESS, ORDERED, SOLD_OUT, httpx_sender, run_buyers
from shopreel.bench.flash_world import (
    Buyer,
    SaleListing,
    audit_sale,
    create_buyers,
    run_recovery,
)
from shopreel.checkout.models import Checkout
from shopreel.inventory.reservations import expire_reservations
from shopreel.kit.time import utcnow
from shopreel.orders.models import Order
from shopreel.payments.models import Payment, SandboxAuthorization, SandboxCapture
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.checkout.support import charges, level, store
from tests.fixtures import services
from tests.inventory.helpers import assert_stock_accounted
from tests.payments.helpers import card_token

BUYERS = 1000
STOCK = 100


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 53000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _money_per_buyer(runtime: Runtime) -> tuple[Counter[str], Counter[str]]:
    """(captures per buyer, authorizations still holding money per buyer), as the sandbox
    provider recorded them, mapped to buyers through our payments."""
    async with runtime.databases.session(regional("us")) as session:
        buyer_of = dict((await session.execute(select(Payment.id, Payment.buyer_id))).all())
        authorizations = (
            await session.execute(
                select(
                    SandboxAuthorization.id,
                    SandboxAuthorization.status,
                    SandboxAuthorization.details,
                )
            )
        ).all()
        captured = set(
            await session.scalars(
                select(SandboxCapture.authorization_id).where(SandboxCapture.status == "succeeded")
            )
        )
    captures: Counter[str] = Counter()
    holds: Counter[str] = Counter()
    for authorization_id, status, details in authorizations:
        buyer = buyer_of[details["payment_id"]]
        if authorization_id in captured:
            captures[buyer] += 1
        elif status == "authorized":
            holds[buyer] += 1
    return captures, holds


async def test_flash_sale_1000_buyers_100_units(app: FastAPI, runtime: Runtime) -> None:
    if services.test_backend() != "postgres":
        pytest.skip(
            "the flash sale runs on PostgreSQL only: it exercises row locks under real "
            "concurrency, while SQLite lets one writer in at a time "
            "(SHOPREEL_TEST_DB=postgres SHOPREEL_TEST_POSTGRES_URL=…)"
        )
    shop = await store(runtime, STOCK)
    (variant,) = shop.variants
    listing = SaleListing("", shop.shop_id, "", variant, shop.warehouse, STOCK)
    buyers = await create_buyers(runtime, BUYERS)

    async with _client(app) as client:
        # every buyer in flight at once, sharing the in-process client
        outcome = await run_buyers(buyers, variant, [httpx_sender(client)] * BUYERS)

    assert outcome.failures == {}
    assert outcome.outcomes == {ORDERED: STOCK, SOLD_OUT: BUYERS - STOCK}
    assert [len(outcome.latencies[step]) for step in ("tokenize", "checkout", "pay")] == [
        BUYERS,
        BUYERS,
        STOCK,
    ]

    recovered = await run_recovery(runtime)
    audit = await audit_sale(runtime, listing, buyers)
    assert (audit.orders, audit.units_ordered, audit.oversold, audit.lost) == (STOCK, STOCK, 0, 0)
    assert audit.invariant_problems == []
    assert audit.charged_buyers == STOCK and audit.double_charged == 0
    assert audit.payments == {"captured": STOCK}
    assert "completed 0" in recovered  # nothing was left for recovery to finish
    assert await level(runtime, variant) == (STOCK, 0, STOCK)
    await assert_stock_accounted(runtime)

    # every order belongs to a distinct buyer who was charged exactly once for it
    async with runtime.databases.session(regional("us")) as session:
        orders = list(await session.scalars(select(Order)))
        checkouts = {c.id: c for c in await session.scalars(select(Checkout))}
    assert len({o.buyer_id for o in orders}) == STOCK
    assert all(o.status == "paid" and o.shop_id == shop.shop_id for o in orders)
    assert all(checkouts[o.checkout_id].status == "completed" for o in orders)
    captures, holds = await _money_per_buyer(runtime)
    assert captures == Counter({o.buyer_id: 1 for o in orders})
    assert holds == Counter()  # no authorization left holding money
    for order in orders:
        assert await charges(runtime, order.checkout_id) == 1


async def _start(
    client: httpx.AsyncClient, buyer: Buyer, variant_id: str, key: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/checkouts",
        json={"lines": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS},
        headers={"Authorization": f"Bearer {buyer.token}", "Idempotency-Key": key},
    )


async def test_reservations_expire_on_a_fake_clock_and_release_the_stock(
    app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 2)
    (variant,) = shop.variants
    ada, bob, cyd = await create_buyers(runtime, 3)
    async with _client(app) as client:
        first = await _start(client, ada, variant, "ada-1")
        second = await _start(client, bob, variant, "bob-1")
        assert (first.status_code, second.status_code) == (201, 201), first.text
        refused = await _start(client, cyd, variant, "cyd-1")
        assert refused.status_code == 409 and refused.json()["code"] == "out_of_stock"
        assert await level(runtime, variant) == (2, 2, 0)

        ttl = runtime.settings.reservation_ttl_seconds
        # a minute before the TTL nothing expires ...
        early = utcnow() + timedelta(seconds=ttl - 60)
        assert await expire_reservations(runtime, now=early) == 0
        assert await level(runtime, variant) == (2, 2, 0)
        # ... once the fake clock is past it, both holds end and the units are available
        late = utcnow() + timedelta(seconds=ttl + 1)
        assert await expire_reservations(runtime, now=late) == 2
        assert await expire_reservations(runtime, now=late) == 0  # idempotent
        assert await level(runtime, variant) == (2, 0, 0)
        await assert_stock_accounted(runtime)

        # the released stock can be bought again
        again = await _start(client, cyd, variant, "cyd-2")
        assert again.status_code == 201, again.text
        assert await level(runtime, variant) == (2, 1, 0)

        # paying the expired checkout is refused and charges nothing
        checkout_id = first.json()["id"]
        paid = await client.post(
            f"/api/v1/checkouts/{checkout_id}/pay",
            json={"token": await card_token(client)},
            headers={"Authorization": f"Bearer {ada.token}", "Idempotency-Key": "ada-pay"},
        )
        assert paid.status_code == 409, paid.text
        assert paid.json()["code"] == "reservation_expired"
    assert await charges(runtime, checkout_id) == 0
    assert await level(runtime, variant) == (2, 1, 0)  # cyd's new hold only
    async with runtime.databases.session(regional("us")) as session:
        assert list(await session.scalars(select(Order))) == []
        row = await session.get(Checkout, checkout_id)
        assert row is not None and row.status == "expired"
    await assert_stock_accounted(runtime)


# ---- the benchmark command -------------------------------------------------------------------


def test_bench_refuses_a_url_that_is_not_postgresql() -> None:
    result = CliRunner().invoke(
        cli.app, ["bench", "flash-sale", "--database-url", "sqlite:///var/global.db"]
    )
    assert result.exit_code == 1
    assert "must be a postgresql:// URL" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bench_reports_an_unreachable_server() -> None:
    result = CliRunner().invoke(
        cli.app,
        ["bench", "flash-sale", "--database-url", "postgresql://postgres@127.0.0.1:1/postgres"],
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1")


def _bench_databases(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'shopreel_bench_%'")
        return {str(row[0]) for row in rows}


def test_bench_runs_a_small_sale_and_prints_one_json_line() -> None:
    url = services.postgres_url()
    if url is None:
        services.missing("PostgreSQL not configured: set SHOPREEL_TEST_POSTGRES_URL")
    assert url is not None
    before = _bench_databases(url)
    result = CliRunner().invoke(
        cli.app,
        [
            "bench",
            "flash-sale",
            "--database-url",
            url,
            "--buyers",
            "24",
            "--stock",
            "5",
            "--concurrency",
            "8",
            "--hot-row-seconds",
            "0.5",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[-1])
    assert list(report) == [
        "buyers",
        "stock",
        "orders",
        "oversold",
        "lost",
        "orders_per_s",
        "raw_hot_row_per_s",
        "ratio",
    ]
    assert (report["buyers"], report["stock"], report["orders"]) == (24, 5, 5)
    assert (report["oversold"], report["lost"]) == (0, 0)
    assert report["orders_per_s"] > 0 and report["raw_hot_row_per_s"] > 0
    assert report["ratio"] == pytest.approx(
        report["orders_per_s"] / report["raw_hot_row_per_s"], abs=0.001
    )
    assert _bench_databases(url) == before  # the throwaway databases were dropped
