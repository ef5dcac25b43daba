"""Checkout JSON API (under /api/v1). Starting, paying, confirming and cancelling need an
``Idempotency-Key`` (``docs/idempotency.md``): a retry replays the first answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from shopreel.accounts.principal import Principal
from shopreel.checkout import privacy as _privacy  # noqa: F401 - registers the exporter and eraser
from shopreel.checkout import service
from shopreel.checkout.models import Checkout
from shopreel.checkout.rules import SHIPPING_LABELS, ShippingMethod
from shopreel.checkout.schemas import (
    CheckoutIn,
    CheckoutRead,
    LineRead,
    OrderBrief,
    PayIn,
    PaymentBrief,
    SellerPartRead,
    TotalsRead,
)
from shopreel.deps import RuntimeDep, UowDep, require_scope
from shopreel.idempotency.http import current_claim, idempotent
from shopreel.kit.time import as_utc
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

router = APIRouter(prefix="/checkouts", tags=["checkout"])

Reader = Annotated[Principal, Depends(require_scope("orders:read"))]
Payer = Annotated[Principal, Depends(require_scope("payments:write"))]
CheckoutId = Annotated[str, Path(min_length=1, max_length=64)]
PAY_LEASE = timedelta(minutes=2)


async def checkout_read(uow: UnitOfWork, runtime: Runtime, checkout: Checkout) -> CheckoutRead:
    from shopreel.orders import service as orders

    breakdown = service.breakdown_of(checkout)
    facts = {str(line["variant_id"]): line for line in checkout.lines}
    sellers = []
    for part in breakdown.sellers:
        method = ShippingMethod(checkout.shipping_choices.get(part.seller_id, "standard"))
        lines = [
            LineRead(
                variant_id=priced.line_id,
                product_id=str(facts[priced.line_id]["product_id"]),
                title=str(facts[priced.line_id]["title"]),
                sku=facts[priced.line_id].get("sku"),
                options=dict(facts[priced.line_id].get("options") or {}),
                quantity=priced.quantity,
                unit_price_cents=priced.unit_price_cents,
                discount_cents=priced.line_discount_cents + priced.seller_discount_cents,
                net_cents=priced.net_cents,
                tax_cents=priced.tax_cents,
            )
            for priced in part.lines
        ]
        first = facts[part.lines[0].line_id]
        sellers.append(
            SellerPartRead(
                shop_id=part.seller_id,
                shop_name=str(first.get("shop_name", "")),
                shipping_method=method.value,
                shipping_label=SHIPPING_LABELS[method],
                handling_days=part.shipping.handling_days,
                lines=lines,
                subtotal_cents=part.subtotal_cents,
                discount_cents=part.discount_cents,
                shipping_cents=part.shipping_cents,
                tax_cents=part.tax_cents,
                total_cents=part.total_cents,
            )
        )
    payment = await service.current_payment(uow, checkout)
    written = await orders.orders_of_checkout(uow, checkout.id)
    return CheckoutRead(
        id=checkout.id,
        status=checkout.status,
        currency=checkout.currency,
        expires_at=as_utc(checkout.expires_at),
        completed_at=as_utc(checkout.completed_at) if checkout.completed_at else None,
        failure_code=checkout.failure_code,
        ship_to=await service.address_of(uow, runtime, checkout),
        tax_rate_percent=breakdown.tax.rate_percent,
        sellers=sellers,
        totals=TotalsRead(
            subtotal_cents=breakdown.totals.subtotal_cents,
            discount_cents=breakdown.totals.discount_cents,
            shipping_cents=breakdown.totals.shipping_cents,
            tax_cents=breakdown.totals.tax_cents,
            total_cents=breakdown.totals.total_cents,
        ),
        payment=None
        if payment is None
        else PaymentBrief(
            id=payment.id,
            status=payment.status,
            card_brand=payment.card_brand,
            card_last4=payment.card_last4,
            decline_code=payment.decline_code,
            next_action_url=payment.next_action_url,
        ),
        orders=[
            OrderBrief(id=o.id, shop_id=o.shop_id, status=o.status, total_cents=o.total_cents)
            for o in written
        ],
        created_at=as_utc(checkout.created_at),
    )


def _checkout_id_for_this_key(principal: Principal) -> str | None:
    """A retry of the same request after a crash reuses the first attempt's checkout id, so
    it finds that attempt's stock holds instead of holding the stock twice."""
    claim = current_claim()
    if claim is None:
        return None
    return f"chk_{principal.region}_{claim.record_id.rsplit('_', 1)[-1]}"


def _first_attempt() -> bool:
    claim = current_claim()
    return claim is not None and not claim.retried


@router.post("", status_code=status.HTTP_201_CREATED)
@idempotent
async def start_checkout(
    body: CheckoutIn, principal: Payer, uow: UowDep, runtime: RuntimeDep
) -> CheckoutRead:
    """Price the lines (or the cart) for the address and hold their stock."""
    checkout = await service.start_checkout(
        uow,
        runtime,
        principal,
        address=body.address.model_dump(),
        lines=None if body.lines is None else [(x.variant_id, x.quantity) for x in body.lines],
        shipping=body.shipping,
        checkout_id=_checkout_id_for_this_key(principal),
        first_attempt=_first_attempt(),
    )
    return await checkout_read(uow, runtime, checkout)


@router.get("/{checkout_id}")
async def get_checkout(
    checkout_id: CheckoutId, principal: Reader, uow: UowDep, runtime: RuntimeDep
) -> CheckoutRead:
    """One of your checkouts."""
    checkout = await service.get_checkout(uow, checkout_id, buyer_id=principal.id)
    return await checkout_read(uow, runtime, checkout)


@router.post("/{checkout_id}/pay")
@idempotent(lease=PAY_LEASE)
async def pay(
    checkout_id: CheckoutId, body: PayIn, principal: Payer, uow: UowDep, runtime: RuntimeDep
) -> CheckoutRead:
    """Pay with a sandbox card token: ``completed`` with orders, or ``requires_action``."""
    checkout = await service.pay(
        uow, runtime, principal, checkout_id, token=body.token, return_url=body.return_url
    )
    return await checkout_read(uow, runtime, checkout)


@router.post("/{checkout_id}/confirm")
@idempotent(lease=PAY_LEASE)
async def confirm(
    checkout_id: CheckoutId, principal: Payer, uow: UowDep, runtime: RuntimeDep
) -> CheckoutRead:
    """After the card's second step."""
    checkout = await service.confirm(uow, runtime, principal, checkout_id)
    return await checkout_read(uow, runtime, checkout)


@router.post("/{checkout_id}/cancel")
@idempotent
async def cancel(
    checkout_id: CheckoutId, principal: Payer, uow: UowDep, runtime: RuntimeDep
) -> CheckoutRead:
    """Give up: the held stock goes back."""
    checkout = await service.cancel(uow, runtime, principal, checkout_id)
    return await checkout_read(uow, runtime, checkout)
