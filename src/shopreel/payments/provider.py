"""The ``PaymentProvider`` interface: what ShopReel needs from a card processor.

A provider is another company. Card numbers go from the buyer's browser to the provider,
which returns a *token*; ShopReel only ever sees the token, the brand and the last four
digits. Every call that moves money takes an idempotency key, and the provider (not us)
guarantees that the same key returns the same result: a retry after a timeout or a crash
can never charge twice. Declines are results (``status="declined"`` with a
:class:`DeclineCode`), not exceptions; exceptions are for requests the provider refuses
(unknown object, amount too large, wrong state, a key reused with other parameters).

The objects are plain frozen dataclasses with ``to_dict``/``from_dict`` so a webhook body
(JSON) and a direct call produce the very same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from shopreel.errors import Conflict, NotFound, ShopReelError, ValidationFailed


class AuthorizationStatus(StrEnum):
    REQUIRES_ACTION = "requires_action"  # the buyer must pass a second step first
    AUTHORIZED = "authorized"  # funds held, not moved yet
    DECLINED = "declined"  # refused by the issuer (or the second step failed)
    CAPTURED = "captured"  # money moved (possibly less than authorized)
    VOIDED = "voided"  # hold released without capture
    FAILED = "failed"  # the capture failed; the hold is released


class DeclineCode(StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    AUTHENTICATION_FAILED = "authentication_failed"  # the buyer failed the second step
    AUTHENTICATION_EXPIRED = "authentication_expired"  # the second step was not finished in time
    PROCESSING_ERROR = "processing_error"  # e.g. the capture failed at the issuer


DECLINE_MESSAGES: dict[str, str] = {
    DeclineCode.CARD_DECLINED: "The card was declined. Try another card.",
    DeclineCode.INSUFFICIENT_FUNDS: "The card has insufficient funds. Try another card.",
    DeclineCode.EXPIRED_CARD: "The card has expired. Try another card.",
    DeclineCode.INCORRECT_CVC: "The security code is incorrect.",
    DeclineCode.AUTHENTICATION_FAILED: "The card's verification step failed.",
    DeclineCode.AUTHENTICATION_EXPIRED: "The card's verification step was not completed in time.",
    DeclineCode.PROCESSING_ERROR: "The card could not be charged. Try again or use another card.",
}
"""Messages a buyer may read: they never reveal more than the code itself."""


class CaptureStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class EventType(StrEnum):
    PAYMENT_REQUIRES_ACTION = "payment.requires_action"
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_VOIDED = "payment.voided"
    REFUND_SUCCEEDED = "refund.succeeded"


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def _from_ts(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


@dataclass(frozen=True, slots=True)
class Card:
    """What may be known of a card outside the provider: never the number."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "last4": self.last4,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Card:
        return cls(
            brand=str(data["brand"]),
            last4=str(data["last4"]),
            exp_month=int(data["exp_month"]),
            exp_year=int(data["exp_year"]),
        )


@dataclass(frozen=True, slots=True)
class Authorization:
    id: str
    status: AuthorizationStatus
    amount_cents: int
    currency: str
    card: Card
    created_at: datetime
    captured_cents: int = 0
    refunded_cents: int = 0
    capture_id: str | None = None
    decline_code: str | None = None
    next_action_url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "card": self.card.to_dict(),
            "created": _ts(self.created_at),
            "captured_cents": self.captured_cents,
            "refunded_cents": self.refunded_cents,
            "capture_id": self.capture_id,
            "decline_code": self.decline_code,
            "next_action_url": self.next_action_url,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Authorization:
        return cls(
            id=str(data["id"]),
            status=AuthorizationStatus(data["status"]),
            amount_cents=int(data["amount_cents"]),
            currency=str(data["currency"]),
            card=Card.from_dict(data["card"]),
            created_at=_from_ts(data["created"]),
            captured_cents=int(data.get("captured_cents") or 0),
            refunded_cents=int(data.get("refunded_cents") or 0),
            capture_id=data.get("capture_id"),
            decline_code=data.get("decline_code"),
            next_action_url=data.get("next_action_url"),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Capture:
    id: str
    authorization_id: str
    status: CaptureStatus
    amount_cents: int
    currency: str
    created_at: datetime
    refunded_cents: int = 0
    failure_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authorization_id": self.authorization_id,
            "status": self.status.value,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "created": _ts(self.created_at),
            "refunded_cents": self.refunded_cents,
            "failure_code": self.failure_code,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Capture:
        return cls(
            id=str(data["id"]),
            authorization_id=str(data["authorization_id"]),
            status=CaptureStatus(data["status"]),
            amount_cents=int(data["amount_cents"]),
            currency=str(data["currency"]),
            created_at=_from_ts(data["created"]),
            refunded_cents=int(data.get("refunded_cents") or 0),
            failure_code=data.get("failure_code"),
        )


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    capture_id: str
    authorization_id: str
    amount_cents: int
    currency: str
    created_at: datetime
    status: str = "succeeded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "capture_id": self.capture_id,
            "authorization_id": self.authorization_id,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "created": _ts(self.created_at),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Refund:
        return cls(
            id=str(data["id"]),
            capture_id=str(data["capture_id"]),
            authorization_id=str(data["authorization_id"]),
            amount_cents=int(data["amount_cents"]),
            currency=str(data["currency"]),
            created_at=_from_ts(data["created"]),
            status=str(data.get("status") or "succeeded"),
        )


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified provider event. ``authorization`` is the provider's snapshot of the
    authorization when the event was created (so events can be applied in any order);
    ``capture``/``refund`` are set for capture and refund events."""

    id: str
    type: str
    created_at: datetime
    authorization: Authorization
    capture: Capture | None = None
    refund: Refund | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created": _ts(self.created_at),
            "data": {
                "authorization": self.authorization.to_dict(),
                "capture": self.capture.to_dict() if self.capture else None,
                "refund": self.refund.to_dict() if self.refund else None,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookEvent:
        body = data["data"]
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            created_at=_from_ts(data["created"]),
            authorization=Authorization.from_dict(body["authorization"]),
            capture=Capture.from_dict(body["capture"]) if body.get("capture") else None,
            refund=Refund.from_dict(body["refund"]) if body.get("refund") else None,
        )


# ---- errors: requests the provider refuses ---------------------------------------------------


class ProviderErrorCode(StrEnum):
    INVALID_TOKEN = "invalid_card_token"  # noqa: S105 - an error code
    OBJECT_NOT_FOUND = "provider_object_not_found"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_EXCEEDS_AUTHORIZED = "amount_exceeds_authorized"
    AMOUNT_EXCEEDS_CAPTURED = "amount_exceeds_captured"
    INVALID_STATE = "invalid_authorization_state"
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    WEBHOOK_TIMESTAMP_STALE = "webhook_timestamp_stale"
    WEBHOOK_PAYLOAD_INVALID = "webhook_payload_invalid"


class ProviderError(ShopReelError):
    """Base of the provider's refusals (each subclass carries a stable code)."""


class InvalidCardToken(ValidationFailed, ProviderError):
    code = ProviderErrorCode.INVALID_TOKEN.value


class ProviderObjectNotFound(NotFound, ProviderError):
    code = ProviderErrorCode.OBJECT_NOT_FOUND.value


class IdempotencyKeyReused(Conflict, ProviderError):
    """The same idempotency key was sent with different parameters."""

    code = ProviderErrorCode.IDEMPOTENCY_KEY_REUSED.value


class InvalidAmount(ValidationFailed, ProviderError):
    code = ProviderErrorCode.INVALID_AMOUNT.value


class AmountExceedsAuthorized(Conflict, ProviderError):
    code = ProviderErrorCode.AMOUNT_EXCEEDS_AUTHORIZED.value


class AmountExceedsCaptured(Conflict, ProviderError):
    code = ProviderErrorCode.AMOUNT_EXCEEDS_CAPTURED.value


class InvalidAuthorizationState(Conflict, ProviderError):
    """E.g. capture of a voided authorization, void after capture."""

    code = ProviderErrorCode.INVALID_STATE.value


class WebhookRejected(ProviderError):
    """A webhook that must not be processed: 400, nothing recorded."""

    status = 400
    title = "Webhook rejected"


class WebhookSignatureInvalid(WebhookRejected):
    code = ProviderErrorCode.WEBHOOK_SIGNATURE_INVALID.value


class WebhookTimestampStale(WebhookRejected):
    code = ProviderErrorCode.WEBHOOK_TIMESTAMP_STALE.value


class WebhookPayloadInvalid(WebhookRejected):
    code = ProviderErrorCode.WEBHOOK_PAYLOAD_INVALID.value


PROVIDER_ERRORS: dict[str, type[ProviderError]] = {
    cls.code: cls
    for cls in (
        InvalidCardToken,
        ProviderObjectNotFound,
        IdempotencyKeyReused,
        InvalidAmount,
        AmountExceedsAuthorized,
        AmountExceedsCaptured,
        InvalidAuthorizationState,
    )
}
"""Code -> class, to re-raise a refusal replayed from an idempotency record."""


# ---- the interface ---------------------------------------------------------------------------


@runtime_checkable
class PaymentProvider(Protocol):
    """What a card processor adapter implements. All calls are async and may be retried:
    the ones that move money take ``idempotency_key`` and must return the first result
    for a repeated key (and raise :class:`IdempotencyKeyReused` when the parameters differ).
    """

    name: str

    async def authorize(
        self,
        token: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        *,
        return_url: str | None = None,
    ) -> Authorization:
        """Hold ``amount_cents`` on the tokenized card. Returns ``authorized``,
        ``declined`` (with ``decline_code``) or ``requires_action`` (with
        ``next_action_url``, where the buyer passes the second step and is then sent back
        to ``return_url``)."""
        ...

    async def confirm_action(self, authorization_id: str, idempotency_key: str) -> Authorization:
        """After the buyer came back from the second step: the outcome (``authorized`` or
        ``declined``), or still ``requires_action`` if the buyer has not finished."""
        ...

    async def retrieve(self, authorization_id: str) -> Authorization:
        """The provider's current view of an authorization (reconciliation)."""
        ...

    async def find_authorization(self, idempotency_key: str) -> Authorization | None:
        """The current state of the authorization made by the ``authorize`` call with this
        idempotency key, or ``None`` when the provider never made one (it never received the
        call, or refused it). Reconciliation after a crash between our call and our record
        of its answer (a real adapter searches by the metadata's payment id)."""
        ...

    async def capture(
        self, authorization_id: str, amount_cents: int, idempotency_key: str
    ) -> Capture:
        """Move up to the authorized amount; one capture per authorization (the rest of the
        hold is released). A failed capture is a result with ``status="failed"``."""
        ...

    async def void(self, authorization_id: str, idempotency_key: str) -> Authorization:
        """Release an uncaptured hold. Refused after capture (refund instead)."""
        ...

    async def refund(self, capture_id: str, amount_cents: int, idempotency_key: str) -> Refund:
        """Return up to the captured amount, in one or several refunds."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check the signature and freshness of a webhook and parse it; raises
        :class:`WebhookRejected` (400) otherwise."""
        ...
