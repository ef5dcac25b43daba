"""Inventory error codes: stable strings clients can branch on."""

from __future__ import annotations

from enum import StrEnum

from shopreel.catalog.shops import ShopRequired as ShopRequired
from shopreel.catalog.shops import ShopSuspended as ShopSuspended
from shopreel.errors import Conflict, NotFound, ValidationFailed


class InventoryErrorCode(StrEnum):
    SHOP_REQUIRED = "shop_required"  # same code as the catalog's: one meaning for clients
    SHOP_SUSPENDED = "shop_suspended"
    WAREHOUSE_NOT_FOUND = "warehouse_not_found"
    VARIANT_NOT_FOUND = "variant_not_found"
    WAREHOUSE_LIMIT = "warehouse_limit_reached"
    WAREHOUSE_NAME_TAKEN = "warehouse_name_taken"
    WAREHOUSE_HAS_STOCK = "warehouse_has_stock"
    WAREHOUSE_INACTIVE = "warehouse_inactive"
    INSUFFICIENT_STOCK = "insufficient_stock"
    STOCK_LIMIT = "stock_limit_exceeded"
    CONCURRENT_UPDATE = "concurrent_update"
    INVALID_ADDRESS = "invalid_address"
    INVALID_BATCH = "invalid_batch"
    INVALID_CURSOR = "invalid_cursor"
    # reservations (checkout)
    OUT_OF_STOCK = "out_of_stock"
    RESERVATION_NOT_FOUND = "reservation_not_found"
    RESERVATION_EXPIRED = "reservation_expired"
    RESERVATION_CLAIMED = "reservation_claimed"
    RESERVATION_IN_PROGRESS = "reservation_in_progress"
    PURCHASE_CAP_EXCEEDED = "purchase_cap_exceeded"
    INVALID_RESERVATION = "invalid_reservation"


class WarehouseNotFound(NotFound):
    code = InventoryErrorCode.WAREHOUSE_NOT_FOUND.value


class VariantNotFound(NotFound):
    code = InventoryErrorCode.VARIANT_NOT_FOUND.value


class InsufficientStock(Conflict):
    code = InventoryErrorCode.INSUFFICIENT_STOCK.value


class StockConflict(Conflict):
    """A warehouse or stock rule refused the change (limit, inactive, has stock...)."""


class InvalidInventoryInput(ValidationFailed):
    """Input that fails a rule of :mod:`shopreel.inventory.rules` (``code`` says which)."""


class OutOfStock(Conflict):
    """Some lines of a cart could not be reserved; ``short`` lists them (nothing is held)."""

    code = InventoryErrorCode.OUT_OF_STOCK.value


class ReservationNotFound(NotFound):
    code = InventoryErrorCode.RESERVATION_NOT_FOUND.value


class ReservationExpired(Conflict):
    """The checkout's hold ended (expired or released) before it was paid."""

    code = InventoryErrorCode.RESERVATION_EXPIRED.value


class ReservationConflict(Conflict):
    """Already paid (``reservation_claimed``) or being reserved by a concurrent call."""


class PurchaseCapExceeded(Conflict):
    code = InventoryErrorCode.PURCHASE_CAP_EXCEEDED.value
