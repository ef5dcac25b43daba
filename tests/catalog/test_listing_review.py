"""Staff listing review through the API: the flagged queue, approve, reject with reasons the
seller sees, takedown, and the control-plane audit entries each decision writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty.models import AuditEntry
from tests.catalog.catalog_helpers import API, Clients, Session, add_image, product_body
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import Seller, create_seller

PRODUCTS = f"{API}/seller/products"
LISTINGS = f"{API}/staff/listings"


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    opened = Clients(app)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def seller(runtime: Runtime) -> Seller:
    return await create_seller(runtime)


@pytest.fixture
async def shop_session(clients: Clients, seller: Seller) -> Session:
    return await clients.login(seller.email)


async def reviewer(runtime: Runtime, clients: Clients, country: str = "US") -> Session:
    email = f"reviewer-{country.lower()}@example.com"
    await create_user(
        runtime,
        email=email,
        country=country,
        roles=("staff",),
        jurisdiction=country,
        staff_roles=("catalog_reviewer",),
    )
    return await clients.login(email)


async def flagged_product(session: Session, **overrides: Any) -> dict[str, Any]:
    """Submitted without an image: flagged for staff (missing_image)."""
    created = await session.post(PRODUCTS, json=product_body(**overrides))
    assert created.status_code == 201, created.text
    submitted = (await session.post(f"{PRODUCTS}/{created.json()['id']}/submit")).json()
    assert submitted["status"] == "pending_review"
    return dict(submitted)


async def audit_kinds(runtime: Runtime, subject: str) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.databases.session(CONTROL) as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == subject).order_by(AuditEntry.seq)
        )
        return [(row.kind, dict(row.attributes)) for row in rows]


async def test_flagged_listing_is_queued_and_approved(
    runtime: Runtime, clients: Clients, shop_session: Session
) -> None:
    first = await flagged_product(shop_session, title="First mug")
    second = await flagged_product(shop_session, title="Second mug")
    staff = await reviewer(runtime, clients, "SG")  # any region reviews the global catalog
    queue = (await staff.get(LISTINGS, params={"outcome": "flagged"})).json()
    assert [item["id"] for item in queue["items"]] == [first["id"], second["id"]]  # oldest first
    assert queue["items"][0]["review_reasons"][0]["code"] == "missing_image"
    paged = (await staff.get(LISTINGS, params={"limit": 1})).json()
    assert [i["id"] for i in paged["items"]] == [first["id"]]
    rest = (await staff.get(LISTINGS, params={"limit": 1, "cursor": paged["next_cursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [second["id"]]
    assert rest["next_cursor"] is None

    detail = (await staff.get(f"{LISTINGS}/{first['id']}")).json()
    assert [r["outcome"] for r in detail["reviews"]] == ["flagged"]
    assert detail["variants"][0]["cost_cents"] is None

    approved = await staff.post(f"{LISTINGS}/{first['id']}/approve", json={"note": "photos ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "live"
    assert [r["outcome"] for r in approved.json()["reviews"]] == ["approved", "flagged"]
    seller_view = (await shop_session.get(f"{PRODUCTS}/{first['id']}")).json()
    assert seller_view["status"] == "live"
    assert seller_view["review_reasons"] == []
    public = await clients.anonymous().get(f"{API}/products/{first['id']}")
    assert public.status_code == 200
    trail = await audit_kinds(runtime, first["id"])
    assert [kind for kind, _ in trail] == ["catalog.review"]
    assert trail[0][1]["action"] == "approve"
    queue = (await staff.get(LISTINGS)).json()
    assert [item["id"] for item in queue["items"]] == [second["id"]]
    twice = await staff.post(f"{LISTINGS}/{first['id']}/approve", json={})
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")


async def test_reject_needs_reasons_and_shows_them_to_the_seller(
    runtime: Runtime, clients: Clients, shop_session: Session
) -> None:
    product = await flagged_product(shop_session)
    staff = await reviewer(runtime, clients)
    empty = await staff.post(f"{LISTINGS}/{product['id']}/reject", json={"reasons": [" "]})
    assert (empty.status_code, empty.json()["code"]) == (422, "reasons_required")
    assert await audit_kinds(runtime, product["id"]) == []
    rejected = await staff.post(
        f"{LISTINGS}/{product['id']}/reject",
        json={"reasons": ["The photos show a different product."]},
    )
    assert rejected.json()["status"] == "rejected"
    mine = (await shop_session.get(f"{PRODUCTS}/{product['id']}")).json()
    assert mine["status"] == "rejected"
    assert [r["message"] for r in mine["review_reasons"]] == [
        "The photos show a different product."
    ]
    assert mine["latest_review"]["outcome"] == "rejected"
    trail = await audit_kinds(runtime, product["id"])
    assert trail == [
        (
            "catalog.review",
            {
                "action": "reject",
                "product": product["id"],
                "shop": product["shop_id"],
                "status": "rejected",
                "reasons": ["The photos show a different product."],
            },
        )
    ]
    rejected_queue = (await staff.get(LISTINGS, params={"outcome": "rejected"})).json()
    assert [i["id"] for i in rejected_queue["items"]] == [product["id"]]


async def test_takedown_of_a_live_listing(
    runtime: Runtime, clients: Clients, shop_session: Session, seller: Seller
) -> None:
    created = (await shop_session.post(PRODUCTS, json=product_body())).json()
    await add_image(runtime, created["id"], seller.shop.id)
    live = (await shop_session.post(f"{PRODUCTS}/{created['id']}/submit")).json()
    assert live["status"] == "live"
    staff = await reviewer(runtime, clients)
    no_reason = await staff.post(f"{LISTINGS}/{created['id']}/takedown", json={})
    assert no_reason.status_code == 422
    down = await staff.post(
        f"{LISTINGS}/{created['id']}/takedown", json={"reasons": ["Reported as counterfeit."]}
    )
    assert down.json()["status"] == "rejected"
    assert (await clients.anonymous().get(f"{API}/products/{created['id']}")).status_code == 404
    trail = await audit_kinds(runtime, created["id"])
    assert [(kind, attrs["action"]) for kind, attrs in trail] == [("catalog.takedown", "takedown")]
    # only live listings can be taken down
    again = await staff.post(f"{LISTINGS}/{created['id']}/takedown", json={"reasons": ["again"]})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


async def test_restricted_keyword_flags_then_staff_approve(
    runtime: Runtime, clients: Clients, shop_session: Session, seller: Seller
) -> None:
    created = (
        await shop_session.post(
            PRODUCTS, json=product_body(title="Chef knife", description_html="<p>Sharp</p>")
        )
    ).json()
    await add_image(runtime, created["id"], seller.shop.id)
    body = (await shop_session.post(f"{PRODUCTS}/{created['id']}/submit")).json()
    assert body["status"] == "pending_review"
    assert [r["code"] for r in body["review_reasons"]] == ["restricted_keyword"]
    staff = await reviewer(runtime, clients)
    approved = await staff.post(f"{LISTINGS}/{created['id']}/approve", json={})
    assert approved.json()["status"] == "live"


async def test_prohibited_category_is_rejected(
    shop_session: Session, runtime: Runtime, seller: Seller
) -> None:
    created = (
        await shop_session.post(PRODUCTS, json=product_body(title="Brass set", category_id=3833))
    ).json()
    await add_image(runtime, created["id"], seller.shop.id)
    body = (await shop_session.post(f"{PRODUCTS}/{created['id']}/submit")).json()
    assert body["status"] == "rejected"
    codes = [r["code"] for r in body["review_reasons"]]
    assert codes[0] == "prohibited_category"  # Mature > Weapons covers Brass Knuckles
    assert "restricted_category" in codes  # Mature also needs review: reasons are complete
