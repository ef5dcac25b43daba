"""Warehouses and stock (global plane: buyers of every region reserve the same stock).

A warehouse's public shipping facts (country, state, city, postal code, handling time) are
here, because checkout in any region needs them for shipping zones and delivery promises;
its street address lines are personal data for an individual seller working from home, so
they live encrypted in the owner's home-region plane (:class:`WarehouseAddress`).

``on_hand`` never goes negative (a CHECK and conditional updates); every change is recorded
as an :class:`InventoryMovement` (who, why, delta, the level after).
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
