"""Pure inventory rules: no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopreel.inventory import rules
from shopreel.inventory.errors import InvalidInventoryInput
from shopreel.inventory.rules import StockChange, StockCount


def _warehouse(**overrides: object) -> rules.WarehouseFields:
    fields: dict[str, object] = {
        "name": "  Main   dock ",
        "line1": "1 Main St\n",
        "line2": "",
        "city": "Oakland",
        "subdivision": "ca",
        "postal_code": "94607",
        "country": "us",
        "handling_days": 2,
    }
    fields.update(overrides)
    return rules.normalize_warehouse(**fields)  # type: ignore[arg-type]


def test_normalize_warehouse_cleans_and_uppercases() -> None:
    w = _warehouse()
    assert (w.name, w.line1, w.subdivision, w.country) == ("Main dock", "1 Main St", "CA", "US")
    assert _warehouse(postal_code="94607-1234").postal_code == "94607-1234"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subdivision": "ZZ"}, "state"),
        ({"subdivision": ""}, "state"),
        ({"postal_code": "9460"}, "postal_code"),
        ({"postal_code": "94607-12"}, "postal_code"),
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"country": "XX"}, "country"),
        ({"line1": "   "}, "line1"),
        ({"line2": "x" * 201}, "line2"),
        ({"city": ""}, "city"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"handling_days": -1}, "handling_days"),
        ({"handling_days": 31}, "handling_days"),
        ({"handling_days": True}, "handling_days"),
    ],
)
def test_normalize_warehouse_refuses(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInventoryInput) as caught:
        _warehouse(**overrides)
    assert caught.value.extra["field"] == field
    assert caught.value.status == 422


def test_non_us_warehouse_has_looser_checks() -> None:
    w = _warehouse(country="GB", subdivision="", postal_code="sw1a 1aa")
    assert (w.country, w.subdivision, w.postal_code) == ("GB", "", "SW1A 1AA")
    with pytest.raises(InvalidInventoryInput):
        _warehouse(country="DE", subdivision="", postal_code="")


def test_same_name_ignores_case_and_spacing() -> None:
    assert rules.same_name("Main  Dock", "main dock")
    assert not rules.same_name("Main", "Main 2")


def test_plan_adjustments_sorts_in_lock_order_and_keeps_order_within_a_level() -> None:
    lines = [
        StockChange("var_b", "wh_1", 5, "received"),
        StockChange("var_a", "wh_2", -1, "adjustment"),
        StockChange("var_a", "wh_1", 3, "received", "first"),
        StockChange("var_a", "wh_1", -2, "adjustment", "second"),
    ]
    plan = rules.plan_adjustments(lines)
    assert [(x.key, x.note) for x in plan] == [
        (("var_a", "wh_1"), "first"),
        (("var_a", "wh_1"), "second"),
        (("var_a", "wh_2"), ""),
        (("var_b", "wh_1"), ""),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        StockChange("v", "w", 0, "received"),
        StockChange("v", "w", rules.MAX_ABS_DELTA + 1, "received"),
        StockChange("v", "w", 1, "count"),  # counts have their own endpoint
        StockChange("v", "w", 1, "sale"),
        StockChange("v", "w", 1, "received", "n" * 256),
    ],
)
def test_plan_adjustments_refuses_bad_lines(bad: StockChange) -> None:
    with pytest.raises(InvalidInventoryInput):
        rules.plan_adjustments([StockChange("v", "w", 1, "received"), bad])


def test_batch_size_bounds() -> None:
    with pytest.raises(InvalidInventoryInput) as caught:
        rules.plan_adjustments([])
    assert caught.value.code == "invalid_batch"
    too_many = [StockChange(f"v{i}", "w", 1, "received") for i in range(rules.MAX_BATCH_LINES + 1)]
    with pytest.raises(InvalidInventoryInput):
        rules.plan_adjustments(too_many)
    assert len(rules.plan_adjustments(too_many[:-1])) == rules.MAX_BATCH_LINES


def test_plan_counts_refuses_negative_and_duplicates() -> None:
    assert [
        c.key for c in rules.plan_counts([StockCount("b", "w", 1), StockCount("a", "w", 0)])
    ] == [
        ("a", "w"),
        ("b", "w"),
    ]
    with pytest.raises(InvalidInventoryInput):
        rules.plan_counts([StockCount("a", "w", -1)])
    with pytest.raises(InvalidInventoryInput) as caught:
        rules.plan_counts([StockCount("a", "w", 1), StockCount("a", "w", 2)])
    assert caught.value.code == "invalid_batch"


def test_next_on_hand_and_the_reservation_floor() -> None:
    assert rules.next_on_hand(5, -5) == 0
    assert rules.next_on_hand(5, -6) is None
    assert rules.next_on_hand(rules.MAX_ON_HAND, 1) is None
    # issue #4: stock held by buyers cannot be adjusted away
    assert rules.next_on_hand(5, -3, reserved=2) == 2
    assert rules.next_on_hand(5, -4, reserved=2) is None
    assert rules.available(5) == 5 and rules.available(5, 2) == 3 and rules.available(1, 2) == 0


def test_simulate_is_all_or_nothing() -> None:
    levels = {("a", "w"): 2}
    plan = rules.plan_adjustments(
        [StockChange("a", "w", -1, "adjustment"), StockChange("b", "w", -1, "adjustment")]
    )
    assert rules.simulate(levels, plan) == 1  # b has nothing
    assert levels == {("a", "w"): 2}  # the input is untouched
    ok = rules.plan_adjustments([StockChange("b", "w", 4, "received")])
    assert rules.simulate(levels, ok) == {("a", "w"): 2, ("b", "w"): 4}


@given(
    st.dictionaries(st.sampled_from("abc"), st.integers(0, 20)),
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(-25, 25).filter(bool)),
        min_size=1,
        max_size=30,
    ),
)
def test_simulate_never_goes_negative(
    start: dict[str, int], changes: list[tuple[str, int]]
) -> None:
    levels = {(k, "w"): v for k, v in start.items()}
    plan = rules.plan_adjustments([StockChange(k, "w", d, "adjustment") for k, d in changes])
    result = rules.simulate(levels, plan)
    if isinstance(result, int):
        failing = plan[result]
        applied = rules.simulate(levels, plan[:result])
        assert isinstance(applied, dict)
        assert applied.get(failing.key, 0) + failing.delta < 0
    else:
        assert all(v >= 0 for v in result.values())
        for key in {x.key for x in plan}:
            expected = levels.get(key, 0) + sum(x.delta for x in plan if x.key == key)
            assert result[key] == expected


def test_cursor_round_trip_and_refusal() -> None:
    cursor = rules.encode_cursor("var_1", "wh_2")
    assert rules.decode_cursor(cursor, 2) == ("var_1", "wh_2")
    for bad in ("!!", rules.encode_cursor("only"), "x" * 500, rules.encode_cursor("a", "")):
        with pytest.raises(InvalidInventoryInput) as caught:
            rules.decode_cursor(bad, 2)
        assert caught.value.code == "invalid_cursor"
