"""The orders JSON API: what buyers and sellers see, and the authorization matrix (another
buyer, another shop, another region: 404 and nothing changed)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from shopreel.runtime import Runtime
from tests.orders.conftest import World
from tests.orders.helpers import bearer, signed_in, snapshot

API = "/api/v1"


async def test_buyer_lists_own_orders_newest_first_with_paging(app: FastAPI, world: World) -> None:
    async with signed_in(app, "alice@example.com") as alice:
        listed = await alice.get(f"{API}/orders")
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert [o["id"] for o in body["items"]] == [world.o2.id, world.o1.id]
        assert body["next_cursor"] is None
        first = body["items"][1]
        assert first["shop_name"] == world.one.shop.name
        assert first["total_cents"] == world.o1.total_cents and first["status"] == "paid"
        assert "ship_to" not in first

        page = (await alice.get(f"{API}/orders", params={"limit": 1})).json()
        assert [o["id"] for o in page["items"]] == [world.o2.id]
        rest = (
            await alice.get(f"{API}/orders", params={"limit": 1, "cursor": page["next_cursor"]})
        ).json()
        assert [o["id"] for o in rest["items"]] == [world.o1.id]
        assert rest["next_cursor"] is None
        bad = await alice.get(f"{API}/orders", params={"cursor": "garbage"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_buyer_reads_one_order_with_lines_address_and_history(
    app: FastAPI, world: World
) -> None:
    async with signed_in(app, "alice@example.com") as alice:
        response = await alice.get(f"{API}/orders/{world.o1.id}")
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["ship_to"]["name"] == "Ada Buyer" and order["ship_to"]["state"] == "TX"
    assert [(line["quantity"], line["net_cents"]) for line in order["lines"]] == [
        (2, 3798),
        (1, 1999),
    ]
    assert [e["kind"] for e in order["events"]] == ["order.placed"]
    assert order["checkout_id"] == world.o1.checkout_id
    assert order["tax_jurisdiction"] == "US-TX"


@pytest.mark.parametrize(
    ("who", "order"),
    [
        ("bob@example.com", "o1"),  # another buyer of the same region
        ("zoe@example.com", "o1"),  # a buyer of another region
        ("alice@example.com", "o3"),  # another region's order
        ("one@example.com", "o1"),  # the seller is not the buyer
    ],
)
async def test_other_peoples_orders_are_404_and_nothing_changes(
    app: FastAPI, runtime: Runtime, world: World, who: str, order: str
) -> None:
    order_id = getattr(world, order).id
    before = await snapshot(runtime)
    async with signed_in(app, who) as client:
        response = await client.get(f"{API}/orders/{order_id}")
        missing = await client.get(f"{API}/orders/ord_us_00000000000000000000000000")
        listed = await client.get(f"{API}/orders")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "order_not_found"
    # indistinguishable from an order that does not exist
    assert missing.status_code == 404 and missing.json()["detail"] == response.json()["detail"]
    assert order_id not in listed.text
    assert await snapshot(runtime) == before


async def test_scope_and_login_are_required(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.get(f"{API}/orders")).status_code == 401
    assert (await client.get(f"{API}/seller/orders")).status_code == 401
    without = await bearer(app, "alice@example.com", ("catalog:read",))
    refused = await client.get(f"{API}/orders/{world.o1.id}", headers=without)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    allowed = await bearer(app, "alice@example.com", ("orders:read",))
    assert (await client.get(f"{API}/orders/{world.o1.id}", headers=allowed)).status_code == 200
    seller = await bearer(app, "one@example.com", ("orders:read",))
    assert (await client.get(f"{API}/seller/orders", headers=seller)).status_code == 200


async def test_seller_sees_incoming_orders_of_every_region_without_the_buyer(
    app: FastAPI, world: World
) -> None:
    async with signed_in(app, "one@example.com") as seller:
        listed = await seller.get(f"{API}/seller/orders")
        first = await seller.get(f"{API}/seller/orders", params={"limit": 1})
        rest = await seller.get(
            f"{API}/seller/orders", params={"limit": 1, "cursor": first.json()["next_cursor"]}
        )
        detail = await seller.get(f"{API}/seller/orders/{world.o3.id}")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [o["id"] for o in items] == [world.o3.id, world.o1.id]  # intl and US, newest first
    assert [(o["ship_to_state"], o["ship_to_country"]) for o in items] == [("", "DE"), ("TX", "US")]
    assert [o["id"] for o in first.json()["items"]] == [world.o3.id]
    assert [o["id"] for o in rest.json()["items"]] == [world.o1.id]
    assert rest.json()["next_cursor"] is None
    for text in (listed.text, detail.text):
        for secret in ("Ada Buyer", "Main St", "Zoe", "Hauptstr", "78701", "555", 'ship_to"'):
            assert secret not in text
        for key in ("buyer_id", "payment_id", "checkout_id", world.zoe.id, world.alice.id):
            assert key not in text
    assert detail.status_code == 200
    body = detail.json()
    assert [(e["kind"], e["actor"]) for e in body["events"]] == [("order.placed", "buyer")]
    assert body["events"][0]["data"] == {
        "currency": "USD",
        "total_cents": world.o3.total_cents,
        "item_count": 3,
    }
    assert [line["title"] for line in body["lines"]] == [
        line["title"] for line in items[0]["lines"]
    ]


@pytest.mark.parametrize(
    ("who", "order", "code"),
    [
        ("one@example.com", "o2", "order_not_found"),  # another shop's order
        ("two@example.com", "o1", "order_not_found"),
        ("two@example.com", "o3", "order_not_found"),  # another shop's, another region
        ("alice@example.com", "o1", "shop_required"),  # the buyer has no shop
    ],
)
async def test_seller_denials(
    app: FastAPI, runtime: Runtime, world: World, who: str, order: str, code: str
) -> None:
    before = await snapshot(runtime)
    async with signed_in(app, who) as client:
        response = await client.get(f"{API}/seller/orders/{getattr(world, order).id}")
        listed = await client.get(f"{API}/seller/orders")
    assert response.json()["code"] == code
    assert response.status_code == (404 if code == "order_not_found" else 403)
    assert getattr(world, order).id not in listed.text
    assert await snapshot(runtime) == before


async def test_second_shop_sees_only_its_order(app: FastAPI, world: World) -> None:
    async with signed_in(app, "two@example.com") as seller:
        listed = await seller.get(f"{API}/seller/orders")
    assert [o["id"] for o in listed.json()["items"]] == [world.o2.id]
    assert listed.json()["items"][0]["ship_to_state"] == "CA"
