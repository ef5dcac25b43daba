"""Checkout models (regional plane: the buyer's home region).

A checkout is one buyer's attempt to buy a set of lines: the address, the shipping choice per
seller, the priced breakdown (``pricing.CartBreakdown`` JSON) and the payment attempts. Its id
is also the *reference* of its stock reservations (global plane) and of its payments, which
is how the recovery job finds the pieces after a crash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class CheckoutStatus(StrEnum):
    RESERVED = "reserved"  # stock held until expires_at; waiting for payment
    REQUIRES_ACTION = "requires_action"  # the card asks for a second step
    PROCESSING = "processing"  # payment authorized; claiming stock, capturing, writing orders
    COMPLETED = "completed"  # orders written
    EXPIRED = "expired"  # the hold ran out before payment
    CANCELLED = "cancelled"  # the buyer gave up


class Checkout(RegionalBase):
    __tablename__ = "checkouts"
    __table_args__ = (
        Index("ix_checkouts_buyer_created", "buyer_id", "created_at"),
        Index("ix_checkouts_status_updated", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    # the requested lines with the catalog facts they were priced with (title, sku, options…)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    from_cart: Mapped[bool] = mapped_column(default=False)
    # {shop_id: "standard" | "express"}
    shipping_choices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    breakdown: Mapped[str] = mapped_column(Text)  # pricing.CartBreakdown.to_json()
    total_cents: Mapped[int] = mapped_column(BigInteger)
    # the ship-to address, JSON encrypted with the buyer's data key
    address_ct: Mapped[bytes] = mapped_column(LargeBinary)
    ship_to_country: Mapped[str] = mapped_column(String(2))
    ship_to_state: Mapped[str] = mapped_column(String(8), default="")
    payment_id: Mapped[str | None] = mapped_column(String(48), default=None)
    failure_code: Mapped[str | None] = mapped_column(String(40), default=None)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
