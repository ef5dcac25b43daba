"""Demo data: one real purchase and one flash deal, made through the real services.

The demo shopper buys one unit of a stocked ``demo-shop`` product (checkout, sandbox card
4242 4242 4242 4242, capture, order, ledger sale), so "My orders", the seller's incoming
orders and the ledger have something to show; and ``demo-shop`` runs a flash deal on another
stocked product for 7 days from the seed (a demo re-seeded later gets a fresh one).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User
from shopreel.catalog.models import Product, ProductStatus, Variant
from shopreel.checkout import service
from shopreel.inventory.models import InventoryLevel
from shopreel.kit.ids import region_of
from shopreel.kit.time import utcnow
from shopreel.payments.sandbox import tokenize
from shopreel.planes import GLOBAL
from shopreel.promotions import service as promotions
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

DEMO_ADDRESS = {
    "name": "Demo Shopper",
    "line1": "500 Congress Ave",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78701",
    "country": "US",
}


async def _stocked_variants(runtime: Runtime, shop_id: str, count: int) -> list[Variant]:
    async with runtime.databases.session(GLOBAL) as session:
        rows = await session.scalars(
            select(Variant)
            .join(Product, Product.id == Variant.product_id)
            .join(InventoryLevel, InventoryLevel.variant_id == Variant.id)
            .where(
                Variant.shop_id == shop_id,
                Product.status == ProductStatus.LIVE.value,
                InventoryLevel.on_hand - InventoryLevel.reserved - InventoryLevel.sold >= 5,
            )
            .order_by(Variant.id)
            .limit(count)
        )
        return list(rows)


async def seed_demo_commerce(
    runtime: Runtime, *, shopper_id: str, seller_id: str, shop_id: str
) -> dict[str, int]:
    """Buy one unit as the demo shopper and open one deal for the demo seller."""
    variants = await _stocked_variants(runtime, shop_id, 2)
    if len(variants) < 2:
        return {"orders": 0, "deals": 0}
    bought, on_deal = variants
    async with UnitOfWork(runtime.databases) as uow:
        seller = await uow.region(region_of(seller_id)).get(User, seller_id)
        if seller is None:
            return {"orders": 0, "deals": 0}
        principal = await accounts.load_principal(uow, runtime, seller, auth="session")
        await promotions.create_deal(
            uow,
            principal,
            variant_id=on_deal.id,
            deal_price_cents=max(1, on_deal.price_cents * 80 // 100),
            max_per_buyer=2,
            ends_at=utcnow() + timedelta(days=7),
        )
    async with UnitOfWork(runtime.databases) as uow:
        shopper = await uow.region(runtime.settings.region_for_country("US")).get(User, shopper_id)
        if shopper is None:
            return {"orders": 0, "deals": 1}
        principal = await accounts.load_principal(uow, runtime, shopper, auth="session")
        checkout = await service.start_checkout(
            uow, runtime, principal, address=DEMO_ADDRESS, lines=[(bought.id, 1)]
        )
        await uow.commit()
        token, _ = tokenize(runtime, "4242424242424242", 12, utcnow().year + 3, "123")
        await service.pay(uow, runtime, principal, checkout.id, token=token)
    return {"orders": 1, "deals": 1}
