"""Cart models (regional plane: the buyer's home region).

One :class:`Cart` per user and one :class:`CartItem` per variant in it. A line keeps the
catalog ids it points at (variant, product, shop: global-plane ids, no personal data) and
the unit price the buyer saw when adding it, so a later price change can be shown; the live
title, price and stock are always read from the catalog when the cart is shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class Cart(RegionalBase):
    __tablename__ = "carts"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(48), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CartItem(RegionalBase):
    __tablename__ = "cart_items"
    __table_args__ = (
        # one line per variant: adding the same variant again adds to its quantity
        Index("ix_cart_items_cart_variant", "cart_id", "variant_id", unique=True),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="unit_price_non_negative"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(String(48))
    product_id: Mapped[str] = mapped_column(String(48))
    shop_id: Mapped[str] = mapped_column(String(48))
    quantity: Mapped[int] = mapped_column(Integer)
    # the price the buyer saw when adding (or last changing) the line
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
