"""Product images and shop logos: upload, order, alt text, variant images, deletion.

The pipeline for an upload: the bytes (already size-limited by the endpoint) go through
:func:`shopreel.catalog.images.process_image` in a worker thread (decode-verified format,
decompression-bomb guard, metadata stripped, re-encoded, two WebP thumbnails); the clean
original and its thumbnails are stored under content-addressed keys
(:mod:`shopreel.media.keys`); then a ``ProductImage`` row (status ``ready``) is added at the
end of the product's gallery. A rejected upload raises before anything is stored or written.

Ordering of side effects: files are written *before* the transaction commits (a failed commit
leaves unreferenced, content-addressed files behind, which are harmless), and removed only
*after* it commits (:func:`remove_unreferenced`, run by the endpoints as a background task), so
a committed row never points at a missing file.

Authorization is by ownership: the shop is the one whose ``owner_id`` is the principal, and a
product, image or variant of another shop is "not found", never "forbidden", so ids of other
shops' rows cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Final

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.principal import Principal
from shopreel.catalog import shops
from shopreel.catalog.images import (
    DEFAULT_MAX_PIXELS,
    THUMBNAIL_MEDIA_TYPE,
    THUMBNAIL_SIZES,
    ProcessedImage,
    process_image,
)
from shopreel.catalog.models import ImageStatus, Product, ProductImage, Shop, Variant
from shopreel.errors import Conflict, NotFound, ValidationFailed
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.media.keys import PRODUCT_IMAGES, SHOP_LOGOS, ImageKeys, image_keys, thumbnail_key
from shopreel.media.storage import MediaStorage, is_valid_key
from shopreel.planes import GLOBAL, Databases
from shopreel.uow import UnitOfWork

MAX_IMAGE_BYTES: Final = 20 * 2**20
"""Largest accepted upload, per image or logo. The endpoints stop reading beyond it."""
MAX_IMAGE_PIXELS: Final = DEFAULT_MAX_PIXELS
MAX_IMAGES_PER_PRODUCT: Final = 20
MAX_ALT_LENGTH: Final = 512


class ImageErrorCode(StrEnum):
    PRODUCT_NOT_FOUND = "product_not_found"
    IMAGE_NOT_FOUND = "image_not_found"
    VARIANT_NOT_FOUND = "variant_not_found"
    TOO_MANY_IMAGES = "too_many_images"
    DUPLICATE_IMAGE = "duplicate_image"
    ALT_TOO_LONG = "alt_too_long"


class ProductNotFound(NotFound):
    code = ImageErrorCode.PRODUCT_NOT_FOUND.value


class ImageNotFound(NotFound):
    code = ImageErrorCode.IMAGE_NOT_FOUND.value


class VariantNotFound(NotFound):
    code = ImageErrorCode.VARIANT_NOT_FOUND.value


class TooManyImages(Conflict):
    code = ImageErrorCode.TOO_MANY_IMAGES.value


class DuplicateImage(Conflict):
    code = ImageErrorCode.DUPLICATE_IMAGE.value


class AltTooLong(ValidationFailed):
    code = ImageErrorCode.ALT_TOO_LONG.value


# ---- ownership ---------------------------------------------------------------------------------


async def own_shop(uow: UnitOfWork, principal: Principal, *, for_write: bool) -> Shop:
    """The principal's shop (:func:`shopreel.catalog.shops.seller_shop`): 403
    ``shop_required`` without one; a suspended shop can be read but not changed."""
    return await shops.seller_shop(uow, principal, write=for_write)


async def own_product(session: AsyncSession, shop: Shop, product_id: str) -> Product:
    """A product of ``shop``."""
    product = await session.scalar(
        select(Product).where(Product.id == product_id, Product.shop_id == shop.id)
    )
    if product is None:
        raise ProductNotFound("No such product in your shop.")
    return product


async def lock_product(session: AsyncSession, shop: Shop, product_id: str) -> Product:
    """A product of ``shop``, locked until the commit, which serializes changes to its gallery
    (the image count, positions). The lock is an UPDATE (of ``updated_at``: a gallery change
    is a product change) rather than ``SELECT ... FOR UPDATE`` because the UPDATE locks on both
    databases: the row on PostgreSQL, the database's write lock on SQLite, where FOR UPDATE
    does nothing. Reads after it see every gallery change committed before it."""
    result = await session.execute(
        update(Product)
        .where(Product.id == product_id, Product.shop_id == shop.id)
        .values(updated_at=utcnow())
    )
    if not getattr(result, "rowcount", 0):
        raise ProductNotFound("No such product in your shop.")
    return await own_product(session, shop, product_id)


async def list_images(session: AsyncSession, product_id: str) -> list[ProductImage]:
    rows = await session.scalars(
        select(ProductImage)
        .where(ProductImage.product_id == product_id)
        .order_by(ProductImage.position, ProductImage.created_at, ProductImage.id)
    )
    return list(rows)


async def count_images(session: AsyncSession, product_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(ProductImage).where(ProductImage.product_id == product_id)
    )
    return int(count or 0)


def _check_room(count: int) -> None:
    if count >= MAX_IMAGES_PER_PRODUCT:
        raise TooManyImages(
            f"A product has at most {MAX_IMAGES_PER_PRODUCT} images. Delete one to add another."
        )


def clean_alt(alt: str | None) -> str:
    value = " ".join((alt or "").split())  # newlines and tabs have no place in alt text
    if len(value) > MAX_ALT_LENGTH:
        raise AltTooLong(f"Alt text has at most {MAX_ALT_LENGTH} characters.")
    return value


# ---- processing and storing -------------------------------------------------------------------


async def process_upload(data: bytes) -> ProcessedImage:
    """Run the image pipeline in a worker thread. Raises ``ImageRejected``."""
    return await anyio.to_thread.run_sync(
        lambda: process_image(data, max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS)
    )


def _store(storage: MediaStorage, keys: ImageKeys, image: ProcessedImage) -> None:
    # Thumbnails first: a reader who finds the original also finds its thumbnails.
    for name, key in keys.thumbnails.items():
        storage.put(key, image.thumbnails[name], THUMBNAIL_MEDIA_TYPE)
    storage.put(keys.original, image.original, image.media_type)


async def store_processed(
    storage: MediaStorage, kind: str, owner_id: str, image: ProcessedImage
) -> ImageKeys:
    keys = image_keys(kind, owner_id, image.sha256, image.format, list(THUMBNAIL_SIZES))
    await anyio.to_thread.run_sync(_store, storage, keys, image)
    return keys


# ---- product images ---------------------------------------------------------------------------


async def add_product_image(
    uow: UnitOfWork,
    storage: MediaStorage,
    shop: Shop,
    product_id: str,
    data: bytes,
    *,
    alt: str | None = None,
) -> ProductImage:
    session = uow.global_
    alt_text = clean_alt(alt)
    await own_product(session, shop, product_id)
    # Cheap refusal before the CPU-heavy decode; repeated under the lock below.
    _check_room(await count_images(session, product_id))
    processed = await process_upload(data)

    product = await lock_product(session, shop, product_id)
    _check_room(await count_images(session, product_id))
    duplicate = await session.scalar(
        select(ProductImage.id).where(
            ProductImage.product_id == product_id, ProductImage.sha256 == processed.sha256
        )
    )
    if duplicate is not None:
        raise DuplicateImage(
            "This image is already on this product.", extra={"image_id": duplicate}
        )
    last = await session.scalar(
        select(func.max(ProductImage.position)).where(ProductImage.product_id == product_id)
    )
    keys = await store_processed(storage, PRODUCT_IMAGES, shop.id, processed)
    image = ProductImage(
        id=new_id("img"),
        product_id=product.id,
        shop_id=shop.id,
        position=int(last or 0) + 1,
        alt=alt_text,
        status=ImageStatus.READY.value,
        storage_key=keys.original,
        content_type=processed.media_type,
        width=processed.width,
        height=processed.height,
        size_bytes=len(processed.original),
        sha256=processed.sha256,
        thumbnails=keys.thumbnails,
    )
    session.add(image)
    await session.flush()
    return image


def _renumber(images: Sequence[ProductImage]) -> None:
    for position, image in enumerate(images, start=1):
        if image.position != position:
            image.position = position


async def update_product_image(
    uow: UnitOfWork,
    shop: Shop,
    product_id: str,
    image_id: str,
    *,
    alt: str | None = None,
    position: int | None = None,
) -> ProductImage:
    """Change alt text and/or move the image to ``position`` (1-based, clamped to the gallery).
    Positions stay contiguous, 1..n."""
    session = uow.global_
    alt_text = clean_alt(alt) if alt is not None else None
    product = await lock_product(session, shop, product_id)
    images = await list_images(session, product.id)
    image = next((row for row in images if row.id == image_id), None)
    if image is None:
        raise ImageNotFound("No such image on this product.")
    if alt_text is not None:
        image.alt = alt_text
    if position is not None:
        images.remove(image)
        images.insert(min(max(position, 1), len(images) + 1) - 1, image)
    _renumber(images)
    await session.flush()
    return image


async def delete_product_image(
    uow: UnitOfWork, shop: Shop, product_id: str, image_id: str
) -> list[str]:
    """Delete the row, clear variants that showed it, close the gap in positions. Returns the
    storage keys that may now be unreferenced: pass them to :func:`remove_unreferenced` after
    the commit."""
    session = uow.global_
    product = await lock_product(session, shop, product_id)
    images = await list_images(session, product.id)
    image = next((row for row in images if row.id == image_id), None)
    if image is None:
        raise ImageNotFound("No such image on this product.")
    await session.execute(
        update(Variant)
        .where(Variant.product_id == product.id, Variant.image_id == image.id)
        .values(image_id=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.delete(image)
    images.remove(image)
    _renumber(images)
    await session.flush()
    return [image.storage_key] if image.storage_key else []


async def set_variant_image(
    uow: UnitOfWork, shop: Shop, product_id: str, variant_id: str, image_id: str | None
) -> Variant:
    """Show ``image_id`` (an image of the same product) for the variant, or none."""
    session = uow.global_
    product = await own_product(session, shop, product_id)
    variant = await session.scalar(
        select(Variant).where(Variant.id == variant_id, Variant.product_id == product.id)
    )
    if variant is None:
        raise VariantNotFound("No such variant on this product.")
    if image_id is not None:
        image = await session.scalar(
            select(ProductImage.id).where(
                ProductImage.id == image_id, ProductImage.product_id == product.id
            )
        )
        if image is None:
            raise ImageNotFound("No such image on this product.")
    variant.image_id = image_id
    variant.updated_at = utcnow()
    await session.flush()
    return variant


# ---- shop logo --------------------------------------------------------------------------------


async def set_shop_logo(
    uow: UnitOfWork, storage: MediaStorage, shop: Shop, data: bytes
) -> list[str]:
    """Process and store a new logo. Returns the old logo's key (if it changed) for
    :func:`remove_unreferenced` after the commit."""
    processed = await process_upload(data)
    keys = await store_processed(storage, SHOP_LOGOS, shop.id, processed)
    old = shop.logo_key
    shop.logo_key = keys.original
    shop.updated_at = utcnow()
    await uow.global_.flush()
    return [old] if old and old != keys.original else []


async def remove_shop_logo(uow: UnitOfWork, shop: Shop) -> list[str]:
    old = shop.logo_key
    shop.logo_key = None
    shop.updated_at = utcnow()
    await uow.global_.flush()
    return [old] if old else []


# ---- cleaning up files after the commit -------------------------------------------------------


async def remove_unreferenced(
    databases: Databases, storage: MediaStorage, keys: Iterable[str]
) -> list[str]:
    """Delete each original (and its thumbnails) that no product image or shop logo refers to
    any more. Run after the commit that dropped the references; the check is repeated here, in
    a fresh session, because another request may have re-added the same content meanwhile.
    Returns the originals removed."""
    removed: list[str] = []
    candidates = sorted({key for key in keys if key and is_valid_key(key)})
    if not candidates:
        return removed
    async with databases.transaction(GLOBAL) as session:
        for key in candidates:
            used = await session.scalar(
                select(func.count())
                .select_from(ProductImage)
                .where(ProductImage.storage_key == key)
            )
            logo = await session.scalar(
                select(func.count()).select_from(Shop).where(Shop.logo_key == key)
            )
            if used or logo:
                continue
            paths = [key, *(thumbnail_key(key, name) for name in THUMBNAIL_SIZES)]
            for path in paths:
                await anyio.to_thread.run_sync(storage.delete, path)
            removed.append(key)
    return removed
