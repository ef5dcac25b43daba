"""Catalog API schemas (Pydantic v2). Seller reads carry ``cost_cents`` and review details;
public reads never do (they are separate models, not a filtered dump)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopreel.catalog import rules
from shopreel.catalog.models import ListingReview, PriceChange, Product, ProductImage, Shop, Variant
from shopreel.catalog.service import ProductView
from shopreel.catalog.taxonomy import Category
from shopreel.kit.time import as_utc

StatusName = Literal["draft", "pending_review", "live", "rejected", "archived"]
QueueOutcome = Literal["flagged", "rejected", "live"]


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


# ---- inputs ----------------------------------------------------------------------------------


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    options: dict[str, str] = Field(
        default_factory=dict,
        description="One value per option axis, keyed by axis name.",
        examples=[{"Size": "M", "Color": "Navy"}],
    )
    sku: str = Field(default="", max_length=255)
    price_cents: int = Field(ge=0, le=rules.MAX_CENTS)
    compare_at_cents: int | None = Field(
        default=None, ge=0, le=rules.MAX_CENTS, description="Above the price, or null."
    )
    weight_grams: int | None = Field(default=None, ge=0, le=rules.MAX_WEIGHT_GRAMS)
    barcode: str | None = Field(
        default=None, max_length=32, description="GTIN-8/12/13/14 with a valid check digit."
    )
    cost_cents: int | None = Field(default=None, ge=0, le=rules.MAX_CENTS)

    def spec(self) -> rules.VariantSpec:
        return rules.VariantSpec(
            options=self.options,
            sku=self.sku,
            price_cents=self.price_cents,
            compare_at_cents=self.compare_at_cents,
            weight_grams=self.weight_grams,
            barcode=self.barcode,
            cost_cents=self.cost_cents,
        )


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=rules.MAX_TITLE)
    handle: str | None = Field(
        default=None, max_length=rules.MAX_HANDLE, description="Slugified from the title if absent."
    )
    description_html: str = Field(
        default="", max_length=500_000, description="Sanitized: no scripts, no event handlers."
    )
    category_id: int | None = Field(default=None, description="Google product taxonomy id.")
    tags: list[str] = Field(default_factory=list, max_length=500)
    vendor: str = Field(default="", max_length=255)
    product_type: str = Field(default="", max_length=255)
    option_names: list[str] = Field(default_factory=list, max_length=rules.MAX_AXES)
    variants: list[VariantIn] = Field(default_factory=list, max_length=rules.MAX_VARIANTS)
    seo_title: str = Field(default="", max_length=255)
    seo_description: str = Field(default="", max_length=1024)


class ProductUpdate(BaseModel):
    """Only the fields present change. ``version`` (or an ``If-Match`` header) is the
    version you read: a mismatch is 409 version_conflict."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
    title: str | None = Field(default=None, min_length=1, max_length=rules.MAX_TITLE)
    handle: str | None = Field(default=None, max_length=rules.MAX_HANDLE)
    description_html: str | None = Field(default=None, max_length=500_000)
    category_id: int | None = None
    tags: list[str] | None = Field(default=None, max_length=500)
    vendor: str | None = Field(default=None, max_length=255)
    product_type: str | None = Field(default=None, max_length=255)
    seo_title: str | None = Field(default=None, max_length=255)
    seo_description: str | None = Field(default=None, max_length=1024)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k != "version"}


class VariantsReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
    option_names: list[str] | None = Field(
        default=None, max_length=rules.MAX_AXES, description="Omit to keep the current axes."
    )
    variants: list[VariantIn] = Field(max_length=rules.MAX_VARIANTS)


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[str] = Field(default_factory=list, max_length=10)
    note: str = Field(default="", max_length=2000)


# ---- outputs ---------------------------------------------------------------------------------


class CategoryRead(BaseModel):
    id: int
    name: str
    breadcrumb: str

    @classmethod
    def of(cls, category: Category) -> CategoryRead:
        return cls(id=category.id, name=category.name, breadcrumb=category.breadcrumb)


class ImageRead(BaseModel):
    id: str
    position: int
    alt: str
    status: str
    source_url: str
    width: int | None
    height: int | None
    thumbnails: dict[str, str]

    @classmethod
    def of(cls, image: ProductImage) -> ImageRead:
        return cls(
            id=image.id,
            position=image.position,
            alt=image.alt,
            status=image.status,
            source_url=image.source_url,
            width=image.width,
            height=image.height,
            thumbnails=dict(image.thumbnails or {}),
        )


class PublicVariantRead(BaseModel):
    id: str
    sku: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None
    currency: str
    weight_grams: int | None
    barcode: str | None
    position: int

    @classmethod
    def of(cls, variant: Variant) -> PublicVariantRead:
        return cls(
            id=variant.id,
            sku=variant.sku,
            options=dict(variant.options or {}),
            price_cents=variant.price_cents,
            compare_at_cents=variant.compare_at_cents,
            currency=variant.currency,
            weight_grams=variant.weight_grams,
            barcode=variant.barcode,
            position=variant.position,
        )


class VariantRead(PublicVariantRead):
    cost_cents: int | None

    @classmethod
    def of(cls, variant: Variant) -> VariantRead:
        return cls(**PublicVariantRead.of(variant).model_dump(), cost_cents=variant.cost_cents)


class ReviewRead(BaseModel):
    id: str
    outcome: str
    reasons: list[dict[str, Any]]
    reviewer_id: str | None
    rules_version: str | None
    note: str
    created_at: datetime

    @classmethod
    def of(cls, row: ListingReview) -> ReviewRead:
        return cls(
            id=row.id,
            outcome=row.outcome,
            reasons=list(row.reasons or []),
            reviewer_id=row.reviewer_id,
            rules_version=row.rules_version,
            note=row.note,
            created_at=as_utc(row.created_at),
        )


class ProductSummary(BaseModel):
    """A row of the seller's product list."""

    id: str
    handle: str
    title: str
    status: StatusName
    category_id: int | None
    variant_count: int
    min_price_cents: int | None
    skus: list[str]
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, product: Product, variants: list[Variant]) -> ProductSummary:
        return cls(
            id=product.id,
            handle=product.handle,
            title=product.title,
            status=product.status,
            category_id=product.category_id,
            variant_count=len(variants),
            min_price_cents=min((v.price_cents for v in variants), default=None),
            skus=[v.sku for v in variants if v.sku],
            version=product.version,
            updated_at=as_utc(product.updated_at),
        )


class ProductList(BaseModel):
    items: list[ProductSummary]
    next_cursor: str | None


class ProductRead(BaseModel):
    """The seller's view of a product (includes cost and the latest review reasons)."""

    id: str
    shop_id: str
    handle: str
    title: str
    description_html: str
    status: StatusName
    category: CategoryRead | None
    category_id: int | None
    breadcrumb: list[CategoryRead]
    tags: list[str]
    vendor: str
    product_type: str
    option_names: list[str]
    seo_title: str
    seo_description: str
    variants: list[VariantRead]
    images: list[ImageRead]
    review_reasons: list[dict[str, Any]]
    latest_review: ReviewRead | None
    submitted_at: datetime | None
    live_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, view: ProductView) -> ProductRead:
        p = view.product
        return cls(
            id=p.id,
            shop_id=p.shop_id,
            handle=p.handle,
            title=p.title,
            description_html=p.description_html,
            status=p.status,
            category=CategoryRead.of(view.category) if view.category else None,
            category_id=p.category_id,
            breadcrumb=[CategoryRead.of(c) for c in view.breadcrumb],
            tags=list(p.tags or []),
            vendor=p.vendor,
            product_type=p.product_type,
            option_names=list(p.option_names or []),
            seo_title=p.seo_title,
            seo_description=p.seo_description,
            variants=[VariantRead.of(v) for v in view.variants],
            images=[ImageRead.of(i) for i in view.images],
            review_reasons=list(p.review_reasons or []),
            latest_review=ReviewRead.of(view.reviews[0]) if view.reviews else None,
            submitted_at=_utc(p.submitted_at),
            live_at=_utc(p.live_at),
            created_at=as_utc(p.created_at),
            updated_at=as_utc(p.updated_at),
            version=p.version,
        )


class StaffProductRead(ProductRead):
    shop_handle: str
    shop_status: str
    reviews: list[ReviewRead]

    @classmethod
    def of(cls, view: ProductView) -> StaffProductRead:
        return cls(
            **ProductRead.of(view).model_dump(),
            shop_handle=view.shop.handle,
            shop_status=view.shop.status,
            reviews=[ReviewRead.of(r) for r in view.reviews],
        )


class QueueItem(BaseModel):
    id: str
    title: str
    status: StatusName
    shop_id: str
    shop_handle: str
    submitted_at: datetime | None
    review_reasons: list[dict[str, Any]]

    @classmethod
    def of(cls, product: Product, shop: Shop | None) -> QueueItem:
        return cls(
            id=product.id,
            title=product.title,
            status=product.status,
            shop_id=product.shop_id,
            shop_handle=shop.handle if shop else "",
            submitted_at=_utc(product.submitted_at),
            review_reasons=list(product.review_reasons or []),
        )


class QueueList(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


class PriceChangeRead(BaseModel):
    id: str
    variant_id: str
    sku: str
    price_cents: int
    compare_at_cents: int | None
    currency: str
    changed_at: datetime
    actor_id: str | None
    reason: str

    @classmethod
    def of(cls, row: PriceChange) -> PriceChangeRead:
        return cls(
            id=row.id,
            variant_id=row.variant_id,
            sku=row.sku,
            price_cents=row.price_cents,
            compare_at_cents=row.compare_at_cents,
            currency=row.currency,
            changed_at=as_utc(row.changed_at),
            actor_id=row.actor_id,
            reason=row.reason,
        )


class DeleteResult(BaseModel):
    id: str
    outcome: Literal["deleted", "archived"]


class ShopRef(BaseModel):
    id: str
    handle: str
    name: str


class PublicProductRead(BaseModel):
    """What anyone may see of a live listing: no cost, no review details, no version."""

    id: str
    handle: str
    title: str
    description_html: str
    category: CategoryRead | None
    breadcrumb: list[CategoryRead]
    tags: list[str]
    vendor: str
    option_names: list[str]
    variants: list[PublicVariantRead]
    images: list[ImageRead]
    shop: ShopRef
    live_at: datetime | None

    @classmethod
    def of(cls, view: ProductView) -> PublicProductRead:
        p = view.product
        return cls(
            id=p.id,
            handle=p.handle,
            title=p.title,
            description_html=p.description_html,
            category=CategoryRead.of(view.category) if view.category else None,
            breadcrumb=[CategoryRead.of(c) for c in view.breadcrumb],
            tags=list(p.tags or []),
            vendor=p.vendor,
            option_names=list(p.option_names or []),
            variants=[PublicVariantRead.of(v) for v in view.variants],
            images=[ImageRead.of(i) for i in view.images],
            shop=ShopRef(id=view.shop.id, handle=view.shop.handle, name=view.shop.name),
            live_at=_utc(p.live_at),
        )


class PublicProductSummary(BaseModel):
    id: str
    handle: str
    title: str
    min_price_cents: int | None
    currency: str
    shop: ShopRef
    category_id: int | None


class PublicProductList(BaseModel):
    items: list[PublicProductSummary]
    next_cursor: str | None
