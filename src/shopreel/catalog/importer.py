"""Shopify product CSV import into a shop's catalog (global plane).

:func:`import_shopify` parses the file with the pure parser (:mod:`shopreel.catalog.shopify`),
then upserts products in batches, each batch in its own transaction so that a huge file never
holds one long transaction:

* product by ``(shop_id, handle)``; variant by ``options_key`` (its option values in axis
  order) within the product; image by ``(product, source_url)``. Variants and imported
  (remote) images that the file no longer lists are deleted; uploaded images are kept.
* a product with any row error is **skipped** as a whole (never half written); the others
  import. A fatal file error (encoding, broken CSV, too large) imports nothing.
* ``Product.import_hash`` is the SHA-256 of the parsed product plus the import's context
  (currency, whether the shop may publish, the stock warehouse): an unchanged product is not
  touched at all (no ``updated_at``/``version`` bump, no price history, no movement).
* ``active`` products are screened (:mod:`shopreel.catalog.review`) when the shop is approved:
  passed -> live, flagged -> pending review, rejected -> rejected, with a ``ListingReview`` row;
  ``draft`` -> draft, ``archived`` -> archived. Descriptions are stored sanitized.
* prices: a ``PriceChange`` (reason ``import``) when a variant is created and whenever its
  price, compare-at price or currency changes.
* ``Variant Inventory Qty`` sets ``on_hand`` in the shop's oldest active warehouse, with an
  ``InventoryMovement`` (reason ``import``) when the level changes (compare-and-set update).

Fields without a catalog column go to ``Product.attributes["shopify"]`` and
``Variant.attributes["shopify"]`` so that :mod:`shopreel.catalog.catalog_export` writes the file
back. See ``docs/shopify-import.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.catalog import review
from shopreel.catalog.models import (
    CatalogImport,
    ImageStatus,
    ListingReview,
    PriceChange,
    Product,
    ProductImage,
    ProductStatus,
    ReviewOutcome,
    Shop,
    ShopStatus,
    Variant,
)
from shopreel.catalog.money import currency_exponent
from shopreel.catalog.options import options_key
from shopreel.catalog.sanitize import sanitize_html, sanitized_html_to_text
from shopreel.catalog.shopify import (
    FIELD_LIMITS,
    ImportCounts,
    ImportParse,
    RowError,
    ShopifyImage,
    ShopifyProduct,
    ShopifyVariant,
    parse_shopify_csv,
)
from shopreel.catalog.taxonomy import default_taxonomy
from shopreel.errors import Conflict, NotFound, ValidationFailed
from shopreel.inventory.models import InventoryLevel, InventoryMovement, MovementReason, Warehouse
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.planes import CONTROL, GLOBAL
from shopreel.runtime import Runtime

MAX_IMPORT_BYTES: Final = 50 * 2**20
BATCH_PRODUCTS: Final = 250
HASH_VERSION: Final = 1  # bump when the stored form of an imported product changes
PRICE_REASON: Final = "import"
SOURCE: Final = "shopify_csv"

ProgressCallback = Callable[[int, int], None]

# Codes the importer adds to the parser's (warnings; the importer rejects nothing by itself).
SHOP_NOT_APPROVED: Final = "shop_not_approved"
NO_WAREHOUSE: Final = "no_warehouse"
NEGATIVE_INVENTORY: Final = "negative_inventory"
IMPORTED_AS_DRAFT: Final = "imported_as_draft"
LISTING_FLAGGED: Final = "listing_flagged"
LISTING_REJECTED: Final = "listing_rejected"
PRODUCT_SKIPPED: Final = "product_skipped"


# -- report -----------------------------------------------------------------------------------


def issue_json(issue: RowError) -> dict[str, Any]:
    return {
        "row": issue.row,
        "line": issue.line,
        "column": issue.column,
        "code": str(issue.code),
        "reason": issue.reason,
        "handle": issue.handle,
        "value": issue.value,
    }


@dataclass(slots=True)
class ProductResult:
    handle: str
    row: int | None
    outcome: str  # created | updated | unchanged | skipped
    product_id: str | None = None
    status: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "handle": self.handle,
            "row": self.row,
            "outcome": self.outcome,
            "product_id": self.product_id,
            "status": self.status,
        }


@dataclass(slots=True)
class ImportReport:
    """What an import did. ``counts`` are the file's (valid or not); ``created``, ``updated``,
    ``unchanged`` and ``skipped`` count products."""

    counts: ImportCounts = field(default_factory=ImportCounts)
    currency: str = "USD"
    dry_run: bool = False
    filename: str = ""
    sha256: str = ""
    size_bytes: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    results: list[ProductResult] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # stored status -> products
    fatal: bool = False
    status: str = "completed"  # completed | failed
    import_id: str | None = None
    duration_ms: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "fatal": self.fatal,
            "filename": self.filename,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "currency": self.currency,
            "rows": self.counts.rows,
            "products": self.counts.products,
            "variants": self.counts.variants,
            "images": self.counts.images,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": [issue_json(e) for e in self.errors],
            "warnings": [issue_json(w) for w in self.warnings],
            "results": [r.as_json() for r in self.results],
            "duration_ms": self.duration_ms,
        }


# -- normalized form --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What, besides the file, decides how a product is stored (part of its hash)."""

    shop_id: str
    currency: str
    may_publish: bool  # the shop is approved: active products are screened
    warehouse_id: str | None  # where quantities go; None: quantities are not imported


def _plain(product: ShopifyProduct) -> dict[str, Any]:
    """The product's modelled fields as JSON-ready data (no row/line)."""

    def variant(v: ShopifyVariant) -> dict[str, Any]:
        return {
            "price": v.price_minor,
            "currency": v.currency,
            "options": list(v.option_values),
            "sku": v.sku,
            "compare_at": v.compare_at_minor,
            "cost": v.cost_minor,
            "grams": v.grams,
            "weight_unit": v.weight_unit,
            "barcode": v.barcode,
            "qty": v.inventory_qty,
            "tracker": v.inventory_tracker,
            "policy": v.inventory_policy,
            "fulfillment": v.fulfillment_service,
            "shipping": v.requires_shipping,
            "taxable": v.taxable,
            "tax_code": v.tax_code,
            "image": v.image_src,
            "metafields": v.metafields,
            "extra": v.extra,
        }

    return {
        "handle": product.handle,
        "title": product.title,
        "body": product.body_html,
        "vendor": product.vendor,
        "category": product.original_category,
        "category_id": product.category_id,
        "category_source": product.category_source,
        "type": product.product_type,
        "tags": product.tags,
        "published": product.published,
        "status": product.status,
        "gift_card": product.gift_card,
        "seo": [product.seo_title, product.seo_description],
        "google_category": product.google_product_category,
        "google": product.google,
        "options": [[o.name, o.linked_to] for o in product.options],
        "variants": [variant(v) for v in product.variants],
        "images": [[i.src, i.position, i.alt] for i in product.images],
        "metafields": product.metafields,
        "labels": product.metafield_labels,
        "extra": product.extra,
    }


def import_hash(product: ShopifyProduct, context: ImportContext) -> str:
    document = {
        "v": HASH_VERSION,
        "context": [context.currency, context.may_publish, context.warehouse_id],
        "product": _plain(product),
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_product(
    product: ShopifyProduct, *, keep_inventory: bool
) -> tuple[ShopifyProduct, list[tuple[ShopifyVariant, int]]]:
    """The product as the catalog stores it (what the exporter gives back): description
    sanitized, unpositioned images numbered after the positioned ones, quantities dropped
    without a warehouse and negative ones raised to 0. Returns the negative quantities too."""
    images: list[ShopifyImage] = []
    last = 0
    for image in product.images:
        position = image.position if image.position is not None else last + 1
        last = max(last, position)
        images.append(replace(image, position=position))
    negatives: list[tuple[ShopifyVariant, int]] = []
    variants: list[ShopifyVariant] = []
    for variant in product.variants:
        qty = variant.inventory_qty
        if not keep_inventory:
            qty = None
        elif qty is not None and qty < 0:
            negatives.append((variant, qty))
            qty = 0
        variants.append(replace(variant, inventory_qty=qty))
    body = sanitize_html(product.body_html, max_length=FIELD_LIMITS["body_html"])
    return replace(product, body_html=body, images=images, variants=variants), negatives


# -- stored form: columns + attributes --------------------------------------------------------


def _kept(raw: Any, stored: Any) -> dict[str, Any]:
    """A source value that a column holds in a lossy form: the exporter writes ``raw`` back
    as long as the column still holds ``stored`` (nobody changed it in ShopReel since)."""
    return {"raw": raw, "as": stored}


def _policy_column(raw: str) -> str:
    value = raw.strip().lower()
    return value if value in ("deny", "continue") else "deny"


def product_attributes(product: ShopifyProduct, stored_status: str) -> dict[str, Any]:
    shopify: dict[str, Any] = {"status": _kept(product.status, stored_status)}
    optional: dict[str, Any] = {
        "published": product.published,
        "gift_card": product.gift_card,
        "category_source": product.category_source,
        "google_product_category": product.google_product_category or None,
        "google": product.google or None,
        "metafields": product.metafields or None,
        "metafield_labels": product.metafield_labels or None,
        "extra": product.extra or None,
    }
    linked = [option.linked_to for option in product.options]
    if any(linked):
        optional["option_linked_to"] = linked
    shopify.update({key: value for key, value in optional.items() if value is not None})
    return {"shopify": shopify}


def variant_attributes(variant: ShopifyVariant, linked_image: bool) -> dict[str, Any]:
    shopify: dict[str, Any] = {
        "inventory_policy": _kept(
            variant.inventory_policy, _policy_column(variant.inventory_policy)
        ),
        "requires_shipping": _kept(
            variant.requires_shipping, _bool_column(variant.requires_shipping)
        ),
        "taxable": _kept(variant.taxable, _bool_column(variant.taxable)),
    }
    optional: dict[str, Any] = {
        "weight_unit": variant.weight_unit,
        "inventory_tracker": variant.inventory_tracker,
        "fulfillment_service": variant.fulfillment_service,
        "image_src": "" if linked_image else variant.image_src,
        "metafields": variant.metafields,
        "extra": variant.extra,
    }
    shopify.update({key: value for key, value in optional.items() if value})
    return {"shopify": shopify}


def _bool_column(value: bool | None) -> bool:
    return True if value is None else value


def _variant_columns(variant: ShopifyVariant) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "price_cents": variant.price_minor,
        "compare_at_cents": variant.compare_at_minor,
        "cost_cents": variant.cost_minor,
        "currency": variant.currency,
        "weight_grams": variant.grams,
        "barcode": variant.barcode or None,
        "inventory_policy": _policy_column(variant.inventory_policy),
        "requires_shipping": _bool_column(variant.requires_shipping),
        "taxable": _bool_column(variant.taxable),
        "tax_code": variant.tax_code,
    }


# -- planning (read-only) ---------------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """One product's import decision, made before anything is written. ``stored``, ``status``
    and ``findings`` are only worked out for a product that changed."""

    parsed: ShopifyProduct
    hash: str
    existing: Product | None = None
    stored: ShopifyProduct | None = None  # normalized
    status: str = ProductStatus.DRAFT.value
    findings: list[review.Finding] | None = None  # None: not screened
    outcome: str = "created"  # created | updated | unchanged (decided on load)

    def __post_init__(self) -> None:
        if self.existing is not None:
            same = self.existing.import_hash == self.hash
            self.outcome = "unchanged" if same else "updated"


def _facts(product: ShopifyProduct, category_id: int | None) -> review.ListingFacts:
    return review.ListingFacts(
        title=product.title,
        # ``product`` is the stored form: its body was sanitized by _normalize
        description_text=sanitized_html_to_text(product.body_html),
        tags=tuple(product.tags),
        vendor=product.vendor,
        product_type=product.product_type,
        category_id=category_id,
        variants=tuple(
            review.VariantFacts(v.price_minor, v.compare_at_minor, v.sku) for v in product.variants
        ),
        image_count=len(product.images),
    )


_SCREENED: Final = {
    ReviewOutcome.PASSED: ProductStatus.LIVE,
    ReviewOutcome.FLAGGED: ProductStatus.PENDING_REVIEW,
    ReviewOutcome.REJECTED: ProductStatus.REJECTED,
}


class _Importer:
    def __init__(
        self,
        runtime: Runtime,
        shop: Shop,
        actor_id: str,
        parse: ImportParse,
        report: ImportReport,
        context: ImportContext,
        rules: review.ListingRules,
        progress: ProgressCallback | None,
    ) -> None:
        self.runtime = runtime
        self.shop = shop
        self.actor_id = actor_id
        self.parse = parse
        self.report = report
        self.context = context
        self.rules = rules
        self.progress = progress
        self.taxonomy = default_taxonomy()
        self.warned: set[str] = set()
        self.pending_deletes: list[Any] = []

    def warn(
        self, code: str, reason: str, product: ShopifyProduct | None = None, **kw: Any
    ) -> None:
        self.report.warnings.append(
            RowError(
                code,
                reason,
                row=product.row if product else None,
                line=product.line if product else None,
                handle=product.handle if product else None,
                **kw,
            )
        )

    def decide(self, plan: Plan) -> None:
        """Normalize a changed product and decide its status (screening active ones)."""
        product = plan.parsed
        stored, negatives = normalize_product(
            product, keep_inventory=self.context.warehouse_id is not None
        )
        if plan.existing is not None:
            # The file differs from the one imported last time, but it may still describe
            # exactly what is stored (e.g. our own export of it): then nothing changes.
            kept = (plan.existing.attributes or {}).get("import", {})
            if kept.get("stored_hash") == import_hash(stored, self.context):
                plan.outcome = "unchanged"
                return
        for variant, qty in negatives:
            self.report.warnings.append(
                RowError(
                    NEGATIVE_INVENTORY,
                    f"a negative quantity ({qty}) cannot be stocked; on hand set to 0",
                    row=variant.row,
                    line=variant.line,
                    column="Variant Inventory Qty",
                    handle=product.handle,
                    value=str(qty),
                )
            )
        status = ProductStatus.DRAFT.value
        findings: list[review.Finding] | None = None
        if product.status == "archived":
            status = ProductStatus.ARCHIVED.value
        elif product.status == "active":
            if not self.context.may_publish:
                if SHOP_NOT_APPROVED not in self.warned:
                    self.warned.add(SHOP_NOT_APPROVED)
                    self.warn(
                        SHOP_NOT_APPROVED,
                        "the shop is not approved yet: active products are imported as drafts",
                    )
            elif not stored.variants:
                self.warn(
                    IMPORTED_AS_DRAFT,
                    "the product has no valid variant (no price): imported as a draft",
                    product,
                    column="Status",
                    value=product.status,
                )
            else:
                findings = review.screen(
                    _facts(stored, stored.category_id), self.rules, self.taxonomy
                )
                status = _SCREENED[review.outcome_of(findings)].value
        plan.stored, plan.status, plan.findings = stored, status, findings

    def note_screening(self, plan: Plan) -> None:
        if not plan.findings:
            return
        code = LISTING_REJECTED if plan.status == ProductStatus.REJECTED else LISTING_FLAGGED
        what = "rejected" if code == LISTING_REJECTED else "waits for staff review"
        reasons = "; ".join(finding.message for finding in plan.findings)
        self.warn(code, f"listing {what}: {reasons}", plan.parsed, column="Status")

    async def run(self, products: Sequence[ShopifyProduct], write: bool) -> None:
        total = len(products)
        done = 0
        for start in range(0, total, BATCH_PRODUCTS):
            batch = products[start : start + BATCH_PRODUCTS]
            async with self.runtime.databases.session(GLOBAL) as session, session.begin():
                plans = await self._load(session, batch)
                for plan in plans:
                    if plan.outcome != "unchanged":
                        self.decide(plan)
                if write:
                    await self._write(session, plans)
                else:
                    for plan in plans:
                        self._record(plan)
            done += len(batch)
            if self.progress is not None:
                self.progress(done, total)
            await asyncio.sleep(0)  # let other requests run between batches

    async def _load(self, session: AsyncSession, batch: Sequence[ShopifyProduct]) -> list[Plan]:
        """The batch's existing products, in one query."""
        handles = [product.handle for product in batch]
        rows = await session.scalars(
            select(Product).where(Product.shop_id == self.shop.id, Product.handle.in_(handles))
        )
        existing = {product.handle: product for product in rows}
        return [
            Plan(product, import_hash(product, self.context), existing.get(product.handle))
            for product in batch
        ]

    def _record(self, plan: Plan, *, product_id: str | None = None) -> None:
        outcome = plan.outcome
        if outcome == "unchanged":
            assert plan.existing is not None
            status = plan.existing.status
            product_id = plan.existing.id
        else:
            status = plan.status
            if product_id is None and plan.existing is not None:
                product_id = plan.existing.id
            self.note_screening(plan)
        setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        self.report.statuses[status] = self.report.statuses.get(status, 0) + 1
        self.report.results.append(
            ProductResult(plan.parsed.handle, plan.parsed.row, outcome, product_id, status)
        )

    # -- writing ------------------------------------------------------------------------------

    async def _write(self, session: AsyncSession, plans: list[Plan]) -> None:
        now = utcnow()
        changed = [plan for plan in plans if plan.outcome != "unchanged"]
        for plan in plans:
            if plan.outcome == "unchanged":
                self._record(plan)
        if not changed:
            return
        product_rows: list[dict[str, Any]] = []
        new_images: list[dict[str, Any]] = []
        new_variants: list[dict[str, Any]] = []
        prices: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        levels: list[dict[str, Any]] = []
        movements: list[dict[str, Any]] = []
        updates = [plan for plan in changed if plan.existing is not None]
        current = await self._current_children(session, updates)
        for plan in changed:
            product_id = plan.existing.id if plan.existing is not None else new_id("prd")
            values = self._product_values(plan, now)
            if plan.existing is None:
                product_rows.append(
                    {"id": product_id, "shop_id": self.shop.id, "created_at": now} | values
                )
            else:
                await session.execute(
                    update(Product)
                    .where(Product.id == product_id)
                    .values(**values, version=Product.version + 1)
                )
            old_variants, old_images, old_levels = current.get(product_id, ({}, {}, {}))
            image_ids = self._images(session, plan, product_id, old_images, new_images)
            await self._variants(
                session,
                plan,
                product_id,
                old_variants,
                old_levels,
                image_ids,
                now,
                new_variants,
                prices,
                levels,
                movements,
            )
            if plan.findings is not None:
                reviews.append(
                    {
                        "id": new_id("lrv"),
                        "product_id": product_id,
                        "shop_id": self.shop.id,
                        "outcome": review.outcome_of(plan.findings).value,
                        "reasons": [finding.as_json() for finding in plan.findings],
                        "reviewer_id": None,
                        "rules_version": self.rules.version,
                        "note": "import",
                        "created_at": now,
                    }
                )
            self._record(plan, product_id=product_id)
        for model, rows in (
            (Product, product_rows),
            (ProductImage, new_images),
            (Variant, new_variants),
            (PriceChange, prices),
            (ListingReview, reviews),
            (InventoryLevel, levels),
            (InventoryMovement, movements),
        ):
            if rows:
                # render_nulls: one executemany per table, not one per pattern of NULLs
                await session.execute(insert(model).execution_options(render_nulls=True), rows)
        # variants and remote images the file no longer lists
        for statement in self.pending_deletes:
            await session.execute(statement)
        self.pending_deletes.clear()

    def _product_values(self, plan: Plan, now: datetime) -> dict[str, Any]:
        stored = plan.stored
        assert stored is not None
        values: dict[str, Any] = {
            "handle": stored.handle,
            "title": stored.title,
            "description_html": stored.body_html,
            "category_id": stored.category_id,
            "tags": list(stored.tags),
            "status": plan.status,
            "updated_at": now,
            "vendor": stored.vendor,
            "product_type": stored.product_type,
            "original_category": stored.original_category,
            "option_names": list(stored.option_names),
            "seo_title": stored.seo_title,
            "seo_description": stored.seo_description,
            "attributes": product_attributes(stored, plan.status)
            | {"import": {"stored_hash": import_hash(stored, self.context)}},
            "import_hash": plan.hash,
        }
        if plan.findings is not None:
            values["review_reasons"] = [finding.as_json() for finding in plan.findings]
            values["submitted_at"] = now
            if plan.status == ProductStatus.LIVE.value:
                was_live = plan.existing is not None and plan.existing.status == "live"
                values["live_at"] = plan.existing.live_at if was_live and plan.existing else now
        elif plan.existing is None:
            values["review_reasons"] = []
        return values

    async def _current_children(
        self, session: AsyncSession, plans: list[Plan]
    ) -> dict[
        str,
        tuple[dict[str, Variant], dict[str, ProductImage], dict[str, InventoryLevel]],
    ]:
        """Variants (by options_key), remote images (by source URL) and stock levels (by
        variant id) of the products being updated, in three queries."""
        ids = [plan.existing.id for plan in plans if plan.existing is not None]
        result: dict[
            str, tuple[dict[str, Variant], dict[str, ProductImage], dict[str, InventoryLevel]]
        ] = {product_id: ({}, {}, {}) for product_id in ids}
        if not ids:
            return result
        variant_product: dict[str, str] = {}
        for variant in await session.scalars(select(Variant).where(Variant.product_id.in_(ids))):
            result[variant.product_id][0][variant.options_key] = variant
            variant_product[variant.id] = variant.product_id
        images = await session.scalars(
            select(ProductImage).where(
                ProductImage.product_id.in_(ids), ProductImage.status == ImageStatus.REMOTE.value
            )
        )
        for image in images:
            result[image.product_id][1][image.source_url] = image
        if self.context.warehouse_id is not None and variant_product:
            levels = await session.scalars(
                select(InventoryLevel).where(
                    InventoryLevel.warehouse_id == self.context.warehouse_id,
                    InventoryLevel.variant_id.in_(list(variant_product)),
                )
            )
            for level in levels:
                result[variant_product[level.variant_id]][2][level.variant_id] = level
        return result

    def _images(
        self,
        session: AsyncSession,
        plan: Plan,
        product_id: str,
        old: dict[str, ProductImage],
        new_rows: list[dict[str, Any]],
    ) -> dict[str, str]:
        """Upsert the product's images by source URL; returns source URL -> image id."""
        ids: dict[str, str] = {}
        assert plan.stored is not None
        for image in plan.stored.images:
            existing = old.pop(image.src, None)
            position = image.position or 1
            if existing is None:
                image_id = new_id("img")
                new_rows.append(
                    {
                        "id": image_id,
                        "product_id": product_id,
                        "shop_id": self.shop.id,
                        "position": position,
                        "alt": image.alt,
                        "source_url": image.src,
                        "status": ImageStatus.REMOTE.value,
                        "thumbnails": {},
                        "created_at": utcnow(),
                    }
                )
                ids[image.src] = image_id
            else:
                existing.position = position
                existing.alt = image.alt
                ids[image.src] = existing.id
        if old:
            self.pending_deletes.append(
                delete(ProductImage).where(ProductImage.id.in_([i.id for i in old.values()]))
            )
        return ids

    async def _variants(
        self,
        session: AsyncSession,
        plan: Plan,
        product_id: str,
        old: dict[str, Variant],
        old_levels: dict[str, InventoryLevel],
        image_ids: dict[str, str],
        now: datetime,
        new_rows: list[dict[str, Any]],
        prices: list[dict[str, Any]],
        levels: list[dict[str, Any]],
        movements: list[dict[str, Any]],
    ) -> None:
        stored = plan.stored
        assert stored is not None
        warehouse_id = self.context.warehouse_id
        for position, variant in enumerate(stored.variants):
            key = options_key(variant.option_values)
            image_id = image_ids.get(variant.image_src) if variant.image_src else None
            columns = _variant_columns(variant) | {
                "options": stored.variant_options(variant),
                "position": position,
                "image_id": image_id,
                "attributes": variant_attributes(variant, linked_image=image_id is not None),
            }
            existing = old.pop(key, None)
            if existing is None:
                variant_id = new_id("var")
                new_rows.append(
                    {
                        "id": variant_id,
                        "product_id": product_id,
                        "shop_id": self.shop.id,
                        "options_key": key,
                        "updated_at": now,
                    }
                    | columns
                )
                prices.append(self._price(variant_id, variant, now))
                if warehouse_id is not None and variant.inventory_qty is not None:
                    levels.append(
                        {
                            "variant_id": variant_id,
                            "warehouse_id": warehouse_id,
                            "shop_id": self.shop.id,
                            "on_hand": variant.inventory_qty,
                            "updated_at": now,
                        }
                    )
                    if variant.inventory_qty:
                        movements.append(
                            self._movement(
                                variant_id, variant.inventory_qty, variant.inventory_qty, now
                            )
                        )
                continue
            price_changed = (
                existing.price_cents,
                existing.compare_at_cents,
                existing.currency,
            ) != (variant.price_minor, variant.compare_at_minor, variant.currency)
            differs = any(getattr(existing, name) != value for name, value in columns.items())
            if differs:
                await session.execute(
                    update(Variant)
                    .where(Variant.id == existing.id)
                    .values(**columns, updated_at=now)
                )
            if price_changed:
                prices.append(self._price(existing.id, variant, now))
            if warehouse_id is not None and variant.inventory_qty is not None:
                await self._set_level(
                    session,
                    existing.id,
                    old_levels.get(existing.id),
                    variant.inventory_qty,
                    now,
                    movements,
                )
        if old:
            self.pending_deletes.insert(
                0, delete(Variant).where(Variant.id.in_([v.id for v in old.values()]))
            )

    def _price(self, variant_id: str, variant: ShopifyVariant, now: datetime) -> dict[str, Any]:
        return {
            "id": new_id("prc"),
            "variant_id": variant_id,
            "shop_id": self.shop.id,
            "sku": variant.sku,
            "price_cents": variant.price_minor,
            "compare_at_cents": variant.compare_at_minor,
            "currency": variant.currency,
            "changed_at": now,
            "actor_id": self.actor_id,
            "reason": PRICE_REASON,
        }

    def _movement(self, variant_id: str, delta: int, after: int, now: datetime) -> dict[str, Any]:
        assert self.context.warehouse_id is not None
        return {
            "id": new_id("mov"),
            "variant_id": variant_id,
            "warehouse_id": self.context.warehouse_id,
            "shop_id": self.shop.id,
            "delta": delta,
            "on_hand_after": after,
            "reason": MovementReason.IMPORT.value,
            "note": "Shopify CSV import",
            "actor_id": self.actor_id,
            "created_at": now,
        }

    async def _set_level(
        self,
        session: AsyncSession,
        variant_id: str,
        level: InventoryLevel | None,
        target: int,
        now: datetime,
        movements: list[dict[str, Any]],
    ) -> None:
        """Set on_hand to ``target`` with a compare-and-set update (a concurrent sale or
        adjustment between our read and our write makes us re-read, never overwrite blindly);
        a movement records the delta when the level changed."""
        warehouse_id = self.context.warehouse_id
        assert warehouse_id is not None
        seen = level.on_hand if level is not None else None
        for _ in range(5):
            if seen is None:
                inserted = await session.execute(
                    _insert_ignoring_conflict(session)(InventoryLevel)
                    .values(
                        variant_id=variant_id,
                        warehouse_id=warehouse_id,
                        shop_id=self.shop.id,
                        on_hand=target,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing()
                )
                if getattr(inserted, "rowcount", 0) != 1:
                    seen = await self._read_level(session, variant_id)  # created meanwhile
                    continue
                if target:
                    movements.append(self._movement(variant_id, target, target, now))
                return
            if seen == target:
                return
            result = await session.execute(
                update(InventoryLevel)
                .where(
                    InventoryLevel.variant_id == variant_id,
                    InventoryLevel.warehouse_id == warehouse_id,
                    InventoryLevel.on_hand == seen,
                )
                .values(on_hand=target, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                movements.append(self._movement(variant_id, target - seen, target, now))
                return
            seen = await self._read_level(session, variant_id)
        raise Conflict(
            "The stock level kept changing during the import; try again.", code="stock_contention"
        )

    async def _read_level(self, session: AsyncSession, variant_id: str) -> int | None:
        value = await session.scalar(
            select(InventoryLevel.on_hand).where(
                InventoryLevel.variant_id == variant_id,
                InventoryLevel.warehouse_id == self.context.warehouse_id,
            )
        )
        return None if value is None else int(value)


def _insert_ignoring_conflict(session: AsyncSession) -> Any:
    """The dialect's INSERT that supports ``ON CONFLICT DO NOTHING`` (SQLite, PostgreSQL)."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


# -- entry point ------------------------------------------------------------------------------


async def _shop_context(
    runtime: Runtime, shop_id: str, currency: str
) -> tuple[Shop, ImportContext, review.ListingRules]:
    async with runtime.databases.session(GLOBAL) as session:
        shop = await session.get(Shop, shop_id)
        if shop is None:
            raise NotFound("No such shop.", code="shop_not_found")
        if shop.status == ShopStatus.SUSPENDED.value:
            raise Conflict(
                "This shop is suspended; it cannot import products.", code="shop_suspended"
            )
        warehouse_id = await session.scalar(
            select(Warehouse.id)
            .where(Warehouse.shop_id == shop_id, Warehouse.active.is_(True))
            .order_by(Warehouse.created_at, Warehouse.id)
            .limit(1)
        )
        session.expunge(shop)
    async with runtime.databases.session(CONTROL) as control:
        rules = await review.load_rules(control)
    context = ImportContext(
        shop_id=shop_id,
        currency=currency,
        may_publish=shop.status == ShopStatus.APPROVED.value,
        warehouse_id=warehouse_id,
    )
    return shop, context, rules


def _check_currency(currency: str) -> str:
    code = currency.strip().upper()
    try:
        currency_exponent(code)
    except ValueError:
        raise ValidationFailed(
            f"Unknown currency {currency!r}: use an ISO 4217 code such as USD.",
            code="invalid_currency",
        ) from None
    return code


async def import_shopify(
    runtime: Runtime,
    *,
    shop_id: str,
    actor_id: str,
    data: bytes,
    currency: str = "USD",
    dry_run: bool = False,
    filename: str = "",
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a Shopify product CSV into ``shop_id``; see the module docstring.

    Raises NotFound (no such shop), Conflict (suspended shop), ValidationFailed (unknown
    currency). Problems with the file never raise: they are in the report (a fatal one means
    nothing was imported). Non-dry runs are recorded as a ``CatalogImport``.
    """
    started = time.perf_counter()
    currency = _check_currency(currency)
    shop, context, rules = await _shop_context(runtime, shop_id, currency)
    report = ImportReport(
        currency=currency,
        dry_run=dry_run,
        filename=filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
    parse = await asyncio.to_thread(
        parse_shopify_csv, data, currency=currency, max_bytes=MAX_IMPORT_BYTES
    )
    report.counts = parse.counts
    report.errors = list(parse.errors)
    report.warnings = list(parse.warnings)
    report.fatal = parse.fatal
    if parse.fatal:
        report.status = "failed"
    else:
        if context.warehouse_id is None and any(
            v.inventory_qty is not None for p in parse.products for v in p.variants
        ):
            report.warnings.append(
                RowError(
                    NO_WAREHOUSE,
                    "the shop has no active warehouse: quantities not imported (add a "
                    "warehouse, then import the file again)",
                    column="Variant Inventory Qty",
                )
            )
        # A product with any row error is skipped whole: never half written.
        failed: dict[str, int | None] = {}
        for error in parse.errors:
            if error.handle is not None:
                failed.setdefault(error.handle, error.row)
        importable = [p for p in parse.products if p.handle not in failed]
        for product in parse.products:
            if product.handle in failed:
                failed[product.handle] = product.row
        for handle, row in failed.items():
            report.results.append(ProductResult(handle, row, "skipped"))
        importer = _Importer(runtime, shop, actor_id, parse, report, context, rules, progress)
        try:
            await importer.run(importable, write=not dry_run)
        except Exception:
            report.status = "failed"
            if not dry_run:
                await _store(runtime, report, shop_id, actor_id, started)
            raise
        report.skipped = report.counts.products - (
            report.created + report.updated + report.unchanged
        )
        report.results.sort(key=lambda r: (r.row is None, r.row or 0))
    report.duration_ms = round((time.perf_counter() - started) * 1000)
    if not dry_run:
        await _store(runtime, report, shop_id, actor_id, started)
    return report


async def _store(
    runtime: Runtime, report: ImportReport, shop_id: str, actor_id: str, started: float
) -> None:
    report.import_id = new_id("imp")
    report.duration_ms = round((time.perf_counter() - started) * 1000)
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(
            CatalogImport(
                id=report.import_id,
                shop_id=shop_id,
                actor_id=actor_id,
                source=SOURCE,
                filename=report.filename,
                sha256=report.sha256,
                size_bytes=report.size_bytes,
                currency=report.currency,
                dry_run=report.dry_run,
                status=report.status,
                report=report.as_json(),
            )
        )
