"""Catalog JSON API: a seller's own products (``/seller/products``), staff listing review
(``/staff/listings``) and the public catalog (``/products``). Mounted under ``/api/v1``.

Seller routes need ``catalog:read`` / ``catalog:write`` on tokens (browser sessions carry
every scope; their writes need the CSRF header, see :mod:`shopreel.deps`). Every rule is in
:mod:`shopreel.catalog.service`; these handlers only translate HTTP. See docs/catalog.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

from shopreel.accounts.principal import Principal
from shopreel.catalog import service
from shopreel.catalog.errors import VersionRequired
from shopreel.catalog.schemas import (
    DeleteResult,
    PriceChangeRead,
    ProductCreate,
    ProductList,
    ProductRead,
    ProductSummary,
    ProductUpdate,
    PublicProductList,
    PublicProductRead,
    PublicProductSummary,
    QueueItem,
    QueueList,
    QueueOutcome,
    ReviewDecision,
    ShopRef,
    StaffProductRead,
    StatusName,
    VariantsReplace,
)
from shopreel.deps import CurrentPrincipal, UowDep, require_scope
from shopreel.errors import ValidationFailed
from shopreel.uow import UnitOfWork

router = APIRouter()

ReadCatalog = Annotated[Principal, Depends(require_scope("catalog:read"))]
WriteCatalog = Annotated[Principal, Depends(require_scope("catalog:write"))]
ProductId = Annotated[str, Path(min_length=1, max_length=64)]
Cursor = Annotated[str | None, Query(max_length=128)]
IfMatch = Annotated[str | None, Header(alias="if-match", max_length=64)]


def _version(body_version: int | None, if_match: str | None) -> int | None:
    """``version`` in the body wins; else ``If-Match: "3"`` (weak tags accepted)."""
    if body_version is not None:
        return body_version
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise ValidationFailed('If-Match carries the product version, e.g. "3".')
    return int(tag)


async def _read(uow: UnitOfWork, view: service.ProductView, response: Response) -> ProductRead:
    response.headers["ETag"] = f'"{view.product.version}"'
    return ProductRead.of(view)


async def _own_read(
    uow: UnitOfWork, principal: Principal, product_id: str, response: Response
) -> ProductRead:
    return await _read(uow, await service.seller_view(uow, principal, product_id), response)


# ---- seller ----------------------------------------------------------------------------------


@router.post("/seller/products", status_code=status.HTTP_201_CREATED, tags=["catalog"])
async def create_product(
    body: ProductCreate, principal: WriteCatalog, uow: UowDep, response: Response
) -> ProductRead:
    """Create a draft product with its variants in your shop."""
    product = await service.create_product(
        uow,
        principal,
        service.ProductDraft(
            title=body.title,
            handle=body.handle,
            description_html=body.description_html,
            category_id=body.category_id,
            tags=body.tags,
            vendor=body.vendor,
            product_type=body.product_type,
            option_names=body.option_names,
            variants=[v.spec() for v in body.variants],
            seo_title=body.seo_title,
            seo_description=body.seo_description,
        ),
    )
    response.headers["Location"] = f"/api/v1/seller/products/{product.id}"
    return await _own_read(uow, principal, product.id, response)


@router.get("/seller/products", tags=["catalog"])
async def list_products(
    principal: ReadCatalog,
    uow: UowDep,
    status_filter: Annotated[StatusName | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ProductList:
    """Your products, newest first; filter by status, text (title, handle, SKU), category."""
    _, page = await service.list_own(
        uow,
        principal,
        status=status_filter,
        q=q,
        category_id=category_id,
        cursor=cursor,
        limit=limit,
    )
    return ProductList(
        items=[ProductSummary.of(p, page.variants.get(p.id, [])) for p in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/seller/products/{product_id}", tags=["catalog"])
async def get_product(
    product_id: ProductId, principal: ReadCatalog, uow: UowDep, response: Response
) -> ProductRead:
    """One of your products with variants, images, category breadcrumb and review reasons."""
    return await _own_read(uow, principal, product_id, response)


@router.patch("/seller/products/{product_id}", tags=["catalog"])
async def update_product(
    product_id: ProductId,
    body: ProductUpdate,
    principal: WriteCatalog,
    uow: UowDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProductRead:
    """Change product fields; send the version you read (body or If-Match)."""
    version = _version(body.version, if_match)
    if version is None:
        raise VersionRequired(
            "Send the product version you read, as 'version' or an If-Match header."
        )
    await service.update_product(uow, principal, product_id, body.changes(), version)
    return await _own_read(uow, principal, product_id, response)


@router.put("/seller/products/{product_id}/variants", tags=["catalog"])
async def replace_variants(
    product_id: ProductId,
    body: VariantsReplace,
    principal: WriteCatalog,
    uow: UowDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProductRead:
    """Replace the variant grid (variants with unchanged options keep their ids)."""
    await service.replace_variants(
        uow,
        principal,
        product_id,
        [v.spec() for v in body.variants],
        option_names=body.option_names,
        version=_version(body.version, if_match),
    )
    return await _own_read(uow, principal, product_id, response)


@router.delete("/seller/products/{product_id}", tags=["catalog"])
async def delete_product(
    product_id: ProductId, principal: WriteCatalog, uow: UowDep
) -> DeleteResult:
    """Delete a draft; any other product is archived instead."""
    outcome = await service.delete_product(uow, principal, product_id)
    return DeleteResult(id=product_id, outcome=outcome)


@router.post("/seller/products/{product_id}/submit", tags=["catalog"])
async def submit_product(
    product_id: ProductId, principal: WriteCatalog, uow: UowDep, response: Response
) -> ProductRead:
    """Submit for review: screening sends it live, to staff review, or rejects it."""
    await service.submit(uow, principal, product_id)
    return await _own_read(uow, principal, product_id, response)


@router.post("/seller/products/{product_id}/archive", tags=["catalog"])
async def archive_product(
    product_id: ProductId, principal: WriteCatalog, uow: UowDep, response: Response
) -> ProductRead:
    """Archive a product (hidden from shoppers, frozen)."""
    await service.archive(uow, principal, product_id)
    return await _own_read(uow, principal, product_id, response)


@router.post("/seller/products/{product_id}/unarchive", tags=["catalog"])
async def unarchive_product(
    product_id: ProductId, principal: WriteCatalog, uow: UowDep, response: Response
) -> ProductRead:
    """Bring an archived product back as a draft."""
    await service.unarchive(uow, principal, product_id)
    return await _own_read(uow, principal, product_id, response)


@router.get("/seller/products/{product_id}/price-history", tags=["catalog"])
async def price_history(
    product_id: ProductId, principal: ReadCatalog, uow: UowDep
) -> list[PriceChangeRead]:
    """Every price change of the product's variants, newest first."""
    rows = await service.price_history(uow, principal, product_id)
    return [PriceChangeRead.of(row) for row in rows]


# ---- staff listing review --------------------------------------------------------------------


@router.get("/staff/listings", tags=["listing review"])
async def review_queue(
    principal: CurrentPrincipal,
    uow: UowDep,
    outcome: Annotated[QueueOutcome, Query()] = "flagged",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> QueueList:
    """Listings waiting for review (or rejected / live ones), oldest first."""
    page = await service.review_queue(uow, principal, outcome=outcome, cursor=cursor, limit=limit)
    return QueueList(
        items=[QueueItem.of(p, page.shops.get(p.shop_id)) for p in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/staff/listings/{product_id}", tags=["listing review"])
async def review_detail(
    product_id: ProductId, principal: CurrentPrincipal, uow: UowDep
) -> StaffProductRead:
    """A listing with its shop and full review history."""
    return StaffProductRead.of(await service.staff_view(uow, principal, product_id))


async def _staff_read(uow: UnitOfWork, principal: Principal, product_id: str) -> StaffProductRead:
    return StaffProductRead.of(await service.staff_view(uow, principal, product_id))


@router.post("/staff/listings/{product_id}/approve", tags=["listing review"])
async def approve_listing(
    product_id: ProductId, body: ReviewDecision, principal: CurrentPrincipal, uow: UowDep
) -> StaffProductRead:
    """Approve a flagged listing: it goes live (audited)."""
    await service.approve(uow, principal, product_id, body.note)
    return await _staff_read(uow, principal, product_id)


@router.post("/staff/listings/{product_id}/reject", tags=["listing review"])
async def reject_listing(
    product_id: ProductId, body: ReviewDecision, principal: CurrentPrincipal, uow: UowDep
) -> StaffProductRead:
    """Reject a flagged listing with reasons the seller sees (audited)."""
    await service.reject(uow, principal, product_id, body.reasons, body.note)
    return await _staff_read(uow, principal, product_id)


@router.post("/staff/listings/{product_id}/takedown", tags=["listing review"])
async def takedown_listing(
    product_id: ProductId, body: ReviewDecision, principal: CurrentPrincipal, uow: UowDep
) -> StaffProductRead:
    """Take a live listing down (-> rejected) with reasons (audited)."""
    await service.takedown(uow, principal, product_id, body.reasons, body.note)
    return await _staff_read(uow, principal, product_id)


# ---- public ----------------------------------------------------------------------------------


@router.get("/products/{product_id}", tags=["catalog"])
async def public_product(product_id: ProductId, uow: UowDep) -> PublicProductRead:
    """A live product of an approved shop."""
    return PublicProductRead.of(await service.public_view(uow, product_id))


@router.get("/products", tags=["catalog"])
async def public_products(
    uow: UowDep,
    shop: Annotated[str | None, Query(max_length=64)] = None,
    category_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
) -> PublicProductList:
    """Live products, newest first; filter by shop handle or category."""
    page = await service.public_list(
        uow, shop_handle=shop, category_id=category_id, cursor=cursor, limit=limit
    )
    items = []
    for product in page.items:
        owner = page.shops[product.shop_id]
        variants = page.variants.get(product.id, [])
        items.append(
            PublicProductSummary(
                id=product.id,
                handle=product.handle,
                title=product.title,
                min_price_cents=min((v.price_cents for v in variants), default=None),
                currency=variants[0].currency if variants else "USD",
                shop=ShopRef(id=owner.id, handle=owner.handle, name=owner.name),
                category_id=product.category_id,
            )
        )
    return PublicProductList(items=items, next_cursor=page.next_cursor)
