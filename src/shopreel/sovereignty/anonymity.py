"""Small-cell suppression: counts about fewer than ``k`` people are never released.

An aggregate (say, orders per category per region) is safe to show staff of any
jurisdiction only when no cell is small enough to single people out. Two rules apply:

1. **Primary suppression** — every cell whose count is below ``k`` is replaced by ``None``.
   Zero counts are below ``k`` too: "nobody in this group did X" is a disclosure as well.
2. **Complementary suppression** — if exactly one cell of a group is suppressed, the
   group's total (published or derivable elsewhere) minus the visible cells would give the
   hidden count back. So the smallest visible cell of that group is suppressed too (ties
   go to the cell that comes first in the mapping). Once two or more cells of a group are
   hidden, only their sum can be derived, never a single one.

By default the whole mapping is one group. Pass ``group_by`` to name groups that have
their own totals (for a table keyed by ``(region, category)`` with a total per region,
``group_by=lambda key: key[0]``). Each group is protected against its own total only: for
tables with several overlapping margins (rows *and* columns) use a dedicated
statistical-disclosure-control tool.

``k`` must be at least :data:`MIN_K` (10), the platform floor that the access policies also
enforce for ``read_aggregate`` (see ``docs/access-policies.md``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

__all__ = ["MIN_K", "aggregate_counts", "suppress_small_cells"]

MIN_K = 10
"""The smallest k the platform accepts for released aggregates."""

K = TypeVar("K", bound=Hashable)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError("k must be an int")
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K}, got {k}")


def suppress_small_cells(
    counts: Mapping[K, int],
    k: int = MIN_K,
    *,
    group_by: Callable[[K], Hashable] | None = None,
) -> dict[K, int | None]:
    """Return ``counts`` with every cell below ``k`` (and its complement) set to ``None``.

    Keys keep their order. Counts must be non-negative ints; ``k`` must be >= 10.

    >>> suppress_small_cells({"a": 50, "b": 3, "c": 20, "d": 40})
    {'a': 50, 'b': None, 'c': None, 'd': 40}
    """
    _check_k(k)
    for key, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count for {key!r} must be an int")
        if count < 0:
            raise ValueError(f"count for {key!r} must not be negative")

    hidden = {key for key, count in counts.items() if count < k}

    groups: dict[Hashable, list[K]] = {}
    for key in counts:
        groups.setdefault(group_by(key) if group_by is not None else None, []).append(key)
    for members in groups.values():
        if sum(1 for key in members if key in hidden) != 1:
            continue
        visible = [key for key in members if key not in hidden]
        if visible:
            # min() keeps the first of equal counts, so the choice is deterministic.
            hidden.add(min(visible, key=lambda key: counts[key]))

    return {key: None if key in hidden else count for key, count in counts.items()}


def aggregate_counts(
    rows: Iterable[K],
    k: int = MIN_K,
    *,
    group_by: Callable[[K], Hashable] | None = None,
) -> dict[K, int | None]:
    """Count ``rows`` by value (one row per person/event) and suppress small cells.

    Cells are listed in order of first appearance. Only values that occur become cells: if
    a cell must be reported even when empty (a fixed category list), build the counts
    yourself and call :func:`suppress_small_cells`, which will hide the zero.

    >>> aggregate_counts(["us"] * 12 + ["intl"] * 30)
    {'us': 12, 'intl': 30}
    """
    _check_k(k)
    return suppress_small_cells(Counter(rows), k, group_by=group_by)
