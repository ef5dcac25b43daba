"""Shipping fee per seller: flat rates until the fulfillment issue brings rate tables.

The rule, for one seller's part of a cart:

1. no line needs shipping (digital goods, services) -> 0, rule ``no_shipping_required``;
2. the shop set a free-shipping threshold and the seller's merchandise amount **after all
   discounts** reaches it -> 0, rule ``free_over_threshold`` (after discounts, so a coupon
   cannot push an order under the threshold and still ship free);
3. otherwise the shop's flat fee, rule ``shop_flat_rate`` (0 is a valid flat fee: free shipping);
4. a shop that never set shipping (``flat_shipping_cents`` is ``None``, ``shipping_set_at``
   unset) pays the platform default: :data:`PLATFORM_DEFAULT_SHIPPING`, rule
   ``platform_default``.

The fee is per seller, not per line or per unit: one parcel per seller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from shopreel.pricing.arithmetic import MAX_AMOUNT_CENTS
from shopreel.pricing.errors import PricingError, PricingErrorCode


class ShippingRule(StrEnum):
    NO_SHIPPING_REQUIRED = "no_shipping_required"
    FREE_OVER_THRESHOLD = "free_over_threshold"
    SHOP_FLAT_RATE = "shop_flat_rate"
    PLATFORM_DEFAULT = "platform_default"


@dataclass(frozen=True, slots=True)
class ShippingSettings:
    """A shop's shipping settings as plain values (``catalog.models.Shop`` columns)."""

    flat_cents: int
    free_threshold_cents: int | None
    handling_days: int

    def __post_init__(self) -> None:
        for name, value in (
            ("flat_cents", self.flat_cents),
            ("free_threshold_cents", self.free_threshold_cents),
            ("handling_days", self.handling_days),
        ):
            if value is None and name == "free_threshold_cents":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise PricingError(PricingErrorCode.INVALID_AMOUNT, f"{name} must be 0 or more")
            if value > MAX_AMOUNT_CENTS:
                raise PricingError(PricingErrorCode.INVALID_AMOUNT, f"{name} is too large")


PLATFORM_DEFAULT_SHIPPING: Final = ShippingSettings(
    flat_cents=599, free_threshold_cents=5_000, handling_days=2
)
"""$5.99 per seller, free from $50.00 of merchandise (after discounts), 2 handling days (the
``shops.default_handling_days`` column default). Used for shops that never set shipping."""


class ShopShippingColumns(Protocol):
    """The ``Shop`` columns this module reads; keeps the pure rules free of ORM imports."""

    @property
    def flat_shipping_cents(self) -> int | None: ...
    @property
    def free_shipping_threshold_cents(self) -> int | None: ...
    @property
    def default_handling_days(self) -> int: ...


def settings_from_shop_values(
    flat_shipping_cents: int | None,
    free_shipping_threshold_cents: int | None,
    default_handling_days: int,
) -> ShippingSettings | None:
    """The shop's settings, or ``None`` when it never set a flat rate (-> platform default)."""
    if flat_shipping_cents is None:
        return None
    return ShippingSettings(
        flat_cents=flat_shipping_cents,
        free_threshold_cents=free_shipping_threshold_cents,
        handling_days=default_handling_days,
    )


def settings_from_shop(shop: ShopShippingColumns) -> ShippingSettings | None:
    return settings_from_shop_values(
        shop.flat_shipping_cents, shop.free_shipping_threshold_cents, shop.default_handling_days
    )


@dataclass(frozen=True, slots=True)
class ShippingQuote:
    fee_cents: int
    rule: ShippingRule
    handling_days: int
    platform_default: bool
    """True when the shop never set shipping and the platform default settings were used."""


def shipping_fee(
    settings: ShippingSettings | None,
    *,
    merchandise_cents: int,
    shipping_required: bool,
) -> ShippingQuote:
    """The fee for one seller's parcel; see the module docstring for the rule order."""
    if merchandise_cents < 0:
        raise ValueError("merchandise amount must not be negative")
    effective = settings if settings is not None else PLATFORM_DEFAULT_SHIPPING
    default = settings is None
    if not shipping_required:
        return ShippingQuote(0, ShippingRule.NO_SHIPPING_REQUIRED, 0, default)
    threshold = effective.free_threshold_cents
    if threshold is not None and merchandise_cents >= threshold:
        return ShippingQuote(0, ShippingRule.FREE_OVER_THRESHOLD, effective.handling_days, default)
    rule = ShippingRule.PLATFORM_DEFAULT if default else ShippingRule.SHOP_FLAT_RATE
    return ShippingQuote(effective.flat_cents, rule, effective.handling_days, default)
