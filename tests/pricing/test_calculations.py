"""Worked examples of a whole cart: discounts, allocation, shipping, tax, totals, storage."""

from __future__ import annotations

import json

import pytest

from shopreel.pricing import (
    CartBreakdown,
    Destination,
    Discount,
    LineInput,
    PricingError,
    SellerInput,
    ShippingRule,
    ShippingSettings,
    TaxReason,
    consistency_problems,
    price_cart,
)

FLAT_500 = ShippingSettings(flat_cents=500, free_threshold_cents=None, handling_days=2)


def _one_seller(*lines: LineInput, discounts: tuple[Discount, ...] = ()) -> list[SellerInput]:
    return [SellerInput("shp_a", lines, FLAT_500, discounts)]


def test_worked_example_in_california() -> None:
    """Two lines, a line discount, a capped seller discount, CA 7.25 %, shipping not taxed."""
    sellers = _one_seller(
        LineInput("mug", 1_250, 3, discounts=(Discount.fixed(250, label="mug-sale"),)),
        LineInput("tee", 2_000, 1),
        discounts=(Discount.percentage(1_000, cap_cents=300, label="SHOP10"),),
    )
    cart = price_cart(sellers, Destination("US", "CA"))
    part = cart.seller("shp_a")
    mug, tee = part.lines
    # gross 3750 + 2000 = 5750; mug after its discount 3500; before seller discount 5500;
    # 10 % of 5500 = 550, capped at 300 -> merchandise 5200
    assert (part.subtotal_cents, part.discount_cents, part.merchandise_cents) == (5750, 550, 5200)
    assert (mug.gross_cents, mug.line_discount_cents) == (3750, 250)
    # 300 split over 3500 : 2000 -> 190.9 : 109.09 -> 191 : 109 (largest remainder)
    assert (mug.seller_discount_cents, tee.seller_discount_cents) == (191, 109)
    assert (mug.net_cents, tee.net_cents) == (3309, 1891)
    # 3309 x 7.25 % = 239.9 -> 240; 1891 x 7.25 % = 137.09 -> 137
    assert (mug.tax_cents, tee.tax_cents) == (240, 137)
    assert part.shipping.fee_cents == 500 and part.shipping_tax_cents == 0  # CA: not taxed
    assert (part.tax_cents, part.total_cents) == (377, 5200 + 500 + 377)
    assert cart.totals.total_cents == 6077
    assert cart.tax.reason is TaxReason.STATE_BASE_RATE
    assert consistency_problems(cart) == []


def test_shipping_taxability_switch() -> None:
    """The same cart: Texas taxes the shipping charge, California does not."""
    sellers = _one_seller(LineInput("a", 1_000, 1))
    texas = price_cart(sellers, Destination("US", "TX")).seller("shp_a")
    california = price_cart(sellers, Destination("US", "CA")).seller("shp_a")
    assert texas.shipping_tax_cents == 31  # 500 x 6.25 % = 31.25
    assert texas.tax_cents == 63 + 31  # 1000 x 6.25 % = 62.5 -> 63
    assert california.shipping_tax_cents == 0
    assert california.tax_cents == 73  # 72.5 -> 73


def test_shipping_tax_follows_the_taxable_share_of_the_parcel() -> None:
    sellers = _one_seller(
        LineInput("taxed", 3_000, 1), LineInput("exempt", 1_000, 1, taxable=False)
    )
    part = price_cart(sellers, Destination("US", "NY")).seller("shp_a")
    # 3/4 of the 500 fee is taxable: 375 x 4 % = 15
    assert part.shipping_tax_cents == 15
    assert [line.tax_cents for line in part.lines] == [120, 0]
    only_exempt = _one_seller(LineInput("exempt", 1_000, 1, taxable=False))
    assert price_cart(only_exempt, Destination("US", "NY")).seller("shp_a").tax_cents == 0


def test_shipping_tax_when_goods_are_discounted_to_zero_uses_quantities() -> None:
    sellers = _one_seller(
        LineInput("taxed", 1_000, 1),
        LineInput("exempt", 1_000, 3, taxable=False),
        discounts=(Discount.percentage(10_000),),
    )
    part = price_cart(sellers, Destination("US", "TX")).seller("shp_a")
    assert part.merchandise_cents == 0 and part.shipping.fee_cents == 500
    assert part.shipping_tax_cents == 8  # 500 x 1/4 x 6.25 % = 7.8125 -> 8


@pytest.mark.parametrize("state", ["OR", "DE"])
def test_states_without_sales_tax_charge_nothing(state: str) -> None:
    cart = price_cart(_one_seller(LineInput("a", 9_999, 2)), Destination("US", state))
    assert cart.totals.tax_cents == 0
    assert cart.tax.reason is TaxReason.NO_STATE_SALES_TAX
    assert cart.totals.total_cents == 19_998 + 500


def test_non_us_destination_has_zero_us_tax_with_a_reason() -> None:
    cart = price_cart(_one_seller(LineInput("a", 10_000, 1)), Destination("FR"))
    assert cart.totals.tax_cents == 0
    assert cart.tax.reason is TaxReason.NON_US_DESTINATION
    assert json.loads(cart.to_json())["tax"]["reason"] == "non_us_destination"


def test_sellers_are_priced_separately_and_summed() -> None:
    sellers = [
        SellerInput("shp_a", (LineInput("a", 6_000, 1),), FLAT_500),
        SellerInput("shp_b", (LineInput("b", 1_000, 1),)),  # no settings: platform default
        SellerInput("shp_c", (LineInput("gift-card", 2_500, 1, requires_shipping=False),)),
    ]
    cart = price_cart(sellers, Destination("US", "WA"))
    a, b, c = cart.sellers
    assert [p.seller_id for p in cart.sellers] == ["shp_a", "shp_b", "shp_c"]
    assert (a.shipping.rule, a.shipping.fee_cents) == (ShippingRule.SHOP_FLAT_RATE, 500)
    assert (b.shipping.rule, b.shipping.fee_cents) == (ShippingRule.PLATFORM_DEFAULT, 599)
    assert (c.shipping.rule, c.shipping.fee_cents) == (ShippingRule.NO_SHIPPING_REQUIRED, 0)
    assert cart.totals.shipping_cents == 1_099
    assert cart.totals.total_cents == sum(p.total_cents for p in cart.sellers)
    assert cart.totals.subtotal_cents == 9_500


def test_free_shipping_threshold_counts_the_discounted_amount() -> None:
    shop = ShippingSettings(flat_cents=700, free_threshold_cents=5_000, handling_days=1)
    lines = (LineInput("a", 5_000, 1),)
    full = price_cart([SellerInput("s", lines, shop)], Destination("US", "OR"))
    coupon = price_cart(
        [SellerInput("s", lines, shop, (Discount.fixed(1),))], Destination("US", "OR")
    )
    assert full.totals.shipping_cents == 0
    assert coupon.totals.shipping_cents == 700  # 4999 after the coupon: below the threshold


def test_breakdown_round_trips_through_json_and_is_canonical() -> None:
    sellers = _one_seller(
        LineInput("a", 1_999, 2, discounts=(Discount.percentage(1_500),)),
        LineInput("b", 333, 7),
        discounts=(Discount.fixed(250, label="WELCOME"),),
    )
    cart = price_cart(sellers, Destination("US", "MN"))
    text = cart.to_json()
    restored = CartBreakdown.from_json(text)
    assert restored == cart
    assert restored.to_json() == text
    raw = json.loads(text)
    assert raw["schema"] == "shopreel.pricing.breakdown/1"
    assert raw["tax"]["rate_percent"] == "6.875" and raw["tax"]["table_as_of"] == "2025-01-01"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda r: r["totals"].update(total_cents=r["totals"]["total_cents"] + 1), "cart total"),
        (lambda r: r["sellers"][0]["lines"][0].update(tax_cents=0), "tax is not line taxes"),
        (lambda r: r["sellers"][0]["lines"][0].update(net_cents=-1), "non-negative"),
        (lambda r: r["sellers"][0]["lines"][0].update(quantity="2"), "non-negative integer"),
        (lambda r: r["sellers"][0].update(seller_discounts=[]), "seller discount shares"),
        (lambda r: r["sellers"][0]["shipping"].update(rule="teleport"), "rule is unknown"),
        (lambda r: r.update(schema="v0"), "schema"),
    ],
)
def test_stored_breakdowns_that_do_not_add_up_are_refused(tamper: object, message: str) -> None:
    sellers = _one_seller(LineInput("a", 1_000, 2), discounts=(Discount.fixed(100),))
    raw = json.loads(price_cart(sellers, Destination("US", "TX")).to_json())
    tamper(raw)  # type: ignore[operator]
    with pytest.raises(PricingError, match=message) as caught:
        CartBreakdown.from_json(json.dumps(raw))
    assert caught.value.code == "pricing_invalid_breakdown"


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: LineInput("a", -1, 1), "pricing_invalid_amount"),
        (lambda: LineInput("a", 100, 0), "pricing_invalid_quantity"),
        (lambda: LineInput("a", 100, True), "pricing_invalid_quantity"),
        (lambda: LineInput("", 100, 1), "pricing_invalid_id"),
        (lambda: SellerInput("s", ()), "pricing_empty_seller"),
        (
            lambda: price_cart(
                [
                    SellerInput("s", (LineInput("a", 1, 1),)),
                    SellerInput("s", (LineInput("b", 1, 1),)),
                ],
                Destination("US", "TX"),
            ),
            "pricing_duplicate_seller",
        ),
        (
            lambda: price_cart(
                [SellerInput("s", (LineInput("a", 1, 1, currency="EUR"),))], Destination("US", "TX")
            ),
            "pricing_currency_mismatch",
        ),
        (
            lambda: price_cart(
                [SellerInput("s", (LineInput("a", 1, 1),))], Destination("US", "TX"), currency="usd"
            ),
            "pricing_currency_mismatch",
        ),
    ],
)
def test_invalid_input_is_refused_with_a_stable_code(build: object, code: str) -> None:
    with pytest.raises(PricingError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.code == code
    assert caught.value.problem()["status"] == 422


def test_an_empty_cart_costs_nothing() -> None:
    cart = price_cart([], Destination("US", "CA"))
    assert cart.sellers == () and cart.totals.total_cents == 0
