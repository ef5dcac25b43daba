"""Seller center pages for warehouses and stock (``/seller/warehouses``, ``/seller/inventory``).

Every rule is enforced by :mod:`shopreel.inventory.service`; the pages show its refusals.
A refused change rolls back the global session (and the regional one for addresses) before
the page is rendered again, so nothing of it is committed with the page's response.
Accounts without a shop are sent to the onboarding page, like the catalog pages do.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.accounts.principal import Principal
from shopreel.catalog.models import Shop
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import ShopReelError
from shopreel.inventory import rules, service
from shopreel.inventory.models import MovementReason
from shopreel.inventory.repository import variant_labels
from shopreel.inventory.rules import StockChange, StockCount
from shopreel.kit.countries import country_choices
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 50
ONBOARDING: Final = "/seller/onboarding"
IdPath = Annotated[str, Path(min_length=1, max_length=64)]
OptionalQuery = Annotated[str | None, Query(max_length=100)]
Notice = Annotated[str | None, Query(max_length=32)]

NOTICES: Final[dict[str, tuple[str, str]]] = {
    "created": ("success", "Warehouse added."),
    "updated": ("success", "Warehouse saved."),
    "deactivated": ("success", "Warehouse deactivated. It no longer takes stock."),
    "activated": ("success", "Warehouse activated."),
    "adjusted": ("success", "Stock updated. The change is in the movement history."),
    "counted": ("success", "Count recorded."),
}

ACTIONS: Final = [
    (MovementReason.RECEIVED.value, "Received (+)"),
    (MovementReason.ADJUSTMENT.value, "Adjustment (+/-)"),
    (MovementReason.TRANSFER.value, "Transfer (+/-)"),
    (MovementReason.COUNT.value, "Counted quantity"),
]
REASON_LABELS: Final = {
    "received": "Received",
    "adjustment": "Adjustment",
    "transfer": "Transfer",
    "count": "Count",
    "import": "Import",
}
FIELDS: Final = (
    "name",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "handling_days",
)
_FIELD_ALIASES: Final = {"subdivision": "state"}


def _notice(request: Request, notice: str | None) -> None:
    if notice in NOTICES:
        category, message = NOTICES[notice]
        flash(request, category, message)


def _field_errors(error: ShopReelError) -> dict[str, str]:
    field = str(error.extra.get("field", ""))
    field = _FIELD_ALIASES.get(field, field)
    return {field if field in FIELDS else "form": error.detail}


async def _rollback(uow: UnitOfWork) -> None:
    """Undo whatever a refused change wrote, before the page response commits the rest."""
    await uow.global_.rollback()
    if uow.home_region is not None:
        await uow.region().rollback()


async def _shop(uow: UnitOfWork, principal: Principal) -> Shop | None:
    return await service.find_shop(uow, principal)


def _page(
    request: Request,
    template: str,
    section: str,
    shop: Shop,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request, f"seller/{template}", {"section": section, "shop": shop, **context}, status=status
    )


# ---- warehouses ------------------------------------------------------------------------------


def _form_of(view: service.WarehouseView | None) -> dict[str, Any]:
    if view is None:
        return {"country": "US", "handling_days": "2"}
    w = view.warehouse
    return {
        "name": w.name,
        "line1": view.line1,
        "line2": view.line2,
        "city": w.city,
        "state": w.subdivision,
        "postal_code": w.postal_code,
        "country": w.country,
        "handling_days": str(w.handling_days),
    }


def _handling_days(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 3 else None


async def _warehouses_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    shop = await service.seller_shop(uow, principal)
    views = await service.list_warehouses(uow, runtime, principal)
    return _page(
        request,
        "warehouses.html",
        "warehouses",
        shop,
        {
            "warehouses": views,
            "form": form or _form_of(None),
            "errors": errors or {},
            "countries": country_choices(),
            "limit": rules.MAX_WAREHOUSES_PER_SHOP,
            "max_handling_days": rules.MAX_HANDLING_DAYS,
        },
        status=status,
    )


@router.get("/seller/warehouses", response_class=HTMLResponse)
async def warehouses_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    notice: Notice = None,
) -> Response:
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    _notice(request, notice)
    return await _warehouses_page(request, uow, runtime, principal)


def _warehouse_form(
    name: str,
    line1: str,
    line2: str,
    city: str,
    state: str,
    postal_code: str,
    country: str,
    handling_days: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "line1": line1,
        "line2": line2,
        "city": city,
        "state": state,
        "postal_code": postal_code,
        "country": country,
        "handling_days": handling_days,
    }


FormText = Annotated[str, Form(max_length=400)]


@router.post("/seller/warehouses", response_class=HTMLResponse)
async def create_warehouse(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    name: FormText = "",
    line1: FormText = "",
    line2: FormText = "",
    city: FormText = "",
    state: FormText = "",
    postal_code: FormText = "",
    country: FormText = "",
    handling_days: FormText = "",
) -> Response:
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    form = _warehouse_form(name, line1, line2, city, state, postal_code, country, handling_days)
    days = _handling_days(handling_days)
    if days is None:
        errors = {"handling_days": f"Enter a number of days, 0 to {rules.MAX_HANDLING_DAYS}."}
        return await _warehouses_page(
            request, uow, runtime, principal, form=form, errors=errors, status=422
        )
    try:
        await service.create_warehouse(
            uow,
            runtime,
            principal,
            name=name,
            line1=line1,
            line2=line2,
            city=city,
            state=state,
            postal_code=postal_code,
            country=country,
            handling_days=days,
        )
    except ShopReelError as error:
        await _rollback(uow)
        return await _warehouses_page(
            request,
            uow,
            runtime,
            principal,
            form=form,
            errors=_field_errors(error),
            status=error.status,
        )
    return redirect(request, "/seller/warehouses?notice=created")


async def _edit_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    warehouse_id: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    shop = await service.seller_shop(uow, principal)
    view = await service.get_warehouse(uow, runtime, principal, warehouse_id)
    return _page(
        request,
        "warehouses_edit.html",
        "warehouses",
        shop,
        {
            "view": view,
            "form": form or _form_of(view),
            "errors": errors or {},
            "countries": country_choices(),
            "max_handling_days": rules.MAX_HANDLING_DAYS,
        },
        status=status,
    )


@router.get("/seller/warehouses/{warehouse_id}", response_class=HTMLResponse)
async def edit_warehouse_page(
    request: Request,
    warehouse_id: IdPath,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    notice: Notice = None,
) -> Response:
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    _notice(request, notice)
    return await _edit_page(request, uow, runtime, principal, warehouse_id)


@router.post("/seller/warehouses/{warehouse_id}", response_class=HTMLResponse)
async def update_warehouse(
    request: Request,
    warehouse_id: IdPath,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    name: FormText = "",
    line1: FormText = "",
    line2: FormText = "",
    city: FormText = "",
    state: FormText = "",
    postal_code: FormText = "",
    country: FormText = "",
    handling_days: FormText = "",
) -> Response:
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    form = _warehouse_form(name, line1, line2, city, state, postal_code, country, handling_days)
    days = _handling_days(handling_days)
    if days is None:
        errors = {"handling_days": f"Enter a number of days, 0 to {rules.MAX_HANDLING_DAYS}."}
        return await _edit_page(
            request, uow, runtime, principal, warehouse_id, form=form, errors=errors, status=422
        )
    changes = {**form, "handling_days": days}
    try:
        await service.update_warehouse(uow, runtime, principal, warehouse_id, changes)
    except ShopReelError as error:
        await _rollback(uow)
        if error.status == 404:
            raise
        return await _edit_page(
            request,
            uow,
            runtime,
            principal,
            warehouse_id,
            form=form,
            errors=_field_errors(error),
            status=error.status,
        )
    return redirect(request, f"/seller/warehouses/{warehouse_id}?notice=updated")


async def _set_active(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    warehouse_id: str,
    *,
    active: bool,
) -> Response:
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    try:
        await service.set_warehouse_active(uow, runtime, principal, warehouse_id, active=active)
    except ShopReelError as error:
        await _rollback(uow)
        if error.status == 404:
            raise
        flash(request, "error", error.detail)
        return await _edit_page(request, uow, runtime, principal, warehouse_id, status=error.status)
    notice = "activated" if active else "deactivated"
    return redirect(request, f"/seller/warehouses/{warehouse_id}?notice={notice}")


@router.post("/seller/warehouses/{warehouse_id}/deactivate")
async def deactivate_warehouse(
    request: Request,
    warehouse_id: IdPath,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    return await _set_active(request, uow, runtime, principal, warehouse_id, active=False)


@router.post("/seller/warehouses/{warehouse_id}/activate")
async def activate_warehouse(
    request: Request,
    warehouse_id: IdPath,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    return await _set_active(request, uow, runtime, principal, warehouse_id, active=True)


# ---- stock -----------------------------------------------------------------------------------


def _filters(warehouse_id: str | None, q: str | None, low: str | None) -> dict[str, str]:
    """The listing's filters as query parameters (only those that are set and valid)."""
    params: dict[str, str] = {}
    if warehouse_id:
        params["warehouse_id"] = warehouse_id
    if q and q.strip():
        params["q"] = q.strip()
    if low and low.strip().isdigit() and 0 < int(low) <= rules.MAX_ON_HAND:
        params["low_stock_below"] = str(int(low))
    return params


async def _inventory_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    params: dict[str, str],
    *,
    cursor: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    shop = await service.seller_shop(uow, principal)
    warehouses = await service.list_warehouses(uow, runtime, principal)
    low = params.get("low_stock_below")
    rows, next_cursor = await service.list_stock(
        uow,
        principal,
        warehouse_id=params.get("warehouse_id"),
        q=params.get("q"),
        low_stock_below=int(low) if low else None,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    return _page(
        request,
        "inventory.html",
        "inventory",
        shop,
        {
            "rows": rows,
            "warehouses": [v.warehouse for v in warehouses],
            "has_active_warehouse": any(v.warehouse.active for v in warehouses),
            "params": params,
            "query_string": urlencode(params),
            "next_cursor": next_cursor,
            "first_page": not cursor,
            "actions": ACTIONS,
        },
        status=status,
    )


@router.get("/seller/inventory", response_class=HTMLResponse)
async def inventory_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    warehouse_id: OptionalQuery = None,
    q: OptionalQuery = None,
    low_stock_below: Annotated[str | None, Query(max_length=12)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    notice: Notice = None,
) -> Response:
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    _notice(request, notice)
    params = _filters(warehouse_id, q, low_stock_below)
    return await _inventory_page(request, uow, runtime, principal, params, cursor=cursor)


@router.post("/seller/inventory/adjust", response_class=HTMLResponse)
async def adjust_stock(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    variant_id: Annotated[str, Form(max_length=64)] = "",
    warehouse_id: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[str, Form(max_length=32)] = "",
    quantity: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
    filter_warehouse_id: Annotated[str, Form(max_length=64)] = "",
    filter_q: Annotated[str, Form(max_length=100)] = "",
    filter_low_stock_below: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """One row's form: a signed change with a reason, or a counted quantity."""
    if await _shop(uow, principal) is None:
        return redirect(request, ONBOARDING)
    params = _filters(filter_warehouse_id, filter_q, filter_low_stock_below)
    raw = quantity.strip().replace("+", "", 1).replace("\N{MINUS SIGN}", "-")
    try:
        number = int(raw)
    except ValueError:
        flash(request, "error", "Enter a whole number of units.")
        return await _inventory_page(request, uow, runtime, principal, params, status=422)
    try:
        if action == MovementReason.COUNT.value:
            await service.count_stock(
                uow, principal, [StockCount(variant_id, warehouse_id, number, note)]
            )
            notice = "counted"
        else:
            await service.adjust_stock(
                uow, principal, [StockChange(variant_id, warehouse_id, number, action, note)]
            )
            notice = "adjusted"
    except ShopReelError as error:
        await _rollback(uow)
        if error.status == 404:
            raise
        flash(request, "error", error.detail)
        return await _inventory_page(request, uow, runtime, principal, params, status=error.status)
    return redirect(request, "/seller/inventory?" + urlencode({**params, "notice": notice}))


@router.get("/seller/inventory/movements", response_class=HTMLResponse)
async def movements_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    variant_id: OptionalQuery = None,
    warehouse_id: OptionalQuery = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    shop = await _shop(uow, principal)
    if shop is None:
        return redirect(request, ONBOARDING)
    found, next_cursor = await service.list_movements(
        uow,
        principal,
        variant_id=variant_id or None,
        warehouse_id=warehouse_id or None,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    warehouses = await service.list_warehouses(uow, runtime, principal)
    labels = await variant_labels(uow.global_, shop.id, [m.variant_id for m in found])
    params = {k: v for k, v in (("variant_id", variant_id), ("warehouse_id", warehouse_id)) if v}
    return _page(
        request,
        "inventory_movements.html",
        "inventory",
        shop,
        {
            "movements": found,
            "labels": labels,
            "warehouse_names": {v.warehouse.id: v.warehouse.name for v in warehouses},
            "warehouses": [v.warehouse for v in warehouses],
            "reason_labels": REASON_LABELS,
            "params": params,
            "variant_filter": labels.get(variant_id or "") if variant_id else None,
            "next_cursor": next_cursor,
            "first_page": not cursor,
            "you": principal.id,
        },
    )
