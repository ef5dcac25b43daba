"""Payments use cases (our side): what checkout, orders and the webhook endpoint call.

Our ``payments`` row is our *record* of a payment; the provider is the source of truth for
money. Two rules keep them consistent:

* **Write ahead, then call.** Before a call that moves money, the regional session is
  committed, so the payment row (the intent) is durable before the provider acts, and, on
  SQLite, our transaction does not hold the write lock the provider's own transaction needs.
  The provider idempotency key is derived from our payment id (``<payment id>:authorize``,
  ``…:capture``, ``…:void``, ``…:refund:<caller key>``): a retry after a crash at any point
  gets the provider's first answer back instead of a second charge.
* **One way to record news.** The result of our own call and a webhook (at least once, in
  any order) both go through :func:`_move` with the pure machine of :mod:`.rules`; status
  updates are conditional on a version number, so the two racing cannot both apply.

``capture_payment``, ``void_payment`` and ``refund_payment`` are system operations
(checkout, orders, staff tools): they do not check who asks. The buyer-facing ones take
``buyer_id`` and answer ``payment_not_found`` for anyone else's payment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import utcnow
from shopreel.payments import rules
from shopreel.payments.errors import (
    ConcurrentPaymentUpdate,
    InvalidPayment,
    PaymentNotFound,
    PaymentStateConflict,
    UnknownProvider,
)
from shopreel.payments.models import Payment, PaymentEvent, PaymentRefund, ProcessedWebhookEvent
from shopreel.payments.provider import (
    Authorization,
    Capture,
    CaptureStatus,
    PaymentProvider,
    Refund,
    WebhookEvent,
)
from shopreel.payments.rules import Decision, PaymentStatus
from shopreel.payments.sandbox import MAX_AMOUNT_CENTS, SandboxProvider
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

log = logging.getLogger("shopreel.payments")

DEFAULT_PROVIDER = "sandbox"
PROVIDERS: dict[str, Callable[[Runtime, str | None], PaymentProvider]] = {
    "sandbox": SandboxProvider,
}
"""Provider adapters by name. A real adapter registers here (see docs/payments.md)."""

_S = PaymentStatus


def provider_for(runtime: Runtime, name: str, region: str | None = None) -> PaymentProvider:
    factory = PROVIDERS.get(name)
    if factory is None:
        raise UnknownProvider(f"No payment provider named {name!r}.")
    return factory(runtime, region)


def _session(uow: UnitOfWork, some_id: str) -> AsyncSession:
    region = region_of(some_id)
    if region is None or region not in uow.databases.regions:
        raise PaymentNotFound("No such payment.")
    return uow.region(region)


# ---- reading ---------------------------------------------------------------------------------


async def get_payment(uow: UnitOfWork, payment_id: str, *, buyer_id: str) -> Payment:
    """The buyer's own payment; anyone else's (or another region's) is ``payment_not_found``."""
    if region_of(payment_id) != region_of(buyer_id):
        raise PaymentNotFound("No such payment.")
    payment = await _session(uow, payment_id).get(Payment, payment_id, populate_existing=True)
    if payment is None or payment.buyer_id != buyer_id:
        raise PaymentNotFound("No such payment.")
    return payment


async def load_payment(uow: UnitOfWork, payment_id: str) -> Payment:
    """Any payment of the unit of work's region (system callers)."""
    payment = await _session(uow, payment_id).get(Payment, payment_id, populate_existing=True)
    if payment is None:
        raise PaymentNotFound("No such payment.")
    return payment


async def list_payments(uow: UnitOfWork, *, buyer_id: str, limit: int = 50) -> Sequence[Payment]:
    session = _session(uow, buyer_id)
    rows = await session.scalars(
        select(Payment)
        .where(Payment.buyer_id == buyer_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(limit)
    )
    return rows.all()


async def payment_history(uow: UnitOfWork, payment_id: str) -> Sequence[PaymentEvent]:
    rows = await _session(uow, payment_id).scalars(
        select(PaymentEvent)
        .where(PaymentEvent.payment_id == payment_id)
        .order_by(PaymentEvent.created_at, PaymentEvent.id)
    )
    return rows.all()


# ---- creating and moving money ---------------------------------------------------------------


async def create_payment(
    uow: UnitOfWork,
    *,
    buyer_id: str,
    amount_cents: int,
    currency: str,
    reference: str,
    provider: str = DEFAULT_PROVIDER,
) -> Payment:
    """A pending payment of ``amount_cents`` for ``reference`` (e.g. a checkout id), in the
    buyer's home region. Checkout calls this, then :func:`authorize_payment`."""
    if provider not in PROVIDERS:
        raise UnknownProvider(f"No payment provider named {provider!r}.")
    if (
        not isinstance(amount_cents, int)
        or isinstance(amount_cents, bool)
        or not 1 <= amount_cents <= MAX_AMOUNT_CENTS
    ):
        raise InvalidPayment(f"The amount must be whole cents from 1 to {MAX_AMOUNT_CENTS}.")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidPayment("The currency must be an ISO 4217 code such as USD.")
    if not reference or len(reference) > 64:
        raise InvalidPayment("A reference of 1 to 64 characters is required.")
    session = _session(uow, buyer_id)
    region = region_of(buyer_id)
    now = utcnow()
    payment = Payment(
        id=new_id("pay", region),
        buyer_id=buyer_id,
        reference=reference,
        provider=provider,
        amount_cents=amount_cents,
        currency=currency,
        status=_S.PENDING.value,
        authorized_cents=0,
        captured_cents=0,
        refunded_cents=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    session.add(
        PaymentEvent(
            id=new_id("payev", region),
            payment_id=payment.id,
            kind="transition",
            from_status=None,
            to_status=_S.PENDING.value,
            source="api",
            details={"amount_cents": amount_cents, "currency": currency},
            created_at=now,
        )
    )
    await session.flush()
    return payment


async def _write_ahead(session: AsyncSession) -> None:
    await session.commit()


async def authorize_payment(
    uow: UnitOfWork,
    runtime: Runtime,
    payment_id: str,
    *,
    buyer_id: str,
    token: str,
    return_url: str | None = None,
) -> Payment:
    """Ask the provider to hold the amount on the tokenized card. A payment is one attempt:
    once it has an authorization, calling again returns it unchanged (after a decline,
    checkout creates a new payment). Commits the regional session first (write ahead)."""
    payment = await get_payment(uow, payment_id, buyer_id=buyer_id)
    if payment.provider_authorization_id is not None or payment.status != _S.PENDING:
        return payment
    session = _session(uow, payment_id)
    await _write_ahead(session)
    provider = provider_for(runtime, payment.provider, payment.region)
    authorization = await provider.authorize(
        token,
        payment.amount_cents,
        payment.currency,
        f"{payment.id}:authorize",
        {"payment_id": payment.id, "reference": payment.reference},
        return_url=return_url,
    )
    await _sync(session, payment, authorization, source="api")
    return payment


async def confirm_payment_action(
    uow: UnitOfWork, runtime: Runtime, payment_id: str, *, buyer_id: str
) -> Payment:
    """After the buyer's second step: ask the provider for the outcome and record it."""
    payment = await get_payment(uow, payment_id, buyer_id=buyer_id)
    if payment.status != _S.REQUIRES_ACTION:
        if payment.status == _S.PENDING:
            raise PaymentStateConflict("This payment has not been authorized yet.")
        return payment  # already known (e.g. the webhook came first)
    assert payment.provider_authorization_id is not None
    session = _session(uow, payment_id)
    await _write_ahead(session)
    provider = provider_for(runtime, payment.provider, payment.region)
    authorization = await provider.confirm_action(
        payment.provider_authorization_id, f"{payment.id}:confirm"
    )
    await _sync(session, payment, authorization, source="api")
    return payment


async def refresh_payment(uow: UnitOfWork, runtime: Runtime, payment_id: str) -> Payment:
    """Ask the provider for the authorization's current state and record it (the recovery
    job's reconciliation; a payment the provider never answered for is left as it is)."""
    payment = await load_payment(uow, payment_id)
    provider = provider_for(runtime, payment.provider, payment.region)
    if payment.provider_authorization_id is not None:
        authorization = await provider.retrieve(payment.provider_authorization_id)
    elif payment.status == _S.PENDING:
        # our call may have reached the provider without its answer reaching our database
        found = await provider.find_authorization(f"{payment.id}:authorize")
        if found is None:
            return payment
        authorization = found
    else:
        return payment
    await _sync(_session(uow, payment_id), payment, authorization, source="api")
    return payment


async def capture_payment(
    uow: UnitOfWork, runtime: Runtime, payment_id: str, *, amount_cents: int | None = None
) -> Payment:
    """Capture an authorized payment (default: the whole authorized amount). Capturing
    again returns the captured payment. A failed capture leaves the payment ``failed``."""
    payment = await load_payment(uow, payment_id)
    amount = payment.authorized_cents if amount_cents is None else amount_cents
    if payment.status in (_S.CAPTURED, _S.PARTIALLY_REFUNDED, _S.REFUNDED):
        if amount != payment.captured_cents:
            raise PaymentStateConflict("This payment was already captured for another amount.")
        return payment
    if payment.status != _S.AUTHORIZED:
        raise PaymentStateConflict(f"A {payment.status} payment cannot be captured.")
    if not 1 <= amount <= payment.authorized_cents:
        raise PaymentStateConflict(
            f"Cannot capture {amount}: {payment.authorized_cents} is authorized.",
            code="amount_exceeds_authorized",
        )
    assert payment.provider_authorization_id is not None
    session = _session(uow, payment_id)
    await _write_ahead(session)
    provider = provider_for(runtime, payment.provider, payment.region)
    capture = await provider.capture(
        payment.provider_authorization_id, amount, f"{payment.id}:capture"
    )
    await _record_capture(session, payment, capture, source="api")
    return payment


async def void_payment(uow: UnitOfWork, runtime: Runtime, payment_id: str) -> Payment:
    """Release an uncaptured hold (checkout abandoned, reservation expired)."""
    payment = await load_payment(uow, payment_id)
    if payment.status == _S.VOIDED:
        return payment
    if payment.status not in (_S.AUTHORIZED, _S.REQUIRES_ACTION):
        hint = " Refund it instead." if payment.status == _S.CAPTURED else ""
        raise PaymentStateConflict(f"A {payment.status} payment cannot be voided.{hint}")
    assert payment.provider_authorization_id is not None
    session = _session(uow, payment_id)
    await _write_ahead(session)
    provider = provider_for(runtime, payment.provider, payment.region)
    authorization = await provider.void(payment.provider_authorization_id, f"{payment.id}:void")
    await _sync(session, payment, authorization, source="api")
    return payment


async def refund_payment(
    uow: UnitOfWork,
    runtime: Runtime,
    payment_id: str,
    *,
    amount_cents: int,
    idempotency_key: str,
) -> Payment:
    """Refund part or all of the captured amount. ``idempotency_key`` names this refund
    (e.g. the return's id): the same key refunds once."""
    payment = await load_payment(uow, payment_id)
    if payment.status not in (_S.CAPTURED, _S.PARTIALLY_REFUNDED, _S.REFUNDED):
        raise PaymentStateConflict(f"A {payment.status} payment cannot be refunded.")
    assert payment.provider_capture_id is not None
    session = _session(uow, payment_id)
    await _write_ahead(session)
    provider = provider_for(runtime, payment.provider, payment.region)
    # No local amount check: a retry of a refund that already succeeded must reach the
    # provider to get its first answer back; the provider refuses a real excess.
    refund = await provider.refund(
        payment.provider_capture_id, amount_cents, f"{payment.id}:refund:{idempotency_key}"
    )
    await _record_refund(session, payment, refund, source="api")
    return payment


# ---- webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    outcome: str  # applied | no_change | duplicate | unknown_payment


async def handle_webhook(
    uow: UnitOfWork,
    runtime: Runtime,
    provider_name: str,
    headers: Mapping[str, str],
    body: bytes,
) -> WebhookOutcome:
    """Verify and apply one provider event, at most once per event id. A bad signature or a
    stale timestamp raises (400) before anything is read or written."""
    provider = provider_for(runtime, provider_name)
    event = provider.verify_webhook(headers, body)
    payment_id = event.authorization.metadata.get("payment_id", "")
    region = region_of(payment_id)
    if region is None or region not in runtime.settings.region_names:
        log.warning("webhook %s names no payment of ours; acknowledged", event.id)
        return WebhookOutcome(event.id, "unknown_payment")
    uow.bind_region(region)
    session = uow.region(region)
    if await session.get(ProcessedWebhookEvent, (provider_name, event.id)) is not None:
        return WebhookOutcome(event.id, "duplicate")
    record = ProcessedWebhookEvent(
        provider=provider_name,
        event_id=event.id,
        type=event.type,
        payment_id=payment_id,
        outcome="processing",
        received_at=utcnow(),
    )
    session.add(record)
    try:
        await session.flush()  # a concurrent redelivery of the same event waits here, then fails
    except IntegrityError:
        await session.rollback()
        return WebhookOutcome(event.id, "duplicate")
    payment = await session.get(Payment, payment_id, populate_existing=True)
    if payment is None or payment.provider != provider_name:
        record.outcome = "unknown_payment"
        return WebhookOutcome(event.id, record.outcome)
    changed = await _apply_event(session, payment, event)
    record.outcome = "applied" if changed else "no_change"
    await session.flush()
    return WebhookOutcome(event.id, record.outcome)


async def _apply_event(session: AsyncSession, payment: Payment, event: WebhookEvent) -> bool:
    changed = await _sync(session, payment, event.authorization, source="webhook", event=event.id)
    if event.capture is not None and event.capture.status is CaptureStatus.SUCCEEDED:
        changed = await _record_capture(session, payment, event.capture, "webhook", event.id) or (
            changed
        )
    if event.refund is not None:
        changed = await _record_refund(session, payment, event.refund, "webhook", event.id) or (
            changed
        )
    return changed


# ---- recording news (both paths) -------------------------------------------------------------


async def _sync(
    session: AsyncSession,
    payment: Payment,
    authorization: Authorization,
    *,
    source: str,
    event: str | None = None,
) -> bool:
    """Move the payment toward the provider's view of its authorization."""
    if (
        payment.provider_authorization_id is not None
        and payment.provider_authorization_id != authorization.id
    ):
        await _note_conflict(
            session, payment, PaymentStatus(payment.status), source, event, "another authorization"
        )
        return False
    target = rules.status_from_provider(authorization)
    if target in (_S.PARTIALLY_REFUNDED, _S.REFUNDED):
        # refunded amounts come from refund records (each counted once), not snapshots
        target = _S.CAPTURED
    fields: dict[str, Any] = {
        "provider_authorization_id": authorization.id,
        "card_brand": authorization.card.brand,
        "card_last4": authorization.card.last4,
        "decline_code": authorization.decline_code,
        "next_action_url": (
            authorization.next_action_url if target == _S.REQUIRES_ACTION else None
        ),
    }
    if target in (_S.AUTHORIZED, _S.CAPTURED, _S.VOIDED, _S.FAILED):
        fields["authorized_cents"] = authorization.amount_cents
    if target == _S.CAPTURED:
        fields["captured_cents"] = authorization.captured_cents
        fields["provider_capture_id"] = authorization.capture_id
    if (
        target == _S.REQUIRES_ACTION
        and payment.status == _S.REQUIRES_ACTION
        and payment.next_action_url is None
        and authorization.next_action_url
    ):
        # a webhook recorded the state first; our call's answer carries the buyer's link
        await _update(session, payment, {"next_action_url": authorization.next_action_url})
    return await _move(session, payment, target, fields, source=source, event=event)


async def _record_capture(
    session: AsyncSession,
    payment: Payment,
    capture: Capture,
    source: str,
    event: str | None = None,
) -> bool:
    if capture.status is CaptureStatus.FAILED:
        fields: dict[str, Any] = {"decline_code": capture.failure_code}
        return await _move(session, payment, _S.FAILED, fields, source=source, event=event)
    fields = {"captured_cents": capture.amount_cents, "provider_capture_id": capture.id}
    if payment.authorized_cents == 0:
        fields["authorized_cents"] = payment.amount_cents
    return await _move(session, payment, _S.CAPTURED, fields, source=source, event=event)


async def _record_refund(
    session: AsyncSession,
    payment: Payment,
    refund: Refund,
    source: str,
    event: str | None = None,
) -> bool:
    """Count a provider refund once. The payment row's version is bumped before the refund
    row is written, so of two racing recorders (our call, a webhook) one waits and then
    finds the refund already counted."""
    for _ in range(5):
        known = await session.scalar(
            select(PaymentRefund.id).where(
                PaymentRefund.provider == payment.provider,
                PaymentRefund.provider_refund_id == refund.id,
            )
        )
        if known is not None:
            return False
        current = PaymentStatus(payment.status)
        if current not in (_S.CAPTURED, _S.PARTIALLY_REFUNDED):
            await _note_conflict(session, payment, current, source, event, "refund before capture")
            return False
        refunded = payment.refunded_cents + refund.amount_cents
        target = rules.status_after_refunds(payment.captured_cents, refunded)
        if await _update(session, payment, {"refunded_cents": refunded, "status": target.value}):
            now = utcnow()
            session.add(
                PaymentRefund(
                    id=new_id("payrf", payment.region),
                    payment_id=payment.id,
                    provider=payment.provider,
                    provider_refund_id=refund.id,
                    amount_cents=refund.amount_cents,
                    currency=refund.currency,
                    created_at=now,
                )
            )
            session.add(
                PaymentEvent(
                    id=new_id("payev", payment.region),
                    payment_id=payment.id,
                    kind="refund",
                    from_status=current.value,
                    to_status=target.value,
                    source=source,
                    provider_event_id=event,
                    details={"amount_cents": refund.amount_cents, "refund_id": refund.id},
                    created_at=now,
                )
            )
            await session.flush()
            return True
        await session.refresh(payment)
    raise ConcurrentPaymentUpdate("The payment changed concurrently; try again.")


async def _move(
    session: AsyncSession,
    payment: Payment,
    target: PaymentStatus,
    fields: Mapping[str, Any],
    *,
    source: str,
    event: str | None,
) -> bool:
    """Apply ``target`` if the machine allows it (see :func:`rules.decide`)."""
    for _ in range(5):
        current = PaymentStatus(payment.status)
        decision = rules.decide(current, target)
        if decision in (Decision.SAME, Decision.STALE):
            return False
        if decision is Decision.CONFLICT:
            await _note_conflict(session, payment, current, source, event, target.value)
            return False
        if await _update(session, payment, {**fields, "status": target.value}):
            session.add(
                PaymentEvent(
                    id=new_id("payev", payment.region),
                    payment_id=payment.id,
                    kind="transition",
                    from_status=current.value,
                    to_status=target.value,
                    source=source,
                    provider_event_id=event,
                    details={},
                    created_at=utcnow(),
                )
            )
            await session.flush()
            return True
        await session.refresh(payment)
    raise ConcurrentPaymentUpdate("The payment changed concurrently; try again.")


async def _update(session: AsyncSession, payment: Payment, values: Mapping[str, Any]) -> bool:
    """Optimistic update: only if nobody changed the row since we read it."""
    result = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.version == payment.version)
        .values(**values, version=Payment.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return False
    await session.refresh(payment)
    return True


async def _note_conflict(
    session: AsyncSession,
    payment: Payment,
    current: PaymentStatus,
    source: str,
    event: str | None,
    what: str,
) -> None:
    log.warning("payment %s: news %r does not follow %s; ignored", payment.id, what, current)
    session.add(
        PaymentEvent(
            id=new_id("payev", payment.region),
            payment_id=payment.id,
            kind="conflict",
            from_status=current.value,
            to_status=current.value,
            source=source,
            provider_event_id=event,
            details={"ignored": what},
            created_at=utcnow(),
        )
    )
    await session.flush()
