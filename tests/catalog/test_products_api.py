"""The seller catalog API end to end: create -> submit -> live, variants and price history,
optimistic concurrency, sanitized descriptions, validation codes, delete/archive, the public
catalog, and token scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.catalog.models import PriceChange, Product
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.catalog.catalog_helpers import (
    API,
    MUG,
    Clients,
    Session,
    add_image,
    product_body,
    snapshot,
)
from tests.fixtures.sellers import Seller, create_seller

PRODUCTS = f"{API}/seller/products"


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    opened = Clients(app)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def seller(runtime: Runtime) -> Seller:
    return await create_seller(runtime, handle="clayworks")


@pytest.fixture
async def session(clients: Clients, seller: Seller) -> Session:
    return await clients.login(seller.email)


async def create(session: Session, **overrides: Any) -> dict[str, Any]:
    response = await session.post(PRODUCTS, json=product_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_submit_goes_live_and_is_public(
    session: Session, seller: Seller, runtime: Runtime, clients: Clients
) -> None:
    product = await create(session)
    assert product["status"] == "draft"
    assert product["handle"] == "stoneware-mug"
    assert product["version"] == 1
    assert [c["name"] for c in product["breadcrumb"]][-1] == "Mugs"
    assert product["breadcrumb"][0]["name"] == "Home & Garden"
    assert [v["sku"] for v in product["variants"]] == ["MUG-BLUE", "MUG-GREEN"]
    assert product["variants"][1]["barcode"] == "4006381333931"

    # a draft is not public
    anonymous = clients.anonymous()
    assert (await anonymous.get(f"{API}/products/{product['id']}")).status_code == 404

    await add_image(runtime, product["id"], seller.shop.id)
    submitted = await session.post(f"{PRODUCTS}/{product['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["status"] == "live"
    assert body["live_at"] is not None
    assert body["review_reasons"] == []
    assert body["latest_review"]["outcome"] == "passed"
    assert body["latest_review"]["rules_version"] == "default-2026-11"

    public = await anonymous.get(f"{API}/products/{product['id']}")
    assert public.status_code == 200
    data = public.json()
    assert data["shop"]["handle"] == "clayworks"
    assert "cost_cents" not in data["variants"][0]
    assert "review_reasons" not in data and "latest_review" not in data
    listing = await anonymous.get(f"{API}/products", params={"shop": "clayworks"})
    assert [item["id"] for item in listing.json()["items"]] == [product["id"]]
    assert listing.json()["items"][0]["min_price_cents"] == 2400


async def test_missing_image_flags_and_reasons_are_shown(session: Session) -> None:
    product = await create(session)
    response = await session.post(f"{PRODUCTS}/{product['id']}/submit")
    body = response.json()
    assert body["status"] == "pending_review"
    assert [r["code"] for r in body["review_reasons"]] == ["missing_image"]
    again = await session.post(f"{PRODUCTS}/{product['id']}/submit")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


async def test_prohibited_keyword_is_rejected_with_reasons(
    session: Session, seller: Seller, runtime: Runtime
) -> None:
    product = await create(session, title="Replica designer mug")
    await add_image(runtime, product["id"], seller.shop.id)
    body = (await session.post(f"{PRODUCTS}/{product['id']}/submit")).json()
    assert body["status"] == "rejected"
    codes = [r["code"] for r in body["review_reasons"]]
    assert codes == ["prohibited_keyword"]
    assert "replica" in body["review_reasons"][0]["message"]
    # the seller fixes the title and resubmits: rejected -> pending_review -> live
    patched = await session.patch(
        f"{PRODUCTS}/{product['id']}",
        json={"title": "Designer mug", "version": body["version"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "rejected"
    live = await session.post(f"{PRODUCTS}/{product['id']}/submit")
    assert live.json()["status"] == "live"
    assert live.json()["review_reasons"] == []


async def test_pending_shop_cannot_submit(runtime: Runtime, clients: Clients) -> None:
    from shopreel.catalog.models import ShopStatus

    pending = await create_seller(runtime, status=ShopStatus.PENDING)
    session = await clients.login(pending.email)
    product = await create(session)  # drafts are fine before approval
    before = await snapshot(runtime, product["id"])
    response = await session.post(f"{PRODUCTS}/{product['id']}/submit")
    assert (response.status_code, response.json()["code"]) == (409, "shop_not_approved")
    assert await snapshot(runtime, product["id"]) == before


async def test_description_is_sanitized(session: Session, runtime: Runtime) -> None:
    html = '<p onclick="x()">Hi<script>alert(1)</script><img src=x onerror=alert(2)></p>'
    product = await create(session, description_html=html)
    async with runtime.databases.session(GLOBAL) as db:
        stored = await db.get(Product, product["id"])
        assert stored is not None
        text = stored.description_html.lower()
    assert "<script" not in text and "onerror" not in text and "onclick" not in text
    assert "alert(1)" not in text
    assert "Hi" in stored.description_html
    patched = await session.patch(
        f"{PRODUCTS}/{product['id']}",
        json={"description_html": '<a href="javascript:alert(1)">x</a><svg onload=1>'},
        headers={"if-match": '"1"'},
    )
    assert patched.status_code == 200
    assert "javascript" not in patched.json()["description_html"]
    assert "onload" not in patched.json()["description_html"]


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"category_id": 999999999}, 422, "invalid_category"),
        ({"option_names": ["Size", "size"]}, 422, "invalid_options"),
        ({"option_names": ["A", "B", "C", "D"]}, 422, "validation_failed"),
        ({"option_names": ["Color", ""]}, 422, "invalid_options"),
        (
            {"variants": [{"options": {}, "price_cents": 100}]},
            422,
            "missing_option_value",
        ),
        (
            {
                "variants": [
                    {"options": {"Color": "Blue"}, "price_cents": 100},
                    {"options": {"color": " blue "}, "price_cents": 200},
                ]
            },
            422,
            "duplicate_options",
        ),
        (
            {
                "variants": [
                    {"options": {"Color": "Blue"}, "price_cents": 100, "compare_at_cents": 100}
                ]
            },
            422,
            "invalid_compare_at",
        ),
        (
            {
                "variants": [
                    {"options": {"Color": "Blue"}, "price_cents": 100, "barcode": "4006381333932"}
                ]
            },
            422,
            "invalid_barcode",
        ),
        (
            {
                "variants": [
                    {"options": {"Color": "Blue"}, "price_cents": 100, "barcode": "40063813339a"}
                ]
            },
            422,
            "invalid_barcode",
        ),
        (
            {"variants": [{"options": {"Colour": "Blue"}, "price_cents": 100}]},
            422,
            "invalid_options",
        ),
        ({"tags": ["x" * 256]}, 422, "invalid_tags"),
        ({"tags": [f"t{i}" for i in range(51)]}, 422, "invalid_tags"),
        ({"handle": "not a handle!"}, 422, "invalid_handle"),
        (
            {"variants": [{"options": {"Color": "Blue"}, "price_cents": -1}]},
            422,
            "validation_failed",
        ),
    ],
)
async def test_invalid_products_are_refused(
    session: Session, runtime: Runtime, overrides: dict[str, Any], status: int, code: str
) -> None:
    response = await session.post(PRODUCTS, json=product_body(**overrides))
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    async with runtime.databases.session(GLOBAL) as db:
        assert (await db.scalars(select(Product))).first() is None


async def test_too_many_variants(session: Session) -> None:
    variants = [{"options": {"Color": f"c{i}"}, "price_cents": 100} for i in range(101)]
    response = await session.post(PRODUCTS, json=product_body(variants=variants))
    assert response.status_code == 422
    hundred = variants[:100]
    assert (await session.post(PRODUCTS, json=product_body(variants=hundred))).status_code == 201


async def test_handles_are_unique_per_shop(session: Session) -> None:
    first = await create(session)
    second = await create(session)
    assert (first["handle"], second["handle"]) == ("stoneware-mug", "stoneware-mug-2")
    taken = await session.post(PRODUCTS, json=product_body(handle="stoneware-mug"))
    assert (taken.status_code, taken.json()["code"]) == (409, "handle_taken")
    unicode = await create(session, title="Crème Brûlée Bowl")
    assert unicode["handle"] == "crème-brûlée-bowl"


async def test_version_conflict_and_required(session: Session, runtime: Runtime) -> None:
    product = await create(session)
    url = f"{PRODUCTS}/{product['id']}"
    fetched = await session.get(url)
    assert fetched.headers["etag"] == '"1"'
    missing = await session.patch(url, json={"title": "New"})
    assert (missing.status_code, missing.json()["code"]) == (428, "version_required")
    ok = await session.patch(url, json={"title": "New"}, headers={"if-match": '"1"'})
    assert ok.json()["version"] == 2
    before = await snapshot(runtime, product["id"])
    stale = await session.patch(url, json={"title": "Stale", "version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "version_conflict")
    assert await snapshot(runtime, product["id"]) == before


async def test_variant_grid_keeps_ids_and_records_price_history(
    session: Session, runtime: Runtime
) -> None:
    product = await create(session)
    blue, green = product["variants"]
    response = await session.put(
        f"{PRODUCTS}/{product['id']}/variants",
        json={
            "version": product["version"],
            "option_names": ["Color"],
            "variants": [
                {"options": {"Color": "blue"}, "sku": "MUG-BLUE", "price_cents": 2200},
                {"options": {"Color": "Red"}, "sku": "MUG-RED", "price_cents": 2500},
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    by_sku = {v["sku"]: v for v in body["variants"]}
    assert by_sku["MUG-BLUE"]["id"] == blue["id"]  # same options_key, same id
    assert by_sku["MUG-RED"]["id"] not in (blue["id"], green["id"])
    assert "MUG-GREEN" not in by_sku
    history = (await session.get(f"{PRODUCTS}/{product['id']}/price-history")).json()
    rows = sorted((h["sku"], h["price_cents"], h["reason"]) for h in history)
    assert rows == [
        ("MUG-BLUE", 2200, "update"),
        ("MUG-BLUE", 2400, "create"),
        ("MUG-RED", 2500, "create"),
    ]
    assert all(h["actor_id"] for h in history)
    # unchanged prices add nothing
    again = await session.put(
        f"{PRODUCTS}/{product['id']}/variants",
        json={
            "variants": [
                {"options": {"Color": "Blue"}, "sku": "MUG-BLUE-2", "price_cents": 2200},
                {"options": {"Color": "Red"}, "sku": "MUG-RED", "price_cents": 2500},
            ]
        },
    )
    assert again.status_code == 200
    async with runtime.databases.session(GLOBAL) as db:
        count = len(list(await db.scalars(select(PriceChange))))
    assert count == 3


async def test_live_price_change_rescreens(
    session: Session, seller: Seller, runtime: Runtime
) -> None:
    product = await create(session)
    await add_image(runtime, product["id"], seller.shop.id)
    live = (await session.post(f"{PRODUCTS}/{product['id']}/submit")).json()
    assert live["status"] == "live"
    # a passing re-screen stays live
    ok = await session.patch(
        f"{PRODUCTS}/{product['id']}", json={"title": "Big mug", "version": live["version"]}
    )
    assert ok.json()["status"] == "live"
    assert ok.json()["latest_review"]["outcome"] == "passed"
    # a fake discount (compare-at > 10x) is flagged: back to review, off the public catalog
    flagged = await session.put(
        f"{PRODUCTS}/{product['id']}/variants",
        json={
            "variants": [
                {"options": {"Color": "Blue"}, "price_cents": 100, "compare_at_cents": 5000}
            ]
        },
    )
    body = flagged.json()
    assert body["status"] == "pending_review"
    assert [r["code"] for r in body["review_reasons"]] == ["implausible_compare_at"]
    assert (await session.get(f"{API}/products/{product['id']}")).status_code == 404
    # a non-material edit (vendor) of a pending listing does not re-screen
    vendor = await session.patch(
        f"{PRODUCTS}/{product['id']}", json={"vendor": "X", "version": body["version"]}
    )
    assert vendor.json()["latest_review"]["id"] == body["latest_review"]["id"]


async def test_delete_draft_archives_others_and_unarchive(
    session: Session, seller: Seller, runtime: Runtime
) -> None:
    draft = await create(session)
    deleted = await session.delete(f"{PRODUCTS}/{draft['id']}")
    assert deleted.json() == {"id": draft["id"], "outcome": "deleted"}
    assert (await snapshot(runtime, draft["id"]))["product"] is None
    assert (await session.get(f"{PRODUCTS}/{draft['id']}")).status_code == 404

    other = await create(session)
    await session.post(f"{PRODUCTS}/{other['id']}/submit")  # pending_review (no image)
    archived = await session.delete(f"{PRODUCTS}/{other['id']}")
    assert archived.json()["outcome"] == "archived"
    current = (await session.get(f"{PRODUCTS}/{other['id']}")).json()
    assert current["status"] == "archived"
    frozen = await session.patch(
        f"{PRODUCTS}/{other['id']}", json={"title": "x", "version": current["version"]}
    )
    assert (frozen.status_code, frozen.json()["code"]) == (409, "product_archived")
    back = await session.post(f"{PRODUCTS}/{other['id']}/unarchive")
    assert back.json()["status"] == "draft"
    twice = await session.post(f"{PRODUCTS}/{other['id']}/unarchive")
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")
    archive = await session.post(f"{PRODUCTS}/{other['id']}/archive")
    assert archive.json()["status"] == "archived"


async def test_list_filters_search_and_cursor(session: Session) -> None:
    ids = [(await create(session, title=f"Mug {i}"))["id"] for i in range(5)]
    await create(
        session,
        title="Teapot",
        variants=[{"options": {"Color": "White"}, "sku": "TEA-POT-1", "price_cents": 5000}],
    )
    page = (await session.get(PRODUCTS, params={"limit": 2, "q": "mug"})).json()
    assert [p["id"] for p in page["items"]] == ids[::-1][:2]
    seen = [p["id"] for p in page["items"]]
    while page["next_cursor"]:
        page = (
            await session.get(
                PRODUCTS, params={"limit": 2, "q": "mug", "cursor": page["next_cursor"]}
            )
        ).json()
        seen += [p["id"] for p in page["items"]]
    assert seen == ids[::-1]
    by_sku = (await session.get(PRODUCTS, params={"q": "tea-pot"})).json()["items"]
    assert [p["title"] for p in by_sku] == ["Teapot"]
    assert (await session.get(PRODUCTS, params={"status": "live"})).json()["items"] == []
    by_category = (await session.get(PRODUCTS, params={"category_id": MUG})).json()
    assert len(by_category["items"]) == 6
    assert (await session.get(PRODUCTS, params={"status": "gone"})).status_code == 422


async def test_cookie_writes_need_csrf(session: Session, runtime: Runtime) -> None:
    response = await session.client.post(PRODUCTS, json=product_body())
    assert response.status_code == 403
    async with runtime.databases.session(GLOBAL) as db:
        assert (await db.scalars(select(Product))).first() is None


async def test_token_scopes(session: Session, runtime: Runtime, clients: Clients) -> None:
    async def token(scopes: list[str]) -> str:
        response = await session.post(f"{API}/me/tokens", json={"name": "cli", "scopes": scopes})
        assert response.status_code == 201, response.text
        value: str = response.json()["token"]
        return value

    reader = {"authorization": f"Bearer {await token(['catalog:read'])}"}
    writer = {"authorization": f"Bearer {await token(['catalog:read', 'catalog:write'])}"}
    client = clients.anonymous()
    denied = await client.post(PRODUCTS, json=product_body(), headers=reader)
    assert denied.status_code == 403
    created = await client.post(PRODUCTS, json=product_body(), headers=writer)
    assert created.status_code == 201  # tokens need no CSRF header
    listed = await client.get(PRODUCTS, headers=reader)
    assert [p["id"] for p in listed.json()["items"]] == [created.json()["id"]]
