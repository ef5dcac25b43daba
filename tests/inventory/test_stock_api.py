"""Stock levels through the API: adjustments, counts, listing, the movement journal."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from shopreel.inventory.models import InventoryMovement
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import (
    adjust,
    create_warehouse,
    line,
    movement_count,
    on_hand,
    snapshot,
    token_for,
)

INVENTORY = "/api/v1/seller/inventory"


async def _setup(client: httpx.AsyncClient, app: Any, runtime: Runtime) -> dict[str, Any]:
    seller = await create_seller(runtime)
    headers = await token_for(app, seller.email)
    product, variants = await create_product(
        runtime,
        seller.shop,
        title="Trail Shoe",
        option_names=("Size",),
        variants=((("8",), 5000), (("9",), 5000), (("10",), 5200)),
    )
    main = await create_warehouse(client, headers, name="Main")
    east = await create_warehouse(client, headers, name="East", state="NY", postal_code="10001")
    return {
        "seller": seller,
        "headers": headers,
        "product": product,
        "variants": variants,
        "main": main["id"],
        "east": east["id"],
    }


async def test_adjustments_change_levels_and_record_movements(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    v8, v9, _ = s["variants"]
    response = await adjust(
        client,
        s["headers"],
        line(v9.id, s["main"], 10, "received", "PO 17"),
        line(v8.id, s["main"], 4),
        line(v8.id, s["main"], -1, "adjustment", "damaged"),
    )
    assert response.status_code == 200, response.text
    recorded = response.json()["movements"]
    # applied in lock order (variant id, warehouse id); the seller's order within a level
    v8_moves = [(v8.id, 4, 4), (v8.id, -1, 3)]
    v9_moves = [(v9.id, 10, 10)]
    expected = v8_moves + v9_moves if v8.id < v9.id else v9_moves + v8_moves
    assert [(m["variant_id"], m["delta"], m["on_hand_after"]) for m in recorded] == expected
    assert {m["actor_id"] for m in recorded} == {s["seller"].user.id}
    assert await on_hand(runtime, v8.id, s["main"]) == 3
    assert await on_hand(runtime, v9.id, s["main"]) == 10
    async with runtime.databases.session(GLOBAL) as session:
        stored = list(
            await session.scalars(select(InventoryMovement).order_by(InventoryMovement.id))
        )
    assert [(m.variant_id, m.delta, m.on_hand_after) for m in stored] == expected
    assert [(m.reason, m.note) for m in stored if m.variant_id == v8.id] == [
        ("received", ""),
        ("adjustment", "damaged"),
    ]
    assert [(m.reason, m.note) for m in stored if m.variant_id == v9.id] == [("received", "PO 17")]
    assert all(
        m.actor_id == s["seller"].user.id and m.shop_id == s["seller"].shop.id for m in stored
    )


async def test_a_decrement_below_zero_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    v8 = s["variants"][0]
    assert (await adjust(client, s["headers"], line(v8.id, s["main"], 2))).status_code == 200
    before = await snapshot(runtime)
    refused = await adjust(client, s["headers"], line(v8.id, s["main"], -3, "adjustment"))
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "insufficient_stock"
    assert (problem["on_hand"], problem["delta"], problem["variant_id"]) == (2, -3, v8.id)
    # a level that was never written is 0: removing from it is refused too, and no row appears
    missing = await adjust(client, s["headers"], line(v8.id, s["east"], -1, "adjustment"))
    assert missing.status_code == 409 and missing.json()["on_hand"] == 0
    assert await snapshot(runtime) == before
    assert await on_hand(runtime, v8.id, s["east"]) is None


async def test_a_batch_is_all_or_nothing(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    # v10 has the largest id, so its failing line is applied last (lock order)
    v8, v9, v10 = sorted(s["variants"], key=lambda v: v.id)
    assert (await adjust(client, s["headers"], line(v10.id, s["main"], 1))).status_code == 200
    before = await snapshot(runtime)
    movements_before = await movement_count(runtime)
    # the failing line sorts last, after two lines that would succeed (one creates a level)
    refused = await adjust(
        client,
        s["headers"],
        line(v8.id, s["main"], 5),
        line(v9.id, s["east"], 7),
        line(v10.id, s["main"], -2, "adjustment"),
    )
    assert refused.status_code == 409 and refused.json()["variant_id"] == v10.id
    assert await snapshot(runtime) == before
    assert await movement_count(runtime) == movements_before
    assert await on_hand(runtime, v8.id, s["main"]) is None

    # an invalid line (422) or a foreign id (404) refuses the batch before anything is written
    invalid = await adjust(
        client, s["headers"], line(v8.id, s["main"], 5), line(v8.id, s["main"], 0)
    )
    assert invalid.status_code == 422
    unknown = await adjust(
        client, s["headers"], line(v8.id, s["main"], 5), line("var_nope", s["main"], 1)
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "variant_not_found"
    too_many = await adjust(client, s["headers"], *[line(v8.id, s["main"], 1)] * 501)
    assert too_many.status_code == 422
    assert await snapshot(runtime) == before


async def test_a_full_batch_of_500_lines_applies(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    v8, v9, v10 = s["variants"]
    lines = [
        line(v.id, w, 1) for _ in range(84) for v in (v8, v9, v10) for w in (s["main"], s["east"])
    ][:500]
    response = await adjust(client, s["headers"], *lines)
    assert response.status_code == 200
    assert len(response.json()["movements"]) == 500
    total = sum(
        [
            await on_hand(runtime, v.id, w) or 0
            for v in (v8, v9, v10)
            for w in (s["main"], s["east"])
        ]
    )
    assert total == 500


async def test_counts_set_levels_and_record_the_difference(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    v8, v9, _ = s["variants"]
    assert (await adjust(client, s["headers"], line(v8.id, s["main"], 10))).status_code == 200
    response = await client.post(
        f"{INVENTORY}/counts",
        json={
            "lines": [
                {
                    "variant_id": v8.id,
                    "warehouse_id": s["main"],
                    "on_hand": 7,
                    "note": "cycle count",
                },
                {"variant_id": v9.id, "warehouse_id": s["main"], "on_hand": 4},
            ]
        },
        headers=s["headers"],
    )
    assert response.status_code == 200, response.text
    recorded = response.json()["movements"]
    # movements come back in lock order (variant id, warehouse id), not request order
    assert [m["variant_id"] for m in recorded] == sorted([v8.id, v9.id])
    assert {m["variant_id"]: (m["delta"], m["on_hand_after"], m["reason"]) for m in recorded} == {
        v8.id: (-3, 7, "count"),
        v9.id: (4, 4, "count"),
    }
    assert await on_hand(runtime, v8.id, s["main"]) == 7
    confirm = await client.post(
        f"{INVENTORY}/counts",
        json={"lines": [{"variant_id": v8.id, "warehouse_id": s["main"], "on_hand": 7}]},
        headers=s["headers"],
    )
    assert [(m["delta"], m["on_hand_after"]) for m in confirm.json()["movements"]] == [(0, 7)]
    before = await snapshot(runtime)
    negative = await client.post(
        f"{INVENTORY}/counts",
        json={"lines": [{"variant_id": v8.id, "warehouse_id": s["main"], "on_hand": -1}]},
        headers=s["headers"],
    )
    assert negative.status_code == 422
    assert await snapshot(runtime) == before


async def test_listing_filters_and_pages(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    v8, v9, _ = s["variants"]
    await create_product(runtime, s["seller"].shop, title="Rain Jacket", skus=("JKT-1",))
    await adjust(client, s["headers"], line(v8.id, s["main"], 10), line(v9.id, s["east"], 2))

    everything = (await client.get(INVENTORY, headers=s["headers"])).json()
    assert len(everything["items"]) == 8  # 4 variants x 2 warehouses
    assert everything["next_cursor"] is None
    row = next(
        r
        for r in everything["items"]
        if r["variant_id"] == v8.id and r["warehouse_id"] == s["main"]
    )
    assert row["on_hand"] == 10 and row["available"] == 10 and row["reserved"] == 0
    assert row["product_title"] == "Trail Shoe" and row["options"] == {"Size": "8"}
    assert row["warehouse_name"] == "Main"

    main_only = (
        await client.get(INVENTORY, params={"warehouse_id": s["main"]}, headers=s["headers"])
    ).json()
    assert {r["warehouse_id"] for r in main_only["items"]} == {s["main"]}
    assert len(main_only["items"]) == 4
    jacket = (await client.get(INVENTORY, params={"q": "jkt"}, headers=s["headers"])).json()
    assert [r["sku"] for r in jacket["items"]] == ["JKT-1", "JKT-1"]
    shoe = (await client.get(INVENTORY, params={"q": "TRAIL"}, headers=s["headers"])).json()
    assert len(shoe["items"]) == 6
    wildcard = (await client.get(INVENTORY, params={"q": "%"}, headers=s["headers"])).json()
    assert wildcard["items"] == []
    low = (
        await client.get(
            INVENTORY,
            params={"low_stock_below": 3, "warehouse_id": s["east"]},
            headers=s["headers"],
        )
    ).json()
    assert sorted(r["on_hand"] for r in low["items"]) == [0, 0, 0, 2]

    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(INVENTORY, params=params, headers=s["headers"])).json()
        seen += [(r["variant_id"], r["warehouse_id"]) for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8
    bad = await client.get(INVENTORY, params={"cursor": "not-a-cursor"}, headers=s["headers"])
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_movements_are_listed_newest_first_with_filters(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    s = await _setup(client, app, runtime)
    v8, v9, _ = s["variants"]
    for delta in (5, -1, -1):
        reason = "received" if delta > 0 else "adjustment"
        assert (
            await adjust(client, s["headers"], line(v8.id, s["main"], delta, reason))
        ).status_code == 200
    await adjust(client, s["headers"], line(v9.id, s["east"], 3))

    page = (await client.get(f"{INVENTORY}/movements", headers=s["headers"])).json()
    assert [m["delta"] for m in page["items"]] == [3, -1, -1, 5]
    only_v8 = (
        await client.get(
            f"{INVENTORY}/movements", params={"variant_id": v8.id}, headers=s["headers"]
        )
    ).json()
    assert [m["on_hand_after"] for m in only_v8["items"]] == [3, 4, 5]
    east = (
        await client.get(
            f"{INVENTORY}/movements", params={"warehouse_id": s["east"]}, headers=s["headers"]
        )
    ).json()
    assert [m["variant_id"] for m in east["items"]] == [v9.id]
    first = (
        await client.get(f"{INVENTORY}/movements", params={"limit": 2}, headers=s["headers"])
    ).json()
    rest = (
        await client.get(
            f"{INVENTORY}/movements", params={"cursor": first["next_cursor"]}, headers=s["headers"]
        )
    ).json()
    assert [m["id"] for m in first["items"] + rest["items"]] == [m["id"] for m in page["items"]]
    assert rest["next_cursor"] is None
