"""Seller center pages (overview with the checklist, onboarding, shop profile), the staff
review pages (queue, application with a purpose picker and decisions) and the public shop
page.

Every rule is enforced by :mod:`.service`; the pages show its refusals inline or as flash
messages. A failed form rolls the unit of work back before rendering, so a half-done change
is never committed with the error page.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.accounts.principal import Principal
from shopreel.catalog.image_pages import flash_image_notice
from shopreel.catalog.models import Shop
from shopreel.catalog.money import MoneyError, format_minor_units, parse_minor_units
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import PermissionDenied, ShopReelError
from shopreel.kit.countries import country_choices
from shopreel.runtime import Runtime
from shopreel.sellers import privacy as _privacy  # noqa: F401 - registers export/erase hooks
from shopreel.sellers import rules, service
from shopreel.sellers.models import ApplicationKind, ApplicationState
from shopreel.sellers.rules import Action
from shopreel.sovereignty.access import AccessDenied
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

PURPOSES: Final = (
    ("seller_verification", "Seller verification"),
    ("fraud_investigation", "Fraud investigation"),
    ("legal_request", "Legal request"),
    ("support_case", "Support case"),
)
"""Purposes offered on the review page (the policies decide; rule 2 of access.cedar)."""
STATES: Final = tuple(s.value for s in ApplicationState)
KINDS: Final = (
    (ApplicationKind.INDIVIDUAL.value, "Individual (sole proprietor)"),
    (ApplicationKind.BUSINESS.value, "Business (company with an EIN)"),
)
NOTICES: Final[dict[str, tuple[str, str]]] = {
    "started": ("success", "Your application is started. Fill in each section, then submit."),
    "saved": ("success", "Saved."),
    "submitted": ("success", "Submitted. We will review your application shortly."),
    "shop_saved": ("success", "Shop profile saved."),
    "shipping_saved": ("success", "Shipping settings saved."),
    "approve": ("success", "Application approved; the shop is live."),
    "reject": ("success", "Application rejected; the seller sees your reasons."),
    "suspend": ("success", "Seller suspended; the shop is hidden."),
    "reinstate": ("success", "Seller reinstated; the shop is live again."),
}
Notice = Annotated[str | None, Query(max_length=32)]


def _notice(request: Request, notice: str | None) -> None:
    if notice in NOTICES:
        category, message = NOTICES[notice]
        flash(request, category, message)


def _form_key(field: str) -> str:
    return field.replace(".", "_")


def _errors(error: ShopReelError) -> dict[str, str]:
    """Field errors of a service refusal, keyed by form field name ("form": the rest)."""
    listed = error.extra.get("errors")
    if isinstance(listed, list) and listed:
        return {_form_key(str(item["field"])): str(item["message"]) for item in listed}
    missing = error.extra.get("missing")
    if isinstance(missing, list) and missing:
        return {_form_key(str(f)): "Required before you submit." for f in missing}
    field = error.extra.get("field")
    return {_form_key(str(field)) if field else "form": error.detail}


async def _failed(uow: UnitOfWork) -> None:
    """Nothing of a refused form is kept (the request's commit would otherwise keep it)."""
    await uow.rollback()


# ---- seller center -----------------------------------------------------------------------------


def _seller_page(
    request: Request,
    template: str,
    section: str,
    shop: Shop | None,
    context: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    return render(
        request, f"seller/{template}", {"section": section, "shop": shop, **context}, status
    )


@router.get("/seller", response_class=HTMLResponse)
async def overview(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    notice: Notice = None,
) -> Response:
    _notice(request, notice)
    view = await service.find_my_application(uow, runtime, principal)
    shop = await service.shop_of(uow, principal.id)
    items = await service.checklist(uow, principal) if (view or shop) else []
    return _seller_page(
        request,
        "overview.html",
        "overview",
        shop,
        {
            "application": view.application if view else None,
            "missing": list(view.missing) if view else [],
            "items": items,
            "done": sum(1 for item in items if item.done),
        },
    )


def _application_form(view: service.ApplicationView) -> dict[str, str]:
    data = view.data
    address = data.address or {}
    contact = data.contact or {}
    return {
        "legal_name": data.legal_name or "",
        **{
            f"address_{k}": address.get(k, "")
            for k in ("line1", "line2", "city", "state", "postal_code", "country")
        },
        "tax_id": "",
        "contact_email": contact.get("email", ""),
        "contact_phone": contact.get("phone", ""),
        "bank_routing_number": (data.bank or {}).get("routing_number", ""),
    }


async def _onboarding_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    view = await service.find_my_application(uow, runtime, principal)
    shop = view.shop if view else await service.shop_of(uow, principal.id)
    context: dict[str, Any] = {
        "application": view.application if view else None,
        "kinds": KINDS,
        "countries": country_choices(),
        "us_states": sorted(rules.USPS_STATES),
        "errors": errors or {},
    }
    if view is None:
        context["form"] = form or {"kind": "", "handle": "", "shop_name": "", "description": ""}
        return _seller_page(request, "onboarding_start.html", "onboarding", shop, context, status)
    data = view.data
    context.update(
        {
            "form": {**_application_form(view), **(form or {})},
            "missing": list(view.missing),
            "editable": rules.is_editable(view.application.state),
            "tax_id_last4": data.tax_id[-4:] if data.tax_id else None,
            "bank_last4": (data.bank or {}).get("account_last4"),
            "history": view.history,
        }
    )
    return _seller_page(request, "onboarding.html", "onboarding", shop, context, status)


@router.get("/seller/onboarding", response_class=HTMLResponse)
async def onboarding(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    notice: Notice = None,
) -> Response:
    _notice(request, notice)
    return await _onboarding_page(request, uow, runtime, principal)


@router.post("/seller/onboarding/start", response_class=HTMLResponse)
async def start(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    kind: Annotated[str, Form(max_length=16)] = "",
    handle: Annotated[str, Form(max_length=100)] = "",
    shop_name: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        await service.apply(
            uow,
            runtime,
            principal,
            kind=kind,
            handle=handle,
            shop_name=shop_name,
            description=description,
        )
    except ShopReelError as error:
        await _failed(uow)
        form = {"kind": kind, "handle": handle, "shop_name": shop_name, "description": description}
        return await _onboarding_page(
            request, uow, runtime, principal, form=form, errors=_errors(error), status=error.status
        )
    return redirect(request, "/seller/onboarding?notice=started")


@router.post("/seller/onboarding", response_class=HTMLResponse)
async def save(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    legal_name: Annotated[str, Form(max_length=400)] = "",
    address_line1: Annotated[str, Form(max_length=300)] = "",
    address_line2: Annotated[str, Form(max_length=300)] = "",
    address_city: Annotated[str, Form(max_length=200)] = "",
    address_state: Annotated[str, Form(max_length=50)] = "",
    address_postal_code: Annotated[str, Form(max_length=30)] = "",
    address_country: Annotated[str, Form(max_length=2)] = "",
    tax_id: Annotated[str, Form(max_length=20)] = "",
    contact_email: Annotated[str, Form(max_length=320)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    bank_routing_number: Annotated[str, Form(max_length=20)] = "",
    bank_account_number: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Save the sections that were filled in; an empty tax id or account number keeps the
    stored one (the page never shows them back)."""
    address = {
        "line1": address_line1,
        "line2": address_line2,
        "city": address_city,
        "state": address_state,
        "postal_code": address_postal_code,
        "country": address_country,
    }
    contact = {"email": contact_email, "phone": contact_phone}
    changes = service.ApplicationChanges(
        legal_name=legal_name if legal_name.strip() else None,
        address=address if any(v.strip() for v in address.values()) else None,
        tax_id=tax_id if tax_id.strip() else None,
        contact=contact if any(v.strip() for v in contact.values()) else None,
        bank=(
            {"routing_number": bank_routing_number, "account_number": bank_account_number}
            if bank_account_number.strip()
            else None
        ),
    )
    try:
        await service.update_application(uow, runtime, principal, changes)
    except ShopReelError as error:
        await _failed(uow)
        form = {
            "legal_name": legal_name,
            **{f"address_{k}": v for k, v in address.items()},
            "contact_email": contact_email,
            "contact_phone": contact_phone,
            "bank_routing_number": bank_routing_number,
        }
        return await _onboarding_page(
            request, uow, runtime, principal, form=form, errors=_errors(error), status=error.status
        )
    return redirect(request, "/seller/onboarding?notice=saved")


@router.post("/seller/onboarding/submit", response_class=HTMLResponse)
async def submit(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        await service.submit(uow, runtime, principal)
    except ShopReelError as error:
        await _failed(uow)
        errors = _errors(error)
        if error.extra.get("missing"):
            errors = {"form": "Fill in every required field before you submit.", **errors}
        return await _onboarding_page(
            request, uow, runtime, principal, errors=errors, status=error.status
        )
    return redirect(request, "/seller/onboarding?notice=submitted")


def _dollars(cents: int | None) -> str:
    return "" if cents is None else format_minor_units(cents, "USD")


async def _shop_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    profile: dict[str, str] | None = None,
    shipping: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    shop = await service.my_shop(uow, principal)
    return _seller_page(
        request,
        "shop.html",
        "shop",
        shop,
        {
            "profile": profile or {"name": shop.name, "description": shop.description},
            "shipping": shipping
            or {
                "default_handling_days": str(shop.default_handling_days),
                "flat_shipping": _dollars(shop.flat_shipping_cents),
                "free_shipping_threshold": _dollars(shop.free_shipping_threshold_cents),
            },
            "errors": errors or {},
            "description_max": rules.DESCRIPTION_MAX,
            "max_handling_days": service.MAX_HANDLING_DAYS,
        },
        status,
    )


@router.get("/seller/shop", response_class=HTMLResponse)
async def shop_page(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    notice: Notice = None,
) -> Response:
    if await service.shop_of(uow, principal.id) is None:
        return redirect(request, "/seller/onboarding")
    _notice(request, notice)
    flash_image_notice(request)  # coming back from the logo upload form
    return await _shop_page(request, uow, principal)


@router.post("/seller/shop", response_class=HTMLResponse)
async def save_shop(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    name: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        await service.update_shop(uow, principal, name=name, description=description)
    except ShopReelError as error:
        await _failed(uow)
        profile = {"name": name, "description": description}
        return await _shop_page(
            request, uow, principal, profile=profile, errors=_errors(error), status=error.status
        )
    return redirect(request, "/seller/shop?notice=shop_saved")


@router.post("/seller/shop/shipping", response_class=HTMLResponse)
async def save_shipping(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    default_handling_days: Annotated[str, Form(max_length=8)] = "",
    flat_shipping: Annotated[str, Form(max_length=20)] = "",
    free_shipping_threshold: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Amounts are typed in dollars ("5.99") and stored in cents."""
    form = {
        "default_handling_days": default_handling_days,
        "flat_shipping": flat_shipping,
        "free_shipping_threshold": free_shipping_threshold,
    }
    errors: dict[str, str] = {}
    days = int(default_handling_days) if default_handling_days.strip().isdigit() else -1
    if days < 0:
        errors["default_handling_days"] = "Enter a whole number of days."
    amounts: dict[str, int | None] = {}
    for key, raw in (
        ("flat_shipping", flat_shipping),
        ("free_shipping_threshold", free_shipping_threshold),
    ):
        if not raw.strip():
            amounts[key] = None if key == "free_shipping_threshold" else 0
            continue
        try:
            amounts[key] = parse_minor_units(
                raw.strip().lstrip("$"), "USD", max_minor=service.MAX_CENTS
            )
        except MoneyError as problem:
            errors[key] = f"Enter an amount such as 5.99 ({problem.reason})."
    if not errors:
        try:
            await service.set_shipping(
                uow,
                principal,
                handling_days=days,
                flat_cents=amounts["flat_shipping"] or 0,
                threshold_cents=amounts["free_shipping_threshold"],
            )
            return redirect(request, "/seller/shop?notice=shipping_saved")
        except ShopReelError as error:
            await _failed(uow)
            errors = {key.replace("_cents", ""): message for key, message in _errors(error).items()}
    return await _shop_page(request, uow, principal, shipping=form, errors=errors, status=422)


# ---- public shop page --------------------------------------------------------------------------


@router.get("/shops/{handle}", response_class=HTMLResponse)
async def public_shop(
    request: Request,
    _guard: PageGuard,
    uow: UowDep,
    handle: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    shop, products = await service.public_shop(uow, handle)
    return render(
        request,
        "shops/shop.html",
        {
            "shop": shop,
            "products": [
                {
                    "id": p.id,
                    "title": p.title,
                    "price": format_minor_units(p.min_price_cents, p.currency),
                }
                for p in products
            ],
        },
    )


# ---- staff review ------------------------------------------------------------------------------


async def require_reviewer(principal: CurrentPrincipal, runtime: RuntimeDep) -> Principal:
    """A seller_ops staff member in a browser session (403 page otherwise)."""
    if principal.auth != "session":
        raise PermissionDenied("Seller review needs a signed-in staff session.")
    service.review_region(runtime, principal)
    return principal


Reviewer = Annotated[Principal, Depends(require_reviewer)]
IdPath = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/staff/sellers", response_class=HTMLResponse)
async def queue(
    request: Request,
    _guard: PageGuard,
    staff: Reviewer,
    uow: UowDep,
    runtime: RuntimeDep,
    state: Annotated[str, Query(max_length=16)] = "submitted",
) -> Response:
    chosen = state if state in STATES else "submitted"
    rows = await service.staff_queue(uow, runtime, staff, chosen)
    return render(
        request,
        "staff/sellers.html",
        {
            "section": "sellers",
            "rows": rows,
            "state": chosen,
            "states": STATES,
            "region": service.review_region(runtime, staff),
        },
    )


async def _review_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    staff: Principal,
    application_id: str,
    *,
    read: dict[str, Any] | None = None,
    denial: dict[str, Any] | None = None,
    purpose: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    application, shop = await service.staff_summary(uow, runtime, staff, application_id)
    history = await service.history_of(uow, application)
    return render(
        request,
        "staff/sellers_application.html",
        {
            "section": "sellers",
            "application": application,
            "shop": shop,
            "history": history,
            "actions": [a.value for a in rules.allowed_actions(application.state)],
            "own": application.user_id == staff.id,
            "purposes": PURPOSES,
            "purpose": purpose,
            "read": read,
            "personal": (read or {}).get("data", {}).get("application") if read else None,
            "denial": denial,
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/staff/sellers/{application_id}", response_class=HTMLResponse)
async def review(
    request: Request,
    _guard: PageGuard,
    staff: Reviewer,
    uow: UowDep,
    runtime: RuntimeDep,
    application_id: IdPath,
    notice: Notice = None,
) -> Response:
    _notice(request, notice)
    return await _review_page(request, uow, runtime, staff, application_id)


@router.post("/staff/sellers/{application_id}/read", response_class=HTMLResponse)
async def read(
    request: Request,
    _guard: PageGuard,
    staff: Reviewer,
    uow: UowDep,
    runtime: RuntimeDep,
    application_id: IdPath,
    purpose: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Open the personal data through the access broker (audited, allowed or denied)."""
    if purpose not in {value for value, _ in PURPOSES}:
        return await _review_page(
            request,
            uow,
            runtime,
            staff,
            application_id,
            errors={"purpose": "Choose a purpose from the list."},
            status=422,
        )
    try:
        view = await service.staff_application(uow, runtime, staff, application_id, purpose)
    except AccessDenied as error:
        flash(request, "error", "Access denied by policy. The attempt is in the audit log.")
        denial = {
            "reasons": list(error.extra.get("reasons", [])),
            "audit_seq": error.extra.get("audit_seq"),
        }
        return await _review_page(
            request,
            uow,
            runtime,
            staff,
            application_id,
            denial=denial,
            purpose=purpose,
            status=error.status,
        )
    seq = view.read["decision"]["audit_seq"]
    flash(request, "success", f"Access allowed by policy; recorded as audit entry #{seq}.")
    return await _review_page(
        request, uow, runtime, staff, application_id, read=view.read, purpose=purpose
    )


@router.post("/staff/sellers/{application_id}/{action}", response_class=HTMLResponse)
async def decide(
    request: Request,
    _guard: PageGuard,
    staff: Reviewer,
    uow: UowDep,
    runtime: RuntimeDep,
    application_id: IdPath,
    action: Annotated[str, Path(pattern="^(approve|reject|suspend|reinstate)$")],
    reasons: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Approve / reject (one reason per line) / suspend (a reason) / reinstate."""
    lines = [line for line in reasons.splitlines() if line.strip()]
    if action == Action.SUSPEND.value:
        lines = [" ".join(reasons.split())] if reasons.strip() else []
    try:
        await service.decide(uow, runtime, staff, application_id, Action(action), lines)
    except ShopReelError as error:
        await _failed(uow)
        errors = _errors(error)
        if "reasons" in errors:
            errors = {f"{action}_reasons": errors.pop("reasons"), **errors}
        else:
            errors = {"form": error.detail}
        return await _review_page(
            request, uow, runtime, staff, application_id, errors=errors, status=error.status
        )
    return redirect(request, f"/staff/sellers/{application_id}?notice={action}")
