"""JSON shapes of product images, variant images and shop logos."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shopreel.catalog.image_service import MAX_ALT_LENGTH, MAX_IMAGES_PER_PRODUCT


class ImageRead(BaseModel):
    id: str
    product_id: str
    position: int
    alt: str
    status: str  # "ready" (uploaded and stored) | "remote" (imported by URL, not fetched)
    url: str | None  # /media/<key> when ready; the source URL when remote
    thumbnails: dict[str, str]  # size name ("small", "medium") -> URL
    content_type: str | None
    width: int | None
    height: int | None
    size_bytes: int | None
    sha256: str | None
    source_url: str
    created_at: datetime


class ImageList(BaseModel):
    items: list[ImageRead]
    limit: int = MAX_IMAGES_PER_PRODUCT


class ImageUpdate(BaseModel):
    alt: str | None = Field(default=None, max_length=MAX_ALT_LENGTH)
    position: int | None = Field(default=None, ge=1, le=MAX_IMAGES_PER_PRODUCT * 10)


class VariantImageUpdate(BaseModel):
    image_id: str | None = Field(max_length=48)


class VariantImageRead(BaseModel):
    variant_id: str
    product_id: str
    image_id: str | None


class LogoRead(BaseModel):
    shop_id: str
    logo_key: str | None
    url: str | None
    thumbnails: dict[str, str]
