"""The issue's first "done when", by API: a new person signs up, applies to sell, is approved
by marketplace operations, sets up shipping and a warehouse, lists a product with an image and
stock, submits it, and the product is live for anonymous shoppers. Every step goes through the
public JSON API, as a seller's own tooling would."""

from __future__ import annotations

import io

import httpx
from fastapi import FastAPI
from PIL import Image

from tests.fixtures.factories import PASSWORD, api_login
from tests.sellers.conftest import API, COMPLETE_BUSINESS, Login


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 90, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_new_seller_reaches_a_live_product_by_api(
    client: httpx.AsyncClient, login: Login, app: FastAPI
) -> None:
    signup = await client.post(
        f"{API}/auth/signup",
        json={
            "email": "potter@example.com",
            "password": PASSWORD,
            "display_name": "Potter",
            "country": "US",
        },
    )
    assert signup.status_code == 201, signup.text
    headers = {"X-CSRF-Token": await api_login(client, "potter@example.com")}

    async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        return await client.request(method, f"{API}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]

    created = await call(
        "POST",
        "/seller/application",
        json={"kind": "business", "handle": "river-pottery", "shop_name": "River Pottery"},
    )
    assert created.status_code == 201, created.text
    assert (await call("PATCH", "/seller/application", json=COMPLETE_BUSINESS)).status_code == 200
    submitted = await call("POST", "/seller/application/submit")
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"

    # Before approval the shop cannot put a product live.
    early = await call(
        "POST",
        "/seller/products",
        json={"title": "Early mug", "variants": [{"price_cents": 1800}]},
    )
    assert early.status_code == 201, early.text
    refused = await call("POST", f"/seller/products/{early.json()['id']}/submit")
    assert refused.status_code == 409 and refused.json()["code"] == "shop_not_approved"

    ops = await login(jurisdiction="US", staff_roles=("seller_ops",))
    queue = await ops.get("/staff/seller-applications", state="submitted")
    assert queue.status_code == 200
    [entry] = [a for a in queue.json() if a["shop_handle"] == "river-pottery"]
    approved = await ops.post(f"/staff/seller-applications/{entry['id']}/approve")
    assert approved.status_code == 200, approved.text

    profile = await call(
        "PATCH", "/seller/shop", json={"description": "Small-batch stoneware from the Blue Ridge."}
    )
    assert profile.status_code == 200, profile.text
    shipping = await call(
        "PUT",
        "/seller/shop/shipping",
        json={
            "default_handling_days": 2,
            "flat_shipping_cents": 599,
            "free_shipping_threshold_cents": 5000,
        },
    )
    assert shipping.status_code == 200, shipping.text
    warehouse = await call(
        "POST",
        "/seller/warehouses",
        json={
            "name": "Studio",
            "line1": "12 Kiln Road",
            "city": "Asheville",
            "state": "NC",
            "postal_code": "28801",
            "country": "US",
            "handling_days": 1,
        },
    )
    assert warehouse.status_code == 201, warehouse.text

    product = await call(
        "POST",
        "/seller/products",
        json={
            "title": "Speckled stoneware mug",
            "description_html": "<p>Wheel-thrown.</p><script>alert(1)</script>",
            "category_id": 2169,  # Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs
            "option_names": ["Size"],
            "variants": [
                {"options": {"Size": "8 oz"}, "sku": "MUG-8", "price_cents": 2400},
                {"options": {"Size": "12 oz"}, "sku": "MUG-12", "price_cents": 2800},
            ],
        },
    )
    assert product.status_code == 201, product.text
    body = product.json()
    assert "<script" not in body["description_html"]
    product_id = body["id"]

    upload = await client.post(
        f"{API}/uploads/products/{product_id}/images",
        content=_png(),
        headers={**headers, "Content-Type": "image/png"},
    )
    assert upload.status_code == 201, upload.text

    counts = await call(
        "POST",
        "/seller/inventory/counts",
        json={
            "lines": [
                {"variant_id": v["id"], "warehouse_id": warehouse.json()["id"], "on_hand": 25}
                for v in body["variants"]
            ]
        },
    )
    assert counts.status_code == 200, counts.text

    live = await call("POST", f"/seller/products/{product_id}/submit")
    assert live.status_code == 200, live.text
    assert live.json()["status"] == "live"

    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
        public = await anon.get(f"{API}/products/{product_id}")
        assert public.status_code == 200, public.text
        assert public.json()["title"] == "Speckled stoneware mug"
        assert "cost_cents" not in public.text
        page = await anon.get(f"/products/{product_id}")
        assert page.status_code == 200 and "Speckled stoneware mug" in page.text
        shop = await anon.get(f"{API}/shops/river-pottery")
        assert shop.status_code == 200
        assert product_id in shop.text

    checklist = await call("GET", "/seller/checklist")
    assert checklist.status_code == 200
    assert all(item["done"] for item in checklist.json()["items"]), checklist.json()
    assert checklist.json()["done"] == checklist.json()["total"] == 7
