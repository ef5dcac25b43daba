"""The cart JSON API: shapes, scopes, stable error codes, and the cross-user matrix (a
cart is only ever its owner's; another user's calls change nothing)."""

from __future__ import annotations

from typing import Any

import httpx

from shopreel.runtime import Runtime
from tests.cart.helpers import (
    bearer,
    carts_snapshot,
    create_buyer,
    lines_in,
    set_price,
    set_product_status,
    stock,
)
from tests.fixtures.factories import api_login
from tests.fixtures.sellers import create_product, create_seller

PROBLEM = "application/problem+json"


async def _world(runtime: Runtime) -> dict[str, Any]:
    a = await create_seller(runtime)
    b = await create_seller(runtime)
    _, (shirt,) = await create_product(runtime, a.shop, title="Shirt", variants=(((), 1500),))
    _, (mug,) = await create_product(runtime, b.shop, title="Mug", variants=(((), 900),))
    _, (draft,) = await create_product(runtime, a.shop, title="Draft", status="draft")
    await stock(runtime, shirt, 5)
    await stock(runtime, mug, 10)
    await stock(runtime, draft, 10)
    return {"a": a, "b": b, "shirt": shirt, "mug": mug, "draft": draft}


async def test_add_update_remove_and_read(
    app: Any, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await _world(runtime)
    buyer = await create_buyer(runtime)
    headers = await bearer(app, buyer.email)

    empty = await client.get("/api/v1/cart", headers=headers)
    assert empty.status_code == 200
    assert empty.json()["sellers"] == [] and empty.json()["id"] is None

    added = await client.post(
        "/api/v1/cart/items", json={"variant_id": world["shirt"].id, "quantity": 2}, headers=headers
    )
    assert added.status_code == 200, added.text
    await client.post(
        "/api/v1/cart/items", json={"variant_id": world["mug"].id, "quantity": 1}, headers=headers
    )
    again = await client.post(
        "/api/v1/cart/items", json={"variant_id": world["shirt"].id}, headers=headers
    )
    body = again.json()
    assert body["item_count"] == 4 and body["line_count"] == 2
    assert body["subtotal_cents"] == 3 * 1500 + 900 and body["can_checkout"] is True
    assert [
        (s["shop_name"], s["subtotal_cents"], [line["quantity"] for line in s["lines"]])
        for s in body["sellers"]
    ] == [(world["a"].shop.name, 4500, [3]), (world["b"].shop.name, 900, [1])]
    line = body["sellers"][0]["lines"][0]
    assert line["title"] == "Shirt" and line["url"] == f"/products/{world['shirt'].product_id}"
    assert line["available"] == 5 and line["price_changed"] is False and line["short"] is False

    await set_price(runtime, world["shirt"].id, 1700)
    read = (await client.get("/api/v1/cart", headers=headers)).json()
    line = read["sellers"][0]["lines"][0]
    assert line["price_changed"] is True
    assert line["price_change"] == {"was_cents": 1500, "now_cents": 1700}
    assert read["has_price_changes"] is True

    patched = await client.patch(
        f"/api/v1/cart/items/{world['shirt'].id}", json={"quantity": 1}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["sellers"][0]["lines"][0]["quantity"] == 1
    removed = await client.patch(
        f"/api/v1/cart/items/{world['shirt'].id}", json={"quantity": 0}, headers=headers
    )
    assert [s["shop_name"] for s in removed.json()["sellers"]] == [world["b"].shop.name]
    deleted = await client.delete(f"/api/v1/cart/items/{world['mug'].id}", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["sellers"] == []
    assert await lines_in(runtime, buyer) == {}


async def test_refusals_have_stable_codes_and_change_nothing(
    app: Any, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await _world(runtime)
    buyer = await create_buyer(runtime)
    headers = await bearer(app, buyer.email)
    await client.post(
        "/api/v1/cart/items", json={"variant_id": world["shirt"].id, "quantity": 4}, headers=headers
    )
    before = await carts_snapshot(runtime)

    cases = [
        ("post", "/api/v1/cart/items", {"variant_id": world["draft"].id}, 422, "line_unavailable"),
        (
            "post",
            "/api/v1/cart/items",
            {"variant_id": world["shirt"].id, "quantity": 2},
            409,
            "out_of_stock",
        ),
        (
            "post",
            "/api/v1/cart/items",
            {"variant_id": world["mug"].id, "quantity": 21},
            422,
            "cart_quantity_limit",
        ),
        (
            "post",
            "/api/v1/cart/items",
            {"variant_id": world["mug"].id, "quantity": 0},
            422,
            "invalid_quantity",
        ),
        ("post", "/api/v1/cart/items", {"variant_id": "var_nope"}, 404, "variant_not_found"),
        (
            "post",
            "/api/v1/cart/items",
            {"variant_id": world["mug"].id, "extra": 1},
            422,
            "validation_failed",
        ),
        ("patch", f"/api/v1/cart/items/{world['shirt'].id}", {"quantity": 6}, 409, "out_of_stock"),
        (
            "patch",
            f"/api/v1/cart/items/{world['shirt'].id}",
            {"quantity": -1},
            422,
            "invalid_quantity",
        ),
        (
            "patch",
            f"/api/v1/cart/items/{world['mug'].id}",
            {"quantity": 1},
            404,
            "cart_line_not_found",
        ),
        ("delete", f"/api/v1/cart/items/{world['mug'].id}", None, 404, "cart_line_not_found"),
    ]
    for method, url, payload, status, code in cases:
        kwargs: dict[str, Any] = {"headers": headers}
        if payload is not None:
            kwargs["json"] = payload
        response = await getattr(client, method)(url, **kwargs)
        assert (response.status_code, response.json()["code"]) == (status, code), (url, payload)
        assert response.headers["content-type"].startswith(PROBLEM)
    out_of_stock = await client.post(
        "/api/v1/cart/items", json={"variant_id": world["shirt"].id, "quantity": 2}, headers=headers
    )
    assert out_of_stock.json()["short"] == [
        {"variant_id": world["shirt"].id, "requested": 6, "available": 5}
    ]
    unavailable = await client.post(
        "/api/v1/cart/items", json={"variant_id": world["draft"].id}, headers=headers
    )
    assert unavailable.json()["variant_ids"] == [world["draft"].id]
    assert await carts_snapshot(runtime) == before


async def test_scopes_and_authentication(
    app: Any, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await _world(runtime)
    buyer = await create_buyer(runtime)
    reader = await bearer(app, buyer.email, ("orders:read",))
    writer = await bearer(app, buyer.email, ("cart:write",))

    assert (await client.get("/api/v1/cart")).status_code == 401
    assert (await client.get("/api/v1/cart", headers=reader)).status_code == 200
    assert (await client.get("/api/v1/cart", headers=writer)).status_code == 403
    payload = {"variant_id": world["mug"].id}
    denied = await client.post("/api/v1/cart/items", json=payload, headers=reader)
    assert (denied.status_code, denied.json()["code"]) == (403, "insufficient_scope")
    assert (await client.post("/api/v1/cart/items", json=payload)).status_code == 401
    assert await lines_in(runtime, buyer) == {}
    assert (
        await client.post("/api/v1/cart/items", json=payload, headers=writer)
    ).status_code == 200
    assert await lines_in(runtime, buyer) == {world["mug"].id: 1}


async def test_browser_session_writes_need_the_csrf_header(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await _world(runtime)
    buyer = await create_buyer(runtime)
    csrf = await api_login(client, buyer.email)
    payload = {"variant_id": world["mug"].id, "quantity": 2}
    refused = await client.post("/api/v1/cart/items", json=payload)
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    assert await lines_in(runtime, buyer) == {}
    ok = await client.post("/api/v1/cart/items", json=payload, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["item_count"] == 2
    assert (await client.get("/api/v1/cart")).json()["item_count"] == 2


async def test_cross_user_matrix(app: Any, client: httpx.AsyncClient, runtime: Runtime) -> None:
    """User B (same region) and user C (another region) act on the variants in A's cart:
    every call answers about their own cart and A's cart stays exactly as it was."""
    world = await _world(runtime)
    alice = await create_buyer(runtime)
    bob = await create_buyer(runtime)
    carol = await create_buyer(runtime, country="DE")
    assert (alice.region, bob.region, carol.region) == ("us", "us", "intl")
    alice_h = await bearer(app, alice.email)
    for variant, quantity in ((world["shirt"], 2), (world["mug"], 3)):
        response = await client.post(
            "/api/v1/cart/items",
            json={"variant_id": variant.id, "quantity": quantity},
            headers=alice_h,
        )
        assert response.status_code == 200
    alice_cart = (await client.get("/api/v1/cart", headers=alice_h)).json()
    before = await carts_snapshot(runtime)

    for other in (bob, carol):
        headers = await bearer(app, other.email)
        read = await client.get("/api/v1/cart", headers=headers)
        assert read.status_code == 200 and read.json()["sellers"] == []
        assert read.json()["id"] is None
        for variant in (world["shirt"], world["mug"]):
            patch = await client.patch(
                f"/api/v1/cart/items/{variant.id}", json={"quantity": 1}, headers=headers
            )
            assert (patch.status_code, patch.json()["code"]) == (404, "cart_line_not_found")
            zero = await client.patch(
                f"/api/v1/cart/items/{variant.id}", json={"quantity": 0}, headers=headers
            )
            assert zero.status_code == 404
            delete = await client.delete(f"/api/v1/cart/items/{variant.id}", headers=headers)
            assert (delete.status_code, delete.json()["code"]) == (404, "cart_line_not_found")
        # a cart id in a path or body addresses nothing: the cart is always the caller's own
        foreign = await client.delete(f"/api/v1/cart/items/{alice_cart['id']}", headers=headers)
        assert foreign.status_code == 404
        assert await carts_snapshot(runtime) == before

    # B and C adding the same variant fills their own carts, in their own regions
    for other in (bob, carol):
        headers = await bearer(app, other.email)
        added = await client.post(
            "/api/v1/cart/items", json={"variant_id": world["shirt"].id}, headers=headers
        )
        assert added.status_code == 200
        assert added.json()["id"] != alice_cart["id"]
        assert added.json()["id"].startswith(f"cart_{other.region}_")
    after = await carts_snapshot(runtime)
    assert [row for row in after["us"] if alice_cart["id"] in row] == [
        row for row in before["us"] if alice_cart["id"] in row
    ]
    assert await lines_in(runtime, alice) == {world["shirt"].id: 2, world["mug"].id: 3}
    assert await lines_in(runtime, carol) == {world["shirt"].id: 1}
    assert len([row for row in after["intl"] if row[0].startswith("cart_")]) == 1
    assert (await client.get("/api/v1/cart", headers=alice_h)).json() == alice_cart


async def test_unavailable_product_shows_in_the_cart(
    app: Any, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    world = await _world(runtime)
    buyer = await create_buyer(runtime)
    headers = await bearer(app, buyer.email)
    await client.post("/api/v1/cart/items", json={"variant_id": world["mug"].id}, headers=headers)
    await set_product_status(runtime, world["mug"].product_id, "archived")
    body = (await client.get("/api/v1/cart", headers=headers)).json()
    line = body["sellers"][0]["lines"][0]
    assert line["unavailable"] is True and line["unavailable_reason"] == "product_not_live"
    assert line["unavailable_message"] and body["can_checkout"] is False
    assert body["subtotal_cents"] == 0
