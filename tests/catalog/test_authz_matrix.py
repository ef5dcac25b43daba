"""The cross-seller authorization matrix: seller B, a shopper and anonymous visitors against
seller A's product on every seller route, and non-reviewers on every staff route. Every
denial is checked for its status and code, and the product's rows (product, variants, price
history, reviews) and the audit log are compared before and after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from shopreel.catalog.models import Shop, ShopStatus
from shopreel.planes import CONTROL, GLOBAL
from shopreel.runtime import Runtime
from shopreel.sovereignty.models import AuditEntry
from tests.catalog.catalog_helpers import API, HTML, Clients, Session, product_body, snapshot
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import create_seller

PRODUCTS = f"{API}/seller/products"


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    opened = Clients(app)
    try:
        yield opened
    finally:
        await opened.close()


def seller_routes(product_id: str, version: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"{PRODUCTS}/{product_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"title": "Hijacked", "version": version}),
        (
            "PUT",
            f"{base}/variants",
            {"variants": [{"options": {"Color": "Blue"}, "price_cents": 1}]},
        ),
        ("POST", f"{base}/submit", None),
        ("POST", f"{base}/archive", None),
        ("POST", f"{base}/unarchive", None),
        ("DELETE", base, None),
        ("GET", f"{base}/price-history", None),
    ]


def staff_routes(product_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"{API}/staff/listings"
    return [
        ("GET", base, None),
        ("GET", f"{base}/{product_id}", None),
        ("POST", f"{base}/{product_id}/approve", {}),
        ("POST", f"{base}/{product_id}/reject", {"reasons": ["no"]}),
        ("POST", f"{base}/{product_id}/takedown", {"reasons": ["no"]}),
    ]


async def call(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, url: str, body: Any
) -> httpx.Response:
    if body is None:
        return await client.request(method, url, headers=headers)
    return await client.request(method, url, json=body, headers=headers)


async def audit_size(runtime: Runtime) -> int:
    async with runtime.databases.session(CONTROL) as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def seeded(runtime: Runtime, clients: Clients) -> tuple[Session, dict[str, Any]]:
    owner = await create_seller(runtime, handle="owner-shop")
    session = await clients.login(owner.email)
    created = await session.post(PRODUCTS, json=product_body())
    assert created.status_code == 201
    pending = (await session.post(f"{PRODUCTS}/{created.json()['id']}/submit")).json()
    assert pending["status"] == "pending_review"  # flagged: staff routes have work to do
    return session, pending


async def test_another_seller_gets_404_and_nothing_changes(
    runtime: Runtime, clients: Clients
) -> None:
    _, product = await seeded(runtime, clients)
    intruder = await create_seller(runtime, handle="intruder")
    b = await clients.login(intruder.email)
    before = await snapshot(runtime, product["id"])
    for method, url, body in seller_routes(product["id"], product["version"]):
        response = await call(b.client, b.headers, method, url, body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["code"] == "product_not_found", (method, url)
        # the answer is the same as for an id that does not exist
        missing = await call(
            b.client, b.headers, method, url.replace(product["id"], "prd_nope"), body
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "product_not_found")
        assert await snapshot(runtime, product["id"]) == before, (method, url)
    listed = (await b.get(PRODUCTS)).json()
    assert listed["items"] == []


async def test_shoppers_and_anonymous_are_denied_on_seller_routes(
    runtime: Runtime, clients: Clients
) -> None:
    _, product = await seeded(runtime, clients)
    await create_user(runtime, email="shopper@example.com")
    shopper = await clients.login("shopper@example.com")
    anonymous = clients.anonymous()
    before = await snapshot(runtime, product["id"])
    routes = [*seller_routes(product["id"], product["version"]), ("GET", PRODUCTS, None)]
    routes.append(("POST", PRODUCTS, product_body()))
    for method, url, body in routes:
        as_shopper = await call(shopper.client, shopper.headers, method, url, body)
        assert (as_shopper.status_code, as_shopper.json()["code"]) == (403, "shop_required"), (
            method,
            url,
        )
        as_nobody = await call(anonymous, {}, method, url, body)
        assert as_nobody.status_code == 401, (method, url)
    assert await snapshot(runtime, product["id"]) == before


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("seller", "permission_denied"),
        ("shopper", "permission_denied"),
        ("staff_without_role", "not_a_reviewer"),
    ],
)
async def test_non_reviewers_are_denied_on_staff_routes(
    runtime: Runtime, clients: Clients, who: str, code: str
) -> None:
    owner, product = await seeded(runtime, clients)
    if who == "seller":
        session = owner  # the product's own seller cannot review it
    elif who == "shopper":
        await create_user(runtime, email="shopper@example.com")
        session = await clients.login("shopper@example.com")
    else:
        await create_user(
            runtime,
            email="support@example.com",
            roles=("staff",),
            jurisdiction="US",
            staff_roles=("support", "trust_officer"),
        )
        session = await clients.login("support@example.com")
    before = await snapshot(runtime, product["id"])
    audited = await audit_size(runtime)
    for method, url, body in staff_routes(product["id"]):
        response = await call(session.client, session.headers, method, url, body)
        assert (response.status_code, response.json()["code"]) == (403, code), (method, url)
        anonymous = await call(clients.anonymous(), {}, method, url, body)
        assert anonymous.status_code == 401
    assert await snapshot(runtime, product["id"]) == before
    assert await audit_size(runtime) == audited


async def test_reviewer_tokens_cannot_review(runtime: Runtime, clients: Clients) -> None:
    _, product = await seeded(runtime, clients)
    await create_user(
        runtime,
        email="reviewer@example.com",
        roles=("staff",),
        jurisdiction="US",
        staff_roles=("catalog_reviewer",),
    )
    reviewer = await clients.login("reviewer@example.com")
    token = await reviewer.post(
        f"{API}/me/tokens", json={"name": "t", "scopes": ["catalog:read", "catalog:write"]}
    )
    bearer = {"authorization": f"Bearer {token.json()['token']}"}
    before = await snapshot(runtime, product["id"])
    response = await clients.anonymous().post(
        f"{API}/staff/listings/{product['id']}/approve", json={}, headers=bearer
    )
    assert (response.status_code, response.json()["code"]) == (403, "staff_session_required")
    assert await snapshot(runtime, product["id"]) == before


async def test_seller_pages_of_another_shop_are_404(runtime: Runtime, clients: Clients) -> None:
    _, product = await seeded(runtime, clients)
    intruder = await create_seller(runtime, handle="intruder")
    b = await clients.login(intruder.email)
    before = await snapshot(runtime, product["id"])
    page = await b.client.get(f"/seller/products/{product['id']}", headers=HTML)
    assert page.status_code == 404
    assert "Stoneware" not in page.text
    for action in ("submit", "archive", "unarchive", "delete"):
        response = await b.form(f"/seller/products/{product['id']}/{action}", {})
        assert response.status_code == 404, action
    edit = await b.form(
        f"/seller/products/{product['id']}",
        {"title": "Hijacked", "version": str(product["version"])},
    )
    assert edit.status_code == 404
    assert await snapshot(runtime, product["id"]) == before


async def test_a_suspended_shop_can_read_but_not_change_its_catalog(
    runtime: Runtime, clients: Clients
) -> None:
    session, product = await seeded(runtime, clients)
    async with runtime.databases.transaction(GLOBAL) as db:
        shop = await db.scalar(select(Shop).where(Shop.handle == "owner-shop"))
        assert shop is not None
        shop.status = ShopStatus.SUSPENDED.value
    before = await snapshot(runtime, product["id"])
    for method, url, body in seller_routes(product["id"], product["version"]):
        response = await call(session.client, session.headers, method, url, body)
        if method == "GET":
            assert response.status_code == 200, (url, response.text)
        else:
            assert (response.status_code, response.json()["code"]) == (403, "shop_suspended"), (
                method,
                url,
            )
    created = await session.post(PRODUCTS, json=product_body())
    assert (created.status_code, created.json()["code"]) == (403, "shop_suspended")
    assert await snapshot(runtime, product["id"]) == before
    assert (await session.get(PRODUCTS)).json()["items"][0]["id"] == product["id"]
