"""Warehouses and stock (global plane: buyers of every region reserve the same stock).

A warehouse's public shipping facts (country, state, city, postal code, handling time) are
here, because checkout in any region needs them for shipping zones and delivery promises;
its street address lines are personal data for an individual seller working from home, so
they live encrypted in the owner's home-region plane (:class:`WarehouseAddress`).

``on_hand`` never goes negative (a CHECK and conditional updates); every change is recorded
as an :class:`InventoryMovement` (who, why, delta, the level after).

Reservations (checkout) hold units of a level: ``on_hand = available + reserved + sold``,
where ``reserved`` counts active :class:`StockReservation` rows and ``sold`` counts units
that were paid for and are still in the warehouse (fulfillment ships them out). A CHECK
keeps ``available = on_hand - reserved - sold`` non-negative; see ``docs/inventory.md``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import GlobalBase, RegionalBase


class MovementReason(StrEnum):
    RECEIVED = "received"  # stock arrived
    ADJUSTMENT = "adjustment"  # correction (damage, loss, found)
    COUNT = "count"  # a stock count set the level
    IMPORT = "import"  # a catalog import set the level
    TRANSFER = "transfer"


class ReservationStatus(StrEnum):
    ACTIVE = "active"  # holds units (``reserved``) until it is claimed, released or expires
    CLAIMED = "claimed"  # paid: the units moved from ``reserved`` to ``sold``
    RELEASED = "released"  # cancelled: the units are available again
    EXPIRED = "expired"  # the TTL passed unpaid: the units are available again


class Warehouse(GlobalBase):
    __tablename__ = "warehouses"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    subdivision: Mapped[str] = mapped_column(String(8), default="")  # e.g. US state "CA"
    city: Mapped[str] = mapped_column(String(120), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    handling_days: Mapped[int] = mapped_column(Integer, default=2)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InventoryLevel(GlobalBase):
    __tablename__ = "inventory_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("sold >= 0", name="sold_non_negative"),
        CheckConstraint("on_hand - reserved - sold >= 0", name="available_non_negative"),
        Index("ix_inventory_levels_shop", "shop_id"),
        Index("ix_inventory_levels_warehouse", "warehouse_id"),
    )

    variant_id: Mapped[str] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True
    )
    warehouse_id: Mapped[str] = mapped_column(
        ForeignKey("warehouses.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sold: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InventoryMovement(GlobalBase):
    __tablename__ = "inventory_movements"
    __table_args__ = (
        Index("ix_inventory_movements_variant_created", "variant_id", "created_at"),
        Index("ix_inventory_movements_shop_created", "shop_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id", ondelete="CASCADE"))
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(255), default="")
    actor_id: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WarehouseAddress(RegionalBase):
    """Street lines of a warehouse, encrypted under the owner's data key (home region)."""

    __tablename__ = "warehouse_addresses"

    warehouse_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(48), index=True)
    address_ct: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StockReservation(GlobalBase):
    """Units of one level held for one checkout (``reference``) until paid or let go.

    Global, like the levels it holds: buyers of every region compete for the same units.
    ``buyer_id`` is the opaque account id only (nothing personal leaves the home region).

    No foreign keys on purpose: in PostgreSQL an FK check takes a KEY SHARE lock on the
    referenced variant and warehouse rows, so the thousand inserts of a flash sale would all
    share-lock one ``variants`` row (MultiXact churn on the hottest row there is). The level
    row updated in the same transaction proves the variant and warehouse exist.
    """

    __tablename__ = "stock_reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "status IN ('active', 'claimed', 'released', 'expired')", name="status_known"
        ),
        Index("ix_stock_reservations_reference", "reference"),
        Index("ix_stock_reservations_status_expires", "status", "expires_at"),
        Index("ix_stock_reservations_buyer", "buyer_id"),
        # One active hold per (checkout, variant): two concurrent reserve() calls for the
        # same checkout cannot both hold the same variant.
        Index(
            "uq_stock_reservations_active_reference_variant",
            "reference",
            "variant_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(String(48))
    shop_id: Mapped[str] = mapped_column(String(48))
    variant_id: Mapped[str] = mapped_column(String(48))
    warehouse_id: Mapped[str] = mapped_column(String(48))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.ACTIVE.value)
    deal_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PurchaseCapCounter(GlobalBase):
    """Units of a variant a buyer holds (active) or bought (claimed) under one deal.

    The per-buyer cap of a deal is enforced on this row with one conditional update
    (``quantity + :q <= :cap``) in the same transaction as the stock claim, so two
    concurrent checkouts of one buyer cannot both slip under the cap."""

    __tablename__ = "purchase_cap_counters"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_non_negative"),)

    deal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    variant_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
