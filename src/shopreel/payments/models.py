"""Payments models (regional plane: the buyer's home region).

Two owners share these tables' database but not their transactions:

* **ours** — ``payments``, ``payment_events``, ``payment_refunds``,
  ``processed_webhook_events``: what ShopReel knows of each payment. Written through the
  request's unit of work.
* **the sandbox provider's** — ``sandbox_*``: the state of the pretend card processor.
  The sandbox is "another company": it opens its own sessions and commits on its own
  (:mod:`shopreel.payments.sandbox`), never through our unit of work, so our rollback or
  crash does not undo a charge, exactly as with a real provider. They live in the buyer's
  regional database because that is where the payment's data is allowed to live; nothing
  in them identifies the buyer (the metadata holds our payment id and checkout reference).

No table holds a card number: the sandbox keeps the brand, last four digits and expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase

# ---- ours ------------------------------------------------------------------------------------


class Payment(RegionalBase):
    """One attempt to pay (one provider authorization) for a checkout ``reference``."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_buyer_created", "buyer_id", "created_at"),
        Index(
            "ix_payments_provider_authorization",
            "provider",
            "provider_authorization_id",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(48))
    reference: Mapped[str] = mapped_column(String(64), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_authorization_id: Mapped[str | None] = mapped_column(String(64), default=None)
    provider_capture_id: Mapped[str | None] = mapped_column(String(64), default=None)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24))
    authorized_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    decline_code: Mapped[str | None] = mapped_column(String(40), default=None)
    next_action_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    card_brand: Mapped[str | None] = mapped_column(String(24), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    # optimistic concurrency: our call's result and a webhook may race to move the payment
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PaymentEvent(RegionalBase):
    """History of a payment: one row per status change (or refused/conflicting news)."""

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_payment_created", "payment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(24))  # transition | refund | conflict
    from_status: Mapped[str | None] = mapped_column(String(24), default=None)
    to_status: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))  # api | webhook
    provider_event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PaymentRefund(RegionalBase):
    """A refund the provider confirmed; unique per provider refund id, so a refund learnt
    from our call and again from a webhook is counted once."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        Index("ix_payment_refunds_provider_refund", "provider", "provider_refund_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(48), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_refund_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessedWebhookEvent(RegionalBase):
    """Webhook events already handled, keyed by (provider, event id): a redelivery is
    acknowledged without effect."""

    __tablename__ = "processed_webhook_events"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str | None] = mapped_column(String(48), default=None)
    outcome: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# ---- the sandbox provider's ------------------------------------------------------------------


class SandboxAuthorization(RegionalBase):
    __tablename__ = "sandbox_authorizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    behaviour: Mapped[str] = mapped_column(String(24))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    captured_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    capture_id: Mapped[str | None] = mapped_column(String(64), default=None)
    decline_code: Mapped[str | None] = mapped_column(String(40), default=None)
    card_brand: Mapped[str] = mapped_column(String(24))
    card_last4: Mapped[str] = mapped_column(String(4))
    card_exp_month: Mapped[int] = mapped_column(Integer)
    card_exp_year: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # the caller's metadata
    return_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    challenge_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    challenge_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SandboxCapture(RegionalBase):
    __tablename__ = "sandbox_captures"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # one capture per authorization: the unique index settles two racing captures
    authorization_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SandboxRefund(RegionalBase):
    __tablename__ = "sandbox_refunds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    capture_id: Mapped[str] = mapped_column(String(64), index=True)
    authorization_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SandboxIdempotencyKey(RegionalBase):
    """The provider's memory of idempotency keys: the first response (or refusal), replayed
    for every later call with the same key and parameters."""

    __tablename__ = "sandbox_idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SandboxWebhookEvent(RegionalBase):
    """The sandbox's webhook outbox, written in the same transaction as the change it
    announces and delivered at least once by :func:`deliver_pending_webhooks`."""

    __tablename__ = "sandbox_webhook_events"
    __table_args__ = (Index("ix_sandbox_webhook_events_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes sent (and signed) every time
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
