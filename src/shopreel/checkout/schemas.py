"""Request and response bodies of the checkout API (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(_In):
    variant_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=20)


class AddressIn(_In):
    """Checked again by the checkout rules (state and ZIP for U.S. addresses)."""

    name: str = Field(max_length=120, examples=["Ada Buyer"])
    line1: str = Field(max_length=200, examples=["1 Main St"])
    line2: str = Field(default="", max_length=200)
    city: str = Field(max_length=100, examples=["Austin"])
    state: str = Field(default="", max_length=8, examples=["TX"])
    postal_code: str = Field(max_length=16, examples=["78701"])
    country: str = Field(max_length=2, examples=["US"])
    phone: str = Field(default="", max_length=32)


class CheckoutIn(_In):
    lines: list[LineIn] | None = Field(
        default=None, max_length=50, description="Omit to check out the cart."
    )
    address: AddressIn
    shipping: dict[str, str] = Field(
        default_factory=dict, description="Per shop id: 'standard' (default) or 'express'."
    )


class PayIn(_In):
    token: str = Field(max_length=400, examples=["tok_sandbox_..."])
    return_url: str | None = Field(
        default=None,
        max_length=1000,
        description="Where the card's second-step page sends the buyer back (our pages only).",
    )


class LineRead(BaseModel):
    variant_id: str
    product_id: str
    title: str
    sku: str | None
    options: dict[str, str]
    quantity: int
    unit_price_cents: int
    discount_cents: int
    net_cents: int
    tax_cents: int


class SellerPartRead(BaseModel):
    shop_id: str
    shop_name: str
    shipping_method: str
    shipping_label: str
    handling_days: int
    lines: list[LineRead]
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int


class TotalsRead(BaseModel):
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    total_cents: int


class PaymentBrief(BaseModel):
    id: str
    status: str
    card_brand: str | None
    card_last4: str | None
    decline_code: str | None
    next_action_url: str | None


class OrderBrief(BaseModel):
    id: str
    shop_id: str
    status: str
    total_cents: int


class CheckoutRead(BaseModel):
    id: str
    status: str
    currency: str
    expires_at: datetime
    completed_at: datetime | None
    failure_code: str | None
    ship_to: dict[str, str]
    tax_rate_percent: str
    sellers: list[SellerPartRead]
    totals: TotalsRead
    payment: PaymentBrief | None
    orders: list[OrderBrief]
    created_at: datetime
