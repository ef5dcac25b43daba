"""Pure cart rules, without a database."""

from __future__ import annotations

import pytest

from shopreel.cart import rules
from shopreel.cart.errors import CurrencyMismatch, InvalidQuantity, LineLimit, QuantityLimit
from shopreel.cart.rules import Unavailable


def test_quantity_limits() -> None:
    assert rules.MAX_LINE_QUANTITY == 20 and rules.MAX_LINES == 50
    assert rules.check_quantity(1) == 1
    assert rules.check_quantity(20) == 20
    assert rules.check_quantity(0, allow_zero=True) == 0
    with pytest.raises(InvalidQuantity):
        rules.check_quantity(0)
    with pytest.raises(InvalidQuantity):
        rules.check_quantity(-3, allow_zero=True)
    with pytest.raises(QuantityLimit) as limit:
        rules.check_quantity(21)
    assert limit.value.code == "cart_quantity_limit" and limit.value.status == 422
    assert limit.value.extra == {"max_quantity": 20}


def test_merge_adds_quantities_up_to_the_line_limit() -> None:
    assert rules.merged_quantity(0, 3) == 3
    assert rules.merged_quantity(3, 4) == 7
    assert rules.merged_quantity(19, 1) == 20
    with pytest.raises(QuantityLimit) as refused:
        rules.merged_quantity(18, 5)
    assert refused.value.extra == {"max_quantity": 20, "in_cart": 18, "can_add": 2}
    assert "add 2 more" in refused.value.detail
    with pytest.raises(QuantityLimit) as full:
        rules.merged_quantity(20, 1)
    assert full.value.extra["can_add"] == 0
    with pytest.raises(InvalidQuantity):
        rules.merged_quantity(3, 0)


def test_line_count_limit() -> None:
    rules.check_room_for_line(0)
    rules.check_room_for_line(49)
    with pytest.raises(LineLimit) as refused:
        rules.check_room_for_line(50)
    assert refused.value.code == "cart_line_limit"


def test_one_currency_per_cart() -> None:
    rules.check_currency([], "USD")
    rules.check_currency(["USD", "USD"], "USD")
    with pytest.raises(CurrencyMismatch) as refused:
        rules.check_currency(["EUR"], "USD")
    assert refused.value.extra == {"cart_currency": "EUR", "currency": "USD"}


def test_price_change_detection() -> None:
    assert rules.price_change(1999, 1999) is None
    up = rules.price_change(1999, 2499)
    assert up is not None and up.went_up and up.delta_cents == 500
    down = rules.price_change(1999, 999)
    assert down is not None and not down.went_up and down.delta_cents == -1000


@pytest.mark.parametrize(
    ("variant_exists", "product_status", "shop_status", "expected"),
    [
        (True, "live", "approved", None),
        (False, "live", "approved", Unavailable.VARIANT_GONE),
        (True, None, "approved", Unavailable.VARIANT_GONE),
        (True, "archived", "approved", Unavailable.PRODUCT_NOT_LIVE),
        (True, "draft", "approved", Unavailable.PRODUCT_NOT_LIVE),
        (True, "pending_review", "approved", Unavailable.PRODUCT_NOT_LIVE),
        (True, "live", "suspended", Unavailable.SHOP_SUSPENDED),
        (True, "live", None, Unavailable.SHOP_SUSPENDED),
    ],
)
def test_unavailable_reason(
    variant_exists: bool,
    product_status: str | None,
    shop_status: str | None,
    expected: Unavailable | None,
) -> None:
    assert (
        rules.unavailable_reason(
            variant_exists=variant_exists, product_status=product_status, shop_status=shop_status
        )
        == expected
    )


def test_line_flags() -> None:
    fine = rules.flags_of(
        quantity=2, seen_cents=500, current_cents=500, available=2, unavailable=None
    )
    assert fine.buyable and not fine.price_changed and not fine.short
    short = rules.flags_of(
        quantity=3, seen_cents=500, current_cents=600, available=2, unavailable=None
    )
    assert short.short and short.price_changed and not short.buyable
    gone = rules.flags_of(
        quantity=3,
        seen_cents=500,
        current_cents=600,
        available=0,
        unavailable=Unavailable.PRODUCT_NOT_LIVE,
    )
    # an unavailable line says only that: neither short nor repriced
    assert gone.unavailable is Unavailable.PRODUCT_NOT_LIVE
    assert not gone.short and not gone.price_changed and not gone.buyable
    deleted = rules.flags_of(
        quantity=1, seen_cents=500, current_cents=None, available=0, unavailable=None
    )
    assert deleted.unavailable is Unavailable.VARIANT_GONE


def test_stock_allows_growth_within_stock_and_any_decrease() -> None:
    assert rules.stock_allows(current=0, requested=3, available=3)
    assert not rules.stock_allows(current=0, requested=4, available=3)
    assert not rules.stock_allows(current=2, requested=4, available=3)
    assert rules.stock_allows(current=5, requested=3, available=2)  # lowering a short line
    assert rules.stock_allows(current=5, requested=5, available=0)


def test_after_purchase() -> None:
    lines = {"a": 3, "b": 1, "c": 2}
    assert rules.after_purchase(lines, {"a": 1, "b": 1, "z": 4}) == {"a": 2, "b": 0}
    assert rules.after_purchase(lines, {"c": 5}) == {"c": 0}  # never below zero
    assert rules.after_purchase(lines, {}) == {}
    with pytest.raises(ValueError):
        rules.after_purchase(lines, {"a": -1})


def test_subtotal() -> None:
    assert rules.subtotal([]) == 0
    assert rules.subtotal([(2, 1999), (1, 500)]) == 4498
