"""The cart page (``/cart``): server-rendered, works without JavaScript. Forms post to
``/cart/items…`` with the CSRF token and redirect back to ``/cart?notice=…`` (post,
redirect, get), so a refresh never re-submits. The slide-over panel in the header uses the
JSON API instead (``static/js/cart.js``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.cart import rules, service
from shopreel.catalog.money import format_minor_units
from shopreel.deps import CurrentPrincipal, UowDep
from shopreel.errors import ShopReelError
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

VariantId = Annotated[str, Path(min_length=1, max_length=64)]
Notice = Annotated[str | None, Query(max_length=32)]
Quantity = Annotated[str, Form(max_length=8)]

NOTICES: dict[str, tuple[str, str]] = {
    "added": ("success", "Added to your cart."),
    "updated": ("success", "Quantity updated."),
    "removed": ("success", "Removed from your cart."),
    "out_of_stock": ("error", "Not enough stock for that quantity."),
    "line_unavailable": ("error", "That item cannot be bought right now."),
    "cart_quantity_limit": (
        "error",
        f"At most {rules.MAX_LINE_QUANTITY} of one item fit in a cart.",
    ),
    "cart_line_limit": ("error", f"A cart holds at most {rules.MAX_LINES} different items."),
    "cart_currency_mismatch": ("error", "That item is priced in another currency."),
    "invalid_quantity": ("error", "Enter a quantity from 1 to 20."),
    "variant_not_found": ("error", "That item does not exist."),
    "cart_line_not_found": ("error", "That item is not in your cart."),
}


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return ""
    text = format_minor_units(cents, currency)
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _quantity(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


async def _outcome(request: Request, uow: UowDep, error: ShopReelError | None, ok: str) -> Response:
    if error is None:
        return redirect(request, f"/cart?notice={ok}")
    await uow.rollback()
    code = error.code if error.code in NOTICES else "invalid_quantity"
    return redirect(request, f"/cart?notice={code}")


@router.get("/cart", response_class=HTMLResponse)
async def cart_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    notice: Notice = None,
) -> Response:
    if notice in NOTICES:
        category, message = NOTICES[notice]
        flash(request, category, message)
    view = await service.get_cart(uow, principal.id)
    return render(
        request,
        "cart/cart.html",
        {
            "cart": view,
            "money": money,
            "max_quantity": rules.MAX_LINE_QUANTITY,
            "cart_count": view.item_count,
        },
    )


@router.post("/cart/items", response_class=HTMLResponse)
async def add_to_cart(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    variant_id: Annotated[str, Form(min_length=1, max_length=64)],
    quantity: Quantity = "1",
) -> Response:
    error: ShopReelError | None = None
    try:
        count = _quantity(quantity)
        await service.add_item(uow, principal.id, variant_id, -1 if count is None else count)
    except ShopReelError as exc:
        error = exc
    return await _outcome(request, uow, error, "added")


@router.post("/cart/items/{variant_id}", response_class=HTMLResponse)
async def update_cart_line(
    request: Request,
    variant_id: VariantId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    quantity: Quantity = "",
) -> Response:
    error: ShopReelError | None = None
    count = _quantity(quantity)
    try:
        await service.set_quantity(uow, principal.id, variant_id, -1 if count is None else count)
    except ShopReelError as exc:
        error = exc
    return await _outcome(request, uow, error, "removed" if count == 0 else "updated")


@router.post("/cart/items/{variant_id}/remove", response_class=HTMLResponse)
async def remove_cart_line(
    request: Request,
    variant_id: VariantId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
) -> Response:
    error: ShopReelError | None = None
    try:
        await service.remove_item(uow, principal.id, variant_id)
    except ShopReelError as exc:
        error = exc
    return await _outcome(request, uow, error, "removed")
