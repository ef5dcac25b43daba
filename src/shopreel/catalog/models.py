"""Public catalog (global plane): shops' public profiles, products, variants, images, price
history, listing reviews and import reports.

Categories are ids of Google's product taxonomy, shipped in the package (see taxonomy.py).
``owner_id`` / ``actor_id`` columns hold opaque account ids (``usr_<region>_…``): no personal
data about sellers is kept in this plane. The seller's application (legal name, tax id, bank
account, addresses) lives in the seller's home-region plane (:mod:`shopreel.sellers.models`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import GlobalBase


class ShopStatus(StrEnum):
    PENDING = "pending"  # the seller's application is not approved (yet)
    APPROVED = "approved"
    SUSPENDED = "suspended"


class ProductStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    LIVE = "live"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class ImageStatus(StrEnum):
    REMOTE = "remote"  # known by its source URL only (imported), not fetched
    READY = "ready"  # decoded, re-encoded and stored with thumbnails


class ReviewOutcome(StrEnum):
    PASSED = "passed"  # automated screening found nothing: the listing went live
    FLAGGED = "flagged"  # automated screening found something: waits for staff
    APPROVED = "approved"  # staff approved a flagged listing
    REJECTED = "rejected"  # automated (prohibited) or staff rejection


class Shop(GlobalBase):
    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[str] = mapped_column(String(48), index=True)
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default=ShopStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the owner's home region: where the seller application and payout details live
    home_region: Mapped[str] = mapped_column(String(16), default="us")
    logo_key: Mapped[str | None] = mapped_column(String(255), default=None)
    # shipping settings (flat defaults until the fulfillment issue brings rate tables)
    default_handling_days: Mapped[int] = mapped_column(Integer, default=2)
    flat_shipping_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    free_shipping_threshold_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    shipping_set_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Product(GlobalBase):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "handle", name="shop_handle"),
        Index("ix_products_status_category", "status", "category_id"),
        Index("ix_products_shop_status_updated", "shop_id", "status", "updated_at"),
        # newest-first listings (seller center, public catalog) page on (created_at, id)
        Index("ix_products_shop_created", "shop_id", "created_at"),
        Index("ix_products_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    handle: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    description_html: Mapped[str] = mapped_column(Text, default="")  # sanitized on write
    category_id: Mapped[int | None] = mapped_column(Integer, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    vendor: Mapped[str] = mapped_column(String(255), default="")
    product_type: Mapped[str] = mapped_column(String(255), default="")
    # the category as the seller's source gave it (e.g. Shopify's own taxonomy path), kept
    # when it does not map to a Google taxonomy id
    original_category: Mapped[str] = mapped_column(String(1024), default="")
    option_names: Mapped[list[str]] = mapped_column(JSON, default=list)  # at most 3 axes
    seo_title: Mapped[str] = mapped_column(String(255), default="")
    seo_description: Mapped[str] = mapped_column(String(1024), default="")
    # everything else a source format carries that we keep for a faithful round trip
    # (Shopify: Google Shopping fields, metafields, gift card, published, extra columns)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    review_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    live_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # SHA-256 of the normalized imported form: re-importing an unchanged product is a no-op
    import_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency


class Variant(GlobalBase):
    __tablename__ = "variants"
    __table_args__ = (
        # a product's variants differ by their option values (a hash of them, in axis order)
        UniqueConstraint("product_id", "options_key", name="product_options"),
        Index("ix_variants_shop_sku", "shop_id", "sku"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # SKUs are the seller's codes: not unique (real exports reuse them), empty allowed
    sku: Mapped[str] = mapped_column(String(255), default="")
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    options_key: Mapped[str] = mapped_column(String(64), default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    weight_grams: Mapped[int | None] = mapped_column(Integer, default=None)
    barcode: Mapped[str | None] = mapped_column(String(32), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    cost_cents: Mapped[int | None] = mapped_column(Integer, default=None)  # seller-only
    inventory_policy: Mapped[str] = mapped_column(String(16), default="deny")
    requires_shipping: Mapped[bool] = mapped_column(Boolean, default=True)
    taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    tax_code: Mapped[str] = mapped_column(String(255), default="")
    image_id: Mapped[str | None] = mapped_column(String(48), default=None)
    # source-format fields kept for the round trip (weight unit, tracker, metafields, …)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProductImage(GlobalBase):
    __tablename__ = "product_images"
    __table_args__ = (Index("ix_product_images_product_position", "product_id", "position"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    alt: Mapped[str] = mapped_column(String(512), default="")
    source_url: Mapped[str] = mapped_column(String(2048), default="")  # imported images
    status: Mapped[str] = mapped_column(String(16), default=ImageStatus.REMOTE.value)
    storage_key: Mapped[str | None] = mapped_column(String(255), default=None)
    content_type: Mapped[str | None] = mapped_column(String(32), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    thumbnails: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # size -> key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PriceChange(GlobalBase):
    """Append-only price history per variant (SKU): one row per change, the first at
    creation. Flash-deal rules ("below the lowest price of the last 30 days") read it."""

    __tablename__ = "price_history"
    __table_args__ = (Index("ix_price_history_variant_changed", "variant_id", "changed_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(255), default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(48), default=None)
    reason: Mapped[str] = mapped_column(String(32), default="update")  # create|update|import


class ListingReview(GlobalBase):
    """One screening or staff decision about a product listing (history; newest wins)."""

    __tablename__ = "listing_reviews"
    __table_args__ = (
        Index("ix_listing_reviews_product_created", "product_id", "created_at"),
        Index("ix_listing_reviews_outcome_created", "outcome", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reviewer_id: Mapped[str | None] = mapped_column(String(48), default=None)  # None: automated
    rules_version: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CatalogImport(GlobalBase):
    """A catalog import run and its per-row report."""

    __tablename__ = "catalog_imports"
    __table_args__ = (Index("ix_catalog_imports_shop_created", "shop_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    actor_id: Mapped[str] = mapped_column(String(48))
    source: Mapped[str] = mapped_column(String(32), default="shopify_csv")
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))  # completed | failed
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
