"""Public catalog (global plane): shops' public profiles, products and variants.

Categories are ids of Google's product taxonomy, shipped in the package (see taxonomy.py).
``owner_id`` is the opaque id of the seller's account in its home region: no personal data
about the owner is kept here."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import GlobalBase


class ShopStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class ProductStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    LIVE = "live"
    REJECTED = "rejected"
    ARCHIVED = "archived"


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


class Product(GlobalBase):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "handle", name="shop_handle"),
        Index("ix_products_status_category", "status", "category_id"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    handle: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    description_html: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(Integer, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Variant(GlobalBase):
    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("shop_id", "sku", name="shop_sku"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(100))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    weight_grams: Mapped[int | None] = mapped_column(Integer, default=None)
    barcode: Mapped[str | None] = mapped_column(String(32), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
