"""The cross-seller matrix: seller B can neither see nor touch seller A's warehouses, stock
or journal, and every denied request leaves everything as it was."""

from __future__ import annotations

from typing import Any

import httpx

from shopreel.runtime import Runtime
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import WAREHOUSE, adjust, create_warehouse, line, snapshot, token_for

API = "/api/v1/seller"


async def test_seller_b_cannot_touch_seller_a(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    a = await create_seller(runtime)
    b = await create_seller(runtime, country="DE")  # another shop, another home region
    a_headers = await token_for(app, a.email)
    b_headers = await token_for(app, b.email)
    _, (a_variant,) = await create_product(runtime, a.shop)
    _, (b_variant,) = await create_product(runtime, b.shop)
    a_wh = (await create_warehouse(client, a_headers))["id"]
    b_wh = (
        await create_warehouse(
            client, b_headers, country="DE", state="", postal_code="10115", city="Berlin"
        )
    )["id"]
    assert (await adjust(client, a_headers, line(a_variant.id, a_wh, 5))).status_code == 200
    before = await snapshot(runtime)

    count = {"lines": [{"variant_id": a_variant.id, "warehouse_id": a_wh, "on_hand": 0}]}
    attempts: list[tuple[str, httpx.Response]] = [
        ("read warehouse", await client.get(f"{API}/warehouses/{a_wh}", headers=b_headers)),
        (
            "patch warehouse",
            await client.patch(
                f"{API}/warehouses/{a_wh}", json={"name": "Mine now"}, headers=b_headers
            ),
        ),
        (
            "deactivate",
            await client.post(f"{API}/warehouses/{a_wh}/deactivate", headers=b_headers),
        ),
        ("activate", await client.post(f"{API}/warehouses/{a_wh}/activate", headers=b_headers)),
        (
            "adjust A's stock",
            await adjust(client, b_headers, line(a_variant.id, a_wh, -5, "adjustment")),
        ),
        (
            "A's variant, B's warehouse",
            await adjust(client, b_headers, line(a_variant.id, b_wh, 3)),
        ),
        (
            "B's variant, A's warehouse",
            await adjust(client, b_headers, line(b_variant.id, a_wh, 3)),
        ),
        (
            "own line then A's line",
            await adjust(
                client, b_headers, line(b_variant.id, b_wh, 1), line(a_variant.id, a_wh, 1)
            ),
        ),
        (
            "count A's stock",
            await client.post(f"{API}/inventory/counts", json=count, headers=b_headers),
        ),
        (
            "list A's warehouse",
            await client.get(f"{API}/inventory", params={"warehouse_id": a_wh}, headers=b_headers),
        ),
        (
            "A's movements by variant",
            await client.get(
                f"{API}/inventory/movements", params={"variant_id": a_variant.id}, headers=b_headers
            ),
        ),
        (
            "A's movements by warehouse",
            await client.get(
                f"{API}/inventory/movements", params={"warehouse_id": a_wh}, headers=b_headers
            ),
        ),
    ]
    for what, response in attempts:
        assert response.status_code == 404, (what, response.status_code, response.text)
        assert response.json()["code"] in ("warehouse_not_found", "variant_not_found"), what
    assert await snapshot(runtime) == before

    # B's own views show none of A's rows
    b_list = (await client.get(f"{API}/warehouses", headers=b_headers)).json()["items"]
    assert [w["id"] for w in b_list] == [b_wh]
    b_stock = (await client.get(f"{API}/inventory", headers=b_headers)).json()["items"]
    assert {r["variant_id"] for r in b_stock} == {b_variant.id}
    b_moves = (await client.get(f"{API}/inventory/movements", headers=b_headers)).json()["items"]
    assert b_moves == []
    # A still sees everything of A's
    a_moves = (await client.get(f"{API}/inventory/movements", headers=a_headers)).json()["items"]
    assert [m["delta"] for m in a_moves] == [5]


async def test_shopper_and_anonymous_cannot_change_stock(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    from tests.fixtures.factories import create_user

    a = await create_seller(runtime)
    a_headers = await token_for(app, a.email)
    _, (variant,) = await create_product(runtime, a.shop)
    wh = (await create_warehouse(client, a_headers))["id"]
    await create_user(runtime, email="buyer@example.com")
    shopper = await token_for(app, "buyer@example.com")
    before = await snapshot(runtime)
    for headers, status in ((shopper, 403), ({}, 401)):
        assert (await adjust(client, headers, line(variant.id, wh, 5))).status_code == status
        counted = await client.post(
            f"{API}/inventory/counts",
            json={"lines": [{"variant_id": variant.id, "warehouse_id": wh, "on_hand": 9}]},
            headers=headers,
        )
        assert counted.status_code == status
        assert (
            await client.get(f"{API}/inventory/movements", headers=headers)
        ).status_code == status
        assert (
            await client.post(f"{API}/warehouses", json=WAREHOUSE, headers=headers)
        ).status_code == status
    assert await snapshot(runtime) == before
