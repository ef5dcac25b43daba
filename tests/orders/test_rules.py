"""The pure rules: the status machine, what a draft must add up to, cursors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shopreel.orders.errors import IllegalTransition, InvalidCursor, InvalidOrderDraft
from shopreel.orders.rules import (
    FINAL,
    TRANSITIONS,
    OrderStatus,
    check_transition,
    decode_cursor,
    draft_problems,
    encode_cursor,
    validate_draft,
)
from tests.orders.helpers import draft, line_draft

BUYER = "usr_us_01jf0000000000000000000000"
SHOP = "shop_01jf0000000000000000000000"

ALLOWED = {
    ("paid", "cancelled"),
    ("paid", "refunded"),
    ("paid", "partially_refunded"),
    ("partially_refunded", "refunded"),
}


@pytest.mark.parametrize("source", [s.value for s in OrderStatus])
@pytest.mark.parametrize("target", [s.value for s in OrderStatus])
def test_every_pair_of_statuses(source: str, target: str) -> None:
    if source == target:
        assert check_transition(source, target) is False  # a repeat changes nothing
    elif (source, target) in ALLOWED:
        assert check_transition(source, target) is True
    else:
        with pytest.raises(IllegalTransition) as refused:
            check_transition(source, target)
        assert refused.value.code == "order_transition_not_allowed"
        assert refused.value.status == 409
        assert refused.value.extra == {"from": source, "to": target}


def test_final_statuses_and_unknown_ones() -> None:
    assert {OrderStatus.CANCELLED, OrderStatus.REFUNDED} == FINAL
    assert set(TRANSITIONS) == set(OrderStatus)
    with pytest.raises(IllegalTransition):
        check_transition("paid", "shipped")  # the fulfillment issue adds it
    with pytest.raises(IllegalTransition):
        check_transition("teleported", "paid")


def test_a_consistent_draft_passes() -> None:
    made = draft(BUYER, SHOP)
    assert draft_problems(made) == []
    assert made.total_cents == 1999 * 3 - 200 + 599 + 313 + 165 + 49
    assert made.item_count == 3
    validate_draft(made)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"total_cents": 1}, "total is not subtotal - discount + shipping + tax"),
        ({"subtotal_cents": 100, "total_cents": 100 - 200 + 599 + 527}, "subtotal is not"),
        ({"discount_cents": 0, "total_cents": 5997 + 599 + 527}, "discount is not"),
        ({"tax_cents": 10, "total_cents": 5797 + 599 + 10}, "the line taxes exceed"),
        ({"currency": "usd"}, "currency must be"),
        ({"tax_jurisdiction": "Texas"}, "tax_jurisdiction must"),
        ({"lines": ()}, "an order needs at least one line"),
        ({"ship_to": {"name": "A", "line1": "x", "city": "y"}}, "ship_to.country is required"),
        ({"ship_to": {"nickname": "x"}}, "ship_to has unknown fields"),
        ({"shop_id": ""}, "shop_id must be"),
    ],
)
def test_inconsistent_drafts_are_refused(change: dict[str, object], problem: str) -> None:
    made = replace(draft(BUYER, SHOP), **change)  # type: ignore[arg-type]
    problems = draft_problems(made)
    assert any(problem in p for p in problems), problems
    with pytest.raises(InvalidOrderDraft) as refused:
        validate_draft(made)
    assert refused.value.code == "invalid_order_draft"
    assert refused.value.status == 422
    assert refused.value.extra["problems"] == problems


def test_line_problems() -> None:
    good = line_draft()
    bad_net = replace(good, net_cents=good.net_cents + 1)
    zero = replace(good, quantity=0, net_cents=-good.discount_cents)
    negative = replace(good, tax_cents=-1)
    assert draft_problems(draft(BUYER, SHOP, lines=(bad_net,)))[0].startswith("line 0: net is")
    assert any("quantity" in p for p in draft_problems(draft(BUYER, SHOP, lines=(zero,))))
    assert any("tax_cents" in p for p in draft_problems(draft(BUYER, SHOP, lines=(negative,))))


def test_without_shipping_the_tax_is_the_line_taxes() -> None:
    assert draft_problems(draft(BUYER, SHOP, shipping_cents=0, shipping_tax_cents=0)) == []
    assert draft_problems(draft(BUYER, SHOP, shipping_cents=0, shipping_tax_cents=5)) == [
        "tax is not the sum of the line taxes (there is no shipping to tax)"
    ]


def test_cursors_round_trip_and_refuse_garbage() -> None:
    moment = datetime(2026, 12, 8, 3, 4, 5, 678901, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "ord_us_x")) == (moment, "ord_us_x")
    for garbage in ("nope", "!!!", encode_cursor(moment, "")):
        with pytest.raises(InvalidCursor):
            decode_cursor(garbage)
