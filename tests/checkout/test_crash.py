"""Crash test: a checkout's payment is run in a child process that is killed (``os._exit``)
at each step boundary; then the buyer retries with the same Idempotency-Key, or nobody does
and the webhooks plus the recovery job reconcile. Either way: at most one charge, no charge
without an order, no reservation left held."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from shopreel.checkout.faults import BOUNDARIES, CRASH_ENV, CRASH_EXIT_CODE
from shopreel.checkout.recovery import recover
from shopreel.config import Settings
from shopreel.idempotency.models import IdempotencyRecord
from shopreel.kit.time import utcnow
from shopreel.payments.sandbox import deliver_pending_webhooks
from shopreel.planes import regional
from shopreel.runtime import Runtime
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
from tests.payments.helpers import card_token

ROOT = Path(__file__).resolve().parents[2]
# where the provider has authorized: a completed sale is the right ending
AFTER_AUTHORIZATION = {b for b in BOUNDARIES if b != "pay.payment_created"}


def _crash_pay(
    settings: Settings, boundary: str, checkout_id: str, token: str, key: str, bearer: str
) -> int:
    env = {
        **os.environ,
        CRASH_ENV: boundary,
        "CRASH_BEARER": bearer,
        "SHOPREEL_ENV": "test",
        "SHOPREEL_DATA_DIR": str(settings.data_dir),
        "SHOPREEL_REGIONS": settings.regions,
        "SHOPREEL_SECRET_KEY": settings.secret_key,
        "SHOPREEL_LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }
    for name, value in (
        ("SHOPREEL_DB_GLOBAL", settings.db_global),
        ("SHOPREEL_DB_CONTROL", settings.db_control),
    ):
        if value:
            env[name] = value
    done = subprocess.run(
        [sys.executable, "-m", "tests.checkout.crash_child", checkout_id, token, key],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == CRASH_EXIT_CODE, (done.returncode, done.stdout, done.stderr[-2000:])
    return done.returncode


async def _lease_runs_out(runtime: Runtime, user_id: str) -> None:
    """What waiting out the dead attempt's lease looks like (instead of sleeping 2 minutes)."""
    async with runtime.databases.transaction(regional("us")) as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.state == "in_flight")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("ending", ["retry", "reconcile"])
async def test_killed_at_a_boundary_then_retried_or_reconciled(
    boundary: str,
    ending: str,
    client: httpx.AsyncClient,
    app: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    shop = await store(runtime, 2)
    (variant,) = shop.variants[:1]
    lee = await buyer(app, runtime, f"lee-{boundary}-{ending}@example.com")
    checkout_id = (await start(client, lee, [(variant, 1)])).json()["id"]
    token = await card_token(client)
    bearer = lee.headers["Authorization"].removeprefix("Bearer ")

    _crash_pay(settings, boundary, checkout_id, token, "pay-crash", bearer)
    assert await charges(runtime, checkout_id) <= 1

    if ending == "retry":
        await _lease_runs_out(runtime, lee.id)
        retried = await pay(client, lee, checkout_id, token=token, idem="pay-crash")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "completed"
        assert len(retried.json()["orders"]) == 1
    else:
        # no webhook is delivered: the job finds what the provider did by itself
        await recover(runtime, utcnow() + timedelta(minutes=3))
        if boundary in AFTER_AUTHORIZATION:
            # the provider holds the buyer's money: recovery finishes the sale
            assert len(await orders_of(runtime, checkout_id)) == 1

    # later, past every hold's expiry (and with the webhooks arriving late, as they may),
    # the job finds nothing left to fix
    later = utcnow() + timedelta(minutes=15)
    await recover(runtime, later)
    await deliver_pending_webhooks(runtime, later, httpx.ASGITransport(app=app))
    await recover(runtime, later + timedelta(minutes=1))

    taken = await charges(runtime, checkout_id)
    orders = await orders_of(runtime, checkout_id)
    assert taken <= 1
    assert taken == len(orders)  # no charge without an order, no order without a charge
    assert await active_holds(runtime, checkout_id) == 0
    on_hand, reserved, sold = await level(runtime, variant)
    assert (on_hand, reserved, sold) == (2, 0, len(orders))
