"""Seller onboarding JSON API: the seller's application, shop profile, shipping settings and
checklist; the public shop; the staff review queue and decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from shopreel.accounts.principal import Principal
from shopreel.catalog.models import Shop
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep, require_scope
from shopreel.errors import PermissionDenied
from shopreel.sellers import privacy as _privacy  # noqa: F401 - registers export/erase hooks
from shopreel.sellers import rules, service
from shopreel.sellers.models import ApplicationKind, ApplicationState
from shopreel.sellers.rules import Action
from shopreel.sellers.schemas import (
    ApplicationCreate,
    ApplicationPatch,
    ApplicationRead,
    BankMasked,
    Checklist,
    ChecklistItem,
    DecisionRead,
    DecisionSummary,
    HistoryEntry,
    PublicProduct,
    PublicShop,
    QueueItem,
    RejectIn,
    ShippingIn,
    ShippingRead,
    ShopPatch,
    ShopRead,
    ShopSummary,
    StaffApplicationRead,
    SuspendIn,
    TaxIdMasked,
)

router = APIRouter(tags=["sellers"])

ReadAccount = Annotated[Principal, Depends(require_scope("account:read"))]
WriteAccount = Annotated[Principal, Depends(require_scope("account:write"))]
ReadCatalog = Annotated[Principal, Depends(require_scope("catalog:read"))]
WriteCatalog = Annotated[Principal, Depends(require_scope("catalog:write"))]
ApplicationId = Annotated[str, Path(min_length=1, max_length=64)]


async def require_staff_session(principal: CurrentPrincipal) -> Principal:
    """Staff decisions need a signed-in staff session: access tokens cannot be used."""
    if not principal.is_staff:
        raise PermissionDenied("Seller review is for staff only.")
    if principal.auth != "session":
        raise PermissionDenied(
            "Seller review needs a signed-in staff session.", code="session_required"
        )
    return principal


Staff = Annotated[Principal, Depends(require_staff_session)]


# ---- serializers -------------------------------------------------------------------------------


def shop_summary(shop: Shop | None) -> ShopSummary | None:
    if shop is None:
        return None
    return ShopSummary(id=shop.id, handle=shop.handle, name=shop.name, status=shop.status)


def application_read(view: service.ApplicationView) -> ApplicationRead:
    """The owner's view: everything they entered, but the tax id and bank account masked to
    their last 4 digits."""
    application, data = view.application, view.data
    tax_id = None
    if data.tax_id:
        kind = "ein" if application.kind == ApplicationKind.BUSINESS.value else "ssn_last4"
        tax_id = TaxIdMasked(type=kind, last4=data.tax_id[-4:])
    bank = None
    if data.bank:
        bank = BankMasked(
            token=data.bank["token"],
            account_last4=data.bank["account_last4"],
            routing_last4=data.bank["routing_number"][-4:],
        )
    summary = shop_summary(view.shop)
    assert summary is not None  # an application always has its shop
    return ApplicationRead(
        id=application.id,
        kind=application.kind,
        state=application.state,
        region=application.region,
        shop=summary,
        legal_name=data.legal_name,
        address=data.address,
        tax_id=tax_id,
        contact=data.contact,
        bank=bank,
        rejection_reasons=list(application.rejection_reasons or []),
        missing=list(view.missing),
        editable=application.state in {"draft", "rejected"},
        submitted_at=application.submitted_at,
        decided_at=application.decided_at,
        created_at=application.created_at,
        updated_at=application.updated_at,
        history=[
            HistoryEntry(
                from_state=event.from_state,
                to_state=event.to_state,
                by="you" if event.actor_id == application.user_id else "staff",
                reasons=list(event.reasons or []),
                at=event.created_at,
            )
            for event in view.history
        ],
    )


def shop_read(shop: Shop) -> ShopRead:
    return ShopRead(
        id=shop.id,
        handle=shop.handle,
        name=shop.name,
        description=shop.description,
        status=shop.status,
        country=shop.country,
        home_region=shop.home_region,
        logo_key=shop.logo_key,
        shipping=ShippingRead(
            default_handling_days=shop.default_handling_days,
            flat_shipping_cents=shop.flat_shipping_cents,
            free_shipping_threshold_cents=shop.free_shipping_threshold_cents,
            shipping_set_at=shop.shipping_set_at,
        ),
        created_at=shop.created_at,
        updated_at=shop.updated_at,
    )


def checklist_read(items: list[service.ChecklistItem]) -> Checklist:
    return Checklist(
        items=[ChecklistItem(key=i.key, title=i.title, done=i.done, href=i.href) for i in items],
        done=sum(1 for i in items if i.done),
        total=len(items),
    )


# ---- the seller's application ------------------------------------------------------------------


@router.post("/seller/application", status_code=status.HTTP_201_CREATED)
async def create_application(
    body: ApplicationCreate, principal: WriteAccount, uow: UowDep, runtime: RuntimeDep
) -> ApplicationRead:
    """Apply to sell: creates your pending shop (global) and a draft application in your
    home region, and gives you the seller role. 409 `handle_taken` / `application_exists`."""
    view = await service.apply(
        uow,
        runtime,
        principal,
        kind=body.kind,
        handle=body.handle,
        shop_name=body.shop_name,
        description=body.description,
    )
    return application_read(view)


@router.get("/seller/application")
async def get_application(
    principal: ReadAccount, uow: UowDep, runtime: RuntimeDep
) -> ApplicationRead:
    """Your application (tax id and bank account masked), with what is still missing."""
    return application_read(await service.my_application(uow, runtime, principal))


@router.patch("/seller/application")
async def patch_application(
    body: ApplicationPatch, principal: WriteAccount, uow: UowDep, runtime: RuntimeDep
) -> ApplicationRead:
    """Replace sections of a draft or rejected application; 422 lists every invalid field,
    409 `application_locked` once submitted."""
    changes = service.ApplicationChanges(
        legal_name=body.legal_name,
        address=body.address.model_dump() if body.address else None,
        tax_id=body.tax_id,
        contact=body.contact.model_dump() if body.contact else None,
        bank=body.bank.model_dump() if body.bank else None,
    )
    return application_read(await service.update_application(uow, runtime, principal, changes))


@router.post("/seller/application/submit")
async def submit_application(
    principal: WriteAccount, uow: UowDep, runtime: RuntimeDep
) -> ApplicationRead:
    """Submit for review: 422 `application_incomplete` with `missing`, 409
    `invalid_transition` unless draft or rejected."""
    return application_read(await service.submit(uow, runtime, principal))


# ---- shop profile, shipping, checklist ---------------------------------------------------------


@router.get("/seller/shop")
async def get_shop(principal: ReadCatalog, uow: UowDep) -> ShopRead:
    """Your shop's profile and shipping settings."""
    return shop_read(await service.my_shop(uow, principal))


@router.patch("/seller/shop")
async def patch_shop(body: ShopPatch, principal: WriteCatalog, uow: UowDep) -> ShopRead:
    """Change your shop's name or description (plain text, at most 2000 characters)."""
    shop = await service.update_shop(uow, principal, name=body.name, description=body.description)
    return shop_read(shop)


@router.put("/seller/shop/shipping")
async def put_shipping(body: ShippingIn, principal: WriteCatalog, uow: UowDep) -> ShopRead:
    """Set handling days (0-30), a flat shipping rate and a free-shipping threshold (cents)."""
    shop = await service.set_shipping(
        uow,
        principal,
        handling_days=body.default_handling_days,
        flat_cents=body.flat_shipping_cents,
        threshold_cents=body.free_shipping_threshold_cents,
    )
    return shop_read(shop)


@router.get("/seller/checklist")
async def get_checklist(principal: ReadCatalog, uow: UowDep) -> Checklist:
    """Getting-started steps, computed from your data on every request."""
    return checklist_read(await service.checklist(uow, principal))


@router.get("/shops/{handle}")
async def get_public_shop(
    uow: UowDep, handle: Annotated[str, Path(min_length=1, max_length=64)]
) -> PublicShop:
    """An approved shop's public profile and live products (404 for any other shop)."""
    shop, products = await service.public_shop(uow, handle)
    return PublicShop(
        handle=shop.handle,
        name=shop.name,
        description=shop.description,
        country=shop.country,
        logo_key=shop.logo_key,
        products=[
            PublicProduct(
                id=p.id, title=p.title, min_price_cents=p.min_price_cents, currency=p.currency
            )
            for p in products
        ],
    )


# ---- staff review ------------------------------------------------------------------------------


@router.get("/staff/seller-applications")
async def staff_queue(
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    state: Annotated[ApplicationState | None, Query()] = ApplicationState.SUBMITTED,
) -> list[QueueItem]:
    """Applications of your region in `state` (default submitted): no personal data.
    Needs the `seller_ops` staff role."""
    rows = await service.staff_queue(uow, runtime, principal, state.value if state else None)
    return [
        QueueItem(
            id=r.id,
            shop_handle=r.shop_handle,
            shop_name=r.shop_name,
            kind=r.kind,
            state=r.state,
            submitted_at=r.submitted_at,
        )
        for r in rows
    ]


def staff_read(view: service.StaffView) -> StaffApplicationRead:
    application = view.application
    data: dict[str, Any] = view.read["data"].get("application") or {}
    personal = {k: data.get(k) for k in ("legal_name", "address", "tax_id", "contact", "bank")}
    return StaffApplicationRead(
        id=application.id,
        owner_id=application.user_id,
        region=application.region,
        kind=application.kind,
        state=application.state,
        shop=shop_summary(view.shop),
        personal_data=personal,
        submitted_at=application.submitted_at,
        decided_at=application.decided_at,
        allowed_actions=[a.value for a in rules.allowed_actions(application.state)],
        decision=DecisionSummary.model_validate(view.read["decision"]),
    )


@router.get("/staff/seller-applications/{application_id}")
async def staff_application(
    application_id: ApplicationId,
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> StaffApplicationRead:
    """One application with its personal data, read through the access broker for
    `purpose` (e.g. `seller_verification`): allowed or denied, the read is audited."""
    view = await service.staff_application(uow, runtime, principal, application_id, purpose)
    return staff_read(view)


def decision_read(decision: service.Decision) -> DecisionRead:
    application = decision.application
    return DecisionRead(
        id=application.id,
        state=application.state,
        shop_status=decision.shop.status if decision.shop else "",
        rejection_reasons=list(application.rejection_reasons or []),
        decided_at=application.decided_at,
        audit_seq=decision.audit_seq,
    )


@router.post("/staff/seller-applications/{application_id}/approve")
async def approve(
    application_id: ApplicationId, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> DecisionRead:
    """Approve a submitted application: the shop is approved."""
    decision = await service.decide(uow, runtime, principal, application_id, Action.APPROVE)
    return decision_read(decision)


@router.post("/staff/seller-applications/{application_id}/reject")
async def reject(
    application_id: ApplicationId,
    body: RejectIn,
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
) -> DecisionRead:
    """Reject a submitted application with reasons the seller sees; the shop stays pending."""
    decision = await service.decide(
        uow, runtime, principal, application_id, Action.REJECT, body.reasons
    )
    return decision_read(decision)


@router.post("/staff/seller-applications/{application_id}/suspend")
async def suspend(
    application_id: ApplicationId,
    body: SuspendIn,
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
) -> DecisionRead:
    """Suspend an approved seller (a reason is required): the shop is suspended."""
    decision = await service.decide(
        uow, runtime, principal, application_id, Action.SUSPEND, [body.reason]
    )
    return decision_read(decision)


@router.post("/staff/seller-applications/{application_id}/reinstate")
async def reinstate(
    application_id: ApplicationId, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> DecisionRead:
    """Reinstate a suspended seller: the shop is approved again."""
    decision = await service.decide(uow, runtime, principal, application_id, Action.REINSTATE)
    return decision_read(decision)
