"""Refunds of an order by its seller: money back through the payment provider, reversing
ledger entries, the order's status and history, and an audit record.

The order lives in the **buyer's** region while the seller acts from theirs, so
:func:`refund_order_for_shop` is a named cross-region write: it opens its own unit of work
for the order's region (and the control plane for the audit record), after the caller has
established that the seller owns the shop.

Order of effects (a refund must never be recorded without the money going back, nor go
back twice):

1. check the amounts against what is left of the sale, per part (``ledger.refundable``);
2. ask the provider to refund (its key derives from the order and the caller's key, so a
   retry gets the first refund back instead of a second one);
3. in one regional transaction: the ledger's reversing entries (idempotent on
   ``refund:<order>:<key>``), the order's status (``partially_refunded`` / ``refunded``) and
   its ``order.refunded`` event; then the audit record (control plane).

A crash between 2 and 3 leaves money returned but not recorded: the retry with the same key
gets the provider's first answer and records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select

from shopreel.accounts.principal import Principal
from shopreel.errors import ValidationFailed
from shopreel.kit.ids import region_of
from shopreel.ledger import repository as ledger_repository
from shopreel.ledger import service as ledger
from shopreel.ledger.errors import SaleNotFound
from shopreel.orders import service
from shopreel.orders.errors import OrderNotFound
from shopreel.orders.models import Order
from shopreel.orders.rules import OrderStatus
from shopreel.payments import service as payments
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit
from shopreel.uow import UnitOfWork

MAX_KEY: Final = 100


class InvalidRefund(ValidationFailed):
    code = "invalid_refund"


@dataclass(frozen=True)
class RefundResult:
    order_id: str
    status: str
    refunded_cents: int
    """This refund's total (items + shipping + tax)."""
    items_cents: int
    shipping_cents: int
    tax_cents: int
    left_items_cents: int
    left_shipping_cents: int
    left_tax_cents: int
    ledger_transaction_id: str


async def refund_order_for_shop(
    runtime: Runtime,
    actor: Principal,
    shop_id: str,
    order_id: str,
    *,
    key: str,
    items_cents: int,
    shipping_cents: int = 0,
    tax_cents: int = 0,
    reason: str = "",
) -> RefundResult:
    """Refund part or all of an order of ``shop_id`` (another shop's order: 404 and nothing
    changes). ``key`` names this refund: the same key refunds once."""
    if not key or len(key) > MAX_KEY:
        raise InvalidRefund(f"A refund key of 1 to {MAX_KEY} characters is required.")
    amounts = (items_cents, shipping_cents, tax_cents)
    if any(isinstance(a, bool) or not isinstance(a, int) or a < 0 for a in amounts):
        raise InvalidRefund("Refund amounts are whole cents, 0 or more.")
    if sum(amounts) < 1:
        raise InvalidRefund("A refund returns at least one cent.")
    region = region_of(order_id)
    if region is None or region not in runtime.settings.region_names:
        raise OrderNotFound("No such order.")
    async with UnitOfWork(runtime.databases, home_region=region) as uow:
        session = uow.region()
        order = await session.scalar(
            select(Order).where(Order.id == order_id, Order.shop_id == shop_id)
        )
        if order is None or order.payment_id is None:
            raise OrderNotFound("No such order.")
        sale_reference = f"sale:{order.id}"
        reference = f"refund:{order.id}:{key}"
        existing = await ledger_repository.transaction_by_reference(session, reference)
        if existing is None:
            left = await ledger.refundable(session, sale_reference)
            for part, asked, available in (
                ("items", items_cents, left.items),
                ("shipping", shipping_cents, left.shipping),
                ("tax", tax_cents, left.tax),
            ):
                if asked > available:
                    raise InvalidRefund(
                        f"Cannot refund {asked} cents of {part}: {available} left.",
                        code="refund_exceeds_order",
                        extra={"part": part, "requested": asked, "refundable": available},
                    )
        await payments.refund_payment(
            uow,
            runtime,
            order.payment_id,
            amount_cents=sum(amounts),
            idempotency_key=f"{order.id}:{key}",
        )
        posted = await ledger.record_refund(
            session,
            reference=reference,
            sale_reference=sale_reference,
            items_cents=items_cents,
            shipping_cents=shipping_cents,
            tax_cents=tax_cents,
            payment_id=order.payment_id,
            memo=reason[:200],
        )
        left = await ledger.refundable(session, sale_reference)
        target = (
            OrderStatus.REFUNDED
            if left.items == left.shipping == left.tax == 0
            else OrderStatus.PARTIALLY_REFUNDED
        )
        if order.status != target and existing is None:
            order = await service.transition(
                uow, order.id, target, actor=actor.id, reason=reason[:200] or "refund"
            )
        if existing is None:
            await service.record_event(
                uow,
                order,
                "order.refunded",
                actor.id,
                {
                    "items_cents": items_cents,
                    "shipping_cents": shipping_cents,
                    "tax_cents": tax_cents,
                    "key": key,
                },
            )
            await audit.append(
                uow.control,
                kind="order.refund",
                actor_id=actor.id,
                subject_id=order.buyer_id,
                region=region,
                attributes={
                    "order_id": order.id,
                    "shop_id": shop_id,
                    "amount_cents": sum(amounts),
                    "currency": order.currency,
                    "ledger_transaction_id": posted.id,
                },
            )
        status = order.status
        return RefundResult(
            order_id=order.id,
            status=status,
            refunded_cents=sum(amounts),
            items_cents=items_cents,
            shipping_cents=shipping_cents,
            tax_cents=tax_cents,
            left_items_cents=left.items,
            left_shipping_cents=left.shipping,
            left_tax_cents=left.tax,
            ledger_transaction_id=posted.id,
        )


@dataclass(frozen=True)
class Refundable:
    items_cents: int
    shipping_cents: int
    tax_cents: int

    @property
    def total_cents(self) -> int:
        return self.items_cents + self.shipping_cents + self.tax_cents


async def refundable_for_shop(runtime: Runtime, shop_id: str, order_id: str) -> Refundable:
    """What is left to refund of an order of ``shop_id``, per part (a named cross-region
    read, like :func:`refund_order_for_shop`); 404 for another shop's order."""
    region = region_of(order_id)
    if region is None or region not in runtime.settings.region_names:
        raise OrderNotFound("No such order.")
    async with UnitOfWork(runtime.databases, home_region=region) as uow:
        session = uow.region()
        order = await session.scalar(
            select(Order).where(Order.id == order_id, Order.shop_id == shop_id)
        )
        if order is None:
            raise OrderNotFound("No such order.")
        try:
            left = await ledger.refundable(session, f"sale:{order.id}")
        except SaleNotFound:  # no sale in the ledger (not paid through checkout)
            return Refundable(0, 0, 0)
        return Refundable(left.items, left.shipping, left.tax)
