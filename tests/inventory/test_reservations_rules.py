"""Pure reservation rules: planning a cart, warehouse choice, caps, transitions, the
invariant. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopreel.inventory import rules
from shopreel.inventory.errors import InvalidInventoryInput
from shopreel.inventory.rules import DealCap, ReservationLine


def test_a_cart_is_merged_per_variant_and_sorted_into_lock_order() -> None:
    cap = DealCap("deal", 5)
    plan = rules.plan_reservation(
        [
            ReservationLine("var_c", 1),
            ReservationLine("var_a", 2, cap),
            ReservationLine("var_c", 3),
            ReservationLine("var_a", 1, cap),
        ]
    )
    assert plan == [ReservationLine("var_a", 3, cap), ReservationLine("var_c", 4)]


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [ReservationLine("v", 1)] * 101,
        [ReservationLine("", 1)],
        [ReservationLine("v", 0)],
        [ReservationLine("v", True)],
        [ReservationLine("v", 6_000), ReservationLine("v", 5_000)],
        [ReservationLine("v", 1, DealCap("", 1))],
        [ReservationLine("v", 1, DealCap("d", 1)), ReservationLine("v", 1, DealCap("d", 2))],
    ],
)
def test_invalid_carts_are_refused(lines: list[ReservationLine]) -> None:
    with pytest.raises(InvalidInventoryInput) as refused:
        rules.plan_reservation(lines)
    assert refused.value.code == "invalid_reservation"


def test_references_and_buyers_are_checked() -> None:
    rules.check_reference("chk_1", "usr_us_x")
    for reference, buyer in (("", "usr"), ("x" * 65, "usr"), ("chk", "")):
        with pytest.raises(InvalidInventoryInput):
            rules.check_reference(reference, buyer)


def test_same_holding_compares_totals_and_deals() -> None:
    plan = rules.plan_reservation([ReservationLine("a", 2), ReservationLine("b", 1)])
    assert rules.same_holding([("a", 2, None), ("b", 1, None)], plan)
    assert rules.same_holding([("b", 1, None), ("a", 1, None), ("a", 1, None)], plan)
    assert not rules.same_holding([("a", 2, None)], plan)
    assert not rules.same_holding([("a", 2, None), ("b", 1, "deal")], plan)
    assert not rules.same_holding([("a", 3, None), ("b", 1, None)], plan)


def test_warehouses_are_tried_in_id_order_when_they_have_enough() -> None:
    candidates = [("wh_2", 10), ("wh_1", 2), ("wh_3", 5), ("wh_0", 0)]
    assert rules.choose_warehouses(candidates, 3) == ["wh_2", "wh_3"]
    assert rules.choose_warehouses(candidates, 2) == ["wh_1", "wh_2", "wh_3"]
    assert rules.choose_warehouses(candidates, 11) == []


def test_caps_transitions_and_expiry() -> None:
    assert rules.cap_allows(2, 1, 3) and not rules.cap_allows(2, 2, 3)
    assert rules.can_transition("active", "claimed")
    assert rules.can_transition("active", "expired") and rules.can_transition("active", "released")
    for final in ("claimed", "released", "expired"):
        for target in ("active", "claimed", "released", "expired"):
            assert not rules.can_transition(final, target)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.reservation_expiry(now, 600) == now + timedelta(minutes=10)
    with pytest.raises(ValueError):
        rules.reservation_expiry(now, 0)


def test_claims_are_aggregated_per_level_in_lock_order() -> None:
    assert rules.plan_claim([("b", "w1", 1), ("a", "w2", 2), ("b", "w1", 3), ("a", "w1", 1)]) == [
        (("a", "w1"), 1),
        (("a", "w2"), 2),
        (("b", "w1"), 4),
    ]


def test_seller_changes_stop_at_reserved_plus_sold() -> None:
    assert rules.next_on_hand(10, -4, reserved=4, sold=2) == 6
    assert rules.next_on_hand(10, -5, reserved=4, sold=2) is None
    assert rules.available(10, 4, 2) == 4 and rules.available(5, 4, 2) == 0
    assert rules.invariant_holds(10, 4, 2) and not rules.invariant_holds(5, 4, 2)
    assert not rules.invariant_holds(5, -1, 0)


@given(
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.integers(-2000, 2000),
)
def test_an_accepted_change_keeps_the_invariant(
    on_hand: int, reserved: int, sold: int, delta: int
) -> None:
    if not rules.invariant_holds(on_hand, reserved, sold):
        return
    after = rules.next_on_hand(on_hand, delta, reserved=reserved, sold=sold)
    if after is None:
        assert on_hand + delta < reserved + sold or on_hand + delta > rules.MAX_ON_HAND
    else:
        assert rules.invariant_holds(after, reserved, sold)
        assert after == rules.available(after, reserved, sold) + reserved + sold
