"""Integer arithmetic for money: exact rational results rounded once, never through floats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

MAX_AMOUNT_CENTS: Final = 10**12
"""Upper bound for any single input amount (ten billion dollars): far beyond any real cart,
and small enough that every intermediate product stays an exact Python int anyway."""


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero.

    Only non-negative operands occur in pricing, so "away from zero" is "up": 0.5 -> 1,
    1.5 -> 2, 2.5 -> 3 (not banker's rounding, which surprises buyers comparing receipts).
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        raise ValueError("numerator must not be negative")
    return (2 * numerator + denominator) // (2 * denominator)


def allocate_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` that sum exactly to it.

    Each part starts as ``floor(total * w / sum(w))``; the cents left over (fewer than the
    number of weights) go one each to the parts with the largest fractional remainder, ties to
    the earlier position, so the same input always gives the same split. When ``total`` is at
    most ``sum(weights)`` no part exceeds its own weight (only parts with a non-zero remainder
    receive an extra cent, and those were strictly below their weight). All weights zero means
    nothing can be split: ``total`` must then be zero.
    """
    if total < 0 or any(weight < 0 for weight in weights):
        raise ValueError("total and weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError("cannot allocate a non-zero total over zero weights")
        return [0] * len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        parts.append(share)
        remainders.append((-remainder, index))
    left_over = total - sum(parts)
    for _, index in sorted(remainders)[:left_over]:
        parts[index] += 1
    return parts
