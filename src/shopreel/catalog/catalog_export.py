"""Export a shop's catalog as a Shopify product CSV (the inverse of :mod:`importer`).

Products are rebuilt as :class:`~shopreel.catalog.shopify.ShopifyProduct` objects from the
catalog's columns plus what the importer kept in ``attributes["shopify"]``, then written by
:func:`~shopreel.catalog.shopify.export_shopify_csv`. A value the catalog holds in a lossy form
(Shopify's status, inventory policy, the "unknown" booleans) is written back as the file had
it as long as the column still holds what the import stored; once changed in ShopReel, the
column wins. Quantities come from the shop's oldest active warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.catalog.models import Product, ProductImage, ProductStatus, Variant
from shopreel.catalog.shopify import (
    ShopifyImage,
    ShopifyOption,
    ShopifyProduct,
    ShopifyVariant,
    export_shopify_csv,
)
from shopreel.inventory.models import InventoryLevel, Warehouse
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime

CHUNK: Final = 500


def _shopify(attributes: dict[str, Any] | None) -> dict[str, Any]:
    value = (attributes or {}).get("shopify")
    return value if isinstance(value, dict) else {}


def _restore(kept: Any, column: Any, default: Any) -> Any:
    """The source value if the column still holds what the import stored, else ``default``
    (the column's own meaning)."""
    if isinstance(kept, dict) and "raw" in kept and kept.get("as") == column:
        return kept["raw"]
    return default


def _status(product: Product, shopify: dict[str, Any]) -> str:
    if product.status == ProductStatus.ARCHIVED.value:
        mapped = "archived"
    elif product.status in (ProductStatus.LIVE.value, ProductStatus.PENDING_REVIEW.value):
        mapped = "active"
    else:
        mapped = "draft"  # draft, and rejected listings (never offered for sale)
    restored = _restore(shopify.get("status"), product.status, mapped)
    return restored if restored in ("active", "draft", "archived") else mapped


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def to_shopify(
    product: Product,
    variants: Sequence[Variant],
    images: Sequence[ProductImage],
    quantities: dict[str, int],
) -> ShopifyProduct:
    """One catalog product as the parser would have read it."""
    shopify = _shopify(product.attributes)
    linked = shopify.get("option_linked_to") or []
    names = list(product.option_names or [])
    options = [
        ShopifyOption(name, str(linked[i]) if i < len(linked) and linked[i] else "")
        for i, name in enumerate(names)
    ]
    image_urls = {image.id: image.source_url for image in images}
    rebuilt_variants = []
    for variant in sorted(variants, key=lambda v: (v.position, v.id)):
        kept = _shopify(variant.attributes)
        image_src = image_urls.get(variant.image_id or "", "") or str(kept.get("image_src", ""))
        rebuilt_variants.append(
            ShopifyVariant(
                price_minor=variant.price_cents,
                currency=variant.currency,
                option_values=tuple((variant.options or {}).get(name, "") for name in names),
                sku=variant.sku,
                compare_at_minor=variant.compare_at_cents,
                cost_minor=variant.cost_cents,
                grams=variant.weight_grams,
                weight_unit=str(kept.get("weight_unit", "")),
                barcode=variant.barcode or "",
                inventory_qty=quantities.get(variant.id),
                inventory_tracker=str(kept.get("inventory_tracker", "")),
                inventory_policy=_restore(
                    kept.get("inventory_policy"), variant.inventory_policy, variant.inventory_policy
                ),
                fulfillment_service=str(kept.get("fulfillment_service", "")),
                requires_shipping=_restore(
                    kept.get("requires_shipping"),
                    variant.requires_shipping,
                    variant.requires_shipping,
                ),
                taxable=_restore(kept.get("taxable"), variant.taxable, variant.taxable),
                tax_code=variant.tax_code,
                image_src=image_src,
                metafields=_strings(kept.get("metafields")),
                extra=_strings(kept.get("extra")),
            )
        )
    exported_images = [
        ShopifyImage(image.source_url, image.position, image.alt)
        for image in sorted(images, key=lambda i: (i.position, i.created_at, i.id))
        if image.source_url  # uploaded images have no public source URL to write (yet)
    ]
    category_source = shopify.get("category_source")
    return ShopifyProduct(
        handle=product.handle,
        title=product.title,
        body_html=product.description_html,
        vendor=product.vendor,
        original_category=product.original_category,
        category_id=product.category_id,
        category_source=str(category_source) if category_source else None,
        product_type=product.product_type,
        # a comma would split the tag on the way back in
        tags=[" ".join(tag.replace(",", " ").split()) for tag in product.tags or []],
        published=shopify.get("published"),
        status=_status(product, shopify),
        gift_card=shopify.get("gift_card"),
        seo_title=product.seo_title,
        seo_description=product.seo_description,
        google_product_category=str(shopify.get("google_product_category", "")),
        google=_strings(shopify.get("google")),
        options=options,
        variants=rebuilt_variants,
        images=exported_images,
        metafields=_strings(shopify.get("metafields")),
        extra=_strings(shopify.get("extra")),
        metafield_labels=_strings(shopify.get("metafield_labels")),
    )


async def shop_products(session: AsyncSession, shop_id: str) -> list[ShopifyProduct]:
    """Every product of the shop, oldest first, rebuilt for export."""
    products = list(
        await session.scalars(
            select(Product)
            .where(Product.shop_id == shop_id)
            .order_by(Product.created_at, Product.handle)
        )
    )
    warehouse_id = await session.scalar(
        select(Warehouse.id)
        .where(Warehouse.shop_id == shop_id, Warehouse.active.is_(True))
        .order_by(Warehouse.created_at, Warehouse.id)
        .limit(1)
    )
    result: list[ShopifyProduct] = []
    for start in range(0, len(products), CHUNK):
        chunk = products[start : start + CHUNK]
        ids = [product.id for product in chunk]
        variants: dict[str, list[Variant]] = {product_id: [] for product_id in ids}
        for variant in await session.scalars(select(Variant).where(Variant.product_id.in_(ids))):
            variants[variant.product_id].append(variant)
        images: dict[str, list[ProductImage]] = {product_id: [] for product_id in ids}
        for image in await session.scalars(
            select(ProductImage).where(ProductImage.product_id.in_(ids))
        ):
            images[image.product_id].append(image)
        quantities: dict[str, int] = {}
        if warehouse_id is not None:
            variant_ids = [v.id for group in variants.values() for v in group]
            for start_v in range(0, len(variant_ids), CHUNK):
                rows = await session.execute(
                    select(InventoryLevel.variant_id, InventoryLevel.on_hand).where(
                        InventoryLevel.warehouse_id == warehouse_id,
                        InventoryLevel.variant_id.in_(variant_ids[start_v : start_v + CHUNK]),
                    )
                )
                quantities.update({variant_id: on_hand for variant_id, on_hand in rows.all()})
        for product in chunk:
            result.append(to_shopify(product, variants[product.id], images[product.id], quantities))
    return result


async def export_shop_csv(runtime: Runtime, shop_id: str) -> bytes:
    """The shop's catalog as a Shopify product CSV (UTF-8, CRLF)."""
    async with runtime.databases.session(GLOBAL) as session:
        products = await shop_products(session, shop_id)
    return export_shopify_csv(products)
