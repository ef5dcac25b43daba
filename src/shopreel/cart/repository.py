"""Every cart query: the cart rows (regional plane) and the live catalog facts of its lines
(global plane, read through :func:`catalog_facts` and :func:`available_stock` only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.cart.models import Cart, CartItem
from shopreel.catalog.models import Product, Shop, Variant
from shopreel.inventory.models import InventoryLevel, Warehouse
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow


async def cart_of(session: AsyncSession, user_id: str) -> Cart | None:
    cart: Cart | None = await session.scalar(select(Cart).where(Cart.user_id == user_id))
    return cart


async def lock_cart(session: AsyncSession, user_id: str) -> Cart | None:
    """The user's cart, locked for the rest of the transaction (None: no cart yet).

    Every change of a cart starts here, so concurrent changes by one buyer (two tabs, a
    double click) are serialized and the merge and the line limit cannot be raced past.
    The lock is an UPDATE of the cart row (touching ``updated_at``): on PostgreSQL it takes
    the row lock like ``SELECT … FOR UPDATE``; on SQLite it opens the write transaction,
    which serializes writers (a plain SELECT there runs outside any transaction)."""
    result = await session.execute(
        update(Cart)
        .where(Cart.user_id == user_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    cart: Cart | None = await session.scalar(
        select(Cart).where(Cart.user_id == user_id).execution_options(populate_existing=True)
    )
    return cart


async def cart_for_update(session: AsyncSession, user_id: str, region: str) -> Cart:
    """The user's cart, locked; created on first use (a racing creation is settled by the
    unique ``user_id``: the loser locks the winner's row)."""
    cart = await lock_cart(session, user_id)
    if cart is not None:
        return cart
    try:
        async with session.begin_nested():
            session.add(Cart(id=new_id("cart", region), user_id=user_id, region=region))
            await session.flush()
    except IntegrityError:
        pass
    cart = await lock_cart(session, user_id)
    if cart is None:  # pragma: no cover - the row was just inserted or found conflicting
        raise RuntimeError("cart row vanished while being created")
    return cart


async def items_of(session: AsyncSession, cart_id: str) -> list[CartItem]:
    rows = await session.scalars(
        select(CartItem)
        .where(CartItem.cart_id == cart_id)
        .order_by(CartItem.created_at, CartItem.id)
    )
    return list(rows)


async def items_of_user(session: AsyncSession, user_id: str) -> list[CartItem]:
    rows = await session.scalars(
        select(CartItem)
        .join(Cart, Cart.id == CartItem.cart_id)
        .where(Cart.user_id == user_id)
        .order_by(CartItem.created_at, CartItem.id)
    )
    return list(rows)


async def quantity_of_user(session: AsyncSession, user_id: str) -> int:
    value = await session.scalar(
        select(func.coalesce(func.sum(CartItem.quantity), 0))
        .join(Cart, Cart.id == CartItem.cart_id)
        .where(Cart.user_id == user_id)
    )
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """What the catalog says now about the variants, products and shops of some lines."""

    variants: dict[str, Variant]
    products: dict[str, Product]
    shops: dict[str, Shop]


async def catalog_facts(
    session: AsyncSession,
    variant_ids: Sequence[str],
    product_ids: Sequence[str],
    shop_ids: Sequence[str],
) -> CatalogFacts:
    """Variants by id, and products and shops by id: the lines' own ids, so a line whose
    variant was deleted still finds its product's title and its shop's name."""
    variants: dict[str, Variant] = {}
    products: dict[str, Product] = {}
    shops: dict[str, Shop] = {}
    if variant_ids:
        rows = await session.scalars(select(Variant).where(Variant.id.in_(set(variant_ids))))
        variants = {v.id: v for v in rows}
    wanted_products = set(product_ids) | {v.product_id for v in variants.values()}
    if wanted_products:
        rows_p = await session.scalars(select(Product).where(Product.id.in_(wanted_products)))
        products = {p.id: p for p in rows_p}
    wanted_shops = set(shop_ids) | {v.shop_id for v in variants.values()}
    if wanted_shops:
        rows_s = await session.scalars(select(Shop).where(Shop.id.in_(wanted_shops)))
        shops = {s.id: s for s in rows_s}
    return CatalogFacts(variants, products, shops)


async def available_stock(session: AsyncSession, variant_ids: Sequence[str]) -> dict[str, int]:
    """Units each variant can still be reserved from: the sum over its levels in active
    warehouses of ``on_hand - reserved - sold`` (the same warehouses a reservation tries).
    A snapshot for showing the cart; the reservation at checkout decides."""
    if not variant_ids:
        return {}
    rows = await session.execute(
        select(
            InventoryLevel.variant_id,
            func.sum(InventoryLevel.on_hand - InventoryLevel.reserved - InventoryLevel.sold),
        )
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .where(InventoryLevel.variant_id.in_(set(variant_ids)), Warehouse.active.is_(True))
        .group_by(InventoryLevel.variant_id)
    )
    return {variant_id: max(0, int(total or 0)) for variant_id, total in rows}
