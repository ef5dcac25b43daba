"""Orders (regional plane: the buyer's home region).

One :class:`Order` per seller per paid checkout, unique on ``(checkout_id, shop_id)`` so a
retried or recovered checkout cannot create a second one. Lines copy what was sold at the
price it was sold for (nothing here follows later catalog changes). :class:`OrderEvent` is
the order's history, appended to and never changed.

The ship-to address (name, street, city, postal code, phone) is one AES-GCM ciphertext under
the buyer's data key, bound to ``"orders.ship_to:<order id>"``; only the state and country
stay in the clear, for tax reports and for the seller's incoming-orders list. The buyer's
name is in that ciphertext too: nothing else in these tables names the buyer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class Order(RegionalBase):
    __tablename__ = "orders"
    __table_args__ = (
        # one order per seller per checkout: the idempotency of create_orders rests on it
        UniqueConstraint("checkout_id", "shop_id", name="uq_orders_checkout_shop"),
        # "my orders" and "incoming orders" page newest first on (placed_at, id)
        Index("ix_orders_buyer_placed", "buyer_id", "placed_at", "id"),
        Index("ix_orders_shop_placed", "shop_id", "placed_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    checkout_id: Mapped[str] = mapped_column(String(48))
    buyer_id: Mapped[str] = mapped_column(String(48))
    shop_id: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger)
    shipping_cents: Mapped[int] = mapped_column(BigInteger)
    tax_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    item_count: Mapped[int] = mapped_column(Integer)
    tax_jurisdiction: Mapped[str] = mapped_column(String(16), default="")
    shipping_method: Mapped[str] = mapped_column(String(32))
    shipping_label: Mapped[str] = mapped_column(String(120))
    # None once erased (account deletion): the amounts stay, the address does not
    ship_to_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    ship_to_state: Mapped[str] = mapped_column(String(8), default="")
    ship_to_country: Mapped[str] = mapped_column(String(2))
    payment_id: Mapped[str] = mapped_column(String(48))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OrderLine(RegionalBase):
    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_order_position", "order_id", "position"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(48))
    position: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[str] = mapped_column(String(48))
    product_id: Mapped[str] = mapped_column(String(48))
    sku: Mapped[str | None] = mapped_column(String(255), default=None)
    title: Mapped[str] = mapped_column(String(255))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    tax_cents: Mapped[int] = mapped_column(BigInteger)
    warehouse_id: Mapped[str | None] = mapped_column(String(48), default=None)


class OrderEvent(RegionalBase):
    """One entry of an order's history (``order.placed``, ``order.status_changed`` …)."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_created", "order_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
