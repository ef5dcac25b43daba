"""Product images and shop logos, JSON API (mounted under ``/api/v1``).

Uploads live under ``/uploads/...``: the only paths whose bodies may be large (see
``UPLOAD_PREFIXES`` in app.py). Each upload route's first dependency refuses oversized bodies
from their headers (:func:`shopreel.media.uploads.upload_guard`) before anything else reads them.
The rest (list, alt text, order, delete, variant image) are ordinary small JSON requests under
``/seller/...``. A seller acts on their own shop only; other shops' products are 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request, Response, status

from shopreel.accounts.principal import Principal
from shopreel.catalog import image_service as service
from shopreel.catalog.image_schemas import (
    ImageList,
    ImageRead,
    ImageUpdate,
    LogoRead,
    VariantImageRead,
    VariantImageUpdate,
)
from shopreel.catalog.images import THUMBNAIL_SIZES
from shopreel.catalog.models import ImageStatus, ProductImage, Shop
from shopreel.deps import RuntimeDep, UowDep, require_scope
from shopreel.media.deps import MediaStorageDep
from shopreel.media.keys import thumbnail_key
from shopreel.media.storage import MediaStorage
from shopreel.media.uploads import read_upload, upload_guard

router = APIRouter(tags=["catalog images"])

RAW_IMAGE_TYPES: Final = ("image/", "application/octet-stream")
UploadGuard = Annotated[None, Depends(upload_guard(service.MAX_IMAGE_BYTES))]
ReadCatalog = Annotated[Principal, Depends(require_scope("catalog:read"))]
WriteCatalog = Annotated[Principal, Depends(require_scope("catalog:write"))]
IdPath = Annotated[str, Path(min_length=1, max_length=48)]

_UPLOAD_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "alt": {"type": "string", "maxLength": service.MAX_ALT_LENGTH},
                    },
                }
            },
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def image_read(storage: MediaStorage, image: ProductImage) -> ImageRead:
    ready = image.status == ImageStatus.READY.value and image.storage_key
    return ImageRead(
        id=image.id,
        product_id=image.product_id,
        position=image.position,
        alt=image.alt,
        status=image.status,
        url=storage.url(image.storage_key)
        if ready and image.storage_key
        else (image.source_url or None),
        thumbnails={name: storage.url(key) for name, key in (image.thumbnails or {}).items()}
        if ready
        else {},
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=image.size_bytes,
        sha256=image.sha256,
        source_url=image.source_url,
        created_at=image.created_at,
    )


def logo_read(storage: MediaStorage, shop: Shop) -> LogoRead:
    key = shop.logo_key
    return LogoRead(
        shop_id=shop.id,
        logo_key=key,
        url=storage.url(key) if key else None,
        thumbnails={name: storage.url(thumbnail_key(key, name)) for name in THUMBNAIL_SIZES}
        if key
        else {},
    )


@router.post(
    "/uploads/products/{product_id}/images",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_BODY,
)
async def upload_product_image(
    _guard: UploadGuard,
    product_id: IdPath,
    request: Request,
    principal: WriteCatalog,
    uow: UowDep,
    storage: MediaStorageDep,
    alt: Annotated[str | None, Query(max_length=service.MAX_ALT_LENGTH)] = None,
) -> ImageRead:
    """Upload a JPEG, PNG or WebP image (multipart `file` [+ `alt`], or the raw bytes); it is
    verified by decoding, stripped of metadata, re-encoded and given two WebP thumbnails."""
    shop = await service.own_shop(uow, principal, for_write=True)
    await service.own_product(uow.global_, shop, product_id)
    upload = await read_upload(request, limit=service.MAX_IMAGE_BYTES, raw_types=RAW_IMAGE_TYPES)
    image = await service.add_product_image(
        uow, storage, shop, product_id, upload.data, alt=upload.fields.get("alt", alt)
    )
    return image_read(storage, image)


@router.get("/seller/products/{product_id}/images")
async def list_product_images(
    product_id: IdPath, principal: ReadCatalog, uow: UowDep, storage: MediaStorageDep
) -> ImageList:
    """The product's images in gallery order."""
    shop = await service.own_shop(uow, principal, for_write=False)
    product = await service.own_product(uow.global_, shop, product_id)
    images = await service.list_images(uow.global_, product.id)
    return ImageList(items=[image_read(storage, image) for image in images])


@router.patch("/seller/products/{product_id}/images/{image_id}")
async def update_product_image(
    product_id: IdPath,
    image_id: IdPath,
    body: ImageUpdate,
    principal: WriteCatalog,
    uow: UowDep,
    storage: MediaStorageDep,
) -> ImageRead:
    """Change the alt text and/or the position (1-based; the others shift, positions stay
    1..n)."""
    shop = await service.own_shop(uow, principal, for_write=True)
    image = await service.update_product_image(
        uow, shop, product_id, image_id, alt=body.alt, position=body.position
    )
    return image_read(storage, image)


@router.delete(
    "/seller/products/{product_id}/images/{image_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_product_image(
    product_id: IdPath,
    image_id: IdPath,
    principal: WriteCatalog,
    uow: UowDep,
    runtime: RuntimeDep,
    storage: MediaStorageDep,
    background: BackgroundTasks,
) -> Response:
    """Delete an image; its files go once no other image of the shop uses the same content."""
    shop = await service.own_shop(uow, principal, for_write=True)
    keys = await service.delete_product_image(uow, shop, product_id, image_id)
    # Background tasks run after the response, hence after the unit of work committed.
    background.add_task(service.remove_unreferenced, runtime.databases, storage, keys)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/seller/products/{product_id}/variants/{variant_id}/image")
async def set_variant_image(
    product_id: IdPath,
    variant_id: IdPath,
    body: VariantImageUpdate,
    principal: WriteCatalog,
    uow: UowDep,
) -> VariantImageRead:
    """Choose the image shown for a variant (an image of the same product), or none."""
    shop = await service.own_shop(uow, principal, for_write=True)
    variant = await service.set_variant_image(uow, shop, product_id, variant_id, body.image_id)
    return VariantImageRead(
        variant_id=variant.id, product_id=variant.product_id, image_id=variant.image_id
    )


@router.put("/uploads/shop/logo", openapi_extra=_UPLOAD_BODY)
async def upload_shop_logo(
    _guard: UploadGuard,
    request: Request,
    principal: WriteCatalog,
    uow: UowDep,
    runtime: RuntimeDep,
    storage: MediaStorageDep,
    background: BackgroundTasks,
) -> LogoRead:
    """Upload the shop's logo (processed like product images); the old one is removed."""
    shop = await service.own_shop(uow, principal, for_write=True)
    upload = await read_upload(request, limit=service.MAX_IMAGE_BYTES, raw_types=RAW_IMAGE_TYPES)
    old = await service.set_shop_logo(uow, storage, shop, upload.data)
    background.add_task(service.remove_unreferenced, runtime.databases, storage, old)
    return logo_read(storage, shop)


@router.delete("/seller/shop/logo", status_code=status.HTTP_204_NO_CONTENT)
async def delete_shop_logo(
    principal: WriteCatalog,
    uow: UowDep,
    runtime: RuntimeDep,
    storage: MediaStorageDep,
    background: BackgroundTasks,
) -> Response:
    """Remove the shop's logo."""
    shop = await service.own_shop(uow, principal, for_write=True)
    old = await service.remove_shop_logo(uow, shop)
    background.add_task(service.remove_unreferenced, runtime.databases, storage, old)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
