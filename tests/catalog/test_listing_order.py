"""Newest first means by creation time, whatever the id looks like: demo rows (``prod_…``),
products made here (``prd_<time-ordered>``) and imported ones all interleave correctly, and
keyset pages visit every product exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from shopreel.catalog.models import Product, Variant
from shopreel.catalog.options import options_key
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login
from tests.fixtures.sellers import create_product, create_seller

START = datetime(2026, 1, 1, tzinfo=UTC)


async def test_seller_and_public_lists_are_newest_first_across_pages(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    expected: list[str] = []
    for index in range(7):
        moment = START + timedelta(days=index)
        if index % 2:
            # a demo-style id that sorts after every time-ordered one ("prod_" > "prd_")
            product_id = f"prod_{9 - index:07d}"
            async with runtime.databases.transaction(GLOBAL) as session:
                session.add(
                    Product(
                        id=product_id,
                        shop_id=seller.shop.id,
                        handle=f"demo-{index}",
                        title=f"P{index}",
                        status="live",
                        created_at=moment,
                    )
                )
                await session.flush()
                session.add(
                    Variant(
                        id=f"var_{index}",
                        product_id=product_id,
                        shop_id=seller.shop.id,
                        options_key=options_key(()),
                        price_cents=500,
                    )
                )
        else:
            product, _ = await create_product(runtime, seller.shop, title=f"P{index}")
            product_id = product.id
            async with runtime.databases.transaction(GLOBAL) as session:
                await session.execute(
                    update(Product).where(Product.id == product_id).values(created_at=moment)
                )
        expected.insert(0, product_id)
    await api_login(client, seller.email)

    async def walk(url: str) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
            page = await client.get(url, params=params)
            assert page.status_code == 200, page.text
            seen += [item["id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return seen

    assert await walk("/api/v1/seller/products") == expected
    assert await walk("/api/v1/products") == expected
    bad = await client.get("/api/v1/products", params={"cursor": "yesterday"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
