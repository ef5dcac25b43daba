"""Request and response bodies of the cart API (Pydantic v2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shopreel.cart.service import CartView, LineView, SellerGroup


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Quantities are bounded loosely here; the cart's own limits (1..20 per line) answer with
# their stable codes (``invalid_quantity``, ``cart_quantity_limit``).
class AddItemIn(_In):
    variant_id: str = Field(min_length=1, max_length=64, examples=["var_01j..."])
    quantity: int = Field(default=1, ge=-1_000_000, le=1_000_000, examples=[1])


class SetQuantityIn(_In):
    quantity: int = Field(ge=-1_000_000, le=1_000_000, examples=[2], description="0 removes")


class PriceChangeRead(BaseModel):
    was_cents: int
    now_cents: int


class CartLineRead(BaseModel):
    variant_id: str
    product_id: str
    shop_id: str
    title: str
    options: dict[str, str]
    sku: str
    quantity: int
    unit_price_cents: int = Field(description="Current price (the price when added if gone)")
    price_when_added_cents: int
    line_total_cents: int
    currency: str
    available: int = Field(description="Units in stock now (a snapshot)")
    price_changed: bool
    price_change: PriceChangeRead | None
    unavailable: bool
    unavailable_reason: str | None = Field(
        description="variant_gone | product_not_live | shop_suspended"
    )
    unavailable_message: str | None
    short: bool = Field(description="More in the cart than available now")
    url: str


class CartSellerRead(BaseModel):
    shop_id: str
    shop_name: str
    currency: str
    subtotal_cents: int
    lines: list[CartLineRead]


class CartRead(BaseModel):
    id: str | None
    currency: str | None
    line_count: int
    item_count: int
    subtotal_cents: int = Field(description="Buyable lines at current prices")
    can_checkout: bool
    has_price_changes: bool
    has_unavailable: bool
    has_short: bool
    sellers: list[CartSellerRead]


def line_read(line: LineView) -> CartLineRead:
    change = line.flags.price_change
    return CartLineRead(
        variant_id=line.variant_id,
        product_id=line.product_id,
        shop_id=line.shop_id,
        title=line.title,
        options=line.options,
        sku=line.sku,
        quantity=line.quantity,
        unit_price_cents=line.unit_price_cents,
        price_when_added_cents=line.price_when_added_cents,
        line_total_cents=line.line_total_cents,
        currency=line.currency,
        available=line.available,
        price_changed=change is not None,
        price_change=None
        if change is None
        else PriceChangeRead(was_cents=change.seen_cents, now_cents=change.current_cents),
        unavailable=line.flags.unavailable is not None,
        unavailable_reason=None if line.flags.unavailable is None else line.flags.unavailable.value,
        unavailable_message=line.unavailable_message,
        short=line.flags.short,
        url=f"/products/{line.product_id}",
    )


def seller_read(group: SellerGroup) -> CartSellerRead:
    return CartSellerRead(
        shop_id=group.shop_id,
        shop_name=group.shop_name,
        currency=group.currency,
        subtotal_cents=group.subtotal_cents,
        lines=[line_read(line) for line in group.lines],
    )


def cart_read(view: CartView) -> CartRead:
    return CartRead(
        id=view.id,
        currency=view.currency,
        line_count=view.line_count,
        item_count=view.item_count,
        subtotal_cents=view.subtotal_cents,
        can_checkout=view.can_checkout,
        has_price_changes=view.has_price_changes,
        has_unavailable=view.has_unavailable,
        has_short=view.has_short,
        sellers=[seller_read(group) for group in view.sellers],
    )
