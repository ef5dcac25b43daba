"""Order pages: "My orders" (``/orders``) for buyers and "Orders" in the seller center
(``/seller/orders``), with the seller's refund form. Every rule is in
:mod:`shopreel.orders.service` and :mod:`shopreel.orders.refunds`.

Another buyer's or another shop's order renders the 404 page, like an id that does not
exist. Accounts without a shop are sent to the onboarding page, like the other seller pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.accounts.principal import Principal
from shopreel.catalog.money import MoneyError, format_minor_units, parse_minor_units
from shopreel.catalog.shops import seller_shop, shop_of_owner
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import ShopReelError
from shopreel.kit.ids import new_token
from shopreel.orders import service
from shopreel.orders.errors import OrderNotFound
from shopreel.orders.refunds import refund_order_for_shop, refundable_for_shop
from shopreel.orders.rules import OrderStatus
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 20
ONBOARDING: Final = "/seller/onboarding"
OrderId = Annotated[str, Path(min_length=1, max_length=64)]
Cursor = Annotated[str | None, Query(max_length=200)]

STATUS_LABELS: Final = {
    OrderStatus.PAID.value: ("Paid", "success"),
    OrderStatus.CANCELLED.value: ("Cancelled", "neutral"),
    OrderStatus.REFUNDED.value: ("Refunded", "warning"),
    OrderStatus.PARTIALLY_REFUNDED.value: ("Partially refunded", "warning"),
}
EVENT_LABELS: Final = {
    "order.placed": "Order placed",
    "order.status_changed": "Status changed",
    "order.refunded": "Refunded",
}


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return ""
    text = format_minor_units(cents, currency)
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _helpers() -> dict[str, Any]:
    return {"money": money, "status_labels": STATUS_LABELS, "event_labels": EVENT_LABELS}


def _older_url(base: str, cursor: str | None) -> str | None:
    return f"{base}?{urlencode({'cursor': cursor})}" if cursor else None


@router.get("/orders", response_class=HTMLResponse)
async def my_orders(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    cursor: Cursor = None,
) -> Response:
    page = await service.list_buyer_orders(uow, principal, limit=PAGE_SIZE, cursor=cursor)
    names = await service.shop_names(uow, [o.shop_id for o in page.items])
    return render(
        request,
        "orders/list.html",
        {
            **_helpers(),
            "orders": page.items,
            "shop_names": names,
            "older_url": _older_url("/orders", page.next_cursor),
            "newest_url": "/orders" if cursor else None,
        },
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def my_order(
    request: Request,
    order_id: OrderId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    detail = await service.get_buyer_order(uow, runtime, principal, order_id)
    names = await service.shop_names(uow, [detail.order.shop_id])
    return render(
        request,
        "orders/detail.html",
        {
            **_helpers(),
            "order": detail.order,
            "lines": detail.lines,
            "events": detail.events,
            "ship_to": detail.ship_to,
            "shop_name": names.get(detail.order.shop_id, ""),
        },
    )


@router.get("/seller/orders", response_class=HTMLResponse)
async def incoming_orders(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
) -> Response:
    if await shop_of_owner(uow.global_, principal.id) is None:
        return redirect(request, ONBOARDING)
    shop, page = await service.list_seller_orders(
        uow, runtime, principal, limit=PAGE_SIZE, cursor=cursor
    )
    return render(
        request,
        "seller/orders.html",
        {
            **_helpers(),
            "section": "orders",
            "shop": shop,
            "orders": page.items,
            "older_url": _older_url("/seller/orders", page.next_cursor),
            "newest_url": "/seller/orders" if cursor else None,
        },
    )


@router.get("/seller/orders/{order_id}", response_class=HTMLResponse)
async def incoming_order(
    request: Request,
    order_id: OrderId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    if await shop_of_owner(uow.global_, principal.id) is None:
        return redirect(request, ONBOARDING)
    return await _incoming_order_page(request, uow, runtime, principal, order_id)


async def _incoming_order_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    order_id: str,
    *,
    form: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    shop, order = await service.get_seller_order(uow, runtime, principal, order_id)
    left = await refundable_for_shop(runtime, shop.id, order.id)
    values = dict(form or {})
    values.setdefault("items", format_minor_units(left.items_cents, order.currency))
    values.setdefault("shipping", format_minor_units(left.shipping_cents, order.currency))
    values.setdefault("tax", format_minor_units(left.tax_cents, order.currency))
    values["refund_key"] = new_token(16)
    notice = request.query_params.get("notice")
    if notice in REFUND_NOTICES:
        flash(request, "success", REFUND_NOTICES[notice])
    return render(
        request,
        "seller/orders_detail.html",
        {
            **_helpers(),
            "section": "orders",
            "shop": shop,
            "order": order,
            "refundable": left,
            "refund_form": values,
        },
        status=status,
    )


REFUND_NOTICES: Final = {"refunded": "Refund sent: the money goes back to the buyer's card."}


@router.post("/seller/orders/{order_id}/refund", response_class=HTMLResponse)
async def refund_incoming_order(
    request: Request,
    order_id: OrderId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    """The seller center's refund form. Its hidden ``refund_key`` (fresh per rendering) makes
    a double submit refund once."""
    form = await request.form()
    fields = {k: str(form.get(k, "")) for k in ("items", "shipping", "tax", "reason", "refund_key")}
    shop = await seller_shop(uow, principal, write=True)
    try:
        amounts = {
            part: parse_minor_units(fields[part] or "0", "USD")
            for part in ("items", "shipping", "tax")
        }
    except MoneyError as error:
        flash(request, "error", f"Amounts are dollars and cents such as 12.50: {error}.")
        return await _incoming_order_page(
            request, uow, runtime, principal, order_id, form=fields, status=422
        )
    key = fields["refund_key"].strip()
    if not key:
        flash(request, "error", "The form expired; reload the page and try again.")
        return await _incoming_order_page(
            request, uow, runtime, principal, order_id, form=fields, status=422
        )
    try:
        await refund_order_for_shop(
            runtime,
            principal,
            shop.id,
            order_id,
            key=f"page:{key}",
            items_cents=amounts["items"],
            shipping_cents=amounts["shipping"],
            tax_cents=amounts["tax"],
            reason=fields["reason"][:200],
        )
    except OrderNotFound:
        raise
    except ShopReelError as error:
        flash(request, "error", error.detail)
        return await _incoming_order_page(
            request, uow, runtime, principal, order_id, form=fields, status=error.status
        )
    return redirect(request, f"/seller/orders/{order_id}?notice=refunded")
