"""Seller onboarding error codes (stable: clients match on them)."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class SellerErrorCode(StrEnum):
    HANDLE_TAKEN = "handle_taken"
    APPLICATION_EXISTS = "application_exists"
    APPLICATION_NOT_FOUND = "application_not_found"
    APPLICATION_INCOMPLETE = "application_incomplete"
    APPLICATION_LOCKED = "application_locked"
    INVALID_TRANSITION = "invalid_transition"
    SHOP_NOT_FOUND = "shop_not_found"
    NOT_SELLER_OPS = "not_seller_ops"
    WRONG_REGION = "wrong_region"
    OWN_APPLICATION = "own_application"


class HandleTaken(Conflict):
    code = SellerErrorCode.HANDLE_TAKEN.value


class ApplicationExists(Conflict):
    code = SellerErrorCode.APPLICATION_EXISTS.value


class ApplicationNotFound(NotFound):
    code = SellerErrorCode.APPLICATION_NOT_FOUND.value


class ApplicationIncomplete(ValidationFailed):
    """422 with ``missing``: every field the submission still lacks."""

    code = SellerErrorCode.APPLICATION_INCOMPLETE.value


class ApplicationLocked(Conflict):
    """The application can be changed only while it is a draft or rejected."""

    code = SellerErrorCode.APPLICATION_LOCKED.value


class InvalidTransition(Conflict):
    code = SellerErrorCode.INVALID_TRANSITION.value


class ShopNotFound(NotFound):
    code = SellerErrorCode.SHOP_NOT_FOUND.value


class NotSellerOps(PermissionDenied):
    code = SellerErrorCode.NOT_SELLER_OPS.value


class WrongRegion(PermissionDenied):
    """Staff review only applications held in their own jurisdiction's region."""

    code = SellerErrorCode.WRONG_REGION.value


class OwnApplication(PermissionDenied):
    code = SellerErrorCode.OWN_APPLICATION.value
