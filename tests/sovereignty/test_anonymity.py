"""Small-cell suppression: primary (below k) and complementary (no lone hidden cell)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopreel.sovereignty.anonymity import MIN_K, aggregate_counts, suppress_small_cells


def test_cells_below_k_are_suppressed_and_k_itself_is_kept() -> None:
    counts = {"a": 9, "b": 10, "c": 8, "d": 100}
    assert suppress_small_cells(counts) == {"a": None, "b": 10, "c": None, "d": 100}


def test_zero_is_a_small_cell() -> None:
    assert suppress_small_cells({"a": 0, "b": 3, "c": 50}) == {"a": None, "b": None, "c": 50}


def test_a_lone_suppressed_cell_takes_the_next_smallest_with_it() -> None:
    counts = {"shoes": 50, "hats": 3, "bags": 20, "belts": 40}
    # Without the complement, hats = total - 110 would be derivable.
    assert suppress_small_cells(counts) == {"shoes": 50, "hats": None, "bags": None, "belts": 40}


def test_complement_ties_go_to_the_first_cell() -> None:
    counts = {"a": 30, "b": 12, "c": 12, "d": 1}
    assert suppress_small_cells(counts) == {"a": 30, "b": None, "c": 12, "d": None}


def test_two_suppressed_cells_need_no_complement() -> None:
    counts = {"a": 30, "b": 2, "c": 12, "d": 1}
    assert suppress_small_cells(counts) == {"a": 30, "b": None, "c": 12, "d": None}


def test_nothing_small_means_nothing_suppressed() -> None:
    counts = {"a": 10, "b": 11}
    assert suppress_small_cells(counts) == counts


def test_single_small_cell_alone_is_suppressed() -> None:
    assert suppress_small_cells({"only": 4}) == {"only": None}


def test_single_large_cell_is_kept() -> None:
    assert suppress_small_cells({"only": 40}) == {"only": 40}


def test_pair_with_one_small_cell_hides_both() -> None:
    assert suppress_small_cells({"a": 4, "b": 400}) == {"a": None, "b": None}


def test_empty_input() -> None:
    assert suppress_small_cells({}) == {}
    assert aggregate_counts([]) == {}


def test_custom_k() -> None:
    counts = {"a": 19, "b": 20, "c": 21, "d": 50}
    assert suppress_small_cells(counts, k=20) == {"a": None, "b": None, "c": 21, "d": 50}


def test_key_order_is_preserved() -> None:
    counts = {"z": 50, "a": 60, "m": 70}
    assert list(suppress_small_cells(counts)) == ["z", "a", "m"]


def test_groups_are_protected_against_their_own_totals() -> None:
    counts = {
        ("us", "shoes"): 50,
        ("us", "hats"): 3,
        ("us", "bags"): 20,
        ("intl", "shoes"): 50,
        ("intl", "hats"): 30,
        ("intl", "bags"): 20,
    }
    result = suppress_small_cells(counts, group_by=lambda key: key[0])
    assert result == {
        ("us", "shoes"): 50,
        ("us", "hats"): None,
        ("us", "bags"): None,
        ("intl", "shoes"): 50,
        ("intl", "hats"): 30,
        ("intl", "bags"): 20,
    }


@pytest.mark.parametrize("k", [9, 5, 1, 0, -3])
def test_k_below_the_floor_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match="at least 10"):
        suppress_small_cells({"a": 100}, k=k)
    with pytest.raises(ValueError, match="at least 10"):
        aggregate_counts(["a"], k=k)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress_small_cells({"a": -1})
    with pytest.raises(TypeError):
        suppress_small_cells({"a": 1.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        suppress_small_cells({"a": 10}, k=10.0)  # type: ignore[arg-type]


def test_aggregate_counts_counts_then_suppresses() -> None:
    rows = ["us"] * 25 + ["intl"] * 4 + ["us"] * 5 + ["intl"] * 3 + ["eu"] * 12
    assert aggregate_counts(rows) == {"us": 30, "intl": None, "eu": None}
    assert aggregate_counts(rows, k=30) == {"us": 30, "intl": None, "eu": None}


def test_aggregate_counts_with_groups() -> None:
    rows = [("us", "shoes")] * 12 + [("us", "hats")] * 15 + [("intl", "hats")] * 2
    result = aggregate_counts(rows, group_by=lambda key: key[0])
    assert result == {("us", "shoes"): 12, ("us", "hats"): 15, ("intl", "hats"): None}


cell_counts = st.dictionaries(
    st.tuples(st.sampled_from(["us", "intl"]), st.integers(0, 7)),
    st.integers(min_value=0, max_value=40),
    max_size=14,
)


@settings(max_examples=500, deadline=None, database=None)
@given(cell_counts, st.integers(min_value=MIN_K, max_value=25), st.booleans())
def test_suppression_properties(counts: dict[tuple[str, int], int], k: int, grouped: bool) -> None:
    def group_of(key: tuple[str, int]) -> str:
        return key[0] if grouped else ""

    result = suppress_small_cells(counts, k, group_by=group_of if grouped else None)
    assert list(result) == list(counts)
    for key, value in result.items():
        # Every small cell is hidden; every shown value is the true count.
        if counts[key] < k:
            assert value is None
        if value is not None:
            assert value == counts[key] >= k
    # No group with more than one cell hides exactly one: a hidden cell is never the
    # difference between a group total and the visible cells.
    members: dict[str, list[tuple[str, int]]] = {}
    for key in counts:
        members.setdefault(group_of(key), []).append(key)
    for keys in members.values():
        hidden = sum(1 for key in keys if result[key] is None)
        assert hidden != 1 or len(keys) == 1
    # Complementary suppression hides at most one extra cell per group.
    for keys in members.values():
        extra = sum(1 for key in keys if result[key] is None and counts[key] >= k)
        assert extra <= 1


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.sampled_from("abcdef"), max_size=120))
def test_aggregate_counts_matches_counter(rows: list[str]) -> None:
    assert aggregate_counts(rows) == suppress_small_cells(Counter(rows))
