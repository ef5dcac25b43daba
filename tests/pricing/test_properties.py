"""Property tests (Hypothesis) of the pricing invariants.

For every generated cart and destination: totals equal the sum of their parts, seller
discounts are allocated to lines exactly, nothing is negative, no discount exceeds what it
discounts, tax rounding stays within half a cent per rounded amount, and tax grows with price.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shopreel.pricing import (
    CartBreakdown,
    Destination,
    Discount,
    DiscountKind,
    LineInput,
    SellerInput,
    ShippingSettings,
    consistency_problems,
    price_cart,
)
from shopreel.pricing.arithmetic import allocate_largest_remainder
from shopreel.pricing.calculations import taxable_shipping_share
from shopreel.pricing.tax import MILLIPERCENT_PER_WHOLE, US_STATES_AND_DC, tax_on

DESTINATIONS = [Destination("US", state) for state in sorted(US_STATES_AND_DC)] + [
    Destination("US", "PR"),
    Destination("CA", "ON"),
    Destination("DE"),
    Destination("JP"),
]

discounts = st.one_of(
    st.builds(
        Discount.percentage,
        st.integers(0, 10_000),
        cap_cents=st.none() | st.integers(0, 50_000),
        label=st.sampled_from(["", "SALE", "VIP"]),
    ),
    st.builds(Discount.fixed, st.integers(0, 200_000)),
)
shipping = st.none() | st.builds(
    ShippingSettings,
    flat_cents=st.integers(0, 5_000),
    free_threshold_cents=st.none() | st.integers(0, 100_000),
    handling_days=st.integers(0, 30),
)


@st.composite
def lines(draw: st.DrawFn, prefix: str) -> tuple[LineInput, ...]:
    count = draw(st.integers(1, 6))
    return tuple(
        LineInput(
            f"{prefix}-{index}",
            unit_price_cents=draw(st.integers(0, 500_000)),
            quantity=draw(st.integers(1, 25)),
            discounts=tuple(draw(st.lists(discounts, max_size=3))),
            requires_shipping=draw(st.booleans()),
            taxable=draw(st.booleans()),
        )
        for index in range(count)
    )


@st.composite
def carts(draw: st.DrawFn) -> list[SellerInput]:
    count = draw(st.integers(0, 4))
    return [
        SellerInput(
            f"shp_{index}",
            draw(lines(f"s{index}")),
            draw(shipping),
            tuple(draw(st.lists(discounts, max_size=3))),
        )
        for index in range(count)
    ]


destinations = st.sampled_from(DESTINATIONS)


def _all_amounts(cart: CartBreakdown) -> list[int]:
    amounts = [
        cart.totals.subtotal_cents,
        cart.totals.discount_cents,
        cart.totals.shipping_cents,
        cart.totals.tax_cents,
        cart.totals.total_cents,
    ]
    for part in cart.sellers:
        amounts += [
            part.subtotal_cents,
            part.discount_cents,
            part.merchandise_cents,
            part.shipping.fee_cents,
            part.shipping_tax_cents,
            part.tax_cents,
            part.total_cents,
        ]
        amounts += [a.amount_cents for a in part.seller_discounts]
        for line in part.lines:
            amounts += [
                line.gross_cents,
                line.line_discount_cents,
                line.seller_discount_cents,
                line.net_cents,
                line.tax_cents,
            ]
            amounts += [a.amount_cents for a in line.line_discounts]
    return amounts


@settings(max_examples=300, deadline=None)
@given(carts(), destinations)
def test_totals_are_the_sum_of_their_parts(sellers: list[SellerInput], to: Destination) -> None:
    cart = price_cart(sellers, to)
    assert consistency_problems(cart) == []
    for part in cart.sellers:
        assert part.total_cents == (
            part.subtotal_cents - part.discount_cents + part.shipping.fee_cents + part.tax_cents
        )
    totals = cart.totals
    assert totals.total_cents == (
        totals.subtotal_cents - totals.discount_cents + totals.shipping_cents + totals.tax_cents
    )
    assert CartBreakdown.from_json(cart.to_json()) == cart  # what an order stores reads back
    assert price_cart(sellers, to) == cart  # deterministic


@settings(max_examples=300, deadline=None)
@given(carts(), destinations)
def test_no_amount_is_ever_negative(sellers: list[SellerInput], to: Destination) -> None:
    assert min(_all_amounts(price_cart(sellers, to)), default=0) >= 0


@settings(max_examples=300, deadline=None)
@given(carts(), destinations)
def test_discounts_never_exceed_what_they_discount(
    sellers: list[SellerInput], to: Destination
) -> None:
    cart = price_cart(sellers, to)
    for given_seller, part in zip(sellers, cart.sellers, strict=True):
        assert part.discount_cents <= part.subtotal_cents
        after_lines = 0
        for given_line, line in zip(given_seller.lines, part.lines, strict=True):
            remaining = line.gross_cents
            for discount, applied in zip(given_line.discounts, line.line_discounts, strict=True):
                assert applied.amount_cents <= remaining
                if discount.cap_cents is not None:
                    assert applied.amount_cents <= discount.cap_cents
                if discount.kind is DiscountKind.FIXED:
                    assert applied.amount_cents <= discount.value
                remaining -= applied.amount_cents
            assert line.line_discount_cents <= line.gross_cents
            # a line's share of the seller discount never exceeds what the line had left
            assert line.seller_discount_cents <= line.gross_cents - line.line_discount_cents
            after_lines += line.gross_cents - line.line_discount_cents
        remaining = after_lines
        for discount, applied in zip(given_seller.discounts, part.seller_discounts, strict=True):
            assert applied.amount_cents <= remaining
            if discount.cap_cents is not None:
                assert applied.amount_cents <= discount.cap_cents
            remaining -= applied.amount_cents
        assert remaining == part.merchandise_cents


@settings(max_examples=300, deadline=None)
@given(carts(), destinations)
def test_seller_discount_allocation_sums_exactly(
    sellers: list[SellerInput], to: Destination
) -> None:
    for part in price_cart(sellers, to).sellers:
        seller_discount = sum(a.amount_cents for a in part.seller_discounts)
        assert sum(line.seller_discount_cents for line in part.lines) == seller_discount
        assert sum(line.net_cents for line in part.lines) == part.merchandise_cents


@settings(max_examples=300, deadline=None)
@given(carts(), destinations)
def test_tax_rounding_is_within_half_a_cent_per_rounded_amount(
    sellers: list[SellerInput], to: Destination
) -> None:
    cart = price_cart(sellers, to)
    rate, whole = cart.tax.rate_millipercent, MILLIPERCENT_PER_WHOLE
    for part in cart.sellers:
        for line in part.lines:
            exact_times_whole = line.net_cents * rate if line.taxable else 0
            # |tax - exact| <= 1/2 cent, in integers: |2 (tax * whole - exact * whole)| <= whole
            assert 2 * abs(line.tax_cents * whole - exact_times_whole) <= whole
        if cart.tax.taxes_shipping:
            numerator, denominator = taxable_shipping_share(part.shipping.fee_cents, part.lines)
            scale = denominator * whole
            assert 2 * abs(part.shipping_tax_cents * scale - numerator * rate) <= scale
        else:
            assert part.shipping_tax_cents == 0


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 15_000),
    st.integers(0, 15_000),
)
def test_tax_is_monotonic_in_amount_and_rate(a: int, b: int, r: int, s: int) -> None:
    low, high = sorted((a, b))
    slow, shigh = sorted((r, s))
    assert tax_on(low, slow) <= tax_on(high, slow) <= tax_on(high, shigh)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 500_000),
    st.integers(0, 500_000),
    st.integers(1, 25),
    st.lists(discounts, max_size=3),
    st.lists(discounts, max_size=3),
    destinations,
)
def test_a_lines_tax_never_falls_when_its_price_rises(
    p: int,
    q: int,
    quantity: int,
    line_discounts: list[Discount],
    seller_discounts: list[Discount],
    to: Destination,
) -> None:
    def line_tax(price: int) -> int:
        line = LineInput("l", price, quantity, discounts=tuple(line_discounts))
        seller = SellerInput("s", (line,), None, tuple(seller_discounts))
        return price_cart([seller], to).sellers[0].lines[0].tax_cents

    low, high = sorted((p, q))
    assert line_tax(low) <= line_tax(high)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=30))
def test_largest_remainder_allocation(total: int, weights: list[int]) -> None:
    weight_sum = sum(weights)
    if weight_sum == 0:
        total = 0
    parts = allocate_largest_remainder(total, weights)
    assert sum(parts) == total and len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        if weight_sum:
            floor_share = total * weight // weight_sum
            assert floor_share <= part <= floor_share + 1  # within one cent of the exact share
        if total <= weight_sum:
            assert part <= weight
