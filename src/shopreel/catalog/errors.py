"""Catalog error codes and the exceptions the API turns into problem responses."""

from __future__ import annotations

from enum import StrEnum

from shopreel.catalog.rules import RuleViolation
from shopreel.catalog.shops import ShopRequired as ShopRequired
from shopreel.catalog.shops import ShopSuspended as ShopSuspended
from shopreel.errors import Conflict, NotFound, PermissionDenied, ShopReelError, ValidationFailed


class CatalogErrorCode(StrEnum):
    PRODUCT_NOT_FOUND = "product_not_found"
    SHOP_REQUIRED = "shop_required"
    SHOP_NOT_APPROVED = "shop_not_approved"
    VERSION_CONFLICT = "version_conflict"
    VERSION_REQUIRED = "version_required"
    INVALID_TRANSITION = "invalid_transition"
    PRODUCT_ARCHIVED = "product_archived"
    HANDLE_TAKEN = "handle_taken"
    INVALID_CATEGORY = "invalid_category"
    REASONS_REQUIRED = "reasons_required"
    NOT_A_REVIEWER = "not_a_reviewer"
    STAFF_SESSION_REQUIRED = "staff_session_required"
    RULES_UNAVAILABLE = "listing_rules_unavailable"


class ProductNotFound(NotFound):
    """Also the answer for another seller's product: existence is never revealed."""

    code = CatalogErrorCode.PRODUCT_NOT_FOUND.value


class ShopNotApproved(Conflict):
    code = CatalogErrorCode.SHOP_NOT_APPROVED.value


class VersionConflict(Conflict):
    code = CatalogErrorCode.VERSION_CONFLICT.value


class VersionRequired(ShopReelError):
    status = 428
    code = CatalogErrorCode.VERSION_REQUIRED.value
    title = "Precondition required"


class InvalidTransitionError(Conflict):
    code = CatalogErrorCode.INVALID_TRANSITION.value


class ProductArchived(Conflict):
    code = CatalogErrorCode.PRODUCT_ARCHIVED.value


class HandleTaken(Conflict):
    code = CatalogErrorCode.HANDLE_TAKEN.value


class NotAReviewer(PermissionDenied):
    code = CatalogErrorCode.NOT_A_REVIEWER.value


class StaffSessionRequired(PermissionDenied):
    code = CatalogErrorCode.STAFF_SESSION_REQUIRED.value


class RulesUnavailable(ShopReelError):
    status = 503
    code = CatalogErrorCode.RULES_UNAVAILABLE.value
    title = "Service unavailable"


def invalid(violation: RuleViolation) -> ShopReelError:
    """A broken rule as a problem response: 409 for state conflicts, 422 for bad input."""
    extra = {"field": violation.field} if violation.field else {}
    if violation.code == CatalogErrorCode.INVALID_TRANSITION.value:
        return InvalidTransitionError(violation.message, extra=extra)
    return ValidationFailed(violation.message, code=violation.code, extra=extra)
