"""Cart error codes: stable strings clients (and the checkout) can branch on."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from shopreel.errors import Conflict, NotFound, ValidationFailed


class CartErrorCode(StrEnum):
    CART_EMPTY = "cart_empty"
    LINE_UNAVAILABLE = "line_unavailable"
    OUT_OF_STOCK = "out_of_stock"  # same code as the inventory's reservation refusal
    QUANTITY_LIMIT = "cart_quantity_limit"
    LINE_LIMIT = "cart_line_limit"
    INVALID_QUANTITY = "invalid_quantity"
    CURRENCY_MISMATCH = "cart_currency_mismatch"
    LINE_NOT_FOUND = "cart_line_not_found"
    VARIANT_NOT_FOUND = "variant_not_found"  # same code as the inventory's


class CartEmpty(ValidationFailed):
    code = CartErrorCode.CART_EMPTY.value


class LineUnavailable(ValidationFailed):
    """The product is not live, the variant is gone or the shop is suspended; ``extra``
    carries ``variant_ids``."""

    code = CartErrorCode.LINE_UNAVAILABLE.value

    def __init__(self, detail: str, variant_ids: Sequence[str]) -> None:
        super().__init__(detail, extra={"variant_ids": sorted(variant_ids)})
        self.variant_ids = sorted(variant_ids)


class OutOfStock(Conflict):
    """``extra.short`` lists ``{variant_id, requested, available}`` like the checkout's."""

    code = CartErrorCode.OUT_OF_STOCK.value

    def __init__(self, detail: str, short: Sequence[dict[str, Any]]) -> None:
        super().__init__(detail, extra={"short": list(short)})


class QuantityLimit(ValidationFailed):
    code = CartErrorCode.QUANTITY_LIMIT.value


class LineLimit(ValidationFailed):
    code = CartErrorCode.LINE_LIMIT.value


class InvalidQuantity(ValidationFailed):
    code = CartErrorCode.INVALID_QUANTITY.value


class CurrencyMismatch(ValidationFailed):
    code = CartErrorCode.CURRENCY_MISMATCH.value


class CartLineNotFound(NotFound):
    """Also the answer for a variant that is in someone else's cart: carts are private."""

    code = CartErrorCode.LINE_NOT_FOUND.value


class VariantNotFound(NotFound):
    code = CartErrorCode.VARIANT_NOT_FOUND.value
