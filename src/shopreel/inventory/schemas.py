"""JSON shapes of the inventory API (Pydantic v2). Business rules live in rules.py, so the
same checks apply to API, pages and imports; these models bound sizes and types only."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shopreel.inventory.rules import MAX_BATCH_LINES


class WarehouseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    line1: str = Field(max_length=400)
    line2: str = Field(default="", max_length=400)
    city: str = Field(max_length=200)
    state: str = Field(default="", max_length=32, description="US: USPS code such as CA")
    postal_code: str = Field(max_length=32, description="US: ZIP or ZIP+4")
    country: str = Field(max_length=8, description="ISO 3166 alpha-2")
    handling_days: int = Field(default=2, description="0 to 30 business days")


class WarehouseUpdate(BaseModel):
    """Fields to change; omitted ones keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    line1: str | None = Field(default=None, max_length=400)
    line2: str | None = Field(default=None, max_length=400)
    city: str | None = Field(default=None, max_length=200)
    state: str | None = Field(default=None, max_length=32)
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=8)
    handling_days: int | None = None


class WarehouseRead(BaseModel):
    id: str
    shop_id: str
    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str
    handling_days: int
    active: bool
    created_at: datetime
    updated_at: datetime


class WarehouseList(BaseModel):
    items: list[WarehouseRead]
    limit: int


class AdjustmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: str = Field(min_length=1, max_length=64)
    warehouse_id: str = Field(min_length=1, max_length=64)
    delta: int = Field(description="Units to add (negative removes); never zero")
    reason: str = Field(max_length=32, description="received | adjustment | transfer")
    note: str = Field(default="", max_length=1000)


class AdjustmentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[AdjustmentLineIn] = Field(min_length=1, max_length=MAX_BATCH_LINES)


class CountLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: str = Field(min_length=1, max_length=64)
    warehouse_id: str = Field(min_length=1, max_length=64)
    on_hand: int = Field(description="The counted quantity")
    note: str = Field(default="", max_length=1000)


class CountBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[CountLineIn] = Field(min_length=1, max_length=MAX_BATCH_LINES)


class MovementRead(BaseModel):
    id: str
    variant_id: str
    warehouse_id: str
    delta: int
    on_hand_after: int
    reason: str
    note: str
    actor_id: str
    created_at: datetime


class BatchResult(BaseModel):
    """The movements a batch recorded, in the order they were applied (lock order)."""

    movements: list[MovementRead]


class StockRowRead(BaseModel):
    variant_id: str
    product_id: str
    product_title: str
    product_status: str
    options: dict[str, str]
    sku: str
    warehouse_id: str
    warehouse_name: str
    on_hand: int
    reserved: int = Field(description="Units held by buyers' checkouts (active reservations)")
    sold: int = Field(description="Units paid for and still in the warehouse (awaiting shipment)")
    available: int = Field(description="on_hand - reserved - sold: what buyers can still reserve")


class StockPage(BaseModel):
    items: list[StockRowRead]
    next_cursor: str | None


class MovementPage(BaseModel):
    items: list[MovementRead]
    next_cursor: str | None
