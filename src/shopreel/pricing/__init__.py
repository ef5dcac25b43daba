"""Pricing rules: line prices, discounts, shipping, U.S. sales tax, totals (pure).

No database, no HTTP, no clock: the checkout reads prices and shop settings, calls
:func:`price_cart`, and stores ``CartBreakdown.to_json()`` with the order. See
``docs/pricing.md``.
"""

from shopreel.pricing.breakdown import (
    BREAKDOWN_SCHEMA,
    CartBreakdown,
    PricedLine,
    SellerBreakdown,
    Totals,
    consistency_problems,
)
from shopreel.pricing.calculations import LineInput, SellerInput, price_cart, price_seller
from shopreel.pricing.discounts import AppliedDiscount, Discount, DiscountKind
from shopreel.pricing.errors import PricingError, PricingErrorCode, TaxTableError
from shopreel.pricing.shipping import (
    PLATFORM_DEFAULT_SHIPPING,
    ShippingQuote,
    ShippingRule,
    ShippingSettings,
    settings_from_shop,
    settings_from_shop_values,
    shipping_fee,
)
from shopreel.pricing.tax import (
    Destination,
    TaxDecision,
    TaxReason,
    TaxTable,
    decide_tax,
    default_tax_table,
    parse_tax_table,
)

__all__ = [
    "BREAKDOWN_SCHEMA",
    "PLATFORM_DEFAULT_SHIPPING",
    "AppliedDiscount",
    "CartBreakdown",
    "Destination",
    "Discount",
    "DiscountKind",
    "LineInput",
    "PricedLine",
    "PricingError",
    "PricingErrorCode",
    "SellerBreakdown",
    "SellerInput",
    "ShippingQuote",
    "ShippingRule",
    "ShippingSettings",
    "TaxDecision",
    "TaxReason",
    "TaxTable",
    "TaxTableError",
    "Totals",
    "consistency_problems",
    "decide_tax",
    "default_tax_table",
    "parse_tax_table",
    "price_cart",
    "price_seller",
    "settings_from_shop",
    "settings_from_shop_values",
    "shipping_fee",
]
