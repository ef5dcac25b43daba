"""Payments JSON API (under /api/v1).

* ``POST /payments/sandbox/tokens`` — the sandbox's tokenization (public, like a real
  provider's: the card goes to the provider, never to our tables).
* ``POST /payments/webhooks/sandbox`` — the sandbox's webhooks (public; the signature is
  the authentication).
* ``/payments…`` — a buyer's own payments. Tokens need ``orders:read`` to read and
  ``payments:write`` to authorize or confirm; money-moving calls require ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, status

from shopreel.accounts.principal import Principal
from shopreel.deps import RuntimeDep, UowDep, require_scope
from shopreel.payments import service
from shopreel.payments.errors import IdempotencyKeyRequired
from shopreel.payments.models import Payment
from shopreel.payments.provider import DECLINE_MESSAGES
from shopreel.payments.sandbox import tokenize
from shopreel.payments.schemas import (
    AuthorizeIn,
    PaymentList,
    PaymentRead,
    SandboxCardIn,
    SandboxTokenRead,
    WebhookAck,
)

router = APIRouter(prefix="/payments", tags=["payments"])

Reader = Annotated[Principal, Depends(require_scope("orders:read"))]
Payer = Annotated[Principal, Depends(require_scope("payments:write"))]
PaymentId = Annotated[str, Path(min_length=1, max_length=64)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def payment_read(payment: Payment) -> PaymentRead:
    return PaymentRead(
        id=payment.id,
        reference=payment.reference,
        provider=payment.provider,
        status=payment.status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        authorized_cents=payment.authorized_cents,
        captured_cents=payment.captured_cents,
        refunded_cents=payment.refunded_cents,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        decline_code=payment.decline_code,
        decline_message=DECLINE_MESSAGES.get(payment.decline_code or ""),
        next_action_url=payment.next_action_url,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )


def _require_key(key: str | None) -> str:
    if not key or not key.strip():
        raise IdempotencyKeyRequired("Send an Idempotency-Key header with this request.")
    return key.strip()


@router.post("/sandbox/tokens", status_code=status.HTTP_201_CREATED)
async def create_sandbox_token(body: SandboxCardIn, runtime: RuntimeDep) -> SandboxTokenRead:
    """Tokenize a sandbox test card (Luhn and expiry checked; the number is not kept)."""
    token, card = tokenize(runtime, body.number, body.exp_month, body.exp_year, body.cvc)
    return SandboxTokenRead(
        token=token,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


@router.post("/webhooks/sandbox")
async def sandbox_webhook(request: Request, uow: UowDep, runtime: RuntimeDep) -> WebhookAck:
    """Receive a sandbox event (``Shopreel-Signature`` checked; redeliveries have no effect)."""
    body = await request.body()
    outcome = await service.handle_webhook(uow, runtime, "sandbox", request.headers, body)
    return WebhookAck(event_id=outcome.event_id, outcome=outcome.outcome)


@router.get("")
async def list_payments(principal: Reader, uow: UowDep) -> PaymentList:
    """Your payments, newest first."""
    rows = await service.list_payments(uow, buyer_id=principal.id)
    return PaymentList(items=[payment_read(p) for p in rows])


@router.get("/{payment_id}")
async def get_payment(payment_id: PaymentId, principal: Reader, uow: UowDep) -> PaymentRead:
    """One of your payments."""
    return payment_read(await service.get_payment(uow, payment_id, buyer_id=principal.id))


@router.post("/{payment_id}/authorize")
async def authorize_payment(
    payment_id: PaymentId,
    body: AuthorizeIn,
    principal: Payer,
    uow: UowDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> PaymentRead:
    """Pay with a card token: ``authorized``, ``declined`` or ``requires_action``."""
    _require_key(idempotency_key)
    payment = await service.authorize_payment(
        uow,
        runtime,
        payment_id,
        buyer_id=principal.id,
        token=body.token,
        return_url=body.return_url,
    )
    return payment_read(payment)


@router.post("/{payment_id}/confirm")
async def confirm_payment(
    payment_id: PaymentId,
    principal: Payer,
    uow: UowDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> PaymentRead:
    """After the card's second step: record its outcome."""
    _require_key(idempotency_key)
    payment = await service.confirm_payment_action(uow, runtime, payment_id, buyer_id=principal.id)
    return payment_read(payment)
