"""Problems of the idempotency layer, each with a stable ``code``."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, ShopReelError, ValidationFailed


class IdempotencyErrorCode(StrEnum):
    KEY_REQUIRED = "idempotency_key_required"
    KEY_INVALID = "idempotency_key_invalid"
    KEY_REUSED = "idempotency_key_reused"
    IN_FLIGHT = "idempotency_request_in_flight"


class KeyRequired(ShopReelError):
    status = 400
    code = IdempotencyErrorCode.KEY_REQUIRED.value
    title = "Idempotency key required"


class KeyInvalid(ShopReelError):
    status = 400
    code = IdempotencyErrorCode.KEY_INVALID.value
    title = "Idempotency key invalid"


class KeyReused(ValidationFailed):
    """The key was already used for a different request (another body, route or method)."""

    code = IdempotencyErrorCode.KEY_REUSED.value
    title = "Idempotency key reused"


class RequestInFlight(Conflict):
    """Another attempt with this key is running; retry after ``retry_after`` seconds."""

    code = IdempotencyErrorCode.IN_FLIGHT.value
    title = "Request in flight"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        seconds = max(1, retry_after)
        super().__init__(
            detail, headers={"Retry-After": str(seconds)}, extra={"retry_after": seconds}
        )
        self.retry_after = seconds
