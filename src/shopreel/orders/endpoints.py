"""Orders JSON API (under /api/v1).

* ``/orders…`` — the buyer's own orders (read only; the checkout creates them).
* ``/seller/orders…`` — the incoming orders of the caller's shop, without the buyer's name
  or address.

Tokens need ``orders:read``; browser sessions carry every scope. Another buyer's or another
shop's order is 404 ``order_not_found``, exactly like an id that does not exist.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from shopreel.accounts.principal import Principal
from shopreel.catalog.shops import seller_shop
from shopreel.deps import RuntimeDep, UowDep, require_scope
from shopreel.idempotency.http import current_claim, idempotent
from shopreel.orders import privacy as _privacy  # noqa: F401 - registers the privacy hooks
from shopreel.orders import service
from shopreel.orders.models import Order, OrderEvent, OrderLine
from shopreel.orders.refunds import refund_order_for_shop
from shopreel.orders.schemas import (
    AddressRead,
    IncomingOrderList,
    IncomingOrderRead,
    OrderEventRead,
    OrderLineRead,
    OrderList,
    OrderRead,
    OrderSummaryRead,
)
from shopreel.orders.service import IncomingLine, IncomingOrder

router = APIRouter(tags=["orders"])

Reader = Annotated[Principal, Depends(require_scope("orders:read"))]
OrderId = Annotated[str, Path(min_length=1, max_length=64)]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]


def line_read(line: OrderLine | IncomingLine) -> OrderLineRead:
    return OrderLineRead(
        variant_id=line.variant_id,
        product_id=line.product_id,
        sku=line.sku,
        title=line.title,
        options=dict(line.options or {}),
        quantity=line.quantity,
        unit_price_cents=line.unit_price_cents,
        discount_cents=line.discount_cents,
        net_cents=line.net_cents,
        tax_cents=line.tax_cents,
        warehouse_id=line.warehouse_id,
    )


def summary_read(order: Order, shop_names: dict[str, str]) -> OrderSummaryRead:
    return OrderSummaryRead(**_summary_fields(order, shop_names))


def _summary_fields(order: Order, shop_names: dict[str, str]) -> dict[str, object]:
    return {
        "id": order.id,
        "shop_id": order.shop_id,
        "shop_name": shop_names.get(order.shop_id),
        "status": order.status,
        "currency": order.currency,
        "subtotal_cents": order.subtotal_cents,
        "discount_cents": order.discount_cents,
        "shipping_cents": order.shipping_cents,
        "tax_cents": order.tax_cents,
        "total_cents": order.total_cents,
        "item_count": order.item_count,
        "shipping_method": order.shipping_method,
        "shipping_label": order.shipping_label,
        "placed_at": order.placed_at,
    }


def event_read(event: OrderEvent) -> OrderEventRead:
    return OrderEventRead(
        kind=event.kind, actor=event.actor, data=dict(event.data or {}), created_at=event.created_at
    )


def order_read(detail: service.OrderDetail, shop_names: dict[str, str]) -> OrderRead:
    order = detail.order
    return OrderRead(
        **_summary_fields(order, shop_names),
        checkout_id=order.checkout_id,
        payment_id=order.payment_id,
        tax_jurisdiction=order.tax_jurisdiction,
        ship_to=AddressRead(**detail.ship_to) if detail.ship_to else None,
        lines=[line_read(line) for line in detail.lines],
        events=[event_read(event) for event in detail.events],
    )


def incoming_read(order: IncomingOrder, *, with_events: bool = False) -> IncomingOrderRead:
    return IncomingOrderRead(
        id=order.id,
        status=order.status,
        currency=order.currency,
        subtotal_cents=order.subtotal_cents,
        discount_cents=order.discount_cents,
        shipping_cents=order.shipping_cents,
        tax_cents=order.tax_cents,
        total_cents=order.total_cents,
        item_count=order.item_count,
        tax_jurisdiction=order.tax_jurisdiction,
        shipping_method=order.shipping_method,
        shipping_label=order.shipping_label,
        ship_to_state=order.ship_to_state,
        ship_to_country=order.ship_to_country,
        placed_at=order.placed_at,
        lines=[line_read(line) for line in order.lines],
        events=(
            [
                OrderEventRead(kind=e.kind, actor=e.actor, data=e.data, created_at=e.created_at)
                for e in order.events
            ]
            if with_events
            else None
        ),
    )


@router.get("/orders")
async def list_orders(
    principal: Reader, uow: UowDep, cursor: Cursor = None, limit: Limit = 20
) -> OrderList:
    """Your orders, newest first; pass ``next_cursor`` back as ``cursor`` for older ones."""
    page = await service.list_buyer_orders(uow, principal, limit=limit, cursor=cursor)
    names = await service.shop_names(uow, [o.shop_id for o in page.items])
    return OrderList(
        items=[summary_read(o, names) for o in page.items], next_cursor=page.next_cursor
    )


@router.get("/orders/{order_id}")
async def get_order(
    order_id: OrderId, principal: Reader, uow: UowDep, runtime: RuntimeDep
) -> OrderRead:
    """One of your orders with its lines, ship-to address and history."""
    detail = await service.get_buyer_order(uow, runtime, principal, order_id)
    names = await service.shop_names(uow, [detail.order.shop_id])
    return order_read(detail, names)


@router.get("/seller/orders", tags=["seller orders"])
async def list_incoming_orders(
    principal: Reader, uow: UowDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = 20
) -> IncomingOrderList:
    """Your shop's orders from every region, newest first (no buyer name or address)."""
    _, page = await service.list_seller_orders(uow, runtime, principal, limit=limit, cursor=cursor)
    return IncomingOrderList(
        items=[incoming_read(o) for o in page.items], next_cursor=page.next_cursor
    )


@router.get("/seller/orders/{order_id}", tags=["seller orders"])
async def get_incoming_order(
    order_id: OrderId, principal: Reader, uow: UowDep, runtime: RuntimeDep
) -> IncomingOrderRead:
    """One order of your shop with its lines and history (no buyer name or address)."""
    _, order = await service.get_seller_order(uow, runtime, principal, order_id)
    return incoming_read(order, with_events=True)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items_cents: int = Field(ge=0, le=10**12)
    shipping_cents: int = Field(default=0, ge=0, le=10**12)
    tax_cents: int = Field(default=0, ge=0, le=10**12)
    reason: str = Field(default="", max_length=200)


class RefundRead(BaseModel):
    order_id: str
    status: str
    refunded_cents: int
    items_cents: int
    shipping_cents: int
    tax_cents: int
    left_items_cents: int
    left_shipping_cents: int
    left_tax_cents: int
    ledger_transaction_id: str


Refunder = Annotated[Principal, Depends(require_scope("orders:write"))]


@router.post("/seller/orders/{order_id}/refunds", tags=["seller orders"])
@idempotent(lease=timedelta(minutes=2))
async def refund_incoming_order(
    order_id: OrderId, body: RefundIn, principal: Refunder, uow: UowDep, runtime: RuntimeDep
) -> RefundRead:
    """Refund part or all of one of your shop's orders (items, shipping, tax: each at most
    what is left). The money goes back to the buyer's card; the ledger posts the reversal."""
    shop = await seller_shop(uow, principal, write=True)
    claim = current_claim()
    assert claim is not None  # @idempotent always sets it
    result = await refund_order_for_shop(
        runtime,
        principal,
        shop.id,
        order_id,
        key=claim.record_id,
        items_cents=body.items_cents,
        shipping_cents=body.shipping_cents,
        tax_cents=body.tax_cents,
        reason=body.reason,
    )
    return RefundRead(**asdict(result))
