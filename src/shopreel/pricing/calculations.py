"""Price a cart: lines, discounts, shipping per seller, U.S. sales tax, totals. Pure.

The checkout loads prices and settings (``fetch``), calls :func:`price_cart`, and stores
``CartBreakdown.to_json()`` with each order. Every amount is integer minor units (cents for
USD); nothing here touches a float, a database or a clock.

Order of operations (each step documented in ``docs/pricing.md``):

1. line gross = unit price x quantity;
2. line discounts, in the order given, each on what is left of the line;
3. seller subtotal after line discounts; seller discounts in order, each on what is left;
4. the seller discount is allocated back to the lines in proportion to their amounts after
   line discounts (largest remainder, ties to the earlier line), so line nets sum exactly to
   the seller's merchandise amount;
5. shipping per seller from the merchandise amount after all discounts;
6. tax per line on the line net, rounded half up per line; shipping tax (in states that tax
   shipping) on the fee's taxable share, rounded half up once;
7. seller total = subtotal - discounts + shipping + tax; cart totals are sums over sellers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shopreel.catalog.money import currency_exponent
from shopreel.pricing.arithmetic import (
    MAX_AMOUNT_CENTS,
    allocate_largest_remainder,
    round_half_up_div,
)
from shopreel.pricing.breakdown import CartBreakdown, PricedLine, SellerBreakdown, Totals
from shopreel.pricing.discounts import AppliedDiscount, Discount, apply_in_order
from shopreel.pricing.errors import PricingError, PricingErrorCode
from shopreel.pricing.shipping import ShippingSettings, shipping_fee
from shopreel.pricing.tax import (
    MILLIPERCENT_PER_WHOLE,
    Destination,
    TaxDecision,
    TaxTable,
    decide_tax,
    tax_on,
)

MAX_QUANTITY: Final = 1_000_000
MAX_LINES_PER_SELLER: Final = 500
MAX_ID: Final = 64


@dataclass(frozen=True, slots=True)
class LineInput:
    """One cart line as the checkout read it: ``line_id`` is echoed back (cart line or
    variant id); ``requires_shipping`` and ``taxable`` come from the variant."""

    line_id: str
    unit_price_cents: int
    quantity: int
    discounts: tuple[Discount, ...] = ()
    requires_shipping: bool = True
    taxable: bool = True
    currency: str = "USD"

    def __post_init__(self) -> None:
        _check_id(self.line_id, "line_id")
        if not _is_int(self.unit_price_cents) or not 0 <= self.unit_price_cents <= MAX_AMOUNT_CENTS:
            raise PricingError(
                PricingErrorCode.INVALID_AMOUNT, "unit price must be 0 or more cents"
            )
        if not _is_int(self.quantity) or not 1 <= self.quantity <= MAX_QUANTITY:
            raise PricingError(
                PricingErrorCode.INVALID_QUANTITY, f"quantity must be 1 to {MAX_QUANTITY}"
            )


@dataclass(frozen=True, slots=True)
class SellerInput:
    """One seller's part of the cart. ``shipping`` ``None``: the shop never set shipping, the
    platform default applies. ``discounts`` apply to the seller's subtotal."""

    seller_id: str
    lines: tuple[LineInput, ...]
    shipping: ShippingSettings | None = None
    discounts: tuple[Discount, ...] = ()

    def __post_init__(self) -> None:
        _check_id(self.seller_id, "seller_id")
        if not self.lines:
            raise PricingError(PricingErrorCode.EMPTY_SELLER, "a seller needs at least one line")
        if len(self.lines) > MAX_LINES_PER_SELLER:
            raise PricingError(
                PricingErrorCode.INVALID_QUANTITY, f"at most {MAX_LINES_PER_SELLER} lines a seller"
            )


def price_cart(
    sellers: Sequence[SellerInput],
    destination: Destination,
    *,
    currency: str = "USD",
    table: TaxTable | None = None,
) -> CartBreakdown:
    """Price every seller's part of the cart for ``destination``; sellers keep their order."""
    try:
        currency_exponent(currency)
    except ValueError as error:
        raise PricingError(PricingErrorCode.CURRENCY_MISMATCH, str(error)) from error
    seen: set[str] = set()
    for seller in sellers:
        if seller.seller_id in seen:
            raise PricingError(
                PricingErrorCode.DUPLICATE_SELLER, f"seller {seller.seller_id} appears twice"
            )
        seen.add(seller.seller_id)
        for line in seller.lines:
            if line.currency != currency:
                raise PricingError(
                    PricingErrorCode.CURRENCY_MISMATCH,
                    f"line {line.line_id} is in {line.currency}, the cart in {currency}",
                )
    decision = decide_tax(destination, table)
    parts = tuple(price_seller(seller, decision) for seller in sellers)
    return CartBreakdown(currency, decision, parts, sum_totals(parts))


def price_seller(seller: SellerInput, decision: TaxDecision) -> SellerBreakdown:
    """One seller's breakdown under an already made tax decision."""
    after_line: list[tuple[LineInput, int, int, tuple[AppliedDiscount, ...]]] = []
    for line in seller.lines:
        gross = line.unit_price_cents * line.quantity
        remaining, applied = apply_in_order(gross, line.discounts)
        after_line.append((line, gross, remaining, applied))
    subtotal = sum(gross for _, gross, _, _ in after_line)
    before_seller = sum(remaining for _, _, remaining, _ in after_line)
    merchandise, seller_applied = apply_in_order(before_seller, seller.discounts)
    shares = allocate_largest_remainder(
        before_seller - merchandise, [remaining for _, _, remaining, _ in after_line]
    )
    rate = decision.rate_millipercent
    priced: list[PricedLine] = []
    for (line, gross, remaining, applied), share in zip(after_line, shares, strict=True):
        net = remaining - share
        priced.append(
            PricedLine(
                line_id=line.line_id,
                unit_price_cents=line.unit_price_cents,
                quantity=line.quantity,
                gross_cents=gross,
                line_discounts=applied,
                line_discount_cents=gross - remaining,
                seller_discount_cents=share,
                net_cents=net,
                requires_shipping=line.requires_shipping,
                taxable=line.taxable,
                tax_cents=tax_on(net, rate) if line.taxable else 0,
            )
        )
    quote = shipping_fee(
        seller.shipping,
        merchandise_cents=merchandise,
        shipping_required=any(line.requires_shipping for line in seller.lines),
    )
    shipping_tax = shipping_tax_cents(quote.fee_cents, priced, decision)
    tax = sum(line.tax_cents for line in priced) + shipping_tax
    discount = subtotal - merchandise
    return SellerBreakdown(
        seller_id=seller.seller_id,
        lines=tuple(priced),
        seller_discounts=seller_applied,
        subtotal_cents=subtotal,
        discount_cents=discount,
        merchandise_cents=merchandise,
        shipping=quote,
        shipping_tax_cents=shipping_tax,
        tax_cents=tax,
        total_cents=subtotal - discount + quote.fee_cents + tax,
    )


def taxable_shipping_share(fee_cents: int, lines: Sequence[PricedLine]) -> tuple[int, int]:
    """The taxable part of a shipping fee as the exact fraction ``(numerator, denominator)``.

    A parcel mixing taxable and non-taxable goods has its shipping taxed in proportion to the
    taxable goods' net amounts (how most states that tax shipping apportion it). When every
    shippable line is discounted to zero the quantities are the weights instead.
    """
    shippable = [line for line in lines if line.requires_shipping]
    weights = [line.net_cents for line in shippable]
    if sum(weights) == 0:
        weights = [line.quantity for line in shippable]
    total = sum(weights)
    if fee_cents == 0 or total == 0:
        return 0, 1
    taxable = sum(weight for line, weight in zip(shippable, weights, strict=True) if line.taxable)
    return fee_cents * taxable, total


def shipping_tax_cents(fee_cents: int, lines: Sequence[PricedLine], decision: TaxDecision) -> int:
    """Tax on the shipping fee where the state taxes shipping, rounded half up once."""
    if not decision.taxes_shipping or decision.rate_millipercent == 0:
        return 0
    numerator, denominator = taxable_shipping_share(fee_cents, lines)
    return round_half_up_div(
        numerator * decision.rate_millipercent, denominator * MILLIPERCENT_PER_WHOLE
    )


def sum_totals(parts: Sequence[SellerBreakdown]) -> Totals:
    return Totals(
        subtotal_cents=sum(part.subtotal_cents for part in parts),
        discount_cents=sum(part.discount_cents for part in parts),
        shipping_cents=sum(part.shipping.fee_cents for part in parts),
        tax_cents=sum(part.tax_cents for part in parts),
        total_cents=sum(part.total_cents for part in parts),
    )


def _check_id(value: object, name: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID:
        raise PricingError(PricingErrorCode.INVALID_ID, f"{name} must be 1 to {MAX_ID} chars")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
