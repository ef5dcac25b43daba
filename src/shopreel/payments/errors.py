"""Payment error codes (our side): stable strings clients can branch on. The provider's
refusals are in :mod:`shopreel.payments.provider`."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotFound, ShopReelError, ValidationFailed


class PaymentErrorCode(StrEnum):
    PAYMENT_NOT_FOUND = "payment_not_found"
    INVALID_STATE = "payment_state_conflict"
    INVALID_PAYMENT = "invalid_payment"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    UNKNOWN_PROVIDER = "unknown_payment_provider"
    CONCURRENT_UPDATE = "concurrent_update"


class PaymentNotFound(NotFound):
    """Also what another buyer's payment looks like: its existence is not revealed."""

    code = PaymentErrorCode.PAYMENT_NOT_FOUND.value


class PaymentStateConflict(Conflict):
    code = PaymentErrorCode.INVALID_STATE.value


class InvalidPayment(ValidationFailed):
    code = PaymentErrorCode.INVALID_PAYMENT.value


class IdempotencyKeyRequired(ShopReelError):
    status = 400
    code = PaymentErrorCode.IDEMPOTENCY_KEY_REQUIRED.value
    title = "Idempotency key required"


class UnknownProvider(NotFound):
    code = PaymentErrorCode.UNKNOWN_PROVIDER.value


class ConcurrentPaymentUpdate(Conflict):
    code = PaymentErrorCode.CONCURRENT_UPDATE.value
