"""Seller-center forms for product images and the shop logo.

The product editor (another page) includes ``seller/_product_images.html``; the editor's
handler merges :func:`product_images_context` into its template context, which loads the
gallery and turns the ``?image_notice=`` / ``?image_error=`` codes these handlers redirect with
into flash messages. ``GET /seller/products/{id}/images`` renders the same partial on a page of
its own, so the feature also works where the editor does not include it. The shop logo partial
``seller/_shop_logo.html`` needs only ``shop``; ``GET /seller/shop/logo`` is its own page.

Every form posts with the CSRF token; the upload form is ``multipart/form-data`` to
``/seller/uploads/...`` (the only page paths that accept large bodies). After a POST the
handler redirects back (``next``, checked against a fixed list of seller-center paths) with a
notice or error *code*, never free text, so a crafted link cannot put words on the page.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from shopreel.catalog import image_service as service
from shopreel.catalog.images import THUMBNAIL_SIZES
from shopreel.catalog.models import ImageStatus, Product, ProductImage, Variant
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import ShopReelError
from shopreel.media.deps import MediaStorageDep
from shopreel.media.storage import MediaStorage
from shopreel.media.uploads import read_upload, upload_guard
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

UploadGuard = Annotated[None, Depends(upload_guard(service.MAX_IMAGE_BYTES))]
IdPath = Annotated[str, Path(min_length=1, max_length=48)]
RAW_IMAGE_TYPES: Final = ("image/",)

NOTICES: Final[dict[str, str]] = {
    "uploaded": "Image uploaded.",
    "updated": "Alt text saved.",
    "moved": "Image moved.",
    "deleted": "Image deleted.",
    "variant_image": "Variant image saved.",
    "logo_uploaded": "Logo uploaded.",
    "logo_removed": "Logo removed.",
}
ERRORS: Final[dict[str, str]] = {
    "too_large": f"The file is too large: the limit is {service.MAX_IMAGE_BYTES // 2**20} MB.",
    "not_an_image": "The file is not a readable JPEG, PNG or WebP image (it may be truncated or "
    "corrupt).",
    "unsupported_format": "This image format is not accepted. Upload a JPEG, PNG or WebP image.",
    "decompression_bomb": "The image has too many pixels "
    f"(at most {service.MAX_IMAGE_PIXELS // 1_000_000} megapixels).",
    "animated": "Animated images are not accepted. Upload a still image.",
    "missing_file": "Choose a file to upload.",
    "unsupported_media_type": "Upload the file with the form.",
    "too_many_images": f"A product has at most {service.MAX_IMAGES_PER_PRODUCT} images. "
    "Delete one to add another.",
    "duplicate_image": "This image is already on this product.",
    "alt_too_long": f"Alt text has at most {service.MAX_ALT_LENGTH} characters.",
    "image_not_found": "That image is no longer on this product.",
    "variant_not_found": "That variant is no longer on this product.",
}
_NEXT = re.compile(r"^/seller/(?:products/[A-Za-z0-9_]{1,48}(?:/images)?|shop(?:/logo)?)$")


def flash_image_notice(request: Request) -> None:
    """Turn ``?image_notice=`` / ``?image_error=`` into a flash message (known codes only)."""
    notice = request.query_params.get("image_notice", "")
    error = request.query_params.get("image_error", "")
    if notice in NOTICES:
        flash(request, "success", NOTICES[notice])
    if error in ERRORS:
        flash(request, "error", ERRORS[error])


def _back(request: Request, target: str | None, default: str, **query: str) -> Response:
    url = target if target and _NEXT.match(target) else default
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    anchor = "#shop-logo" if url.startswith("/seller/shop") else "#product-images"
    return redirect(request, f"{url}?{suffix}{anchor}")


async def _refused(uow: UnitOfWork, error: ShopReelError) -> str:
    """The error code to show, for errors a seller can fix; anything else propagates."""
    if error.code not in ERRORS:
        raise error
    await uow.rollback()  # nothing was written, but make sure nothing is committed either
    return error.code


# ---- context for the partials -----------------------------------------------------------------


def _image_view(storage: MediaStorage, image: ProductImage) -> dict[str, Any]:
    ready = image.status == ImageStatus.READY.value and bool(image.storage_key)
    thumbnails = image.thumbnails or {}
    return {
        "id": image.id,
        "position": image.position,
        "alt": image.alt,
        "ready": ready,
        "url": storage.url(image.storage_key) if ready and image.storage_key else None,
        "thumb": storage.url(thumbnails["small"]) if ready and "small" in thumbnails else None,
        "preview": storage.url(thumbnails["medium"]) if ready and "medium" in thumbnails else None,
        "source_url": image.source_url,
        "width": image.width,
        "height": image.height,
        "size_bytes": image.size_bytes,
    }


def _variant_label(product: Product, variant: Variant) -> str:
    values = [variant.options.get(name, "") for name in product.option_names]
    label = " / ".join(value for value in values if value)
    return label or variant.sku or "Default variant"


async def product_images_context(
    request: Request, uow: UnitOfWork, storage: MediaStorage, product: Product
) -> dict[str, Any]:
    """What ``seller/_product_images.html`` reads besides ``product`` and ``csrf_token``:
    the gallery, the variants (for "image shown for a variant") and the limits. Also flashes
    the notice a redirect from these forms carries. Call it before ``render``."""
    flash_image_notice(request)
    images = await service.list_images(uow.global_, product.id)
    variants = await uow.global_.scalars(
        select(Variant)
        .where(Variant.product_id == product.id)
        .order_by(Variant.position, Variant.id)
    )
    variant_rows = [
        {"id": row.id, "label": _variant_label(product, row), "image_id": row.image_id}
        for row in variants
    ]
    return {
        "product_images": [_image_view(storage, image) for image in images],
        "product_image_variants": variant_rows,
        "image_limits": {
            "max_images": service.MAX_IMAGES_PER_PRODUCT,
            "max_bytes": service.MAX_IMAGE_BYTES,
            "max_megapixels": service.MAX_IMAGE_PIXELS // 1_000_000,
            "max_alt": service.MAX_ALT_LENGTH,
            "thumbnail_sizes": THUMBNAIL_SIZES,
        },
    }


# ---- pages ------------------------------------------------------------------------------------


@router.get("/seller/products/{product_id}/images", response_class=HTMLResponse)
async def images_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> HTMLResponse:
    shop = await service.own_shop(uow, principal, for_write=False)
    product = await service.own_product(uow.global_, shop, product_id)
    context = await product_images_context(request, uow, storage, product)
    return render(
        request,
        "seller/product_images.html",
        {"section": "products", "shop": shop, "product": product, **context},
    )


@router.get("/seller/shop/logo", response_class=HTMLResponse)
async def logo_page(
    request: Request, _guard: PageGuard, principal: CurrentPrincipal, uow: UowDep
) -> HTMLResponse:
    shop = await service.own_shop(uow, principal, for_write=False)
    flash_image_notice(request)
    return render(request, "seller/shop_logo.html", {"section": "shop", "shop": shop})


# ---- product image forms ----------------------------------------------------------------------


@router.post("/seller/uploads/products/{product_id}/images")
async def upload_image_form(
    _size: UploadGuard,
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    await service.own_product(uow.global_, shop, product_id)
    default = f"/seller/products/{product_id}"
    target = request.query_params.get("next")
    try:
        upload = await read_upload(
            request, limit=service.MAX_IMAGE_BYTES, raw_types=RAW_IMAGE_TYPES
        )
        target = upload.fields.get("next", target)
        await service.add_product_image(
            uow, storage, shop, product_id, upload.data, alt=upload.fields.get("alt")
        )
    except ShopReelError as error:
        return _back(request, target, default, image_error=await _refused(uow, error))
    return _back(request, target, default, image_notice="uploaded")


@router.post("/seller/products/{product_id}/images/{image_id}/alt")
async def alt_form(
    product_id: IdPath,
    image_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    alt: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    default = f"/seller/products/{product_id}"
    try:
        await service.update_product_image(uow, shop, product_id, image_id, alt=alt)
    except ShopReelError as error:
        return _back(request, next, default, image_error=await _refused(uow, error))
    return _back(request, next, default, image_notice="updated")


@router.post("/seller/products/{product_id}/images/{image_id}/move")
async def move_form(
    product_id: IdPath,
    image_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    position: Annotated[int, Form(ge=1, le=service.MAX_IMAGES_PER_PRODUCT * 10)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    default = f"/seller/products/{product_id}"
    try:
        await service.update_product_image(uow, shop, product_id, image_id, position=position)
    except ShopReelError as error:
        return _back(request, next, default, image_error=await _refused(uow, error))
    return _back(request, next, default, image_notice="moved")


@router.post("/seller/products/{product_id}/images/{image_id}/delete")
async def delete_form(
    product_id: IdPath,
    image_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    storage: MediaStorageDep,
    background: BackgroundTasks,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    default = f"/seller/products/{product_id}"
    try:
        keys = await service.delete_product_image(uow, shop, product_id, image_id)
    except ShopReelError as error:
        return _back(request, next, default, image_error=await _refused(uow, error))
    response = _back(request, next, default, image_notice="deleted")
    background.add_task(service.remove_unreferenced, runtime.databases, storage, keys)
    return response


@router.post("/seller/products/{product_id}/variants/{variant_id}/image")
async def variant_image_form(
    product_id: IdPath,
    variant_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    image_id: Annotated[str, Form(max_length=48)] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    default = f"/seller/products/{product_id}"
    try:
        await service.set_variant_image(uow, shop, product_id, variant_id, image_id or None)
    except ShopReelError as error:
        return _back(request, next, default, image_error=await _refused(uow, error))
    return _back(request, next, default, image_notice="variant_image")


# ---- shop logo forms --------------------------------------------------------------------------


@router.post("/seller/uploads/shop/logo")
async def upload_logo_form(
    _size: UploadGuard,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    storage: MediaStorageDep,
    background: BackgroundTasks,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    target = request.query_params.get("next")
    try:
        upload = await read_upload(
            request, limit=service.MAX_IMAGE_BYTES, raw_types=RAW_IMAGE_TYPES
        )
        target = upload.fields.get("next", target)
        old = await service.set_shop_logo(uow, storage, shop, upload.data)
    except ShopReelError as error:
        return _back(request, target, "/seller/shop/logo", image_error=await _refused(uow, error))
    response = _back(request, target, "/seller/shop/logo", image_notice="logo_uploaded")
    background.add_task(service.remove_unreferenced, runtime.databases, storage, old)
    return response


@router.post("/seller/shop/logo/delete")
async def delete_logo_form(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    storage: MediaStorageDep,
    background: BackgroundTasks,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    shop = await service.own_shop(uow, principal, for_write=True)
    old = await service.remove_shop_logo(uow, shop)
    response = _back(request, next, "/seller/shop/logo", image_notice="logo_removed")
    background.add_task(service.remove_unreferenced, runtime.databases, storage, old)
    return response
