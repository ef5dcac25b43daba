"""Response bodies of the orders API (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class OrderLineRead(BaseModel):
    variant_id: str
    product_id: str
    sku: str | None
    title: str
    options: dict[str, str]
    quantity: int
    unit_price_cents: int
    discount_cents: int
    net_cents: int
    tax_cents: int
    warehouse_id: str | None


class OrderEventRead(BaseModel):
    kind: str
    actor: str
    data: dict[str, Any]
    created_at: datetime


class AddressRead(BaseModel):
    name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str
    phone: str


class OrderSummaryRead(BaseModel):
    id: str
    shop_id: str
    shop_name: str | None
    status: str
    currency: str
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int
    item_count: int
    shipping_method: str
    shipping_label: str
    placed_at: datetime


class OrderRead(OrderSummaryRead):
    """One of your orders: what you paid, where it ships, and its history."""

    checkout_id: str
    payment_id: str
    tax_jurisdiction: str
    ship_to: AddressRead | None
    lines: list[OrderLineRead]
    events: list[OrderEventRead]


class OrderList(BaseModel):
    items: list[OrderSummaryRead]
    next_cursor: str | None


class IncomingOrderRead(BaseModel):
    """An order of your shop. The buyer's name and street address are not included: they
    are released to the seller by fulfillment (not built yet); ``ship_to_state`` and
    ``ship_to_country`` say where it goes."""

    id: str
    status: str
    currency: str
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int
    item_count: int
    tax_jurisdiction: str
    shipping_method: str
    shipping_label: str
    ship_to_state: str
    ship_to_country: str
    placed_at: datetime
    lines: list[OrderLineRead]
    events: list[OrderEventRead] | None = None


class IncomingOrderList(BaseModel):
    items: list[IncomingOrderRead]
    next_cursor: str | None
