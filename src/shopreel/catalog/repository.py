"""Every catalog query (global plane). Services call these; nothing else builds SELECTs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.catalog import shops
from shopreel.catalog.models import (
    ListingReview,
    PriceChange,
    Product,
    ProductImage,
    ProductStatus,
    Shop,
    ShopStatus,
    Variant,
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.casefold()}%"


shop_of_owner = shops.shop_of_owner


async def shop_by_id(session: AsyncSession, shop_id: str) -> Shop | None:
    return await session.get(Shop, shop_id)


async def shop_by_handle(session: AsyncSession, handle: str) -> Shop | None:
    return await session.scalar(select(Shop).where(Shop.handle == handle))


async def product(session: AsyncSession, product_id: str, *, lock: bool = False) -> Product | None:
    """A product by id. ``lock`` takes a row lock (PostgreSQL) so concurrent writers of
    one product serialise and the version check cannot be raced."""
    query = select(Product).where(Product.id == product_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def product_of_shop(
    session: AsyncSession, shop_id: str, product_id: str, *, lock: bool = False
) -> Product | None:
    query = select(Product).where(Product.id == product_id, Product.shop_id == shop_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def variants_of(session: AsyncSession, product_id: str) -> list[Variant]:
    result = await session.scalars(
        select(Variant)
        .where(Variant.product_id == product_id)
        .order_by(Variant.position, Variant.id)
    )
    return list(result)


async def variants_of_many(
    session: AsyncSession, product_ids: Sequence[str]
) -> dict[str, list[Variant]]:
    grouped: dict[str, list[Variant]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return grouped
    result = await session.scalars(
        select(Variant)
        .where(Variant.product_id.in_(product_ids))
        .order_by(Variant.product_id, Variant.position, Variant.id)
    )
    for variant in result:
        grouped[variant.product_id].append(variant)
    return grouped


async def images_of(session: AsyncSession, product_id: str) -> list[ProductImage]:
    result = await session.scalars(
        select(ProductImage)
        .where(ProductImage.product_id == product_id)
        .order_by(ProductImage.position, ProductImage.id)
    )
    return list(result)


async def first_images(
    session: AsyncSession, product_ids: Sequence[str]
) -> dict[str, ProductImage]:
    """The first image of each product (list thumbnails)."""
    if not product_ids:
        return {}
    result = await session.scalars(
        select(ProductImage)
        .where(ProductImage.product_id.in_(product_ids))
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    )
    first: dict[str, ProductImage] = {}
    for image in result:
        first.setdefault(image.product_id, image)
    return first


async def image_count(session: AsyncSession, product_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(ProductImage).where(ProductImage.product_id == product_id)
    )
    return int(count or 0)


async def reviews_of(
    session: AsyncSession, product_id: str, *, limit: int = 100
) -> list[ListingReview]:
    """Review history, newest first."""
    result = await session.scalars(
        select(ListingReview)
        .where(ListingReview.product_id == product_id)
        .order_by(ListingReview.created_at.desc(), ListingReview.id.desc())
        .limit(limit)
    )
    return list(result)


async def price_history_of(
    session: AsyncSession, product_id: str, *, limit: int = 1000
) -> list[PriceChange]:
    """Every price change of the product's variants, newest first."""
    result = await session.scalars(
        select(PriceChange)
        .join(Variant, Variant.id == PriceChange.variant_id)
        .where(Variant.product_id == product_id)
        .order_by(PriceChange.changed_at.desc(), PriceChange.id.desc())
        .limit(limit)
    )
    return list(result)


async def price_history_of_variant(session: AsyncSession, variant_id: str) -> list[PriceChange]:
    result = await session.scalars(
        select(PriceChange)
        .where(PriceChange.variant_id == variant_id)
        .order_by(PriceChange.changed_at, PriceChange.id)
    )
    return list(result)


async def handles_starting(session: AsyncSession, shop_id: str, base: str) -> set[str]:
    """The shop's handles equal to ``base`` or ``base-<n>`` candidates (to pick a free one)."""
    result = await session.scalars(
        select(Product.handle).where(
            Product.shop_id == shop_id,
            or_(Product.handle == base, Product.handle.like(base.replace("%", "") + "-%")),
        )
    )
    return set(result)


async def handle_in_use(
    session: AsyncSession, shop_id: str, handle: str, *, except_id: str | None = None
) -> bool:
    query = select(Product.id).where(Product.shop_id == shop_id, Product.handle == handle)
    if except_id is not None:
        query = query.where(Product.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


def _search(query: Select[Product], q: str) -> Select[Product]:
    pattern = _like(q)
    sku_match = exists().where(
        Variant.product_id == Product.id, func.lower(Variant.sku).like(pattern, escape="\\")
    )
    return query.where(
        or_(
            func.lower(Product.title).like(pattern, escape="\\"),
            func.lower(Product.handle).like(pattern, escape="\\"),
            sku_match,
        )
    )


async def list_shop_products(
    session: AsyncSession,
    shop_id: str,
    *,
    status: str | None = None,
    q: str | None = None,
    category_id: int | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[Product]:
    """The shop's products, newest first, keyset-paginated on ``(created_at, id)`` (ids of
    imported, created and seeded products do not share one format, so the id alone does not
    order them by age). Returns up to ``limit + 1`` rows so the caller knows whether there is
    a next page."""
    query = select(Product).where(Product.shop_id == shop_id)
    if status:
        query = query.where(Product.status == status)
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    if q:
        query = _search(query, q)
    return await _newest_first(session, query, after, limit)


async def _newest_first(
    session: AsyncSession, query: Select[Product], after: tuple[datetime, str] | None, limit: int
) -> list[Product]:
    if after is not None:
        moment, product_id = after
        query = query.where(
            or_(
                Product.created_at < moment,
                and_(Product.created_at == moment, Product.id < product_id),
            )
        )
    ordered = query.order_by(Product.created_at.desc(), Product.id.desc()).limit(limit + 1)
    return list(await session.scalars(ordered))


async def count_by_status(session: AsyncSession, shop_id: str) -> dict[str, int]:
    result = await session.execute(
        select(Product.status, func.count())
        .where(Product.shop_id == shop_id)
        .group_by(Product.status)
    )
    return {str(row[0]): int(row[1]) for row in result}


def _public() -> Select[Product]:
    return (
        select(Product)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Product.status == ProductStatus.LIVE.value, Shop.status == ShopStatus.APPROVED.value)
    )


async def public_product(session: AsyncSession, product_id: str) -> Product | None:
    """A live product of an approved shop, or None."""
    return await session.scalar(_public().where(Product.id == product_id))


async def list_public(
    session: AsyncSession,
    *,
    shop_id: str | None = None,
    category_id: int | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 24,
) -> list[Product]:
    """Live products of approved shops, newest first (keyset on ``(created_at, id)``)."""
    query = _public()
    if shop_id is not None:
        query = query.where(Product.shop_id == shop_id)
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    return await _newest_first(session, query, after, limit)


async def shops_by_ids(session: AsyncSession, shop_ids: Sequence[str]) -> dict[str, Shop]:
    if not shop_ids:
        return {}
    result = await session.scalars(select(Shop).where(Shop.id.in_(set(shop_ids))))
    return {shop.id: shop for shop in result}


async def review_queue(
    session: AsyncSession,
    status: str,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[Product]:
    """Products in ``status``, oldest submission first (keyset on submitted_at, id).
    Products never submitted sort by creation time."""
    moment = func.coalesce(Product.submitted_at, Product.created_at)
    query = select(Product).where(Product.status == status)
    if after is not None:
        at, product_id = after
        query = query.where(or_(moment > at, and_(moment == at, Product.id > product_id)))
    result = await session.scalars(query.order_by(moment, Product.id).limit(limit + 1))
    return list(result)
