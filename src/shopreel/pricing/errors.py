"""Pricing error codes. Bad pricing input is a 422 with a stable ``code`` so the checkout can
turn it into a problem response without translating anything."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import ValidationFailed


class PricingErrorCode(StrEnum):
    INVALID_ID = "pricing_invalid_id"
    INVALID_AMOUNT = "pricing_invalid_amount"
    INVALID_QUANTITY = "pricing_invalid_quantity"
    INVALID_DISCOUNT = "pricing_invalid_discount"
    CURRENCY_MISMATCH = "pricing_currency_mismatch"
    DUPLICATE_SELLER = "pricing_duplicate_seller"
    EMPTY_SELLER = "pricing_empty_seller"
    INVALID_DESTINATION = "pricing_invalid_destination"
    UNKNOWN_STATE = "pricing_unknown_state"
    INVALID_BREAKDOWN = "pricing_invalid_breakdown"


class PricingError(ValidationFailed):
    """Input the pricing rules refuse; ``code`` is one of :class:`PricingErrorCode`."""

    def __init__(self, code: PricingErrorCode, detail: str) -> None:
        super().__init__(detail, code=code.value)


class TaxTableError(ValueError):
    """The shipped tax table is malformed. A programming/packaging error, never user input:
    it is raised when the table is loaded, so a bad table fails at start-up and in tests."""
