"""Helpers for payments tests: test cards, payments made through the service, the
sandbox provider, and row counts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from shopreel.kit.ids import region_of
from shopreel.payments import service
from shopreel.payments.models import Payment
from shopreel.payments.sandbox import SandboxProvider
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

SUCCESS = "4242 4242 4242 4242"
DECLINE = "4000 0000 0000 0002"
INSUFFICIENT = "4000 0000 0000 9995"
EXPIRED = "4000 0000 0000 0069"
INCORRECT_CVC = "4000 0000 0000 0127"
CHALLENGE = "4000 0027 6000 3184"
CAPTURE_FAILS = "4000 0000 0000 0341"
FUTURE_YEAR = 2099


async def card_token(client: httpx.AsyncClient, number: str = SUCCESS) -> str:
    response = await client.post(
        "/api/v1/payments/sandbox/tokens",
        json={"number": number, "exp_month": 12, "exp_year": FUTURE_YEAR, "cvc": "123"},
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def new_payment(
    runtime: Runtime, buyer_id: str, amount_cents: int = 2500, reference: str = "chk_test"
) -> Payment:
    async with UnitOfWork(runtime.databases, home_region=region_of(buyer_id)) as uow:
        return await service.create_payment(
            uow, buyer_id=buyer_id, amount_cents=amount_cents, currency="USD", reference=reference
        )


async def load(runtime: Runtime, payment_id: str) -> Payment:
    async with UnitOfWork(runtime.databases, home_region=region_of(payment_id)) as uow:
        return await service.load_payment(uow, payment_id)


def sandbox(runtime: Runtime, region: str = "us") -> SandboxProvider:
    return SandboxProvider(runtime, region)


async def count(runtime: Runtime, model: Any, *where: Any, region: str = "us") -> int:
    async with runtime.databases.transaction(regional(region)) as session:
        value = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(value or 0)


async def bearer(
    app: Any, email: str, scopes: tuple[str, ...] = ("orders:read", "payments:write")
) -> dict[str, str]:
    """Authorization headers with a fresh personal access token of ``email``."""
    from tests.fixtures.factories import api_login

    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 52000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        csrf = await api_login(c, email)
        created = await c.post(
            "/api/v1/me/tokens",
            json={"name": "payments tests", "scopes": list(scopes)},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}
