"""Flash deals: honest-price rules, the seller API with its denials, and deals in checkout
(deal price, per-buyer cap across checkouts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from shopreel.catalog.rules import PricePoint
from shopreel.kit.time import utcnow
from shopreel.planes import GLOBAL
from shopreel.promotions import rules
from shopreel.promotions.errors import DealNotHonest, InvalidDeal
from shopreel.promotions.models import FlashDeal
from shopreel.runtime import Runtime
from tests.checkout.support import buyer, level, pay, start
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import new_warehouse, seller_principal, stocked, token_for

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _check(price: int, history: list[PricePoint], **overrides: object) -> int:
    values: dict[str, object] = {
        "deal_price_cents": price,
        "max_per_buyer": 2,
        "starts_at": NOW,
        "ends_at": NOW + timedelta(hours=2),
        "history": history,
        "now": NOW,
    }
    values.update(overrides)
    return rules.check_deal(**values)  # type: ignore[arg-type]


def test_a_deal_must_be_below_the_lowest_price_of_the_last_30_days() -> None:
    history = [
        PricePoint(NOW - timedelta(days=40), 3000),  # in force when the window opened
        PricePoint(NOW - timedelta(days=20), 2000),  # a real low in the window
        PricePoint(NOW - timedelta(days=1), 5000),  # raised just before the "deal"
    ]
    assert _check(1999, history) == 2000
    with pytest.raises(DealNotHonest) as refused:
        _check(2000, history)
    assert refused.value.extra["reference_low_cents"] == 2000
    with pytest.raises(DealNotHonest):
        _check(100, [])


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_per_buyer": 0},
        {"max_per_buyer": 11},
        {"deal_price_cents": 0},
        {"ends_at": NOW},
        {"ends_at": NOW + timedelta(days=8)},
        {"starts_at": NOW - timedelta(hours=1)},
    ],
)
def test_malformed_deals_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidDeal):
        _check(int(overrides.pop("deal_price_cents", 500)), [PricePoint(NOW, 1000)], **overrides)  # type: ignore[call-overload]


def test_activity_windows_and_line_discounts() -> None:
    end = NOW + timedelta(hours=1)
    assert rules.is_active(NOW, end, None, NOW)
    assert not rules.is_active(NOW, end, None, end)
    assert not rules.is_active(NOW, end, NOW + timedelta(minutes=5), NOW + timedelta(minutes=6))
    assert rules.overlaps(NOW, end, NOW + timedelta(minutes=59), end + timedelta(hours=1))
    assert not rules.overlaps(NOW, end, end, end + timedelta(hours=1))
    assert rules.discount_cents(1999, 999, 3) == 3000
    assert rules.discount_cents(500, 999, 3) == 0


async def _deal_shop(
    app: FastAPI, runtime: Runtime, stock: int = 10
) -> tuple[str, str, dict[str, str]]:
    seller = await create_seller(runtime)
    principal = await seller_principal(runtime, seller)
    _, variants = await create_product(runtime, seller.shop, variants=(((), 2000),))
    warehouse = await new_warehouse(runtime, principal)
    await stocked(runtime, principal, [(variants[0].id, warehouse, stock)])
    return seller.shop.id, variants[0].id, await token_for(app, seller.email)


async def _deal_count(runtime: Runtime) -> int:
    async with runtime.databases.session(GLOBAL) as session:
        return int(await session.scalar(select(func.count()).select_from(FlashDeal)) or 0)


async def test_sellers_create_and_end_only_their_own_deals(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    _, variant, headers = await _deal_shop(app, runtime)
    _, other_variant, other_headers = await _deal_shop(app, runtime)
    ends = (utcnow() + timedelta(hours=1)).isoformat()
    body = {"variant_id": variant, "deal_price_cents": 1500, "max_per_buyer": 1, "ends_at": ends}
    created = await client.post("/api/v1/seller/deals", json=body, headers=headers)
    assert created.status_code == 201, created.text
    deal = created.json()
    assert deal["active"] and deal["reference_low_cents"] == 2000

    honest = await client.post(
        "/api/v1/seller/deals",
        json={**body, "variant_id": other_variant, "deal_price_cents": 2000},
        headers=other_headers,
    )
    assert honest.status_code == 422 and honest.json()["code"] == "deal_not_below_recent_low"
    overlap = await client.post("/api/v1/seller/deals", json=body, headers=headers)
    assert overlap.status_code == 409 and overlap.json()["code"] == "deal_overlaps"

    # another seller can neither put a deal on this variant nor end this deal
    before = await _deal_count(runtime)
    foreign = await client.post("/api/v1/seller/deals", json=body, headers=other_headers)
    assert foreign.status_code == 404
    ended = await client.post(f"/api/v1/seller/deals/{deal['id']}/end", headers=other_headers)
    assert ended.status_code == 404 and ended.json()["code"] == "deal_not_found"
    listed = await client.get("/api/v1/seller/deals", headers=other_headers)
    assert listed.json()["items"] == []
    assert await _deal_count(runtime) == before
    mine = (await client.get("/api/v1/seller/deals", headers=headers)).json()["items"]
    assert [d["id"] for d in mine] == [deal["id"]] and mine[0]["active"]

    own_end = await client.post(f"/api/v1/seller/deals/{deal['id']}/end", headers=headers)
    assert own_end.status_code == 200 and not own_end.json()["active"]


async def test_checkout_applies_the_deal_price_and_the_per_buyer_cap(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    _, variant, headers = await _deal_shop(app, runtime)
    created = await client.post(
        "/api/v1/seller/deals",
        json={
            "variant_id": variant,
            "deal_price_cents": 1200,
            "max_per_buyer": 2,
            "ends_at": (utcnow() + timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    scalper = await buyer(app, runtime, "scalper@example.com")
    too_many = await start(client, scalper, [(variant, 3)])
    assert too_many.status_code == 409 and too_many.json()["code"] == "purchase_cap_exceeded"

    first = await start(client, scalper, [(variant, 2)])
    assert first.status_code == 201, first.text
    line = first.json()["sellers"][0]["lines"][0]
    assert line["discount_cents"] == 2 * (2000 - 1200)
    assert line["net_cents"] == 2 * 1200
    paid = await pay(client, scalper, first.json()["id"])
    assert paid.status_code == 200 and paid.json()["status"] == "completed"

    again = await start(client, scalper, [(variant, 1)])
    assert again.status_code == 409 and again.json()["code"] == "purchase_cap_exceeded"
    assert await level(runtime, variant) == (10, 0, 2)
    # another buyer still gets the deal
    fan = await buyer(app, runtime, "fan@example.com")
    assert (await start(client, fan, [(variant, 2)])).status_code == 201


async def test_the_product_page_shows_stock_and_the_deal(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    principal = await seller_principal(runtime, seller)
    product, variants = await create_product(
        runtime, seller.shop, option_names=("Size",), variants=((("S",), 2000), (("M",), 2000))
    )
    warehouse = await new_warehouse(runtime, principal)
    await stocked(runtime, principal, [(variants[1].id, warehouse, 3)])
    headers = await token_for(app, seller.email)
    created = await client.post(
        "/api/v1/seller/deals",
        json={
            "variant_id": variants[1].id,
            "deal_price_cents": 1500,
            "max_per_buyer": 2,
            "ends_at": (utcnow() + timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert created.status_code == 201
    await buyer(app, runtime, "looker@example.com")
    from tests.fixtures.factories import api_login

    await api_login(client, "looker@example.com")
    page = await client.get(f"/products/{product.id}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Out of stock" in page.text and "Only 3 left" in page.text
    assert "Flash deal · 2 per buyer" in page.text and "$15.00" in page.text
    assert f'<option value="{variants[0].id}" disabled>' in page.text
    assert f'<option value="{variants[1].id}" selected>' in page.text
