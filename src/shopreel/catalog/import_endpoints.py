"""Shopify CSV import, JSON API (mounted under ``/api/v1``).

The import always goes into the caller's own shop (there is no shop parameter to get wrong);
a caller without a shop gets 403 ``shop_required``. Reports of other shops are 404. The body is the
CSV itself (``Content-Type: text/csv``) or a multipart form with the file in ``file``; bodies
above 50 MiB are refused with 413 from their ``Content-Length`` before anything is read.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from shopreel.accounts.principal import Principal
from shopreel.catalog import shops
from shopreel.catalog.catalog_export import shop_products
from shopreel.catalog.importer import MAX_IMPORT_BYTES, import_shopify
from shopreel.catalog.models import CatalogImport, Shop
from shopreel.catalog.shopify import export_shopify_csv
from shopreel.deps import RuntimeDep, UowDep, require_scope
from shopreel.errors import NotFound, ValidationFailed
from shopreel.media.uploads import read_upload, upload_guard
from shopreel.uow import UnitOfWork

router = APIRouter(tags=["catalog import"])

RAW_CSV_TYPES: Final = (
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",  # what some browsers and OSes call a .csv file
    "application/octet-stream",
)
HISTORY_LIMIT: Final = 200
ImportGuard = Annotated[None, Depends(upload_guard(MAX_IMPORT_BYTES))]
ReadCatalog = Annotated[Principal, Depends(require_scope("catalog:read"))]
WriteCatalog = Annotated[Principal, Depends(require_scope("catalog:write"))]
IdPath = Annotated[str, Path(min_length=1, max_length=48)]

_IMPORT_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "currency": {"type": "string"},
                        "dry_run": {"type": "boolean"},
                    },
                }
            },
        },
    }
}


async def own_shop(uow: UnitOfWork, principal: Principal, *, write: bool = False) -> Shop:
    """The caller's shop: 403 ``shop_required`` without one (see catalog/shops.py)."""
    return await shops.seller_shop(uow, principal, write=write)


def _truthy(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("1", "true", "on", "yes")


def summary(row: CatalogImport) -> dict[str, Any]:
    report = row.report or {}
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "filename": row.filename,
        "source": row.source,
        "status": row.status,
        "currency": row.currency,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "actor_id": row.actor_id,
        **{
            key: report.get(key, 0)
            for key in ("products", "variants", "images", "created", "updated", "unchanged")
        },
        "skipped": report.get("skipped", 0),
        "errors": len(report.get("errors", [])),
        "warnings": len(report.get("warnings", [])),
    }


async def history(uow: UnitOfWork, shop: Shop, limit: int) -> list[CatalogImport]:
    rows = await uow.global_.scalars(
        select(CatalogImport)
        .where(CatalogImport.shop_id == shop.id)
        .order_by(CatalogImport.created_at.desc(), CatalogImport.id.desc())
        .limit(limit)
    )
    return list(rows)


async def own_import(uow: UnitOfWork, shop: Shop, import_id: str) -> CatalogImport:
    row = await uow.global_.scalar(
        select(CatalogImport).where(CatalogImport.id == import_id, CatalogImport.shop_id == shop.id)
    )
    if row is None:
        raise NotFound("No such import in your shop.", code="import_not_found")
    return row


@router.post("/seller/imports", openapi_extra=_IMPORT_BODY, status_code=201)
async def create_import(
    _guard: ImportGuard,
    request: Request,
    principal: WriteCatalog,
    uow: UowDep,
    runtime: RuntimeDep,
    dry_run: bool = False,
    currency: Annotated[str, Query(min_length=3, max_length=3)] = "USD",
) -> JSONResponse:
    """Import a Shopify product CSV into your shop (raw `text/csv` body or multipart `file`);
    returns the report. `dry_run` validates without writing (200). A file that cannot be read
    at all (encoding, broken CSV, too large) is a 422 whose `report` says why."""
    shop = await own_shop(uow, principal, write=True)
    upload = await read_upload(request, limit=MAX_IMPORT_BYTES, raw_types=RAW_CSV_TYPES)
    form_dry_run = _truthy(upload.fields.get("dry_run"))
    dry_run = dry_run if form_dry_run is None else form_dry_run
    currency = upload.fields.get("currency") or currency
    report = await import_shopify(
        runtime,
        shop_id=shop.id,
        actor_id=principal.id,
        data=upload.data,
        currency=currency,
        dry_run=dry_run,
        filename=(upload.filename or "")[:255],
    )
    body = report.as_json()
    if report.fatal:
        first = report.errors[0]
        raise ValidationFailed(first.reason, code=str(first.code), extra={"report": body})
    return JSONResponse(body, status_code=200 if dry_run else 201)


@router.get("/seller/imports")
async def list_imports(
    principal: ReadCatalog,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=HISTORY_LIMIT)] = 50,
) -> dict[str, Any]:
    """Your shop's imports, newest first (summaries; the full report is under its id)."""
    shop = await own_shop(uow, principal)
    return {"items": [summary(row) for row in await history(uow, shop, limit)]}


@router.get("/seller/imports/{import_id}")
async def get_import(principal: ReadCatalog, uow: UowDep, import_id: IdPath) -> dict[str, Any]:
    """One import of your shop with its full report (404 for any other shop's)."""
    shop = await own_shop(uow, principal)
    row = await own_import(uow, shop, import_id)
    return summary(row) | {"report": row.report}


@router.get(
    "/seller/catalog/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "Shopify product CSV"}},
)
async def export_catalog(principal: ReadCatalog, uow: UowDep) -> Response:
    """Your whole catalog as a Shopify product CSV (UTF-8), the format the import reads:
    importing it back changes nothing."""
    shop = await own_shop(uow, principal)
    data = export_shopify_csv(await shop_products(uow.global_, shop.id))
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{shop.handle}-products.csv"'},
    )
