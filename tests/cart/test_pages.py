"""The cart page (works without JavaScript), the product page's "Add to cart" form, and
the header's cart button and slide-over panel."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import update

from shopreel.inventory.models import InventoryLevel
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.cart.helpers import (
    carts_snapshot,
    create_buyer,
    lines_in,
    set_price,
    set_product_status,
    stock,
)
from tests.fixtures.factories import PASSWORD
from tests.fixtures.sellers import create_product, create_seller


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def _login(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    )
    assert response.status_code == 303, response.text


async def test_cart_page_add_update_remove(client: httpx.AsyncClient, runtime: Runtime) -> None:
    a = await create_seller(runtime)
    b = await create_seller(runtime)
    shirt_product, (small, large) = await create_product(
        runtime,
        a.shop,
        title="Linen shirt",
        option_names=("Size",),
        variants=((("S",), 1500), (("L",), 1700)),
    )
    _, (mug,) = await create_product(runtime, b.shop, title="Stoneware mug", variants=(((), 900),))
    await stock(runtime, small, 5)
    await stock(runtime, large, 5)
    await stock(runtime, mug, 2)
    buyer = await create_buyer(runtime)

    anonymous = await client.get("/cart", headers={"accept": "text/html"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    product_page = await client.get(f"/products/{shirt_product.id}")
    assert "Log in to buy" in product_page.text and 'action="/cart/items"' not in product_page.text

    await _login(client, buyer.email)
    empty = await client.get("/cart")
    assert empty.status_code == 200 and "Your cart is empty" in empty.text

    product_page = await client.get(f"/products/{shirt_product.id}")
    assert 'action="/cart/items"' in product_page.text
    assert f'<option value="{large.id}">' in product_page.text
    token = _csrf(product_page.text)
    added = await client.post(
        "/cart/items", data={"variant_id": large.id, "quantity": "2", "csrf_token": token}
    )
    assert added.status_code == 303 and added.headers["location"] == "/cart?notice=added"
    await client.post("/cart/items", data={"variant_id": mug.id, "csrf_token": token})

    page = await client.get(added.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert "Added to your cart." in html
    assert html.index(a.shop.name) < html.index("Linen shirt") < html.index(b.shop.name)
    assert html.index(b.shop.name) < html.index("Stoneware mug")
    assert "Size: L" in html and "$34.00" in html and "$9.00" in html and "$43.00" in html
    assert f'action="/cart/items/{large.id}"' in html
    assert f'action="/cart/items/{large.id}/remove"' in html
    assert html.count('name="csrf_token"') >= 5  # two forms per line, plus the header's logout
    assert 'href="/checkout"' in html
    # the header's cart button shows the count server-side on this page
    assert re.search(r"data-cart-count>3</span>", html)

    token = _csrf(html)
    updated = await client.post(
        f"/cart/items/{large.id}", data={"quantity": "4", "csrf_token": token}
    )
    assert updated.headers["location"] == "/cart?notice=updated"
    assert await lines_in(runtime, buyer) == {large.id: 4, mug.id: 1}

    too_many = await client.post(
        f"/cart/items/{mug.id}", data={"quantity": "3", "csrf_token": token}
    )
    assert too_many.headers["location"] == "/cart?notice=out_of_stock"
    assert "Not enough stock" in (await client.get(too_many.headers["location"])).text
    bad = await client.post(f"/cart/items/{mug.id}", data={"quantity": "two", "csrf_token": token})
    assert bad.headers["location"] == "/cart?notice=invalid_quantity"
    assert await lines_in(runtime, buyer) == {large.id: 4, mug.id: 1}

    before = await carts_snapshot(runtime)
    forged = await client.post(f"/cart/items/{mug.id}/remove", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    missing = await client.post(f"/cart/items/{mug.id}", data={"quantity": "1"})
    assert missing.status_code == 403
    assert await carts_snapshot(runtime) == before

    removed = await client.post(f"/cart/items/{mug.id}/remove", data={"csrf_token": token})
    assert removed.headers["location"] == "/cart?notice=removed"
    zero = await client.post(f"/cart/items/{large.id}", data={"quantity": "0", "csrf_token": token})
    assert zero.headers["location"] == "/cart?notice=removed"
    assert await lines_in(runtime, buyer) == {}
    assert "Your cart is empty" in (await client.get("/cart")).text


async def test_cart_page_notices(client: httpx.AsyncClient, runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    _, (repriced,) = await create_product(runtime, seller.shop, title="Repriced lamp")
    archived_product, (archived,) = await create_product(runtime, seller.shop, title="Old vase")
    _, (scarce,) = await create_product(runtime, seller.shop, title="Rare print")
    await stock(runtime, repriced, 5)
    await stock(runtime, archived, 5)
    await stock(runtime, scarce, 4, reserved=0)
    buyer = await create_buyer(runtime)
    await _login(client, buyer.email)
    token = _csrf((await client.get("/cart")).text)
    for variant in (repriced, archived):
        await client.post("/cart/items", data={"variant_id": variant.id, "csrf_token": token})
    await client.post(
        "/cart/items", data={"variant_id": scarce.id, "quantity": "4", "csrf_token": token}
    )
    await set_price(runtime, repriced.id, 2499)
    await set_product_status(runtime, archived_product.id, "archived")
    async with runtime.databases.transaction(GLOBAL) as session:
        # another buyer's checkout holds 3 of the 4
        await session.execute(
            update(InventoryLevel).where(InventoryLevel.variant_id == scarce.id).values(reserved=3)
        )

    html = (await client.get("/cart")).text
    assert "Some prices changed" in html and "Was $19.99 when you added it, now $24.99." in html
    assert "Some items can no longer be bought" in html and "This item is not for sale" in html
    assert "Only 1 available." in html
    assert 'aria-disabled="true"' in html  # the checkout button is disabled


async def test_header_cart_button_and_panel(client: httpx.AsyncClient, runtime: Runtime) -> None:
    anonymous = await client.get("/")
    assert "data-cart-button" not in anonymous.text and "js/cart.js" not in anonymous.text
    buyer = await create_buyer(runtime)
    await _login(client, buyer.email)
    landing = (await client.get("/")).text
    assert 'href="/cart" data-panel-open="cart-panel"' in landing
    assert 'id="cart-panel"' in landing and "data-cart-panel" in landing
    panel_csrf = re.search(r'data-cart-panel data-csrf="([^"]+)"', landing)
    assert panel_csrf and panel_csrf.group(1) == _csrf(landing)
    script = re.search(r'<script src="(/static/js/cart\.js[^"]*)" defer nonce="[^"]+"', landing)
    assert script
    served = await client.get(script.group(1))
    assert served.status_code == 200 and "X-CSRF-Token" in served.text
