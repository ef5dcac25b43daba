"""The order pages: "My orders" and the seller center's incoming orders."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.orders.conftest import World
from tests.orders.helpers import signed_in

HTML = {"Accept": "text/html"}


async def test_my_orders_pages(app: FastAPI, world: World) -> None:
    async with signed_in(app, "alice@example.com") as alice:
        listing = await alice.get("/orders", headers=HTML)
        detail = await alice.get(f"/orders/{world.o1.id}", headers=HTML)
    assert listing.status_code == 200
    assert "My orders" in listing.text
    assert listing.text.index(world.o2.id) < listing.text.index(world.o1.id)
    assert world.one.shop.name in listing.text and world.o3.id not in listing.text
    assert 'href="/orders"' in listing.text  # the account menu links here
    assert detail.status_code == 200
    for text in ("Ada Buyer", "1 Main St", "Austin", "Order placed", "US-TX", "Mug"):
        assert text in detail.text
    total = f"${world.o1.total_cents // 100}.{world.o1.total_cents % 100:02d}"
    assert total in detail.text


async def test_someone_elses_order_page_is_404(app: FastAPI, world: World) -> None:
    async with signed_in(app, "bob@example.com") as bob:
        page = await bob.get(f"/orders/{world.o1.id}", headers=HTML)
        empty = await bob.get("/orders", headers=HTML)
    assert page.status_code == 404 and "Ada Buyer" not in page.text
    assert "No orders yet" in empty.text


async def test_login_is_required(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/orders", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/orders"


async def test_seller_center_orders_pages(app: FastAPI, world: World) -> None:
    async with signed_in(app, "one@example.com") as seller:
        listing = await seller.get("/seller/orders", headers=HTML)
        detail = await seller.get(f"/seller/orders/{world.o1.id}", headers=HTML)
        other = await seller.get(f"/seller/orders/{world.o2.id}", headers=HTML)
    assert listing.status_code == 200
    assert world.o1.id in listing.text and world.o3.id in listing.text
    assert world.o2.id not in listing.text
    assert 'href="/seller/orders" aria-current="page"' in listing.text  # the nav entry
    assert detail.status_code == 200
    assert "TX, US" in detail.text and "Order placed" in detail.text
    for page in (listing, detail):
        for secret in ("Ada Buyer", "1 Main St", "Zoe", "Hauptstr", "78701"):
            assert secret not in page.text
    assert other.status_code == 404


async def test_a_buyer_without_a_shop_goes_to_onboarding(app: FastAPI, world: World) -> None:
    async with signed_in(app, "alice@example.com") as alice:
        response = await alice.get("/seller/orders", headers=HTML)
        detail = await alice.get(f"/seller/orders/{world.o1.id}", headers=HTML)
    assert response.status_code == 303 and response.headers["location"] == "/seller/onboarding"
    assert detail.status_code == 303
