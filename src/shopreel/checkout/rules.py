"""Pure checkout rules: the address, shipping methods, the checkout state machine and the
split of a priced checkout into one order per seller. No database, no clock."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from shopreel.checkout.errors import InvalidAddress, InvalidCheckout, InvalidShippingChoice
from shopreel.checkout.models import CheckoutStatus
from shopreel.kit.countries import is_country
from shopreel.pricing import (
    PLATFORM_DEFAULT_SHIPPING,
    CartBreakdown,
    PricedLine,
    SellerBreakdown,
    ShippingSettings,
)
from shopreel.pricing.tax import US_STATES_AND_DC, US_TERRITORIES_AND_MILITARY

MAX_LINES: Final = 50
MAX_LINE_QUANTITY: Final = 20
EXPRESS_SURCHARGE_CENTS: Final = 1_000
"""Express costs the seller's standard flat fee plus $10.00, is never free, and ships after
one handling day."""
EXPRESS_HANDLING_DAYS: Final = 1

_S = CheckoutStatus
OPEN: Final = frozenset({_S.RESERVED, _S.REQUIRES_ACTION, _S.PROCESSING})
"""Statuses in which a checkout may still become orders."""
_NEXT: Final[dict[CheckoutStatus, frozenset[CheckoutStatus]]] = {
    _S.RESERVED: frozenset({_S.REQUIRES_ACTION, _S.PROCESSING, _S.EXPIRED, _S.CANCELLED}),
    _S.REQUIRES_ACTION: frozenset({_S.RESERVED, _S.PROCESSING, _S.EXPIRED, _S.CANCELLED}),
    _S.PROCESSING: frozenset({_S.COMPLETED, _S.EXPIRED, _S.CANCELLED}),
    _S.COMPLETED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.CANCELLED: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """Whether ``current -> target`` is a transition of the checkout state machine. A card
    declined at its second step sends ``requires_action`` back to ``reserved`` (the stock is
    still held; pay with another card); a capture that fails after the stock was claimed
    ends in ``cancelled`` (the stock goes back)."""
    return CheckoutStatus(target) in _NEXT[CheckoutStatus(current)]


class ShippingMethod(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"


SHIPPING_LABELS: Final = {
    ShippingMethod.STANDARD: "Standard",
    ShippingMethod.EXPRESS: "Express",
}


def shipping_settings(
    method: ShippingMethod, shop_settings: ShippingSettings | None
) -> ShippingSettings | None:
    """The pricing settings for ``method``: standard is the shop's own (``None``: the platform
    default); express is the standard flat fee plus the surcharge, never free."""
    if method is ShippingMethod.STANDARD:
        return shop_settings
    base = shop_settings or PLATFORM_DEFAULT_SHIPPING
    return ShippingSettings(
        flat_cents=base.flat_cents + EXPRESS_SURCHARGE_CENTS,
        free_threshold_cents=None,
        handling_days=EXPRESS_HANDLING_DAYS,
    )


def shipping_choices(
    requested: Mapping[str, str] | None, shop_ids: Sequence[str]
) -> dict[str, ShippingMethod]:
    """One method per seller of the checkout (default standard); names of shops that are not
    in the checkout, or unknown methods, are refused."""
    requested = dict(requested or {})
    unknown = sorted(set(requested) - set(shop_ids))
    if unknown:
        raise InvalidShippingChoice(
            "A shipping choice names a shop that is not in this checkout.",
            extra={"shops": unknown},
        )
    chosen: dict[str, ShippingMethod] = {}
    for shop_id in shop_ids:
        raw = requested.get(shop_id, ShippingMethod.STANDARD.value)
        try:
            chosen[shop_id] = ShippingMethod(raw)
        except ValueError:
            raise InvalidShippingChoice(
                f"Unknown shipping method {raw!r}; choose standard or express.",
                extra={"shop_id": shop_id},
            ) from None
    return chosen


# ---- the address --------------------------------------------------------------------------

ADDRESS_FIELDS: Final = ("name", "line1", "line2", "city", "state", "postal_code", "country")
_LIMITS: Final = {
    "name": (1, 120),
    "line1": (1, 200),
    "line2": (0, 200),
    "city": (1, 100),
    "state": (0, 8),
    "postal_code": (1, 16),
    "country": (2, 2),
    "phone": (0, 32),
}
_US_ZIP = re.compile(r"^[0-9]{5}(-[0-9]{4})?$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{0,31}$")
_POSTAL = re.compile(r"^[0-9A-Za-z][0-9A-Za-z -]*$")


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    state: str = ""
    line2: str = ""
    phone: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "country": self.country,
            "phone": self.phone,
        }


def parse_address(raw: Mapping[str, Any]) -> Address:
    """A shipping address, trimmed and checked; every problem is listed in ``extra.fields``.
    U.S. addresses need a state code of the 50 states, DC or a territory, and a ZIP code."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for field, (low, high) in _LIMITS.items():
        value = raw.get(field, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            problems[field] = "must be text"
            continue
        value = " ".join(value.split())
        if any(ord(c) < 32 for c in value):
            problems[field] = "must not contain control characters"
        elif not low <= len(value) <= high:
            problems[field] = "is required" if low and not value else f"must be at most {high}"
        values[field] = value
    country = values.get("country", "").upper()
    values["country"] = country
    if "country" not in problems and not is_country(country):
        problems["country"] = "must be an ISO 3166-1 alpha-2 code"
    state = values.get("state", "").upper()
    values["state"] = state
    if country == "US":
        if state not in US_STATES_AND_DC and state not in US_TERRITORIES_AND_MILITARY:
            problems["state"] = "must be a U.S. state code such as CA"
        if "postal_code" not in problems and not _US_ZIP.match(values.get("postal_code", "")):
            problems["postal_code"] = "must be a ZIP code (12345 or 12345-6789)"
    elif "postal_code" not in problems and not _POSTAL.match(values.get("postal_code", "")):
        problems["postal_code"] = "must be letters, digits, spaces or dashes"
    if "phone" not in problems and not _PHONE.match(values.get("phone", "")):
        problems["phone"] = "must be digits, spaces and + ( ) . -"
    if problems:
        raise InvalidAddress(
            "The shipping address is incomplete or invalid: "
            + ", ".join(f"{k} {v}" for k, v in sorted(problems.items())),
            extra={"fields": problems},
        )
    return Address(**{k: values[k] for k in (*ADDRESS_FIELDS, "phone")})


# ---- the requested lines ------------------------------------------------------------------


def merge_lines(raw: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Merge repeated variants (first-seen order); 1 to 50 lines of 1 to 20 units each."""
    if not raw:
        raise InvalidCheckout("A checkout needs at least one line.", extra={"field": "lines"})
    merged: dict[str, int] = {}
    for variant_id, quantity in raw:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidCheckout("Quantities are whole numbers of 1 or more.")
        merged[variant_id] = merged.get(variant_id, 0) + quantity
    if len(merged) > MAX_LINES:
        raise InvalidCheckout(f"A checkout holds at most {MAX_LINES} different items.")
    over = [v for v, q in merged.items() if q > MAX_LINE_QUANTITY]
    if over:
        raise InvalidCheckout(
            f"At most {MAX_LINE_QUANTITY} of one item per checkout.",
            extra={"variant_ids": over},
        )
    return list(merged.items())


# ---- orders from a priced checkout ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SellerOrderPlan:
    """What one seller's order is made of (the orders domain turns it into rows)."""

    shop_id: str
    shipping_method: ShippingMethod
    part: SellerBreakdown
    lines: tuple[tuple[Mapping[str, Any], PricedLine], ...]


def order_plans(
    breakdown: CartBreakdown,
    lines: Sequence[Mapping[str, Any]],
    choices: Mapping[str, str],
) -> list[SellerOrderPlan]:
    """One plan per seller, pairing each stored line (catalog facts) with its priced line.
    Refuses a breakdown that does not cover exactly the stored lines."""
    by_variant = {str(line["variant_id"]): line for line in lines}
    plans: list[SellerOrderPlan] = []
    seen: set[str] = set()
    for part in breakdown.sellers:
        paired: list[tuple[Mapping[str, Any], PricedLine]] = []
        for priced in part.lines:
            line = by_variant.get(priced.line_id)
            if line is None or line["shop_id"] != part.seller_id:
                raise InvalidCheckout(f"priced line {priced.line_id} is not in the checkout")
            paired.append((line, priced))
            seen.add(priced.line_id)
        plans.append(
            SellerOrderPlan(
                shop_id=part.seller_id,
                shipping_method=ShippingMethod(choices.get(part.seller_id, "standard")),
                part=part,
                lines=tuple(paired),
            )
        )
    if seen != set(by_variant):
        raise InvalidCheckout("the breakdown does not price every line of the checkout")
    return plans


def tax_jurisdiction(country: str, state: str, tax_cents: int) -> str:
    """The ledger's tax account owner: ``US-<state>`` for U.S. sales tax, else ``""``."""
    return f"{country}-{state}" if tax_cents and country == "US" and state else ""
