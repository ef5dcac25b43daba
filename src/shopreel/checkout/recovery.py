"""The recovery job: reconciles checkouts left between two steps by a crash, a lost
connection or a buyer who walked away, so that **no charge is left without an order and no
reservation is held forever**.

Per region, for every checkout still open (``reserved``, ``requires_action``,
``processing``) and untouched for ``grace``:

* its payment is refreshed from the provider (``retrieve``; for a payment whose provider
  call never got its answer recorded, ``find_authorization`` by the call's idempotency key),
  so the job does not depend on webhooks arriving;
* money held or taken (``authorized``/``captured``) -> :func:`service.finalize`: claim the
  stock, capture, write the orders; if the hold ran out, void or refund instead;
* no money held and the hold's time passed -> ``expired``, the stock released;
* other payments of the same checkout that hold money (a superseded attempt) are voided or
  refunded: one checkout, at most one charge.

Then the global expiry of reservations runs (``inventory.reservations.expire_reservations``).
Every step is idempotent, so the job can run concurrently with itself and with buyers'
retries; run it every minute (``shopreel checkout recover``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select

from shopreel.checkout import repository, service
from shopreel.checkout.models import CheckoutStatus
from shopreel.errors import ShopReelError
from shopreel.inventory import reservations
from shopreel.kit.time import as_utc, utcnow
from shopreel.payments import service as payments
from shopreel.payments.models import Payment
from shopreel.payments.rules import PaymentStatus
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_GRACE: Final = timedelta(minutes=2)
_S = CheckoutStatus
_P = PaymentStatus
OPEN_STATUSES: Final = (_S.RESERVED.value, _S.REQUIRES_ACTION.value, _S.PROCESSING.value)


@dataclass
class RecoveryReport:
    completed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    money_returned: list[str] = field(default_factory=list)
    reservations_expired: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "completed": len(self.completed),
            "expired": len(self.expired),
            "refused": len(self.refused),
            "money_returned": len(self.money_returned),
            "reservations_expired": self.reservations_expired,
        }


async def recover(
    runtime: Runtime, now: datetime | None = None, *, grace: timedelta = DEFAULT_GRACE
) -> RecoveryReport:
    """One pass over every region (see the module docstring)."""
    now = as_utc(now) if now else utcnow()
    report = RecoveryReport()
    for region in runtime.settings.region_names:
        async with UnitOfWork(runtime.databases, home_region=region) as uow:
            stuck = await repository.stuck(uow.region(), OPEN_STATUSES, now - grace)
        for checkout_id in stuck:
            await _recover_one(runtime, region, checkout_id, now, report)
    report.reservations_expired = await reservations.expire_reservations(runtime, now)
    return report


async def _recover_one(
    runtime: Runtime, region: str, checkout_id: str, now: datetime, report: RecoveryReport
) -> None:
    async with UnitOfWork(runtime.databases, home_region=region) as uow:
        checkout = await service.load_checkout(uow, checkout_id)
        if checkout.status not in OPEN_STATUSES:
            return
        payment = await service.current_payment(uow, checkout)
        if payment is not None:
            payment = await _refresh(uow, runtime, payment)
        try:
            if payment is not None and payment.status in service.HELD:
                await service.finalize(uow, runtime, checkout, payment, now)
                await uow.commit()
                report.completed.append(checkout_id)
            elif as_utc(checkout.expires_at) <= now:
                # Nothing is charged. A payment still pending or waiting for the card's
                # second step means the buyer walked away (or the provider never answered).
                abandoned = payment is not None and payment.status in (
                    _P.PENDING,
                    _P.REQUIRES_ACTION,
                )
                await reservations.release(runtime, checkout.id, now=now)
                checkout.status = _S.EXPIRED.value
                checkout.failure_code = "payment_abandoned" if abandoned else "reservation_expired"
                checkout.updated_at = now
                checkout.version += 1
                await uow.commit()
                report.expired.append(checkout_id)
        except ShopReelError as error:
            # finalize committed what it undid (void/refund, expired) before refusing
            await uow.rollback()
            report.refused[checkout_id] = error.code
            if error.code in ("reservation_expired", "payment_failed"):
                report.money_returned.append(checkout_id)
    await _return_superseded(runtime, region, checkout_id, report)


async def _refresh(uow: UnitOfWork, runtime: Runtime, payment: Payment) -> Payment:
    if payment.status in (_P.PENDING, _P.REQUIRES_ACTION, _P.AUTHORIZED):
        try:
            payment = await payments.refresh_payment(uow, runtime, payment.id)
        except ShopReelError as error:
            log.warning("recovery: cannot refresh payment %s: %s", payment.id, error.code)
    return payment


async def _return_superseded(
    runtime: Runtime, region: str, checkout_id: str, report: RecoveryReport
) -> None:
    """Payments of the checkout other than its current one must not hold money."""
    async with UnitOfWork(runtime.databases, home_region=region) as uow:
        checkout = await service.load_checkout(uow, checkout_id)
        others = (
            await uow.region().scalars(
                select(Payment).where(
                    Payment.reference == checkout.id,
                    Payment.id != (checkout.payment_id or ""),
                    Payment.status.in_([_P.AUTHORIZED.value, _P.CAPTURED.value]),
                )
            )
        ).all()
        for other in others:
            await service.give_money_back(uow, runtime, other)
            report.money_returned.append(other.id)
        await uow.commit()
