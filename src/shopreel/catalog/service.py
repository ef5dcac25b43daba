"""Catalog use cases: a seller's products and their variant grid, listing submission and
screening, staff listing review, and the public catalog.

Functions take the unit of work first and flush, never commit. Every product a seller
touches is looked up *within the seller's own shop*: another shop's product is
:class:`ProductNotFound`, exactly like a product that does not exist, so ids of other
sellers' products reveal nothing. Pure rules live in :mod:`shopreel.catalog.rules` and
:mod:`shopreel.catalog.review`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from shopreel.accounts.principal import Principal
from shopreel.catalog import repository, review, rules, shops
from shopreel.catalog.errors import (
    HandleTaken,
    NotAReviewer,
    ProductArchived,
    ProductNotFound,
    RulesUnavailable,
    ShopNotApproved,
    StaffSessionRequired,
    VersionConflict,
    invalid,
)
from shopreel.catalog.models import (
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
from shopreel.catalog.sanitize import sanitize_html, sanitized_html_to_text
from shopreel.catalog.taxonomy import Category, Taxonomy
from shopreel.errors import PermissionDenied, ValidationFailed
from shopreel.kit.ids import new_id
from shopreel.kit.time import as_utc, utcnow
from shopreel.sovereignty import audit
from shopreel.uow import UnitOfWork

CATALOG_REVIEWER: Final = "catalog_reviewer"
DEFAULT_CURRENCY: Final = "USD"
AUDIT_REVIEW: Final = "catalog.review"
AUDIT_TAKEDOWN: Final = "catalog.takedown"
MAX_REASONS: Final = 10
MAX_REASON_LENGTH: Final = 500


# ---- inputs and views ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductDraft:
    title: str
    handle: str | None = None
    description_html: str = ""
    category_id: int | None = None
    tags: Sequence[str] = ()
    vendor: str = ""
    product_type: str = ""
    option_names: Sequence[str] = ()
    variants: Sequence[rules.VariantSpec] = ()
    seo_title: str = ""
    seo_description: str = ""


EDITABLE_FIELDS: Final = frozenset(
    {
        "title",
        "handle",
        "description_html",
        "category_id",
        "tags",
        "vendor",
        "product_type",
        "seo_title",
        "seo_description",
    }
)


@dataclass(frozen=True)
class ProductView:
    """A product with everything its pages and API answers show."""

    product: Product
    shop: Shop
    variants: list[Variant]
    images: list[ProductImage]
    category: Category | None
    breadcrumb: list[Category]
    reviews: list[ListingReview] = field(default_factory=list)


# ---- who may act -----------------------------------------------------------------------------


async def seller_shop(uow: UnitOfWork, principal: Principal, *, write: bool = False) -> Shop:
    """The principal's shop (see :mod:`shopreel.catalog.shops`): 403 ``shop_required``
    without one, 403 ``shop_suspended`` for changes to a suspended shop."""
    return await shops.seller_shop(uow, principal, write=write)


async def own_product(
    uow: UnitOfWork, principal: Principal, product_id: str, *, lock: bool = False
) -> tuple[Shop, Product]:
    """The seller's product; another shop's product is indistinguishable from a missing one.
    ``lock`` is for changes, so it also refuses a suspended shop."""
    shop = await seller_shop(uow, principal, write=lock)
    product = await repository.product_of_shop(uow.global_, shop.id, product_id, lock=lock)
    if product is None:
        raise ProductNotFound("No such product in your shop.")
    return shop, product


def require_reviewer(principal: Principal) -> Principal:
    """Staff with the ``catalog_reviewer`` duty, in a signed-in browser session (access
    tokens carry no staff powers). The catalog is global, so any region's reviewer may act."""
    if not principal.is_staff:
        raise PermissionDenied("Listing review is for staff only.")
    if CATALOG_REVIEWER not in principal.staff_roles:
        raise NotAReviewer("Listing review needs the 'catalog_reviewer' staff role.")
    if principal.auth != "session":
        raise StaffSessionRequired("Listing review needs a signed-in staff session.")
    return principal


# ---- helpers ---------------------------------------------------------------------------------


def _taxonomy() -> Taxonomy:
    return Taxonomy.load()


def _check_category(category_id: int | None) -> int | None:
    if category_id is None:
        return None
    if category_id not in _taxonomy():
        raise ValidationFailed(
            f"{category_id} is not a Google product taxonomy category id.",
            code="invalid_category",
            extra={"field": "category_id"},
        )
    return category_id


def _text(value: str, limit: int, name: str) -> str:
    text = " ".join(value.split())
    if len(text) > limit:
        raise ValidationFailed(f"{name} has at most {limit} characters.", extra={"field": name})
    return text


def _apply_rules(callable_: Any, *args: Any) -> Any:
    try:
        return callable_(*args)
    except rules.RuleViolation as violation:
        raise invalid(violation) from None


async def _bump_version(session: AsyncSession, product: Product, expected: int | None) -> None:
    """Optimistic concurrency: an atomic ``UPDATE … WHERE version = expected`` (the version the
    client read, or the one just loaded). Zero rows: someone else changed the product."""
    current = product.version if expected is None else expected
    if expected is not None and expected != product.version:
        raise VersionConflict(
            f"The product changed since you loaded it (version {product.version}, "
            f"you sent {expected}). Reload and try again.",
            extra={"current_version": product.version},
        )
    result = await session.execute(
        update(Product)
        .where(Product.id == product.id, Product.version == current)
        .values(version=current + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise VersionConflict("The product changed meanwhile. Reload and try again.")
    set_committed_value(product, "version", current + 1)
    product.updated_at = utcnow()


def _history_row(variant: Variant, shop_id: str, actor_id: str | None, reason: str) -> PriceChange:
    return PriceChange(
        id=new_id("prc"),
        variant_id=variant.id,
        shop_id=shop_id,
        sku=variant.sku,
        price_cents=variant.price_cents,
        compare_at_cents=variant.compare_at_cents,
        currency=variant.currency,
        changed_at=utcnow(),
        actor_id=actor_id,
        reason=reason,
    )


def _snapshot(product: Product, variants: Sequence[Variant]) -> rules.ListingSnapshot:
    return rules.ListingSnapshot(
        title=product.title,
        description_html=product.description_html,
        category_id=product.category_id,
        tags=tuple(product.tags or ()),
        prices=tuple((v.price_cents, v.compare_at_cents) for v in variants),
    )


async def _unique_auto_handle(session: AsyncSession, shop_id: str, title: str) -> str:
    base = rules.slugify(title)
    return rules.unique_handle(base, await repository.handles_starting(session, shop_id, base))


# ---- reading ---------------------------------------------------------------------------------


async def view_of(
    uow: UnitOfWork, shop: Shop, product: Product, *, reviews: bool = True
) -> ProductView:
    session = uow.global_
    category: Category | None = None
    breadcrumb: list[Category] = []
    taxonomy = _taxonomy()
    if product.category_id is not None and product.category_id in taxonomy:
        category = taxonomy.get(product.category_id)
        breadcrumb = [*taxonomy.ancestors(product.category_id), category]
    return ProductView(
        product=product,
        shop=shop,
        variants=await repository.variants_of(session, product.id),
        images=await repository.images_of(session, product.id),
        category=category,
        breadcrumb=breadcrumb,
        reviews=await repository.reviews_of(session, product.id) if reviews else [],
    )


async def seller_view(uow: UnitOfWork, principal: Principal, product_id: str) -> ProductView:
    shop, product = await own_product(uow, principal, product_id)
    return await view_of(uow, shop, product)


@dataclass(frozen=True)
class ProductPage:
    items: list[Product]
    variants: dict[str, list[Variant]]
    images: dict[str, ProductImage]
    next_cursor: str | None


async def list_own(
    uow: UnitOfWork,
    principal: Principal,
    *,
    status: str | None = None,
    q: str | None = None,
    category_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[Shop, ProductPage]:
    shop = await seller_shop(uow, principal)
    rows = await repository.list_shop_products(
        uow.global_,
        shop.id,
        status=status,
        q=(q or "").strip() or None,
        category_id=category_id,
        after=_parse_queue_cursor(cursor),
        limit=limit,
    )
    return shop, await _page(uow.global_, rows, limit)


async def _page(session: AsyncSession, rows: list[Product], limit: int) -> ProductPage:
    more = len(rows) > limit
    items = rows[:limit]
    ids = [p.id for p in items]
    return ProductPage(
        items=items,
        variants=await repository.variants_of_many(session, ids),
        images=await repository.first_images(session, ids),
        next_cursor=_cursor(items[-1].created_at, items[-1].id) if more and items else None,
    )


async def price_history(
    uow: UnitOfWork, principal: Principal, product_id: str
) -> list[PriceChange]:
    _, product = await own_product(uow, principal, product_id)
    return await repository.price_history_of(uow.global_, product.id)


# ---- writing ---------------------------------------------------------------------------------


def _new_variant(clean: rules.CleanVariant, product: Product, shop: Shop) -> Variant:
    return Variant(
        id=new_id("var"),
        product_id=product.id,
        shop_id=shop.id,
        sku=clean.sku,
        options=clean.options,
        options_key=clean.options_key,
        price_cents=clean.price_cents,
        compare_at_cents=clean.compare_at_cents,
        currency=DEFAULT_CURRENCY,
        weight_grams=clean.weight_grams,
        barcode=clean.barcode,
        position=clean.position,
        cost_cents=clean.cost_cents,
        updated_at=utcnow(),
    )


async def create_product(uow: UnitOfWork, principal: Principal, draft: ProductDraft) -> Product:
    """A new draft in the seller's shop, with its variants and their first price-history
    rows (reason ``create``). A given handle must be free in the shop (409 handle_taken);
    without one, the title is slugified and suffixed until free."""
    shop = await seller_shop(uow, principal, write=True)
    session = uow.global_
    title = _apply_rules(rules.check_title, draft.title)
    option_names = _apply_rules(rules.check_option_names, list(draft.option_names))
    variants = _apply_rules(rules.check_variants, option_names, list(draft.variants))
    tags = _apply_rules(rules.normalize_tags, list(draft.tags))
    category_id = _check_category(draft.category_id)
    if draft.handle is not None and draft.handle.strip():
        handle = _apply_rules(rules.check_handle, draft.handle)
        if await repository.handle_in_use(session, shop.id, handle):
            raise HandleTaken(
                f"Your shop already has a product with the handle {handle!r}.",
                extra={"field": "handle"},
            )
    else:
        handle = await _unique_auto_handle(session, shop.id, title)
    now = utcnow()
    product = Product(
        id=new_id("prd"),
        shop_id=shop.id,
        handle=handle,
        title=title,
        description_html=sanitize_html(draft.description_html, max_length=rules.MAX_DESCRIPTION),
        category_id=category_id,
        tags=tags,
        status=ProductStatus.DRAFT.value,
        created_at=now,
        updated_at=now,
        vendor=_text(draft.vendor, 255, "vendor"),
        product_type=_text(draft.product_type, 255, "product_type"),
        option_names=option_names,
        seo_title=_text(draft.seo_title, 255, "seo_title"),
        seo_description=_text(draft.seo_description, 1024, "seo_description"),
        attributes={},
        review_reasons=[],
        version=1,
    )
    session.add(product)
    await session.flush()
    rows = [_new_variant(clean, product, shop) for clean in variants]
    session.add_all(rows)
    await session.flush()
    session.add_all(_history_row(v, shop.id, principal.id, "create") for v in rows)
    await session.flush()
    return product


async def _apply_changes(
    session: AsyncSession, shop: Shop, product: Product, changes: Mapping[str, Any]
) -> None:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "title" in changes:
        product.title = _apply_rules(rules.check_title, changes["title"] or "")
    if "handle" in changes and changes["handle"] is not None:
        handle = _apply_rules(rules.check_handle, changes["handle"])
        if await repository.handle_in_use(session, shop.id, handle, except_id=product.id):
            raise HandleTaken(
                f"Your shop already has a product with the handle {handle!r}.",
                extra={"field": "handle"},
            )
        product.handle = handle
    if "description_html" in changes:
        product.description_html = sanitize_html(
            changes["description_html"] or "", max_length=rules.MAX_DESCRIPTION
        )
    if "category_id" in changes:
        product.category_id = _check_category(changes["category_id"])
    if "tags" in changes:
        product.tags = _apply_rules(rules.normalize_tags, list(changes["tags"] or []))
    for name, limit in (
        ("vendor", 255),
        ("product_type", 255),
        ("seo_title", 255),
        ("seo_description", 1024),
    ):
        if name in changes:
            setattr(product, name, _text(changes[name] or "", limit, name))
    await session.flush()


async def _apply_variants(
    session: AsyncSession,
    shop: Shop,
    product: Product,
    actor_id: str,
    existing: Sequence[Variant],
    names: list[str],
    clean: Sequence[rules.CleanVariant],
) -> list[Variant]:
    """Replace the grid (see :func:`replace_variants`); returns the variants in order."""
    product.option_names = names
    by_key = {variant.options_key: variant for variant in existing}
    wanted = {row.options_key for row in clean}
    gone = [variant.id for variant in existing if variant.options_key not in wanted]
    if gone:
        await session.execute(
            delete(Variant).where(Variant.id.in_(gone)).execution_options(synchronize_session=False)
        )
        for variant in existing:
            if variant.id in gone:
                session.expunge(variant)
    history: list[PriceChange] = []
    kept: list[Variant] = []
    for row in clean:
        found = by_key.get(row.options_key)
        if found is None:
            variant = _new_variant(row, product, shop)
            session.add(variant)
            history.append(_history_row(variant, shop.id, actor_id, "create"))
        else:
            variant = found
            old = (variant.price_cents, variant.compare_at_cents)
            variant.options = row.options
            variant.position = row.position
            variant.sku = row.sku
            variant.price_cents = row.price_cents
            variant.compare_at_cents = row.compare_at_cents
            variant.weight_grams = row.weight_grams
            variant.barcode = row.barcode
            variant.cost_cents = row.cost_cents
            variant.updated_at = utcnow()
            if rules.price_changed(old, (row.price_cents, row.compare_at_cents)):
                history.append(_history_row(variant, shop.id, actor_id, "update"))
        kept.append(variant)
    await session.flush()
    session.add_all(history)
    await session.flush()
    return kept


async def edit_product(
    uow: UnitOfWork,
    principal: Principal,
    product_id: str,
    *,
    changes: Mapping[str, Any] | None = None,
    variants: Sequence[rules.VariantSpec] | None = None,
    option_names: Sequence[str] | None = None,
    version: int | None = None,
) -> Product:
    """Change product fields and/or replace the variant grid in one step (the editor page
    saves both). A live listing whose title, description, category, tags or prices change
    is screened once more (see :func:`_rescreen_live`)."""
    shop, product = await own_product(uow, principal, product_id, lock=True)
    if not rules.editable(product.status):
        raise ProductArchived("Archived products cannot be edited; unarchive it first.")
    session = uow.global_
    clean: list[rules.CleanVariant] | None = None
    names = list(product.option_names or [])
    if option_names is not None:
        names = _apply_rules(rules.check_option_names, list(option_names))
    if variants is not None:
        clean = _apply_rules(rules.check_variants, names, list(variants))
    elif option_names is not None and names != list(product.option_names or []):
        raise ValidationFailed(
            "Change the option axes together with the variants.", code="invalid_options"
        )
    existing = await repository.variants_of(session, product.id)
    before = _snapshot(product, existing)
    await _bump_version(session, product, version)
    if changes:
        await _apply_changes(session, shop, product, changes)
    current = existing
    if clean is not None:
        current = await _apply_variants(
            session, shop, product, principal.id, existing, names, clean
        )
    await _rescreen_live(uow, shop, product, current, before)
    return product


async def update_product(
    uow: UnitOfWork,
    principal: Principal,
    product_id: str,
    changes: Mapping[str, Any],
    version: int,
) -> Product:
    """Change the product's own fields (not the variant grid)."""
    return await edit_product(uow, principal, product_id, changes=changes, version=version)


async def replace_variants(
    uow: UnitOfWork,
    principal: Principal,
    product_id: str,
    specs: Sequence[rules.VariantSpec],
    *,
    option_names: Sequence[str] | None = None,
    version: int | None = None,
) -> Product:
    """Replace the variant grid. A variant whose options (``options_key``) are unchanged keeps
    its id, so its price history and stock stay attached; variants no longer in the grid are
    deleted (with their history and stock); new ones get a ``create`` history row and changed
    prices an ``update`` row."""
    return await edit_product(
        uow, principal, product_id, variants=specs, option_names=option_names, version=version
    )


async def delete_product(uow: UnitOfWork, principal: Principal, product_id: str) -> str:
    """Drafts are deleted (with their variants, images and history); any other product has
    been seen by reviewers or shoppers, so it is archived instead. Returns what happened."""
    _, product = await own_product(uow, principal, product_id, lock=True)
    session = uow.global_
    if product.status == ProductStatus.DRAFT.value:
        await session.execute(
            delete(Product)
            .where(Product.id == product.id)
            .execution_options(synchronize_session=False)
        )
        session.expunge(product)
        return "deleted"
    if product.status != ProductStatus.ARCHIVED.value:
        await _set_status(session, product, rules.Action.ARCHIVE)
    return "archived"


async def _set_status(
    session: AsyncSession, product: Product, action: rules.Action, version: int | None = None
) -> ProductStatus:
    target = _apply_rules(rules.transition, product.status, action)
    await _bump_version(session, product, version)
    product.status = target.value
    await session.flush()
    assert isinstance(target, ProductStatus)
    return target


async def archive(uow: UnitOfWork, principal: Principal, product_id: str) -> Product:
    _, product = await own_product(uow, principal, product_id, lock=True)
    await _set_status(uow.global_, product, rules.Action.ARCHIVE)
    return product


async def unarchive(uow: UnitOfWork, principal: Principal, product_id: str) -> Product:
    """Back to draft: it must be submitted (and screened) again to go live."""
    _, product = await own_product(uow, principal, product_id, lock=True)
    await _set_status(uow.global_, product, rules.Action.UNARCHIVE)
    return product


# ---- screening -------------------------------------------------------------------------------


async def _rules(uow: UnitOfWork) -> review.ListingRules:
    try:
        return await review.load_rules(uow.control)
    except review.RulesInvalid as exc:
        raise RulesUnavailable(
            f"The listing rules in force do not validate ({exc}); screening is paused."
        ) from None


def facts_of(
    product: Product, variants: Sequence[Variant], image_count: int
) -> review.ListingFacts:
    return review.ListingFacts(
        title=product.title,
        description_text=sanitized_html_to_text(product.description_html),  # stored: clean
        tags=tuple(product.tags or ()),
        vendor=product.vendor,
        product_type=product.product_type,
        category_id=product.category_id,
        variants=tuple(
            review.VariantFacts(v.price_cents, v.compare_at_cents, v.sku) for v in variants
        ),
        image_count=image_count,
    )


async def screen_product(
    uow: UnitOfWork, shop: Shop, product: Product, variants: Sequence[Variant], *, note: str
) -> ReviewOutcome:
    """Run automated screening with the rules in force, record a ListingReview and show the
    findings to the seller (``product.review_reasons``)."""
    session = uow.global_
    listing_rules = await _rules(uow)
    count = await repository.image_count(session, product.id)
    findings = review.screen(facts_of(product, variants, count), listing_rules, _taxonomy())
    outcome = review.outcome_of(findings)
    reasons = [finding.as_json() for finding in findings]
    session.add(
        ListingReview(
            id=new_id("lrv"),
            product_id=product.id,
            shop_id=shop.id,
            outcome=outcome.value,
            reasons=reasons,
            reviewer_id=None,
            rules_version=listing_rules.version,
            note=note,
            created_at=utcnow(),
        )
    )
    product.review_reasons = reasons
    await session.flush()
    return outcome


async def _rescreen_live(
    uow: UnitOfWork,
    shop: Shop,
    product: Product,
    variants: Sequence[Variant],
    before: rules.ListingSnapshot,
) -> None:
    if product.status != ProductStatus.LIVE.value:
        return
    changed = rules.material_changes(before, _snapshot(product, variants))
    if not changed:
        return
    outcome = await screen_product(
        uow, shop, product, variants, note="re-screened after edit: " + ", ".join(changed)
    )
    target = rules.after_live_edit(outcome)
    if target is ProductStatus.PENDING_REVIEW:
        product.submitted_at = utcnow()
    product.status = target.value
    await uow.global_.flush()


async def submit(uow: UnitOfWork, principal: Principal, product_id: str) -> Product:
    """Ask for review: the shop must be approved; automated screening then sends the listing
    live (passed), to the staff queue (flagged) or back to the seller (prohibited)."""
    shop, product = await own_product(uow, principal, product_id, lock=True)
    if shop.status != ShopStatus.APPROVED.value:
        raise ShopNotApproved("Your shop must be approved before its products can go live.")
    session = uow.global_
    await _set_status(session, product, rules.Action.SUBMIT)
    product.submitted_at = utcnow()
    variants = await repository.variants_of(session, product.id)
    outcome = await screen_product(uow, shop, product, variants, note="submitted")
    target = rules.after_screening(outcome)
    product.status = target.value
    if target is ProductStatus.LIVE:
        product.live_at = utcnow()
    await session.flush()
    return product


# ---- staff listing review --------------------------------------------------------------------

QUEUE_STATUSES: Final = {
    "flagged": ProductStatus.PENDING_REVIEW,
    "rejected": ProductStatus.REJECTED,
    "live": ProductStatus.LIVE,
}


@dataclass(frozen=True)
class QueuePage:
    items: list[Product]
    shops: dict[str, Shop]
    next_cursor: str | None


def _queue_cursor(product: Product) -> str:
    return _cursor(product.submitted_at or product.created_at, product.id)


def _cursor(moment: datetime, product_id: str) -> str:
    """An opaque-to-clients keyset cursor: ``<ISO time>|<id>``."""
    return f"{as_utc(moment).isoformat()}|{product_id}"


def _parse_queue_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    moment, _, product_id = cursor.partition("|")
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        raise ValidationFailed("Invalid cursor.", code="invalid_cursor") from None
    if not product_id:
        raise ValidationFailed("Invalid cursor.", code="invalid_cursor")
    return parsed, product_id


async def review_queue(
    uow: UnitOfWork,
    reviewer: Principal,
    *,
    outcome: str = "flagged",
    cursor: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """Listings waiting for staff (``flagged``), or rejected / live ones; oldest first."""
    require_reviewer(reviewer)
    status = QUEUE_STATUSES.get(outcome)
    if status is None:
        raise ValidationFailed(
            f"outcome is one of {', '.join(QUEUE_STATUSES)}.", extra={"field": "outcome"}
        )
    rows = await repository.review_queue(
        uow.global_, status.value, after=_parse_queue_cursor(cursor), limit=limit
    )
    items = rows[:limit]
    shops = await repository.shops_by_ids(uow.global_, [p.shop_id for p in items])
    more = len(rows) > limit
    return QueuePage(items, shops, _queue_cursor(items[-1]) if more and items else None)


async def staff_view(uow: UnitOfWork, reviewer: Principal, product_id: str) -> ProductView:
    require_reviewer(reviewer)
    product = await repository.product(uow.global_, product_id)
    if product is None:
        raise ProductNotFound("No such product.")
    shop = await repository.shop_by_id(uow.global_, product.shop_id)
    assert shop is not None  # foreign key
    return await view_of(uow, shop, product)


def _clean_reasons(reasons: Sequence[str]) -> list[str]:
    cleaned = [" ".join(r.split()) for r in reasons if r and r.strip()]
    if len(cleaned) > MAX_REASONS or any(len(r) > MAX_REASON_LENGTH for r in cleaned):
        raise ValidationFailed(
            f"Give at most {MAX_REASONS} reasons of at most {MAX_REASON_LENGTH} characters.",
            extra={"field": "reasons"},
        )
    return cleaned


async def _staff_decision(
    uow: UnitOfWork,
    reviewer: Principal,
    product_id: str,
    action: rules.Action,
    reasons: Sequence[str],
    note: str,
) -> Product:
    require_reviewer(reviewer)
    session = uow.global_
    product = await repository.product(session, product_id, lock=True)
    if product is None:
        raise ProductNotFound("No such product.")
    cleaned = _clean_reasons(reasons)
    if action is not rules.Action.APPROVE and not cleaned:
        raise ValidationFailed(
            "Give the seller at least one reason.",
            code="reasons_required",
            extra={"field": "reasons"},
        )
    target = await _set_status(session, product, action)
    code = "takedown" if action is rules.Action.TAKEDOWN else "staff_rejected"
    findings = [
        review.Finding(code, review.Severity.PROHIBITED, reason).as_json() for reason in cleaned
    ]
    outcome = ReviewOutcome.APPROVED if target is ProductStatus.LIVE else ReviewOutcome.REJECTED
    now = utcnow()
    session.add(
        ListingReview(
            id=new_id("lrv"),
            product_id=product.id,
            shop_id=product.shop_id,
            outcome=outcome.value,
            reasons=findings,
            reviewer_id=reviewer.id,
            rules_version=None,
            note=" ".join(note.split())[:2000],
            created_at=now,
        )
    )
    product.review_reasons = findings
    if target is ProductStatus.LIVE:
        product.live_at = now
    await session.flush()
    await audit.append(
        uow.control,
        kind=AUDIT_TAKEDOWN if action is rules.Action.TAKEDOWN else AUDIT_REVIEW,
        actor_id=reviewer.id,
        subject_id=product.id,
        region=None,
        attributes={
            "action": action.value,
            "product": product.id,
            "shop": product.shop_id,
            "status": target.value,
            "reasons": list(cleaned),
        },
    )
    return product


async def approve(uow: UnitOfWork, reviewer: Principal, product_id: str, note: str = "") -> Product:
    """A flagged listing goes live (audited as ``catalog.review``)."""
    return await _staff_decision(uow, reviewer, product_id, rules.Action.APPROVE, [], note)


async def reject(
    uow: UnitOfWork, reviewer: Principal, product_id: str, reasons: Sequence[str], note: str = ""
) -> Product:
    """A flagged listing is rejected with reasons the seller sees (``catalog.review``)."""
    return await _staff_decision(uow, reviewer, product_id, rules.Action.REJECT, reasons, note)


async def takedown(
    uow: UnitOfWork, reviewer: Principal, product_id: str, reasons: Sequence[str], note: str = ""
) -> Product:
    """A live listing is removed (-> rejected) with reasons (``catalog.takedown``)."""
    return await _staff_decision(uow, reviewer, product_id, rules.Action.TAKEDOWN, reasons, note)


# ---- public catalog --------------------------------------------------------------------------


async def public_view(uow: UnitOfWork, product_id: str) -> ProductView:
    """A live product of an approved shop; anything else is 404."""
    session = uow.global_
    product = await repository.public_product(session, product_id)
    if product is None:
        raise ProductNotFound("No such product.")
    shop = await repository.shop_by_id(session, product.shop_id)
    assert shop is not None
    return await view_of(uow, shop, product, reviews=False)


@dataclass(frozen=True)
class PublicPage:
    items: list[Product]
    shops: dict[str, Shop]
    variants: dict[str, list[Variant]]
    images: dict[str, ProductImage]
    next_cursor: str | None


async def public_list(
    uow: UnitOfWork,
    *,
    shop_handle: str | None = None,
    category_id: int | None = None,
    cursor: str | None = None,
    limit: int = 24,
) -> PublicPage:
    session = uow.global_
    shop_id: str | None = None
    if shop_handle:
        shop = await repository.shop_by_handle(session, shop_handle)
        if shop is None:
            return PublicPage([], {}, {}, {}, None)
        shop_id = shop.id
    rows = await repository.list_public(
        session,
        shop_id=shop_id,
        category_id=category_id,
        after=_parse_queue_cursor(cursor),
        limit=limit,
    )
    page = await _page(session, rows, limit)
    shops = await repository.shops_by_ids(session, [p.shop_id for p in page.items])
    return PublicPage(page.items, shops, page.variants, page.images, page.next_cursor)
