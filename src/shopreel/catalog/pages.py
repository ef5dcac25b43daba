"""Catalog pages: the seller's product list and editor (``/seller/products``), the staff
listing review (``/staff/listings``) and the public product page (``/products/{id}``).

Everything works without JavaScript: the editor posts the whole variant grid as plain form
fields (``variant-<row>-<field>``) and "Generate combinations" is a submit button the server
answers by re-rendering the grid. ``static/js/product-editor.js`` only adds "Add a row".
Every rule is enforced by :mod:`shopreel.catalog.service`; the pages show its refusals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from shopreel.accounts.principal import Principal
from shopreel.catalog import repository, rules, service
from shopreel.catalog.errors import ProductNotFound
from shopreel.catalog.models import ImageStatus, Product, ProductImage, ProductStatus, Shop
from shopreel.catalog.money import MoneyError, format_minor_units, parse_minor_units
from shopreel.catalog.sanitize import sanitize_html
from shopreel.catalog.taxonomy import Taxonomy
from shopreel.deps import CurrentPrincipal, OptionalPrincipal, UowDep
from shopreel.errors import ShopReelError
from shopreel.kit.time import utcnow
from shopreel.media.deps import MediaStorageDep
from shopreel.media.storage import MediaStorage
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

IdPath = Annotated[str, Path(min_length=1, max_length=64)]
Notice = Annotated[str | None, Query(max_length=32)]
PAGE_SIZE: Final = 25
BLANK_ROWS: Final = 3
MAX_FORM_ROWS: Final = rules.MAX_VARIANTS + 20
VARIANT_FIELDS: Final = ("sku", "price", "compare_at", "weight", "barcode", "cost")

STATUS_LABELS: Final = {
    "draft": "Draft",
    "pending_review": "In review",
    "live": "Live",
    "rejected": "Rejected",
    "archived": "Archived",
}
NOTICES: Final[dict[str, tuple[str, str]]] = {
    "created": ("success", "Product created as a draft."),
    "saved": ("success", "Changes saved."),
    "live": ("success", "Your listing passed screening and is live."),
    "pending_review": (
        "warning",
        "Your listing needs a staff review before it goes live; the reasons are shown below.",
    ),
    "rejected": ("error", "Your listing was rejected; the reasons are shown below."),
    "archived": ("success", "Product archived."),
    "unarchived": ("success", "Product restored as a draft."),
    "deleted": ("success", "Draft deleted."),
    "approved": ("success", "Listing approved: it is live."),
    "staff_rejected": ("success", "Listing rejected; the seller sees your reasons."),
    "taken_down": ("success", "Listing taken down; the seller sees your reasons."),
}


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return ""
    text = format_minor_units(cents, currency)
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _notice(request: Request, notice: str | None) -> None:
    if notice in NOTICES:
        category, message = NOTICES[notice]
        flash(request, category, message)


def _image_src(storage: MediaStorage, image: ProductImage, size: str = "small") -> str | None:
    """Where a thumbnail can be shown from: our stored thumbnail, or an imported image's
    source URL when it is https (never http: mixed content, and never other schemes)."""
    if image.status == ImageStatus.READY.value and image.storage_key:
        key = (image.thumbnails or {}).get(size) or image.storage_key
        return storage.url(key)
    if image.source_url.lower().startswith("https://"):
        return image.source_url
    return None


def _images(storage: MediaStorage, images: list[ProductImage], size: str) -> list[dict[str, Any]]:
    return [
        {"src": _image_src(storage, image, size), "alt": image.alt, "id": image.id}
        for image in images
    ]


# ---- the editor form -------------------------------------------------------------------------


@dataclass
class EditorForm:
    """What the editor shows and posts: product fields, up to three axes (with the values
    used by "Generate combinations") and the variant rows, all as the text typed."""

    values: dict[str, str] = field(default_factory=dict)
    axes: list[str] = field(default_factory=lambda: ["", "", ""])
    axis_values: list[str] = field(default_factory=lambda: ["", "", ""])
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add_blank_rows(self, count: int = BLANK_ROWS) -> None:
        for _ in range(count):
            self.rows.append(_blank_row())


def _blank_row() -> dict[str, Any]:
    return {"options": ["", "", ""], **{name: "" for name in VARIANT_FIELDS}}


def _cents_text(cents: int | None) -> str:
    return "" if cents is None else format_minor_units(cents, "USD")


def form_of(product: Product, variants: list[Any]) -> EditorForm:
    names = list(product.option_names or [])
    form = EditorForm(
        values={
            "title": product.title,
            "handle": product.handle,
            "description_html": product.description_html,
            "category_id": "" if product.category_id is None else str(product.category_id),
            "tags": ", ".join(product.tags or []),
            "vendor": product.vendor,
            "product_type": product.product_type,
            "version": str(product.version),
        },
        axes=[*names, "", "", ""][:3],
    )
    seen: list[list[str]] = [[], [], []]
    for variant in variants:
        options = [variant.options.get(name, "") for name in names] + ["", "", ""]
        for index, value in enumerate(options[: len(names)]):
            if value and value not in seen[index]:
                seen[index].append(value)
        form.rows.append(
            {
                "options": options[:3],
                "sku": variant.sku,
                "price": _cents_text(variant.price_cents),
                "compare_at": _cents_text(variant.compare_at_cents),
                "weight": "" if variant.weight_grams is None else str(variant.weight_grams),
                "barcode": variant.barcode or "",
                "cost": _cents_text(variant.cost_cents),
            }
        )
    form.axis_values = [", ".join(values) for values in seen]
    form.add_blank_rows()
    return form


def _parse_form(data: FormData) -> EditorForm:
    def text(name: str, limit: int = 1000) -> str:
        value = data.get(name, "")
        return value[:limit] if isinstance(value, str) else ""

    form = EditorForm(
        values={
            name: text(name, 200_000 if name == "description_html" else 2000)
            for name in (
                "title",
                "handle",
                "description_html",
                "category_id",
                "tags",
                "vendor",
                "product_type",
                "version",
            )
        },
        axes=[text(f"option_{axis}", 300) for axis in range(3)],
        axis_values=[text(f"option_{axis}_values", 5000) for axis in range(3)],
    )
    try:
        count = min(int(text("variant_count", 8) or "0"), MAX_FORM_ROWS)
    except ValueError:
        count = 0
    for row in range(max(count, 0)):
        prefix = f"variant-{row}-"
        if text(prefix + "remove"):
            continue
        form.rows.append(
            {
                "options": [text(f"{prefix}option-{axis}", 300) for axis in range(3)],
                **{name: text(prefix + name, 300) for name in VARIANT_FIELDS},
            }
        )
    return form


class FormProblem(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("form problem")
        self.errors = errors


def _row_is_blank(row: dict[str, Any]) -> bool:
    return not any(str(v).strip() for v in row["options"]) and not any(
        str(row[name]).strip() for name in VARIANT_FIELDS
    )


def _amount(
    row: dict[str, Any],
    index: int,
    name: str,
    label: str,
    errors: dict[str, str],
    *,
    required: bool,
) -> int | None:
    """Dollars typed in the grid as cents; a refusal goes into ``errors`` under the row."""
    raw = str(row[name]).strip()
    if not raw:
        if required:
            errors[f"variant-{index}"] = f"Variant {index + 1}: enter a {label}."
        return None
    try:
        return parse_minor_units(raw, "USD", max_minor=rules.MAX_CENTS)
    except MoneyError as exc:
        errors[f"variant-{index}"] = f"Variant {index + 1}: {label} {exc.reason}."
        return None


def _specs(form: EditorForm) -> tuple[list[str], list[rules.VariantSpec]]:
    """The axes and variant specs of a posted form; FormProblem for unreadable amounts."""
    axes = [axis.strip() for axis in form.axes if axis.strip()]
    errors: dict[str, str] = {}
    specs: list[rules.VariantSpec] = []
    form.rows = [row for row in form.rows if not _row_is_blank(row)]
    for index, row in enumerate(form.rows):
        price = _amount(row, index, "price", "price", errors, required=True)
        compare_at = _amount(row, index, "compare_at", "compare-at price", errors, required=False)
        cost = _amount(row, index, "cost", "cost", errors, required=False)
        weight_text = str(row["weight"]).strip()
        weight: int | None = None
        if weight_text:
            if weight_text.isdigit():
                weight = int(weight_text)
            else:
                errors[f"variant-{index}"] = f"Variant {index + 1}: weight is whole grams."
        options = {
            axis: str(row["options"][position])
            for position, axis in enumerate(form.axes)
            if axis.strip()
        }
        specs.append(
            rules.VariantSpec(
                options=options,
                sku=str(row["sku"]),
                price_cents=price or 0,
                compare_at_cents=compare_at,
                weight_grams=weight,
                barcode=str(row["barcode"]) or None,
                cost_cents=cost,
            )
        )
    if errors:
        raise FormProblem(errors)
    return axes, specs


def _category(form: EditorForm) -> int | None:
    raw = form.values.get("category_id", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise FormProblem({"category_id": "A category is a number from the taxonomy."})
    return int(raw)


def _changes(form: EditorForm) -> dict[str, Any]:
    return {
        "title": form.values.get("title", ""),
        "handle": form.values.get("handle", "").strip() or None,
        "description_html": form.values.get("description_html", ""),
        "category_id": _category(form),
        "tags": rules.split_tags(form.values.get("tags", "")),
        "vendor": form.values.get("vendor", ""),
        "product_type": form.values.get("product_type", ""),
    }


def _error_key(error: ShopReelError) -> str:
    where = str(error.extra.get("field") or "")
    if where.startswith("variants[") and "]" in where:
        return "variant-" + where[len("variants[") : where.index("]")]
    if where.startswith("option_names"):
        return "options"
    if where.startswith("tags"):
        return "tags"
    if where in ("title", "handle", "category_id", "description_html", "vendor", "product_type"):
        return where
    return "form"


def _generate(form: EditorForm) -> None:
    """Fill the grid with every combination of the axes' values (keeping typed rows)."""
    axes = [index for index, axis in enumerate(form.axes) if axis.strip()]
    values = [
        [v.strip() for v in form.axis_values[index].split(",") if v.strip()] for index in axes
    ]
    if not axes or any(not vals for vals in values):
        raise FormProblem({"options": "Give each option axis a name and comma-separated values."})
    existing = {
        tuple(str(row["options"][i]).strip().casefold() for i in axes)
        for row in form.rows
        if not _row_is_blank(row)
    }
    form.rows = [row for row in form.rows if not _row_is_blank(row)]
    for combo in rules.combinations(values):
        if tuple(v.casefold() for v in combo) in existing:
            continue
        if len(form.rows) >= rules.MAX_VARIANTS:
            break
        row = _blank_row()
        for position, index in enumerate(axes):
            row["options"][index] = combo[position]
        form.rows.append(row)


# ---- seller pages ----------------------------------------------------------------------------


async def _seller_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    shop: Shop | None = None,
) -> HTMLResponse:
    shop = shop or await service.seller_shop(uow, principal)
    base = {"section": "products", "shop": shop, "money": money, "labels": STATUS_LABELS}
    return render(request, f"seller/{template}", {**base, **context}, status=status)


@router.get("/seller/products", response_class=HTMLResponse)
async def products_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    notice: Notice = None,
) -> Response:
    if await repository.shop_of_owner(uow.global_, principal.id) is None:
        return redirect(request, "/seller/onboarding")
    _notice(request, notice)
    chosen = status if status in STATUS_LABELS else None
    shop, page = await service.list_own(
        uow, principal, status=chosen, q=q, cursor=cursor, limit=PAGE_SIZE
    )
    counts = await repository.count_by_status(uow.global_, shop.id)
    rows = []
    for product in page.items:
        variants = page.variants.get(product.id, [])
        image = page.images.get(product.id)
        rows.append(
            {
                "product": product,
                "variant_count": len(variants),
                "min_price": min((v.price_cents for v in variants), default=None),
                "skus": [v.sku for v in variants if v.sku][:3],
                "thumb": _image_src(storage, image) if image else None,
            }
        )
    params = {k: v for k, v in (("status", chosen), ("q", q)) if v}
    return await _seller_page(
        request,
        uow,
        principal,
        "products.html",
        {
            "rows": rows,
            "status_filter": chosen,
            "q": q or "",
            "counts": counts,
            "total": sum(counts.values()),
            "params": params,
            "next_cursor": page.next_cursor,
            "first_page": not cursor,
        },
        shop=shop,
    )


@router.get("/seller/categories", response_class=HTMLResponse)
async def categories_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Find a Google product category id by name (the editor takes the id)."""
    results = Taxonomy.load().search(q, limit=50) if q else []
    return await _seller_page(
        request,
        uow,
        principal,
        "products_categories.html",
        {"q": q or "", "results": results},
    )


async def _editor(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    storage: MediaStorage,
    form: EditorForm,
    *,
    view: service.ProductView | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    taxonomy = Taxonomy.load()
    category_text = form.values.get("category_id", "").strip()
    breadcrumb = None
    if category_text.isdigit() and int(category_text) in taxonomy:
        breadcrumb = taxonomy.get(int(category_text)).breadcrumb
    context: dict[str, Any] = {
        "form": form,
        "errors": errors or {},
        "breadcrumb": breadcrumb,
        "view": view,
        "product": view.product if view else None,
        "history": [],
        "max_variants": rules.MAX_VARIANTS,
    }
    if view is not None:
        context["history"] = (await repository.price_history_of(uow.global_, view.product.id))[:50]
        context["sku_of"] = {v.id: v.sku for v in view.variants}
        context["gallery"] = _images(storage, view.images, "small")
        try:
            from shopreel.catalog.image_pages import product_images_context

            context.update(await product_images_context(request, uow, storage, view.product))
        except ImportError:  # pragma: no cover - the images pages ship in the same package
            pass
    return await _seller_page(
        request, uow, principal, "product_editor.html", context, status=status
    )


@router.get("/seller/products/new", response_class=HTMLResponse)
async def new_product_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    if await repository.shop_of_owner(uow.global_, principal.id) is None:
        return redirect(request, "/seller/onboarding")
    form = EditorForm()
    form.add_blank_rows()
    return await _editor(request, uow, principal, storage, form)


async def _refuse(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    storage: MediaStorage,
    form: EditorForm,
    errors: dict[str, str],
    status: int,
    product_id: str | None,
) -> HTMLResponse:
    """Show the typed form again with the errors; nothing of this request is kept."""
    await uow.global_.rollback()
    view = await service.seller_view(uow, principal, product_id) if product_id else None
    if len(form.rows) < rules.MAX_VARIANTS:
        form.add_blank_rows(1)
    if view is not None:
        form.values["version"] = form.values.get("version") or str(view.product.version)
    return await _editor(
        request, uow, principal, storage, form, view=view, errors=errors, status=status
    )


@router.post("/seller/products/new", response_class=HTMLResponse)
async def create_product_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    form = _parse_form(await request.form())
    if "generate" in (await request.form()):
        try:
            _generate(form)
        except FormProblem as problem:
            return await _refuse(request, uow, principal, storage, form, problem.errors, 422, None)
        form.add_blank_rows(1)
        return await _editor(request, uow, principal, storage, form)
    try:
        axes, specs = _specs(form)
        changes = _changes(form)
        product = await service.create_product(
            uow,
            principal,
            service.ProductDraft(
                title=changes["title"],
                handle=changes["handle"],
                description_html=changes["description_html"],
                category_id=changes["category_id"],
                tags=changes["tags"],
                vendor=changes["vendor"],
                product_type=changes["product_type"],
                option_names=axes,
                variants=specs,
            ),
        )
    except FormProblem as problem:
        return await _refuse(request, uow, principal, storage, form, problem.errors, 422, None)
    except ShopReelError as error:
        if isinstance(error, ProductNotFound) or error.status in (401, 403):
            raise
        errors = {_error_key(error): error.detail}
        return await _refuse(request, uow, principal, storage, form, errors, error.status, None)
    return redirect(request, f"/seller/products/{product.id}?notice=created")


@router.get("/seller/products/{product_id}", response_class=HTMLResponse)
async def product_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
    notice: Notice = None,
) -> Response:
    view = await service.seller_view(uow, principal, product_id)
    _notice(request, notice)
    return await _editor(
        request, uow, principal, storage, form_of(view.product, view.variants), view=view
    )


@router.post("/seller/products/{product_id}", response_class=HTMLResponse)
async def save_product_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    data = await request.form()
    form = _parse_form(data)
    await service.own_product(uow, principal, product_id)  # 404 before anything else
    if "generate" in data:
        try:
            _generate(form)
        except FormProblem as problem:
            return await _refuse(
                request, uow, principal, storage, form, problem.errors, 422, product_id
            )
        form.add_blank_rows(1)
        view = await service.seller_view(uow, principal, product_id)
        return await _editor(request, uow, principal, storage, form, view=view)
    try:
        axes, specs = _specs(form)
        version_text = form.values.get("version", "")
        version = int(version_text) if version_text.isdigit() else None
        await service.edit_product(
            uow,
            principal,
            product_id,
            changes=_changes(form),
            variants=specs,
            option_names=axes,
            version=version,
        )
    except FormProblem as problem:
        return await _refuse(
            request, uow, principal, storage, form, problem.errors, 422, product_id
        )
    except ShopReelError as error:
        if isinstance(error, ProductNotFound) or error.status in (401, 403):
            raise
        errors = {_error_key(error): error.detail}
        if error.code == "version_conflict":
            errors = {
                "form": "Someone changed this product since you opened it. Your edits are "
                "below; the saved version is shown after reloading the page."
            }
        return await _refuse(
            request, uow, principal, storage, form, errors, error.status, product_id
        )
    return redirect(request, f"/seller/products/{product_id}?notice=saved")


async def _status_action(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    storage: MediaStorage,
    product_id: str,
    action: str,
) -> Response:
    try:
        if action == "submit":
            product = await service.submit(uow, principal, product_id)
            notice = product.status
        elif action == "archive":
            await service.archive(uow, principal, product_id)
            notice = "archived"
        elif action == "unarchive":
            await service.unarchive(uow, principal, product_id)
            notice = "unarchived"
        else:
            outcome = await service.delete_product(uow, principal, product_id)
            if outcome == "deleted":
                return redirect(request, "/seller/products?notice=deleted")
            notice = "archived"
    except ShopReelError as error:
        if isinstance(error, ProductNotFound) or error.status in (401, 403, 503):
            raise
        await uow.global_.rollback()
        flash(request, "error", error.detail)
        view = await service.seller_view(uow, principal, product_id)
        return await _editor(
            request,
            uow,
            principal,
            storage,
            form_of(view.product, view.variants),
            view=view,
            status=error.status,
        )
    return redirect(request, f"/seller/products/{product_id}?notice={notice}")


@router.post("/seller/products/{product_id}/submit")
async def submit_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    return await _status_action(request, uow, principal, storage, product_id, "submit")


@router.post("/seller/products/{product_id}/archive")
async def archive_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    return await _status_action(request, uow, principal, storage, product_id, "archive")


@router.post("/seller/products/{product_id}/unarchive")
async def unarchive_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    return await _status_action(request, uow, principal, storage, product_id, "unarchive")


@router.post("/seller/products/{product_id}/delete")
async def delete_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    return await _status_action(request, uow, principal, storage, product_id, "delete")


# ---- staff listing review --------------------------------------------------------------------


@router.get("/staff/listings", response_class=HTMLResponse)
async def listings_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    outcome: Annotated[str, Query(max_length=16)] = "flagged",
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    service.require_reviewer(principal)
    chosen = outcome if outcome in service.QUEUE_STATUSES else "flagged"
    page = await service.review_queue(
        uow, principal, outcome=chosen, cursor=cursor, limit=PAGE_SIZE
    )
    return render(
        request,
        "staff/listings.html",
        {
            "section": "listings",
            "items": page.items,
            "shops": page.shops,
            "outcome": chosen,
            "next_cursor": page.next_cursor,
            "labels": STATUS_LABELS,
        },
    )


async def _listing_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    storage: MediaStorage,
    product_id: str,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    view = await service.staff_view(uow, principal, product_id)
    return render(
        request,
        "staff/listings_detail.html",
        {
            "section": "listings",
            "view": view,
            "product": view.product,
            "gallery": _images(storage, view.images, "small"),
            "description_html": sanitize_html(view.product.description_html),
            "money": money,
            "labels": STATUS_LABELS,
            "form": form or {},
        },
        status=status,
    )


@router.get("/staff/listings/{product_id}", response_class=HTMLResponse)
async def listing_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
    notice: Notice = None,
) -> Response:
    service.require_reviewer(principal)
    _notice(request, notice)
    return await _listing_page(request, uow, principal, storage, product_id)


def _reasons(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/staff/listings/{product_id}/{decision}", response_class=HTMLResponse)
async def decide_listing(
    product_id: IdPath,
    decision: Annotated[str, Path(pattern="^(approve|reject|takedown)$")],
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    service.require_reviewer(principal)
    data = await request.form()
    reasons_text = str(data.get("reasons", ""))[:6000]
    note = str(data.get("note", ""))[:2000]
    try:
        if decision == "approve":
            await service.approve(uow, principal, product_id, note)
            notice = "approved"
        elif decision == "reject":
            await service.reject(uow, principal, product_id, _reasons(reasons_text), note)
            notice = "staff_rejected"
        else:
            await service.takedown(uow, principal, product_id, _reasons(reasons_text), note)
            notice = "taken_down"
    except ShopReelError as error:
        if isinstance(error, ProductNotFound) or error.status in (401, 403):
            raise
        await uow.global_.rollback()
        await uow.control.rollback()
        flash(request, "error", error.detail)
        return await _listing_page(
            request,
            uow,
            principal,
            storage,
            product_id,
            status=error.status,
            form={"decision": decision, "reasons": reasons_text, "note": note},
        )
    return redirect(request, f"/staff/listings/{product_id}?notice={notice}")


# ---- public ----------------------------------------------------------------------------------


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def public_product_page(
    product_id: IdPath,
    request: Request,
    _guard: PageGuard,
    principal: OptionalPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
) -> Response:
    from shopreel.inventory.repository import best_available
    from shopreel.promotions.service import active_deals

    view = await service.public_view(uow, product_id)
    prices = [v.price_cents for v in view.variants]
    variant_ids = [v.id for v in view.variants]
    available = await best_available(uow.global_, variant_ids)
    deals = await active_deals(uow.global_, variant_ids, utcnow())
    in_stock = [v.id for v in view.variants if available.get(v.id, 0) > 0]
    return render(
        request,
        "catalog/product.html",
        {
            "view": view,
            "available": available,
            "deals": deals,
            "first_in_stock": in_stock[0] if in_stock else None,
            "product": view.product,
            "shop": view.shop,
            "gallery": _images(storage, view.images, "medium"),
            "description_html": sanitize_html(view.product.description_html),
            "money": money,
            "min_price": min(prices, default=None),
            "max_price": max(prices, default=None),
            "status_live": ProductStatus.LIVE.value,
        },
    )


@router.get("/products", response_class=HTMLResponse)
async def public_products_page(
    request: Request,
    _guard: PageGuard,
    principal: OptionalPrincipal,
    uow: UowDep,
    storage: MediaStorageDep,
    shop: Annotated[str | None, Query(max_length=64)] = None,
    category_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    page = await service.public_list(
        uow, shop_handle=shop, category_id=category_id, cursor=cursor, limit=PAGE_SIZE
    )
    cards = []
    for product in page.items:
        variants = page.variants.get(product.id, [])
        image = page.images.get(product.id)
        cards.append(
            {
                "product": product,
                "shop": page.shops[product.shop_id],
                "min_price": min((v.price_cents for v in variants), default=None),
                "thumb": _image_src(storage, image, "medium") if image else None,
                "alt": image.alt if image else "",
            }
        )
    shop_row = await repository.shop_by_handle(uow.global_, shop) if shop else None
    params = {k: v for k, v in (("shop", shop), ("category_id", category_id)) if v}
    return render(
        request,
        "catalog/products.html",
        {
            "cards": cards,
            "money": money,
            "shop": shop_row,
            "params": params,
            "next_cursor": page.next_cursor,
        },
    )
