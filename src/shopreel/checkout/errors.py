"""Checkout error codes: stable strings clients branch on (``application/problem+json``).

Stock refusals (``out_of_stock``, ``purchase_cap_exceeded``, ``reservation_expired``) come
from :mod:`shopreel.inventory.errors` unchanged; cart refusals from the cart domain."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotFound, ShopReelError, ValidationFailed


class CheckoutErrorCode(StrEnum):
    CHECKOUT_NOT_FOUND = "checkout_not_found"
    INVALID_ADDRESS = "invalid_address"
    INVALID_SHIPPING_CHOICE = "invalid_shipping_choice"
    INVALID_CHECKOUT = "invalid_checkout"
    LINE_UNAVAILABLE = "line_unavailable"
    CHECKOUT_CLOSED = "checkout_closed"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_FAILED = "payment_failed"
    ACTION_REQUIRED = "payment_action_required"


class CheckoutNotFound(NotFound):
    """Also what another buyer's checkout looks like: its existence is not revealed."""

    code = CheckoutErrorCode.CHECKOUT_NOT_FOUND.value


class InvalidAddress(ValidationFailed):
    code = CheckoutErrorCode.INVALID_ADDRESS.value


class InvalidShippingChoice(ValidationFailed):
    code = CheckoutErrorCode.INVALID_SHIPPING_CHOICE.value


class InvalidCheckout(ValidationFailed):
    code = CheckoutErrorCode.INVALID_CHECKOUT.value


class LineUnavailable(ValidationFailed):
    code = CheckoutErrorCode.LINE_UNAVAILABLE.value


class CheckoutClosed(Conflict):
    """Paying an expired or cancelled checkout (start a new one)."""

    code = CheckoutErrorCode.CHECKOUT_CLOSED.value


class PaymentDeclined(ShopReelError):
    """The card was declined: the checkout keeps its reservation; pay again with another card
    (and a new Idempotency-Key)."""

    status = 402
    code = CheckoutErrorCode.PAYMENT_DECLINED.value
    title = "Payment declined"


class PaymentFailed(ShopReelError):
    """The provider failed to take the money after authorizing it (the stock went back)."""

    status = 402
    code = CheckoutErrorCode.PAYMENT_FAILED.value
    title = "Payment failed"


class ActionRequired(Conflict):
    """Finalizing a checkout whose payment still waits for the buyer's second step."""

    code = CheckoutErrorCode.ACTION_REQUIRED.value
