"""Seller center pages for warehouses and stock, through the `client` fixture."""

from __future__ import annotations

import re

import httpx

from shopreel.runtime import Runtime
from tests.fixtures.factories import PASSWORD, create_user
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import movement_count, on_hand, snapshot

FORM = {
    "name": "Garage",
    "line1": "12 Elm Street",
    "line2": "",
    "city": "Oakland",
    "state": "CA",
    "postal_code": "94607",
    "country": "US",
    "handling_days": "1",
}


async def _login(client: httpx.AsyncClient, email: str) -> str:
    page = await client.get("/login")
    token = _csrf(page.text)
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return _csrf((await client.get("/seller/warehouses")).text)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def test_warehouse_pages_add_edit_deactivate(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    await _login(client, seller.email)
    empty = await client.get("/seller/warehouses")
    assert empty.status_code == 200
    assert "No warehouses yet" in empty.text and 'aria-current="page"' in empty.text
    csrf = _csrf(empty.text)

    bad = await client.post(
        "/seller/warehouses", data={**FORM, "postal_code": "9460", "csrf_token": csrf}
    )
    assert bad.status_code == 422
    assert "ZIP code" in bad.text and 'value="12 Elm Street"' in bad.text
    assert (await snapshot(runtime))["warehouses"] == []

    created = await client.post("/seller/warehouses", data={**FORM, "csrf_token": csrf})
    assert created.status_code == 303
    listed = await client.get(created.headers["location"])
    assert "Warehouse added." in listed.text and "12 Elm Street" in listed.text
    warehouse_id = re.search(r'href="/seller/warehouses/(wh_[0-9a-z]+)"', listed.text).group(1)  # type: ignore[union-attr]

    edit = await client.get(f"/seller/warehouses/{warehouse_id}")
    assert edit.status_code == 200 and 'value="Garage"' in edit.text
    saved = await client.post(
        f"/seller/warehouses/{warehouse_id}",
        data={**FORM, "name": "Garage 2", "line2": "Back door", "csrf_token": _csrf(edit.text)},
    )
    assert saved.status_code == 303
    after = await client.get(saved.headers["location"])
    assert "Warehouse saved." in after.text and 'value="Back door"' in after.text

    deactivated = await client.post(
        f"/seller/warehouses/{warehouse_id}/deactivate", data={"csrf_token": _csrf(after.text)}
    )
    assert deactivated.status_code == 303
    page = await client.get(deactivated.headers["location"])
    assert "Inactive" in page.text and "/activate" in page.text


async def test_forms_need_csrf(client: httpx.AsyncClient, runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    await _login(client, seller.email)
    refused = await client.post("/seller/warehouses", data=FORM)
    assert refused.status_code == 403
    assert (await snapshot(runtime))["warehouses"] == []


async def test_inventory_page_adjust_count_and_history(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    _, (variant,) = await create_product(runtime, seller.shop, title="Mug", skus=("MUG-1",))
    csrf = await _login(client, seller.email)
    no_warehouse = await client.get("/seller/inventory")
    assert "Add a warehouse first" in no_warehouse.text
    await client.post("/seller/warehouses", data={**FORM, "csrf_token": csrf})
    page = await client.get("/seller/inventory")
    assert page.status_code == 200 and "MUG-1" in page.text and "out of stock" in page.text
    warehouse_id = re.search(r'name="warehouse_id" value="(wh_[0-9a-z]+)"', page.text).group(1)  # type: ignore[union-attr]
    csrf = _csrf(page.text)
    form = {
        "csrf_token": csrf,
        "variant_id": variant.id,
        "warehouse_id": warehouse_id,
        "action": "received",
        "quantity": "+12",
        "note": "first delivery",
        "filter_q": "mug",
    }
    done = await client.post("/seller/inventory/adjust", data=form)
    assert done.status_code == 303 and "q=mug" in done.headers["location"]
    assert await on_hand(runtime, variant.id, warehouse_id) == 12
    shown = await client.get(done.headers["location"])
    assert "Stock updated." in shown.text and ">12<" in shown.text.replace(" ", "").replace(
        "\n", ""
    )

    too_many = await client.post(
        "/seller/inventory/adjust", data={**form, "action": "adjustment", "quantity": "-13"}
    )
    assert too_many.status_code == 409 and "Only 12 on hand" in too_many.text
    not_a_number = await client.post("/seller/inventory/adjust", data={**form, "quantity": "lots"})
    assert not_a_number.status_code == 422
    assert await on_hand(runtime, variant.id, warehouse_id) == 12
    assert await movement_count(runtime) == 1

    counted = await client.post(
        "/seller/inventory/adjust", data={**form, "action": "count", "quantity": "10"}
    )
    assert counted.status_code == 303
    assert await on_hand(runtime, variant.id, warehouse_id) == 10

    history = await client.get(f"/seller/inventory/movements?variant_id={variant.id}")
    assert history.status_code == 200
    assert "first delivery" in history.text and "+12" in history.text and "-2" in history.text
    assert "Count" in history.text and "You" in history.text

    low = await client.get("/seller/inventory", params={"low_stock_below": "5"})
    assert "Nothing matches" in low.text


async def test_pages_refuse_other_sellers_shoppers_and_anonymous(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await create_seller(runtime)
    _, (variant,) = await create_product(runtime, owner.shop)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as own:
        csrf = await _login(own, owner.email)
        await own.post("/seller/warehouses", data={**FORM, "csrf_token": csrf})
        page = await own.get("/seller/inventory")
        warehouse_id = re.search(r'name="warehouse_id" value="(wh_[0-9a-z]+)"', page.text).group(1)  # type: ignore[union-attr]
        await own.post(
            "/seller/inventory/adjust",
            data={
                "csrf_token": _csrf(page.text),
                "variant_id": variant.id,
                "warehouse_id": warehouse_id,
                "action": "received",
                "quantity": "5",
            },
        )
    before = await snapshot(runtime)

    anonymous = await client.get("/seller/inventory", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/seller/inventory"
    assert (await client.post("/seller/warehouses", data=FORM)).status_code in (401, 403)

    other = await create_seller(runtime)
    csrf = await _login(client, other.email)
    assert (await client.get(f"/seller/warehouses/{warehouse_id}")).status_code == 404
    for path, data in (
        (f"/seller/warehouses/{warehouse_id}", {**FORM, "name": "Stolen"}),
        (f"/seller/warehouses/{warehouse_id}/deactivate", {}),
        (
            "/seller/inventory/adjust",
            {
                "variant_id": variant.id,
                "warehouse_id": warehouse_id,
                "action": "adjustment",
                "quantity": "-5",
            },
        ),
    ):
        response = await client.post(path, data={**data, "csrf_token": csrf})
        assert response.status_code == 404, path
    history = await client.get(f"/seller/inventory/movements?variant_id={variant.id}")
    assert history.status_code == 404
    assert (await client.get(f"/seller/inventory?warehouse_id={warehouse_id}")).status_code == 404
    assert await snapshot(runtime) == before

    await client.post("/logout", data={"csrf_token": csrf})
    await create_user(runtime, email="just-shopping@example.com")
    page = await client.get("/login")
    await client.post(
        "/login",
        data={
            "email": "just-shopping@example.com",
            "password": PASSWORD,
            "csrf_token": _csrf(page.text),
        },
    )
    redirected = await client.get("/seller/inventory")
    assert redirected.status_code == 303 and redirected.headers["location"] == "/seller/onboarding"
    posted = await client.post(
        "/seller/warehouses",
        data={**FORM, "csrf_token": _csrf((await client.get("/account")).text)},
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/seller/onboarding"
    assert await snapshot(runtime) == before
