"""Example tests of the pricing rules: rounding, discounts, allocation, shipping."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shopreel.pricing import (
    PLATFORM_DEFAULT_SHIPPING,
    Discount,
    DiscountKind,
    PricingError,
    ShippingRule,
    ShippingSettings,
    settings_from_shop,
    settings_from_shop_values,
    shipping_fee,
)
from shopreel.pricing.arithmetic import allocate_largest_remainder, round_half_up_div
from shopreel.pricing.discounts import apply_in_order


def test_round_half_up_rounds_halves_up_not_to_even() -> None:
    assert [round_half_up_div(n, 2) for n in (1, 3, 5, 7)] == [1, 2, 3, 4]
    assert round_half_up_div(149, 100) == 1 and round_half_up_div(150, 100) == 2
    with pytest.raises(ValueError):
        round_half_up_div(1, 0)
    with pytest.raises(ValueError):
        round_half_up_div(-1, 2)


def test_largest_remainder_allocation_examples() -> None:
    assert allocate_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]  # tie -> earlier line
    assert allocate_largest_remainder(10, [3, 3, 4]) == [3, 3, 4]
    assert allocate_largest_remainder(5, [1000, 10, 1]) == [5, 0, 0]
    assert allocate_largest_remainder(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate_largest_remainder(0, [0, 0]) == [0, 0]
    assert allocate_largest_remainder(7, [0, 5, 0]) == [0, 7, 0]
    with pytest.raises(ValueError):
        allocate_largest_remainder(1, [0, 0])


def test_percentage_discount_rounds_half_up_and_respects_cap() -> None:
    ten_percent = Discount.percentage(1000)
    assert ten_percent.amount_off(1995) == 200  # 199.5 -> 200
    assert ten_percent.amount_off(1994) == 199  # 199.4 -> 199
    capped = Discount.percentage(5000, cap_cents=300)
    assert capped.amount_off(1000) == 300
    assert capped.amount_off(400) == 200
    assert Discount.percentage(10_000).amount_off(1234) == 1234  # 100 % is the whole amount


def test_fixed_discount_never_below_zero() -> None:
    assert Discount.fixed(500).amount_off(300) == 300
    assert Discount.fixed(500).amount_off(800) == 500
    assert Discount(DiscountKind.FIXED, 500, cap_cents=200).amount_off(800) == 200


def test_discounts_apply_in_the_given_order_each_on_the_remainder() -> None:
    five_off, ten_percent = Discount.fixed(500, label="A"), Discount.percentage(1000, label="B")
    remaining, applied = apply_in_order(10_000, (five_off, ten_percent))
    assert remaining == 8_550 and [a.amount_cents for a in applied] == [500, 950]
    remaining, applied = apply_in_order(10_000, (ten_percent, five_off))
    assert remaining == 8_500 and [a.amount_cents for a in applied] == [1000, 500]
    assert [a.label for a in applied] == ["B", "A"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Discount.percentage(10_001),
        lambda: Discount.percentage(-1),
        lambda: Discount.fixed(-5),
        lambda: Discount.percentage(100, cap_cents=-1),
        lambda: Discount(DiscountKind.FIXED, True),
        lambda: Discount.fixed(1, label="x" * 121),
        lambda: Discount("percentage", 100),  # type: ignore[arg-type]
    ],
)
def test_invalid_discounts_are_refused(make: object) -> None:
    with pytest.raises(PricingError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.code == "pricing_invalid_discount"


def test_shop_flat_rate_and_free_threshold_after_discounts() -> None:
    shop = ShippingSettings(flat_cents=499, free_threshold_cents=3_000, handling_days=3)
    quote = shipping_fee(shop, merchandise_cents=2_999, shipping_required=True)
    assert (quote.fee_cents, quote.rule, quote.handling_days) == (
        499,
        ShippingRule.SHOP_FLAT_RATE,
        3,
    )
    quote = shipping_fee(shop, merchandise_cents=3_000, shipping_required=True)
    assert (quote.fee_cents, quote.rule) == (0, ShippingRule.FREE_OVER_THRESHOLD)
    assert quote.platform_default is False


def test_zero_flat_rate_is_free_shipping_not_the_platform_default() -> None:
    shop = settings_from_shop_values(0, None, 1)
    assert shop is not None
    quote = shipping_fee(shop, merchandise_cents=100, shipping_required=True)
    assert (quote.fee_cents, quote.rule, quote.platform_default) == (
        0,
        ShippingRule.SHOP_FLAT_RATE,
        False,
    )


def test_shop_without_settings_pays_the_documented_platform_default() -> None:
    assert settings_from_shop_values(None, None, 2) is None
    assert (
        PLATFORM_DEFAULT_SHIPPING.flat_cents,
        PLATFORM_DEFAULT_SHIPPING.free_threshold_cents,
    ) == (
        599,
        5_000,
    )
    quote = shipping_fee(None, merchandise_cents=4_999, shipping_required=True)
    assert (quote.fee_cents, quote.rule, quote.platform_default) == (
        599,
        ShippingRule.PLATFORM_DEFAULT,
        True,
    )
    quote = shipping_fee(None, merchandise_cents=5_000, shipping_required=True)
    assert (quote.fee_cents, quote.rule, quote.platform_default) == (
        0,
        ShippingRule.FREE_OVER_THRESHOLD,
        True,
    )


def test_nothing_to_ship_costs_nothing() -> None:
    shop = ShippingSettings(999, None, 2)
    quote = shipping_fee(shop, merchandise_cents=100, shipping_required=False)
    assert (quote.fee_cents, quote.rule) == (0, ShippingRule.NO_SHIPPING_REQUIRED)


@dataclass
class _ShopColumns:
    flat_shipping_cents: int | None
    free_shipping_threshold_cents: int | None
    default_handling_days: int


def test_settings_read_from_shop_columns() -> None:
    assert settings_from_shop(_ShopColumns(None, 1000, 2)) is None
    assert settings_from_shop(_ShopColumns(350, None, 4)) == ShippingSettings(350, None, 4)


def test_negative_shipping_settings_are_refused() -> None:
    with pytest.raises(PricingError) as caught:
        ShippingSettings(-1, None, 2)
    assert caught.value.code == "pricing_invalid_amount"
    with pytest.raises(PricingError):
        ShippingSettings(100, -1, 2)
