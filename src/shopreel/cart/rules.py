"""Pure cart rules (no database): quantity limits, merging, availability and price changes.

Limits: a line holds 1 to :data:`MAX_LINE_QUANTITY` units and a cart at most
:data:`MAX_LINES` distinct variants. They keep a cart a shopping list, not a warehouse
order, and bound the work of showing it and of a checkout (one reservation per line).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shopreel.cart.errors import (
    CurrencyMismatch,
    InvalidQuantity,
    LineLimit,
    QuantityLimit,
)

MAX_LINE_QUANTITY: Final = 20
MAX_LINES: Final = 50


class Unavailable(StrEnum):
    """Why a line cannot be bought now."""

    VARIANT_GONE = "variant_gone"  # deleted by the seller (or its product was)
    PRODUCT_NOT_LIVE = "product_not_live"  # draft, in review, rejected or archived
    SHOP_SUSPENDED = "shop_suspended"  # the shop is not approved (suspended)


def check_quantity(quantity: int, *, allow_zero: bool = False) -> int:
    """A quantity a buyer may ask for: 1..MAX_LINE_QUANTITY (0 too when it means remove)."""
    if quantity == 0 and allow_zero:
        return 0
    if quantity < 1:
        raise InvalidQuantity(
            "The quantity must be at least 1."
            + (" Use 0 to remove the line." if allow_zero else "")
        )
    if quantity > MAX_LINE_QUANTITY:
        raise QuantityLimit(
            f"At most {MAX_LINE_QUANTITY} of one item fit in a cart.",
            extra={"max_quantity": MAX_LINE_QUANTITY},
        )
    return quantity


def merged_quantity(in_cart: int, adding: int) -> int:
    """Adding a variant already in the cart adds to its line, up to the per-line limit;
    beyond it the whole addition is refused and the error says how many still fit."""
    check_quantity(adding)
    total = in_cart + adding
    if total > MAX_LINE_QUANTITY:
        room = max(0, MAX_LINE_QUANTITY - in_cart)
        raise QuantityLimit(
            f"You already have {in_cart} of this item in your cart; at most "
            f"{MAX_LINE_QUANTITY} fit, so you can add {room} more.",
            extra={"max_quantity": MAX_LINE_QUANTITY, "in_cart": in_cart, "can_add": room},
        )
    return total


def check_room_for_line(line_count: int) -> None:
    """A new variant needs room for one more line."""
    if line_count >= MAX_LINES:
        raise LineLimit(
            f"A cart holds at most {MAX_LINES} different items. Remove one to add another.",
            extra={"max_lines": MAX_LINES},
        )


def check_currency(cart_currencies: Iterable[str], currency: str) -> None:
    """One currency per cart: a checkout charges one amount in one currency."""
    others = sorted({c for c in cart_currencies if c != currency})
    if others:
        raise CurrencyMismatch(
            f"Your cart is in {others[0]}; this item is priced in {currency}. "
            "Check out your cart first.",
            extra={"cart_currency": others[0], "currency": currency},
        )


def unavailable_reason(
    *, variant_exists: bool, product_status: str | None, shop_status: str | None
) -> Unavailable | None:
    if not variant_exists or product_status is None:
        return Unavailable.VARIANT_GONE
    if shop_status != "approved":
        return Unavailable.SHOP_SUSPENDED
    if product_status != "live":
        return Unavailable.PRODUCT_NOT_LIVE
    return None


@dataclass(frozen=True, slots=True)
class PriceChange:
    seen_cents: int
    current_cents: int

    @property
    def delta_cents(self) -> int:
        return self.current_cents - self.seen_cents

    @property
    def went_up(self) -> bool:
        return self.delta_cents > 0


def price_change(seen_cents: int, current_cents: int) -> PriceChange | None:
    """The change since the buyer added the line, or None when the price is the same."""
    if seen_cents == current_cents:
        return None
    return PriceChange(seen_cents, current_cents)


@dataclass(frozen=True, slots=True)
class LineFlags:
    price_change: PriceChange | None
    unavailable: Unavailable | None
    short: bool  # more in the cart than is available now

    @property
    def price_changed(self) -> bool:
        return self.price_change is not None

    @property
    def buyable(self) -> bool:
        return self.unavailable is None and not self.short


def flags_of(
    *,
    quantity: int,
    seen_cents: int,
    current_cents: int | None,
    available: int,
    unavailable: Unavailable | None,
) -> LineFlags:
    """A line's notices. An unavailable line is neither short nor repriced: the one thing
    to tell the buyer is that it cannot be bought."""
    if unavailable is not None or current_cents is None:
        return LineFlags(None, unavailable or Unavailable.VARIANT_GONE, False)
    return LineFlags(price_change(seen_cents, current_cents), None, quantity > available)


def stock_allows(*, current: int, requested: int, available: int) -> bool:
    """A line may grow only within the stock available now; lowering it is always allowed
    (a buyer with 5 in the cart and 2 left may go down to 3 and see the notice)."""
    return requested <= available or requested <= current


def after_purchase(lines: Mapping[str, int], purchased: Mapping[str, int]) -> dict[str, int]:
    """Quantities left in the cart after a paid checkout, by variant; 0 means remove the
    line. Variants bought but no longer in the cart are ignored."""
    left: dict[str, int] = {}
    for variant_id, quantity in purchased.items():
        if quantity < 0:
            raise ValueError(f"purchased quantity of {variant_id} is negative")
        if variant_id in lines:
            left[variant_id] = max(0, lines[variant_id] - quantity)
    return left


def subtotal(lines: Iterable[tuple[int, int]]) -> int:
    """Sum of ``quantity * unit price`` over ``(quantity, unit_price_cents)`` pairs."""
    return sum(quantity * price for quantity, price in lines)
