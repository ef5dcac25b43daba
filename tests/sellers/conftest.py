"""Fixtures of the seller onboarding tests: one browser (cookie jar) per user, staff, and a
complete application body."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.accounts.models import User
from shopreel.catalog.models import Shop
from shopreel.planes import CONTROL, GLOBAL, regional
from shopreel.runtime import Runtime
from shopreel.sellers.models import SellerApplication
from shopreel.sovereignty.models import AuditEntry
from tests.fixtures.factories import PASSWORD, api_login, create_user
from tests.fixtures.governance import genesis

API = "/api/v1"
_numbers = itertools.count(1)

COMPLETE_BUSINESS: dict[str, Any] = {
    "legal_name": "Quixotic Ceramics Holdings LLC",
    "address": {
        "line1": "742 Evergreen Terrace",
        "line2": "Unit 9",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62704-1234",
        "country": "US",
    },
    "tax_id": "94-7315268",
    "contact": {"email": "books@quixotic.example", "phone": "+1 (217) 555-0142"},
    "bank": {"routing_number": "021000021", "account_number": "98765432101234"},
}


@dataclass
class Browser:
    """A signed-in user with their own cookie jar; writes carry the CSRF header."""

    client: httpx.AsyncClient
    csrf: str
    user: User
    email: str

    @property
    def id(self) -> str:
        return self.user.id

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(f"{API}{path}", params=params)

    async def send(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return await self.client.request(
            method, f"{API}{path}", json=json, headers={"X-CSRF-Token": self.csrf}
        )

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.send("POST", path, json)

    async def patch(self, path: str, json: Any) -> httpx.Response:
        return await self.send("PATCH", path, json)

    async def put(self, path: str, json: Any) -> httpx.Response:
        return await self.send("PUT", path, json)


Login = Callable[..., Awaitable[Browser]]


@pytest.fixture(autouse=True)
async def _policy_genesis(runtime: Runtime) -> None:
    """The deploy gate needs the packaged policy set on every region's allowlist."""
    await genesis(runtime)


@pytest.fixture
async def login(app: FastAPI) -> AsyncIterator[Login]:
    """``await login(country="US", staff_roles=(...), jurisdiction=...)``: a new user in a
    new browser. Staff when ``jurisdiction`` is given."""
    async with AsyncExitStack() as stack:

        async def _login(
            *,
            country: str = "US",
            jurisdiction: str | None = None,
            staff_roles: tuple[str, ...] = (),
            email: str | None = None,
        ) -> Browser:
            email = email or f"person{next(_numbers)}@example.com"
            roles: tuple[str, ...] = ("staff",) if jurisdiction else ("shopper",)
            user = await create_user(
                runtime=app.state.runtime,
                email=email,
                country=country,
                roles=roles,
                jurisdiction=jurisdiction,
                staff_roles=staff_roles,
            )
            transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 53000))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
            return Browser(client, await api_login(client, email, PASSWORD), user, email)

        yield _login


async def application_row(runtime: Runtime, user_id: str, region: str) -> dict[str, Any] | None:
    """The raw application row (every column), to prove a refused request changed nothing."""
    async with runtime.databases.session(regional(region)) as session:
        row = await session.scalar(
            select(SellerApplication).where(SellerApplication.user_id == user_id)
        )
        if row is None:
            return None
        return {c.key: getattr(row, c.key) for c in SellerApplication.__table__.columns}


async def shop_row(runtime: Runtime, owner_id: str) -> dict[str, Any] | None:
    async with runtime.databases.session(GLOBAL) as session:
        row = await session.scalar(select(Shop).where(Shop.owner_id == owner_id))
        if row is None:
            return None
        return {c.key: getattr(row, c.key) for c in Shop.__table__.columns}


async def audit_kinds(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.databases.session(CONTROL) as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        return [(e.kind, dict(e.attributes)) for e in rows]


async def apply(browser: Browser, handle: str, kind: str = "business") -> httpx.Response:
    return await browser.post(
        "/seller/application",
        {"kind": kind, "handle": handle, "shop_name": f"Shop {handle}", "description": ""},
    )


async def submitted_application(browser: Browser, handle: str) -> dict[str, Any]:
    """Apply, fill in everything and submit; returns the submitted application."""
    assert (await apply(browser, handle)).status_code == 201
    assert (await browser.patch("/seller/application", COMPLETE_BUSINESS)).status_code == 200
    response = await browser.post("/seller/application/submit")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
