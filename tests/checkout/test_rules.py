"""Pure checkout rules: address, lines, shipping methods, state machine, order plans."""

from __future__ import annotations

import pytest

from shopreel.checkout import rules
from shopreel.checkout.errors import InvalidAddress, InvalidCheckout, InvalidShippingChoice
from shopreel.checkout.rules import ShippingMethod
from shopreel.pricing import (
    PLATFORM_DEFAULT_SHIPPING,
    Destination,
    LineInput,
    SellerInput,
    ShippingSettings,
    price_cart,
)

GOOD = {
    "name": "  Ada   Buyer ",
    "line1": "1 Main St",
    "city": "Austin",
    "state": "tx",
    "postal_code": "78701-1234",
    "country": "us",
}


def test_an_address_is_trimmed_and_normalized() -> None:
    address = rules.parse_address(GOOD)
    assert address.name == "Ada Buyer"
    assert (address.state, address.country) == ("TX", "US")
    assert address.as_dict()["line2"] == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"state": "ZZ"}, "state"),
        ({"postal_code": "7870"}, "postal_code"),
        ({"country": "XX"}, "country"),
        ({"name": ""}, "name"),
        ({"line1": "x" * 201}, "line1"),
        ({"phone": "call me"}, "phone"),
        ({"city": "Aus\x00tin"}, "city"),
    ],
)
def test_bad_addresses_name_the_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidAddress) as refused:
        rules.parse_address({**GOOD, **change})
    assert field in refused.value.extra["fields"]


def test_a_foreign_address_needs_no_state_or_zip() -> None:
    address = rules.parse_address(
        {"name": "Jo", "line1": "1 rue X", "city": "Paris", "postal_code": "75001", "country": "FR"}
    )
    assert address.state == "" and address.country == "FR"


def test_lines_are_merged_and_bounded() -> None:
    assert rules.merge_lines([("a", 1), ("b", 2), ("a", 3)]) == [("a", 4), ("b", 2)]
    with pytest.raises(InvalidCheckout):
        rules.merge_lines([])
    with pytest.raises(InvalidCheckout):
        rules.merge_lines([("a", 15), ("a", 6)])
    with pytest.raises(InvalidCheckout):
        rules.merge_lines([(f"v{i}", 1) for i in range(51)])
    with pytest.raises(InvalidCheckout):
        rules.merge_lines([("a", 0)])


def test_shipping_choices_default_to_standard_and_refuse_strangers() -> None:
    assert rules.shipping_choices(None, ["s1", "s2"]) == {
        "s1": ShippingMethod.STANDARD,
        "s2": ShippingMethod.STANDARD,
    }
    assert rules.shipping_choices({"s2": "express"}, ["s1", "s2"])["s2"] is ShippingMethod.EXPRESS
    with pytest.raises(InvalidShippingChoice):
        rules.shipping_choices({"s3": "standard"}, ["s1"])
    with pytest.raises(InvalidShippingChoice):
        rules.shipping_choices({"s1": "teleport"}, ["s1"])


def test_express_is_the_flat_fee_plus_the_surcharge_and_never_free() -> None:
    shop = ShippingSettings(flat_cents=450, free_threshold_cents=2000, handling_days=3)
    assert rules.shipping_settings(ShippingMethod.STANDARD, shop) is shop
    express = rules.shipping_settings(ShippingMethod.EXPRESS, shop)
    assert express == ShippingSettings(
        flat_cents=450 + rules.EXPRESS_SURCHARGE_CENTS, free_threshold_cents=None, handling_days=1
    )
    default = rules.shipping_settings(ShippingMethod.EXPRESS, None)
    assert default is not None
    assert (
        default.flat_cents == PLATFORM_DEFAULT_SHIPPING.flat_cents + rules.EXPRESS_SURCHARGE_CENTS
    )


def test_the_state_machine() -> None:
    assert rules.can_move("reserved", "processing")
    assert rules.can_move("requires_action", "reserved")
    assert rules.can_move("processing", "completed")
    assert not rules.can_move("completed", "reserved")
    assert not rules.can_move("expired", "processing")
    assert not rules.can_move("reserved", "completed")


def test_order_plans_pair_each_line_with_its_price() -> None:
    breakdown = price_cart(
        [
            SellerInput("shop_a", (LineInput("v1", 1000, 2),)),
            SellerInput("shop_b", (LineInput("v2", 500, 1), LineInput("v3", 250, 4))),
        ],
        Destination("US", "NY"),
    )
    lines = [
        {"variant_id": "v1", "shop_id": "shop_a"},
        {"variant_id": "v2", "shop_id": "shop_b"},
        {"variant_id": "v3", "shop_id": "shop_b"},
    ]
    plans = rules.order_plans(breakdown, lines, {"shop_b": "express"})
    assert [p.shop_id for p in plans] == ["shop_a", "shop_b"]
    assert plans[1].shipping_method is ShippingMethod.EXPRESS
    assert [line["variant_id"] for line, _ in plans[1].lines] == ["v2", "v3"]
    assert sum(p.part.total_cents for p in plans) == breakdown.totals.total_cents
    with pytest.raises(InvalidCheckout):
        rules.order_plans(breakdown, lines[:2], {})
    with pytest.raises(InvalidCheckout):
        rules.order_plans(breakdown, [*lines, {"variant_id": "v4", "shop_id": "shop_a"}], {})


def test_tax_jurisdiction() -> None:
    assert rules.tax_jurisdiction("US", "CA", 725) == "US-CA"
    assert rules.tax_jurisdiction("US", "OR", 0) == ""
    assert rules.tax_jurisdiction("FR", "", 0) == ""
