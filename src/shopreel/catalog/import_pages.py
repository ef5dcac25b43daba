"""Seller center: the Shopify CSV import page (``/seller/import``).

``GET`` shows the upload form and the shop's import history (``?id=`` opens a stored report);
``POST`` (multipart, with the CSRF token) runs the import into the seller's own shop and shows
the report on the same page: counts, then every error with its row, column and reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from shopreel.catalog import shops
from shopreel.catalog.import_endpoints import history, own_import, summary
from shopreel.catalog.importer import MAX_IMPORT_BYTES, import_shopify
from shopreel.catalog.models import Shop
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import ShopReelError
from shopreel.media.uploads import read_upload, upload_guard
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, render

router = APIRouter(include_in_schema=False)

UploadGuard = Annotated[None, Depends(upload_guard(MAX_IMPORT_BYTES))]
HISTORY_SHOWN: Final = 20
CURRENCIES: Final = ("USD", "CAD", "EUR", "GBP", "AUD", "JPY", "MXN", "CLP", "BRL", "INR")
MAX_ERRORS_SHOWN: Final = 500


async def _shop(uow: UnitOfWork, owner_id: str) -> Shop | None:
    return await shops.shop_of_owner(uow.global_, owner_id)


async def _page(
    request: Request,
    uow: UnitOfWork,
    shop: Shop | None,
    *,
    report: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = await history(uow, shop, HISTORY_SHOWN) if shop is not None else []
    return render(
        request,
        "seller/import.html",
        {
            "section": "import",
            "shop": shop,
            "report": report,
            "history": [summary(row) for row in rows],
            "form": form or {"currency": "USD", "dry_run": False},
            "currency_options": [(code, code) for code in CURRENCIES],
            "max_mb": MAX_IMPORT_BYTES // 2**20,
            "max_errors_shown": MAX_ERRORS_SHOWN,
        },
        status=status,
    )


@router.get("/seller/import", response_class=HTMLResponse)
async def import_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    import_id: Annotated[str | None, Query(alias="id", max_length=48)] = None,
) -> HTMLResponse:
    shop = await _shop(uow, principal.id)
    report = None
    if shop is not None and import_id:
        report = (await own_import(uow, shop, import_id)).report
    return await _page(request, uow, shop, report=report)


@router.post("/seller/import", response_class=HTMLResponse)
async def import_upload(
    _upload: UploadGuard,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    shop = await _shop(uow, principal.id)
    if shop is None:
        flash(request, "error", "You have no shop yet: apply to sell first.")
        return await _page(request, uow, None, status=404)
    form: dict[str, Any] = {"currency": "USD", "dry_run": False}
    try:
        upload = await read_upload(request, limit=MAX_IMPORT_BYTES, raw_types=())
        form = {
            "currency": (upload.fields.get("currency") or "USD").upper()[:3],
            "dry_run": upload.fields.get("dry_run") in ("on", "true", "1"),
        }
        result = await import_shopify(
            runtime,
            shop_id=shop.id,
            actor_id=principal.id,
            data=upload.data,
            currency=form["currency"],
            dry_run=form["dry_run"],
            filename=(upload.filename or "")[:255],
        )
    except ShopReelError as exc:
        flash(request, "error", exc.detail)
        return await _page(request, uow, shop, form=form, status=exc.status)
    report = result.as_json()
    if result.fatal:
        flash(request, "error", f"Nothing was imported: {result.errors[0].reason}")
        return await _page(request, uow, shop, report=report, form=form, status=422)
    if result.dry_run:
        flash(request, "info", "Dry run: nothing was saved. This is what an import would do.")
    else:
        flash(request, "success", "Import finished.")
    return await _page(request, uow, shop, report=report, form=form)
