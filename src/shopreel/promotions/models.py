"""Promotions models (global plane: deals are public, like the catalog)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import GlobalBase


class FlashDeal(GlobalBase):
    """A deal price for one variant from ``starts_at`` until ``ends_at`` (or ``ended_at``,
    when the seller ends it early), at most ``max_per_buyer`` units per buyer."""

    __tablename__ = "flash_deals"
    __table_args__ = (Index("ix_flash_deals_variant_starts", "variant_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    deal_price_cents: Mapped[int] = mapped_column(Integer)
    # evidence of honesty, kept with the deal: the price when it was created and the lowest
    # price in force during the 30 days before
    list_price_cents: Mapped[int] = mapped_column(Integer)
    reference_low_cents: Mapped[int] = mapped_column(Integer)
    max_per_buyer: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_by: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
