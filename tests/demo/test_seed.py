"""The demo world lands in the right planes and its five logins work."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from shopreel.accounts.models import User
from shopreel.catalog.models import Product, Shop, Variant
from shopreel.config import Settings
from shopreel.content.models import CreatorProfile, Video
from shopreel.demo.seed import is_seeded, seed_world
from shopreel.demo.world import DEMO_PASSWORD, DemoWorld, WorldSize
from shopreel.events.models import InteractionEvent
from shopreel.ledger.models import LedgerPosting
from shopreel.orders.models import Order
from shopreel.planes import GLOBAL, regional
from shopreel.promotions.models import FlashDeal
from shopreel.runtime import Runtime

SIZE = WorldSize(sellers=6, products=30, creators=5, videos=12, shoppers=25, interactions=600)


async def _count(runtime: Runtime, plane, model) -> int:  # type: ignore[no-untyped-def]
    async with runtime.databases.session(plane) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_seed_small_world(
    settings: Settings, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    assert not await is_seeded(settings)
    progress: list[tuple[str, int, int]] = []
    counts = await seed_world(settings, SIZE, seed=7, progress=lambda *a: progress.append(a))
    assert await is_seeded(settings)
    assert counts["products"] == 30 and counts["interactions"] == 600
    assert {p[0] for p in progress} >= {"sellers", "products", "videos", "interactions"}

    assert await _count(runtime, GLOBAL, Shop) == 6
    assert await _count(runtime, GLOBAL, Product) == 30
    assert await _count(runtime, GLOBAL, Variant) == counts["variants"]
    assert await _count(runtime, GLOBAL, CreatorProfile) == 5
    assert await _count(runtime, GLOBAL, Video) == 12
    events = await _count(runtime, regional("us"), InteractionEvent) + await _count(
        runtime, regional("intl"), InteractionEvent
    )
    assert events == 600

    # Every user and every event sits in its home region only.
    for region in ("us", "intl"):
        async with runtime.databases.session(regional(region)) as session:
            regions = set(await session.scalars(select(User.region)))
            assert regions <= {region}
            user_ids = set(await session.scalars(select(User.id)))
            event_users = set(await session.scalars(select(InteractionEvent.user_id)))
        assert event_users <= user_ids

    # The five demo logins work, each in its region; the seller owns demo-shop.
    for login in DemoWorld(SIZE, seed=7).fixed_logins():
        r = await client.post(
            "/api/v1/auth/login", json={"email": login.email, "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, (login.email, r.text)
        user = r.json()["user"]
        assert user["region"] == login.region
        if login.role == "seller":
            async with runtime.databases.session(GLOBAL) as session:
                shop = await session.scalar(select(Shop).where(Shop.handle == "demo-shop"))
            assert shop is not None and shop.owner_id == user["id"]
        if login.role == "staff":
            assert user["jurisdiction"] == login.jurisdiction
    # The demo shopper bought once through the real checkout; demo-shop runs a deal.
    assert (counts["demo_orders"], counts["demo_deals"]) == (1, 1)
    assert await _count(runtime, regional("us"), Order) == 1
    assert await _count(runtime, GLOBAL, FlashDeal) == 1
    async with runtime.databases.session(regional("us")) as session:
        order = await session.scalar(select(Order))
        assert order is not None and order.status == "paid"
        assert await session.scalar(select(func.sum(LedgerPosting.amount))) == 0
    posters = list((settings.media_dir / "posters").glob("vid_*.jpg"))
    assert len(posters) >= 12
