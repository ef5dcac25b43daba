"""Discounts: a percentage (basis points) or a fixed amount, optionally capped.

A discount only ever reduces what it is applied to, and never below zero. Several discounts on
the same amount apply **in the order given**, each to what the previous ones left (so a 10 %
discount after a $5 one is 10 % of the reduced price). The order is the caller's contract: the
promotions engine will sort by its own priority; until then the checkout passes them in the
order the seller created them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shopreel.pricing.arithmetic import MAX_AMOUNT_CENTS, round_half_up_div
from shopreel.pricing.errors import PricingError, PricingErrorCode

BASIS_POINTS_PER_WHOLE: Final = 10_000
MAX_LABEL: Final = 120


class DiscountKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Discount:
    """``value`` is basis points (1 bp = 0.01 %, 0..10 000) for a percentage, cents for a fixed
    amount. ``cap_cents`` limits the amount taken off (``None``: no cap). ``label`` names the
    discount in the breakdown (a promotion id or code)."""

    kind: DiscountKind
    value: int
    cap_cents: int | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, DiscountKind):
            raise PricingError(PricingErrorCode.INVALID_DISCOUNT, "unknown discount kind")
        limit = BASIS_POINTS_PER_WHOLE if self.kind is DiscountKind.PERCENTAGE else MAX_AMOUNT_CENTS
        if not _is_int(self.value) or not 0 <= self.value <= limit:
            raise PricingError(
                PricingErrorCode.INVALID_DISCOUNT,
                f"a {self.kind.value} discount value must be an integer from 0 to {limit}",
            )
        if self.cap_cents is not None and (
            not _is_int(self.cap_cents) or not 0 <= self.cap_cents <= MAX_AMOUNT_CENTS
        ):
            raise PricingError(
                PricingErrorCode.INVALID_DISCOUNT, "a discount cap must be 0 or more cents"
            )
        if len(self.label) > MAX_LABEL:
            raise PricingError(
                PricingErrorCode.INVALID_DISCOUNT, f"a discount label is at most {MAX_LABEL} chars"
            )

    @classmethod
    def percentage(
        cls, basis_points: int, *, cap_cents: int | None = None, label: str = ""
    ) -> Discount:
        return cls(DiscountKind.PERCENTAGE, basis_points, cap_cents, label)

    @classmethod
    def fixed(cls, cents: int, *, label: str = "") -> Discount:
        return cls(DiscountKind.FIXED, cents, None, label)

    def amount_off(self, base_cents: int) -> int:
        """Cents taken off ``base_cents``: percentage rounded half up to the cent, then the
        cap, then never more than the base itself."""
        if base_cents < 0:
            raise ValueError("base must not be negative")
        if self.kind is DiscountKind.PERCENTAGE:
            raw = round_half_up_div(base_cents * self.value, BASIS_POINTS_PER_WHOLE)
        else:
            raw = self.value
        if self.cap_cents is not None:
            raw = min(raw, self.cap_cents)
        return min(raw, base_cents)


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """One discount as it was applied: what it is and how many cents it took off."""

    kind: DiscountKind
    value: int
    cap_cents: int | None
    label: str
    amount_cents: int


def apply_in_order(
    base_cents: int, discounts: Sequence[Discount]
) -> tuple[int, tuple[AppliedDiscount, ...]]:
    """Apply ``discounts`` one after the other; return the remaining amount and what each took.

    The remaining amount is never negative and the amounts taken sum to
    ``base_cents - remaining``.
    """
    remaining = base_cents
    applied: list[AppliedDiscount] = []
    for discount in discounts:
        off = discount.amount_off(remaining)
        remaining -= off
        applied.append(
            AppliedDiscount(discount.kind, discount.value, discount.cap_cents, discount.label, off)
        )
    return remaining, tuple(applied)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
