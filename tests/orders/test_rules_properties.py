"""Property tests of draft validation: every draft whose parts add up passes, and changing any
one amount that the sums depend on makes it refused."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shopreel.orders.rules import OrderDraft, OrderLineDraft, draft_problems
from tests.orders.helpers import draft

BUYER = "usr_us_01jf0000000000000000000000"
SHOP = "shop_01jf0000000000000000000000"


@st.composite
def lines(draw: st.DrawFn) -> OrderLineDraft:
    quantity = draw(st.integers(1, 50))
    price = draw(st.integers(0, 500_000))
    discount = draw(st.integers(0, quantity * price))
    return OrderLineDraft(
        variant_id="var_x",
        product_id="prd_x",
        sku=None,
        title="Thing",
        options={},
        quantity=quantity,
        unit_price_cents=price,
        discount_cents=discount,
        net_cents=quantity * price - discount,
        tax_cents=draw(st.integers(0, 50_000)),
        warehouse_id=None,
    )


@st.composite
def drafts(draw: st.DrawFn) -> OrderDraft:
    shipping = draw(st.integers(0, 5_000))
    return draft(
        BUYER,
        SHOP,
        lines=tuple(draw(st.lists(lines(), min_size=1, max_size=5))),
        shipping_cents=shipping,
        shipping_tax_cents=draw(st.integers(0, 500)) if shipping else 0,
    )


ORDER_AMOUNTS = ("subtotal_cents", "discount_cents", "shipping_cents", "tax_cents", "total_cents")
LINE_AMOUNTS = ("quantity", "unit_price_cents", "discount_cents", "net_cents")


@settings(max_examples=300, deadline=None)
@given(drafts())
def test_consistent_drafts_pass(made: OrderDraft) -> None:
    assert draft_problems(made) == []


@settings(max_examples=300, deadline=None)
@given(drafts(), st.sampled_from(ORDER_AMOUNTS), st.integers(1, 10_000))
def test_changing_one_order_amount_is_refused(made: OrderDraft, field: str, delta: int) -> None:
    changed = replace(made, **{field: getattr(made, field) + delta})
    assert draft_problems(changed) != []


@settings(max_examples=300, deadline=None)
@given(drafts(), st.sampled_from(LINE_AMOUNTS), st.integers(1, 10_000), st.data())
def test_changing_one_line_amount_is_refused(
    made: OrderDraft, field: str, delta: int, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(made.lines) - 1))
    line = made.lines[index]
    assume(not (field == "quantity" and line.unit_price_cents == 0))  # free: no sum changes
    broken = replace(line, **{field: getattr(line, field) + delta})
    changed = replace(made, lines=(*made.lines[:index], broken, *made.lines[index + 1 :]))
    assert draft_problems(changed) != []
