"""Seller onboarding use cases. Functions take the unit of work first; they flush, never
commit.

Planes: the application and its history live in the applicant's home region (the unit of
work's bound region); the shop's public profile lives in the global plane; staff decisions
are appended to the control plane's audit log. A staff member reviews only applications of
their own jurisdiction's region, and reads an applicant's personal data only through the
access broker (:func:`shopreel.sovereignty.access.read_personal_data`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from shopreel.accounts import service as accounts
from shopreel.accounts.models import Role
from shopreel.accounts.principal import Principal
from shopreel.catalog import shops
from shopreel.catalog.models import Product, ProductStatus, Shop, ShopStatus, Variant
from shopreel.errors import PermissionDenied, ValidationFailed
from shopreel.inventory.models import Warehouse
from shopreel.kit.countries import is_country
from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import utcnow
from shopreel.runtime import Runtime
from shopreel.sellers import rules
from shopreel.sellers.errors import (
    ApplicationExists,
    ApplicationIncomplete,
    ApplicationLocked,
    ApplicationNotFound,
    HandleTaken,
    NotSellerOps,
    OwnApplication,
    ShopNotFound,
    WrongRegion,
)
from shopreel.sellers.models import (
    ApplicationKind,
    ApplicationState,
    SellerApplication,
    SellerApplicationEvent,
)
from shopreel.sellers.rules import Action, InvalidField
from shopreel.sellers.vault import PersonalData, application_of, data_key, seal, unseal
from shopreel.sovereignty import access, audit
from shopreel.uow import UnitOfWork

SELLER_OPS: Final = "seller_ops"
CATEGORY: Final = "seller_application"
"""The broker's personal-data category of a seller application."""
PURPOSE: Final = "seller_verification"
AUDIT_DECISION: Final = "seller.decision"
BANK_TOKEN_PREFIX: Final = "btok_sandbox_"  # noqa: S105 - a public prefix
QUEUE_LIMIT: Final = 200
PUBLIC_PRODUCTS_LIMIT: Final = 100


# ---- input problems --------------------------------------------------------------------------


def _raise_problems(problems: Sequence[InvalidField]) -> None:
    """One 422 listing every invalid field (``errors``), the first as ``field``."""
    if not problems:
        return
    first = problems[0]
    detail = first.message if len(problems) == 1 else f"{len(problems)} fields need attention."
    raise ValidationFailed(
        detail,
        extra={
            "field": first.field,
            "errors": [{"field": p.field, "message": p.message} for p in problems],
        },
    )


class _Collector:
    def __init__(self) -> None:
        self.problems: list[InvalidField] = []

    def check(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidField as problem:
            self.problems.append(problem)
            return None


# ---- applying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationView:
    """An application, its shop and its decrypted personal fields, for its owner."""

    application: SellerApplication
    shop: Shop | None
    data: PersonalData
    history: list[SellerApplicationEvent]

    @property
    def missing(self) -> tuple[str, ...]:
        return completeness(self.data).missing


def completeness(data: PersonalData) -> rules.Completeness:
    return rules.missing_fields(
        legal_name=data.legal_name,
        address=data.address,
        tax_id=data.tax_id,
        contact=data.contact,
        bank=data.bank,
    )


async def shop_of(uow: UnitOfWork, owner_id: str) -> Shop | None:
    """The shop a user owns (the oldest, should there ever be several)."""
    return await shops.shop_of_owner(uow.global_, owner_id)


async def apply(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    kind: str,
    handle: str,
    shop_name: str,
    description: str = "",
) -> ApplicationView:
    """Open a seller application (draft) and its pending shop; the user becomes a seller.

    One application per user. The handle is unique across every region (the global
    ``shops`` table); two sign-ups racing for it are settled by the unique constraint."""
    checks = _Collector()
    if kind not in {k.value for k in ApplicationKind}:
        checks.problems.append(InvalidField("kind", "Choose individual or business."))
    clean_handle = checks.check(rules.validate_handle, handle)
    name = checks.check(rules.single_line, shop_name, "shop_name", rules.SHOP_NAME_MAX)
    text = checks.check(rules.plain_text, description, "description", rules.DESCRIPTION_MAX)
    _raise_problems(checks.problems)

    session = uow.region(principal.region)
    if await application_of(session, principal.id) is not None:
        raise ApplicationExists("You have already applied; edit your application instead.")
    if await shop_of(uow, principal.id) is not None:
        raise ApplicationExists("You already own a shop.")
    if await uow.global_.scalar(select(Shop.id).where(Shop.handle == clean_handle)):
        raise HandleTaken("This handle is taken.", extra={"field": "handle"})

    now = utcnow()
    shop = Shop(
        id=new_id("shop"),
        handle=clean_handle,
        name=name,
        description=text,
        owner_id=principal.id,
        country=principal.country,
        status=ShopStatus.PENDING.value,
        home_region=principal.region,
        created_at=now,
        updated_at=now,
    )
    uow.global_.add(shop)
    try:
        await uow.global_.flush()
    except IntegrityError as exc:  # lost a race for the handle
        raise HandleTaken("This handle is taken.", extra={"field": "handle"}) from exc

    application = SellerApplication(
        id=new_id("sap", principal.region),
        region=principal.region,
        user_id=principal.id,
        shop_id=shop.id,
        kind=kind,
        state=ApplicationState.DRAFT.value,
        rejection_reasons=[],
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    _record(session, application, None, principal.id, reasons=[], details={"event": "created"})
    try:
        await session.flush()
    except IntegrityError as exc:  # a second application racing the first
        raise ApplicationExists("You have already applied.") from exc
    await accounts.grant_role(uow, principal.id, Role.SELLER.value)
    return ApplicationView(application, shop, PersonalData(), await history_of(uow, application))


def _record(
    session: Any,
    application: SellerApplication,
    from_state: str | None,
    actor_id: str,
    *,
    reasons: list[str],
    details: dict[str, Any] | None = None,
) -> SellerApplicationEvent:
    event = SellerApplicationEvent(
        id=new_id("sae", application.region),
        region=application.region,
        application_id=application.id,
        from_state=from_state,
        to_state=application.state,
        actor_id=actor_id,
        reasons=list(reasons),
        details=details or {},
        created_at=utcnow(),
    )
    session.add(event)
    return event


async def history_of(
    uow: UnitOfWork, application: SellerApplication
) -> list[SellerApplicationEvent]:
    await uow.region(application.region).flush()
    rows = await uow.region(application.region).scalars(
        select(SellerApplicationEvent)
        .where(SellerApplicationEvent.application_id == application.id)
        .order_by(SellerApplicationEvent.created_at, SellerApplicationEvent.id)
    )
    return list(rows)


async def _own_application(
    uow: UnitOfWork, principal: Principal, *, lock: bool = False
) -> SellerApplication:
    query = select(SellerApplication).where(SellerApplication.user_id == principal.id)
    if lock:
        query = query.with_for_update()
    application = await uow.region(principal.region).scalar(query)
    if application is None:
        raise ApplicationNotFound("You have not applied to sell yet.")
    return application


async def _open(
    uow: UnitOfWork, runtime: Runtime, application: SellerApplication
) -> tuple[bytes, PersonalData]:
    key = await data_key(runtime, uow.region(application.region), application.user_id)
    if key is None:
        raise ApplicationNotFound("This application's data no longer exists.")
    return key, unseal(runtime.cipher(application.region), key, application)


async def _view(
    uow: UnitOfWork, runtime: Runtime, application: SellerApplication
) -> ApplicationView:
    _, data = await _open(uow, runtime, application)
    shop = await uow.global_.get(Shop, application.shop_id)
    return ApplicationView(application, shop, data, await history_of(uow, application))


async def my_application(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> ApplicationView:
    return await _view(uow, runtime, await _own_application(uow, principal))


async def find_my_application(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> ApplicationView | None:
    application = await application_of(uow.region(principal.region), principal.id)
    return None if application is None else await _view(uow, runtime, application)


@dataclass(frozen=True)
class ApplicationChanges:
    """Raw input for an update; None leaves a section as it is."""

    legal_name: str | None = None
    address: Mapping[str, str] | None = None
    tax_id: str | None = None
    contact: Mapping[str, str] | None = None
    bank: Mapping[str, str] | None = None


def _clean_address(raw: Mapping[str, str], checks: _Collector) -> dict[str, str]:
    country = raw.get("country", "").strip().upper()
    if not is_country(country):
        checks.problems.append(InvalidField("address.country", "Choose a country."))
    address = {
        "line1": checks.check(
            rules.single_line, raw.get("line1", ""), "address.line1", rules.ADDRESS_LINE_MAX
        )
        or "",
        "line2": checks.check(
            rules.single_line,
            raw.get("line2", ""),
            "address.line2",
            rules.ADDRESS_LINE_MAX,
            required=False,
        )
        or "",
        "city": checks.check(rules.single_line, raw.get("city", ""), "address.city", 120) or "",
        "state": "",
        "postal_code": "",
        "country": country,
    }
    state = raw.get("state", "").strip()
    if country == "US":
        address["state"] = checks.check(rules.validate_us_state, state) or ""
    elif state:
        address["state"] = checks.check(rules.single_line, state, "address.state", 50) or ""
    address["postal_code"] = (
        checks.check(rules.validate_postal_code, country, raw.get("postal_code", "")) or ""
    )
    return address


def _sandbox_bank(raw: Mapping[str, str], checks: _Collector) -> dict[str, str] | None:
    """Validate the account and replace it by a sandbox token: the account number is
    discarded here and never reaches storage, logs or responses."""
    routing = checks.check(rules.validate_routing_number, raw.get("routing_number", ""))
    account = checks.check(rules.validate_account_number, raw.get("account_number", ""))
    if routing is None or account is None:
        return None
    return {
        "token": BANK_TOKEN_PREFIX + secrets.token_hex(12),
        "account_last4": account[-4:],
        "routing_number": routing,
    }


async def update_application(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, changes: ApplicationChanges
) -> ApplicationView:
    """Replace the given sections (draft or rejected only); every problem reported at once."""
    application = await _own_application(uow, principal, lock=True)
    if not rules.is_editable(application.state):
        raise ApplicationLocked(
            f"A {application.state} application cannot be changed.",
            extra={"state": application.state},
        )
    key, data = await _open(uow, runtime, application)
    checks = _Collector()
    updates: dict[str, Any] = {}
    if changes.legal_name is not None:
        updates["legal_name"] = checks.check(
            rules.single_line, changes.legal_name, "legal_name", rules.LEGAL_NAME_MAX
        )
    if changes.address is not None:
        updates["address"] = _clean_address(changes.address, checks)
    if changes.tax_id is not None:
        updates["tax_id"] = checks.check(rules.validate_tax_id, application.kind, changes.tax_id)
    if changes.contact is not None:
        updates["contact"] = {
            "email": checks.check(rules.validate_contact_email, changes.contact.get("email", "")),
            "phone": checks.check(rules.validate_phone, changes.contact.get("phone", "")),
        }
    if changes.bank is not None:
        updates["bank"] = _sandbox_bank(changes.bank, checks)
    _raise_problems(checks.problems)
    if updates:
        data = data.merged(**updates)
        seal(runtime.cipher(application.region), key, application, data)
        application.updated_at = utcnow()
    return await _view(uow, runtime, application)


async def submit(uow: UnitOfWork, runtime: Runtime, principal: Principal) -> ApplicationView:
    """Draft or rejected -> submitted, when nothing is missing (422 lists what is)."""
    application = await _own_application(uow, principal, lock=True)
    target = rules.next_state(application.state, Action.SUBMIT)
    _, data = await _open(uow, runtime, application)
    missing = completeness(data).missing
    if missing:
        raise ApplicationIncomplete(
            f"The application is missing {len(missing)} field(s).",
            extra={"missing": list(missing)},
        )
    previous = application.state
    now = utcnow()
    application.state = target
    application.submitted_at = now
    application.updated_at = now
    _record(uow.region(application.region), application, previous, principal.id, reasons=[])
    return await _view(uow, runtime, application)


# ---- shop profile and shipping -------------------------------------------------------------------


async def my_shop(uow: UnitOfWork, principal: Principal) -> Shop:
    """403 ``shop_required`` without a shop, as on every seller route."""
    return await shops.seller_shop(uow, principal)


async def update_shop(
    uow: UnitOfWork, principal: Principal, *, name: str | None, description: str | None
) -> Shop:
    shop = await my_shop(uow, principal)
    checks = _Collector()
    clean_name = (
        None if name is None else checks.check(rules.single_line, name, "name", rules.SHOP_NAME_MAX)
    )
    text = (
        None
        if description is None
        else checks.check(rules.plain_text, description, "description", rules.DESCRIPTION_MAX)
    )
    _raise_problems(checks.problems)
    if clean_name is not None:
        shop.name = clean_name
    if text is not None:
        shop.description = text
    shop.updated_at = utcnow()
    await uow.global_.flush()
    return shop


MAX_HANDLING_DAYS: Final = 30
MAX_CENTS: Final = 100_000_000  # $1,000,000: far above any flat rate, well inside int32


def shipping_problems(
    handling_days: int, flat_cents: int, threshold_cents: int | None
) -> list[InvalidField]:
    problems: list[InvalidField] = []
    if not 0 <= handling_days <= MAX_HANDLING_DAYS:
        problems.append(
            InvalidField("default_handling_days", f"Use 0 to {MAX_HANDLING_DAYS} days.")
        )
    if not 0 <= flat_cents <= MAX_CENTS:
        problems.append(InvalidField("flat_shipping_cents", "Use an amount of 0 or more."))
    if threshold_cents is not None and not 0 <= threshold_cents <= MAX_CENTS:
        problems.append(
            InvalidField("free_shipping_threshold_cents", "Use an amount of 0 or more, or none.")
        )
    return problems


async def set_shipping(
    uow: UnitOfWork,
    principal: Principal,
    *,
    handling_days: int,
    flat_cents: int,
    threshold_cents: int | None,
) -> Shop:
    shop = await my_shop(uow, principal)
    _raise_problems(shipping_problems(handling_days, flat_cents, threshold_cents))
    now = utcnow()
    shop.default_handling_days = handling_days
    shop.flat_shipping_cents = flat_cents
    shop.free_shipping_threshold_cents = threshold_cents
    shop.shipping_set_at = now
    shop.updated_at = now
    await uow.global_.flush()
    return shop


@dataclass(frozen=True)
class ProductSummary:
    id: str
    title: str
    min_price_cents: int
    currency: str


async def public_shop(uow: UnitOfWork, handle: str) -> tuple[Shop, list[ProductSummary]]:
    """An approved shop and its live products (404 for any other shop, so that pending and
    suspended shops are indistinguishable from missing ones)."""
    shop = await uow.global_.scalar(select(Shop).where(Shop.handle == handle.strip().lower()))
    if shop is None or shop.status != ShopStatus.APPROVED.value:
        raise ShopNotFound("No such shop.")
    rows = await uow.global_.execute(
        select(Product.id, Product.title, func.min(Variant.price_cents), func.min(Variant.currency))
        .join(Variant, Variant.product_id == Product.id)
        .where(Product.shop_id == shop.id, Product.status == ProductStatus.LIVE.value)
        .group_by(Product.id, Product.title, Product.live_at)
        .order_by(Product.live_at.desc(), Product.id)
        .limit(PUBLIC_PRODUCTS_LIMIT)
    )
    products = [
        ProductSummary(str(pid), str(title), int(price), str(currency))
        for pid, title, price, currency in rows
    ]
    return shop, products


# ---- the checklist -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    done: bool
    href: str


async def checklist(uow: UnitOfWork, principal: Principal) -> list[ChecklistItem]:
    """The seller center's getting-started list, computed from the data each time."""
    application = await application_of(uow.region(principal.region), principal.id)
    shop = await shop_of(uow, principal.id)
    state = application.state if application else None
    submitted = state in {
        ApplicationState.SUBMITTED.value,
        ApplicationState.APPROVED.value,
        ApplicationState.SUSPENDED.value,
    }
    approved = shop is not None and shop.status == ShopStatus.APPROVED.value
    profile = shop is not None and bool(shop.description.strip())
    warehouse = listed = live = False
    if shop is not None:
        session = uow.global_
        warehouse = bool(await session.scalar(select(exists().where(Warehouse.shop_id == shop.id))))
        listed = bool(await session.scalar(select(exists().where(Product.shop_id == shop.id))))
        live = bool(
            await session.scalar(
                select(
                    exists().where(
                        Product.shop_id == shop.id, Product.status == ProductStatus.LIVE.value
                    )
                )
            )
        )
    return [
        ChecklistItem(
            "application_submitted", "Submit your application", submitted, "/seller/onboarding"
        ),
        ChecklistItem("application_approved", "Get approved", approved, "/seller/onboarding"),
        ChecklistItem("shop_profile", "Describe your shop", profile, "/seller/shop"),
        ChecklistItem("warehouse", "Add a warehouse", warehouse, "/seller/warehouses"),
        ChecklistItem(
            "shipping",
            "Set shipping",
            shop is not None and shop.shipping_set_at is not None,
            "/seller/shop#shipping",
        ),
        ChecklistItem("first_product", "List your first product", listed, "/seller/products"),
        ChecklistItem("first_live_product", "Get a product live", live, "/seller/products"),
    ]


# ---- staff review ------------------------------------------------------------------------------


def review_region(runtime: Runtime, principal: Principal) -> str:
    """The region a staff member reviews: their jurisdiction's. 403 for anyone else than
    ``seller_ops`` staff, or when their account lives in another region than they review
    (the request could not open that region's plane)."""
    if not principal.is_staff:
        raise PermissionDenied("Seller review is for staff only.")
    if SELLER_OPS not in principal.staff_roles:
        raise NotSellerOps("Seller review needs the seller_ops staff role.")
    if not principal.jurisdiction:
        raise PermissionDenied("This staff account has no jurisdiction; ask an administrator.")
    region = runtime.settings.region_for_country(principal.jurisdiction)
    if region != principal.region:
        raise WrongRegion(f"You review region {region!r} but your account is in another.")
    return region


def _application_region(runtime: Runtime, application_id: str) -> str:
    region = region_of(application_id) if application_id.startswith("sap_") else None
    if region is None or region not in runtime.settings.region_names:
        raise ApplicationNotFound("No such application.")
    return region


async def _staff_application(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, application_id: str, *, lock: bool
) -> SellerApplication:
    region = review_region(runtime, principal)
    if _application_region(runtime, application_id) != region:
        raise WrongRegion("This application is held in another region; its staff review it.")
    query = select(SellerApplication).where(SellerApplication.id == application_id)
    if lock:
        query = query.with_for_update()
    application = await uow.region(region).scalar(query)
    if application is None:
        raise ApplicationNotFound("No such application.")
    return application


@dataclass(frozen=True)
class QueueRow:
    id: str
    shop_handle: str | None
    shop_name: str | None
    kind: str
    state: str
    submitted_at: Any


async def staff_queue(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, state: str | None
) -> list[QueueRow]:
    """Applications of the reviewer's region (oldest submission first): ids, kinds, shop
    handles and names. Nothing personal, so no broker decision is needed to list them."""
    region = review_region(runtime, principal)
    if state is not None and state not in {s.value for s in ApplicationState}:
        raise ValidationFailed("Unknown state.", extra={"field": "state"})
    query = select(SellerApplication).order_by(
        SellerApplication.submitted_at, SellerApplication.created_at, SellerApplication.id
    )
    if state is not None:
        query = query.where(SellerApplication.state == state)
    applications = list(await uow.region(region).scalars(query.limit(QUEUE_LIMIT)))
    shops = await _shops_by_id(uow, [a.shop_id for a in applications])
    return [
        QueueRow(
            a.id,
            shops[a.shop_id].handle if a.shop_id in shops else None,
            shops[a.shop_id].name if a.shop_id in shops else None,
            a.kind,
            a.state,
            a.submitted_at,
        )
        for a in applications
    ]


async def _shops_by_id(uow: UnitOfWork, ids: list[str]) -> dict[str, Shop]:
    if not ids:
        return {}
    rows = await uow.global_.scalars(select(Shop).where(Shop.id.in_(ids)))
    return {shop.id: shop for shop in rows}


async def staff_summary(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, application_id: str
) -> tuple[SellerApplication, Shop | None]:
    """An application's non-personal facts (state, kind, dates) and its public shop, for
    the review page before a purpose is chosen: no broker decision, nothing decrypted."""
    application = await _staff_application(uow, runtime, principal, application_id, lock=False)
    return application, await uow.global_.get(Shop, application.shop_id)


@dataclass(frozen=True)
class StaffView:
    application: SellerApplication
    shop: Shop | None
    read: dict[str, Any]  # the broker's answer: data and the audited decision


async def staff_application(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, application_id: str, purpose: str
) -> StaffView:
    """The application with its personal data, read through the access broker: the
    decision (allowed or denied) is in the audit log before any data is opened."""
    application = await _staff_application(uow, runtime, principal, application_id, lock=False)
    read = await access.read_personal_data(
        runtime, principal, application.user_id, CATEGORY, purpose
    )
    shop = await uow.global_.get(Shop, application.shop_id)
    return StaffView(application, shop, read)


@dataclass(frozen=True)
class Decision:
    application: SellerApplication
    shop: Shop | None
    audit_seq: int


async def decide(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    application_id: str,
    action: Action,
    reasons: Sequence[str] = (),
) -> Decision:
    """A staff decision: approve, reject (reasons shown to the seller), suspend (a reason),
    reinstate. Moves the shop's status along and appends ``seller.decision`` to the audit
    log; the log gets only a digest of the reasons, which stay in the home region."""
    if action not in rules.STAFF_ACTIONS:
        raise ValidationFailed(f"{action.value} is not a staff decision.")
    application = await _staff_application(uow, runtime, principal, application_id, lock=True)
    if application.user_id == principal.id:
        raise OwnApplication("You cannot decide your own application.")
    previous = application.state
    target = rules.next_state(previous, action)
    clean: list[str] = []
    if action in (Action.REJECT, Action.SUSPEND):
        try:
            clean = rules.clean_reasons(list(reasons))
        except InvalidField as problem:
            _raise_problems([problem])
    now = utcnow()
    application.state = target
    application.decided_at = now
    application.decided_by = principal.id
    application.updated_at = now
    if action is Action.REJECT:
        application.rejection_reasons = clean
    elif action in (Action.APPROVE, Action.REINSTATE):
        application.rejection_reasons = []
    _record(
        uow.region(application.region),
        application,
        previous,
        principal.id,
        reasons=clean,
        details={"action": action.value},
    )
    shop = await uow.global_.get(Shop, application.shop_id)
    if shop is not None:
        shop.status = rules.SHOP_STATUS[target]
        shop.updated_at = now
    await uow.flush()
    entry = await audit.append(
        uow.control,
        kind=AUDIT_DECISION,
        actor_id=principal.id,
        subject_id=application.user_id,
        region=application.region,
        attributes={
            "action": action.value,
            "application_id": application.id,
            "shop_id": application.shop_id,
            "from_state": previous,
            "to_state": target,
            "reason_count": len(clean),
            "reasons_sha256": _digest(clean) if clean else None,
            "actor_jurisdiction": principal.jurisdiction,
            "actor_staff_roles": sorted(principal.staff_roles),
        },
    )
    return Decision(application, shop, entry.seq)


def _digest(reasons: list[str]) -> str:
    return hashlib.sha256(json.dumps(reasons, ensure_ascii=False).encode()).hexdigest()
