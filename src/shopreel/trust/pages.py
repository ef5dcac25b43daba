"""The trust console: HTML pages for trust officers and staff (prefix ``/trust``).

Staff only (anyone else gets the 403 page; anonymous visitors are sent to the login page),
with a signed-in browser session and a jurisdiction (the console's region is
``settings.region_for_country(jurisdiction)``). Every rule — who may approve a ticket or a
proposal, who may read personal data — is enforced by the services
(:mod:`shopreel.sovereignty.access`, :mod:`shopreel.governance.service`); the pages only hide
buttons the viewer could not use, and show the services' refusals as flash messages.

Include with ``app.include_router(trust_pages.router)``. See ``docs/trust-console.md``.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import func, select

from shopreel.accounts.principal import Principal
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import NotFound, PermissionDenied, ShopReelError, ValidationFailed
from shopreel.governance import rules
from shopreel.governance import service as governance
from shopreel.governance.models import Proposal, ProposalApproval
from shopreel.kit.time import as_utc, utcnow
from shopreel.runtime import Runtime
from shopreel.sovereignty import access, audit, merkle, privacy
from shopreel.sovereignty.access import AccessDenied
from shopreel.sovereignty.access_models import (
    AccessTicket,
    BreakGlassApproval,
    BreakGlassGrant,
    GrantStatus,
    TicketStatus,
)
from shopreel.sovereignty.models import AuditEntry
from shopreel.sovereignty.signing import load_signer
from shopreel.trust import report as reports
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render

router = APIRouter(prefix="/trust", include_in_schema=False)

PURPOSES: Final = (
    "support_case",
    "fraud_investigation",
    "legal_request",
    "safety_review",
    "privacy_request",
)
"""The purposes the access policies allow (``policies/access.cedar``, rules 2 and 3)."""
AUDIT_PAGE_SIZE: Final = 50
PROPOSAL_LIST_LIMIT: Final = 100
TRUST_OFFICER: Final = "trust_officer"
PROOF_FORMAT: Final = "shopreel-inclusion-proof/1"
MAX_ID: Final = 64

StatusFilter = Literal["all", "pending", "approved", "expired"]
ProposalFilter = Literal["all", "pending", "applied", "rejected", "superseded"]

NOTICES: Final[dict[str, tuple[str, str]]] = {
    "ticket_approved": ("success", "Ticket approved. It is valid for 24 hours."),
    "ticket_requested": (
        "success",
        "Ticket requested. A trust officer of the data's region must approve it.",
    ),
    "break_glass_approved": (
        "success",
        "Your approval is recorded. The grant needs another approver of the data's region.",
    ),
    "break_glass_granted": (
        "success",
        "Break-glass grant approved. The requester may read the data for one hour.",
    ),
    "break_glass_requested": (
        "success",
        "Break-glass requested. Two staff members of the data's region must approve it.",
    ),
    "proposal_created": (
        "success",
        "Proposal created. It takes effect once every required authority approves it.",
    ),
    "proposal_approved": ("success", "Your approval is recorded."),
    "proposal_applied": ("success", "Approved and applied: the new setting is in force."),
    "proposal_superseded": (
        "warning",
        "Approved, but the setting changed since the proposal was made: it was superseded.",
    ),
    "proposal_rejected": ("success", "The proposal is rejected."),
}

KIND_LABELS: Final = {"export": "Data export", "delete": "Account deletion", "access": "Access"}
LAW_LABELS: Final = {"ccpa": "CCPA", "gdpr": "GDPR"}


# ---- who may use the console -----------------------------------------------------------------


async def require_staff(principal: CurrentPrincipal) -> Principal:
    """A staff member with a signed-in browser session and a jurisdiction."""
    if not principal.is_staff:
        raise PermissionDenied("The trust console is for staff only.")
    if principal.auth != "session":
        raise PermissionDenied(
            "The trust console needs a signed-in staff session.", code="session_required"
        )
    if not principal.jurisdiction:
        raise PermissionDenied("This staff account has no jurisdiction; ask an administrator.")
    return principal


Staff = Annotated[Principal, Depends(require_staff)]
IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID)]


def console_region(runtime: Runtime, staff: Principal) -> str:
    """The region the staff member works for: their jurisdiction's region."""
    assert staff.jurisdiction is not None  # require_staff
    return runtime.settings.region_for_country(staff.jurisdiction)


def _is_trust_officer(staff: Principal) -> bool:
    return TRUST_OFFICER in staff.staff_roles


def _page(
    request: Request,
    runtime: Runtime,
    staff: Principal,
    template: str,
    section: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    base = {
        "section": section,
        "console_region": console_region(runtime, staff),
        "is_trust_officer": _is_trust_officer(staff),
    }
    return render(request, f"trust/{template}", {**base, **context}, status=status)


def _notice(request: Request, notice: str | None) -> None:
    if notice in NOTICES:
        category, message = NOTICES[notice]
        flash(request, category, message)


Notice = Annotated[str | None, Query(max_length=32)]


def _json(value: object, *, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)


def _duration(delta: timedelta) -> str:
    """ "3 days", "5 hours", "12 minutes" (rounded down, at least a minute)."""
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} days"
    if seconds >= 2 * 3600:
        return f"{int(seconds // 3600)} hours"
    minutes = max(1, int(seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _field_errors(error: ShopReelError, fields: tuple[str, ...]) -> dict[str, str]:
    field = str(error.extra.get("field", ""))
    return {field if field in fields else "form": error.detail}


# ---- overview --------------------------------------------------------------------------------


async def _count(uow: UnitOfWork, query: Any) -> int:
    return int(await uow.control.scalar(query) or 0)


@router.get("", response_class=HTMLResponse)
async def overview(
    request: Request, _guard: PageGuard, staff: Staff, uow: UowDep, runtime: RuntimeDep
) -> Response:
    region = console_region(runtime, staff)
    pending = TicketStatus.PENDING.value
    tickets = await _count(
        uow,
        select(func.count())
        .select_from(AccessTicket)
        .where(AccessTicket.status == pending, AccessTicket.region == region),
    )
    grants = await _count(
        uow,
        select(func.count())
        .select_from(BreakGlassGrant)
        .where(
            BreakGlassGrant.status == GrantStatus.PENDING.value, BreakGlassGrant.region == region
        ),
    )
    proposals = await _count(
        uow,
        select(func.count())
        .select_from(Proposal)
        .join(ProposalApproval, ProposalApproval.proposal_id == Proposal.id)
        .where(
            Proposal.status == rules.ProposalStatus.PENDING.value,
            ProposalApproval.authority == region,
            ProposalApproval.decision == rules.Decision.PENDING.value,
        ),
    )
    clocks = await privacy.list_open_requests(runtime, region)
    head = await audit.latest_tree_head(uow.control)
    size = await audit.log_size(uow.control)
    return _page(
        request,
        runtime,
        staff,
        "overview.html",
        "overview",
        {
            "counts": {
                "tickets": tickets,
                "break_glass": grants,
                "proposals": proposals,
                "privacy_open": len(clocks),
                "privacy_overdue": sum(1 for c in clocks if c.overdue),
            },
            "head": audit.SignedHead.from_row(head) if head is not None else None,
            "head_time": _head_time(head.timestamp_ms) if head is not None else None,
            "log_size": size,
        },
    )


def _head_time(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


# ---- access: tickets, break-glass, personal-data reads ---------------------------------------


@dataclass(frozen=True)
class TicketRow:
    id: str
    requester_id: str
    requester_jurisdiction: str
    region: str
    scope: str
    owner_ids: list[str]
    category: str
    purpose: str
    justification: str
    status: str
    created_at: datetime
    approved_by: str | None
    expires_at: datetime | None
    own: bool
    can_approve: bool


@dataclass(frozen=True)
class GrantRow:
    id: str
    requester_id: str
    requester_jurisdiction: str
    owner_id: str
    region: str
    category: str
    purpose: str
    reason: str
    status: str
    created_at: datetime
    expires_at: datetime | None
    approvers: list[str]
    required: int
    own: bool
    can_approve: bool


def _ticket_row(ticket: AccessTicket, staff: Principal, region: str, now: datetime) -> TicketRow:
    status = access.ticket_status(ticket, now)
    own = ticket.requester_id == staff.id
    return TicketRow(
        id=ticket.id,
        requester_id=ticket.requester_id,
        requester_jurisdiction=ticket.requester_jurisdiction,
        region=ticket.region,
        scope=ticket.scope,
        owner_ids=list(ticket.owner_ids or []),
        category=ticket.category,
        purpose=ticket.purpose,
        justification=ticket.justification,
        status=status,
        created_at=as_utc(ticket.created_at),
        approved_by=ticket.approved_by,
        expires_at=as_utc(ticket.expires_at) if ticket.expires_at else None,
        own=own,
        can_approve=(
            status == TicketStatus.PENDING.value
            and not own
            and _is_trust_officer(staff)
            and region == ticket.region
        ),
    )


def _grant_row(
    grant: BreakGlassGrant,
    approvals: list[BreakGlassApproval],
    staff: Principal,
    region: str,
    now: datetime,
) -> GrantRow:
    status = access.break_glass_status(grant, now)
    own = grant.requester_id == staff.id
    approvers = [a.approver_id for a in approvals]
    return GrantRow(
        id=grant.id,
        requester_id=grant.requester_id,
        requester_jurisdiction=grant.requester_jurisdiction,
        owner_id=grant.owner_id,
        region=grant.region,
        category=grant.category,
        purpose=grant.purpose,
        reason=grant.reason,
        status=status,
        created_at=as_utc(grant.created_at),
        expires_at=as_utc(grant.expires_at) if grant.expires_at else None,
        approvers=approvers,
        required=access.BREAK_GLASS_APPROVERS,
        own=own,
        can_approve=(
            status == GrantStatus.PENDING.value
            and not own
            and region == grant.region
            and staff.id not in approvers
        ),
    )


def _status_or_none(status: StatusFilter) -> str | None:
    return None if status == "all" else status


async def _access_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    staff: Principal,
    *,
    status_filter: StatusFilter = "all",
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    region = console_region(runtime, staff)
    now = utcnow()
    tickets = await access.list_tickets(uow, staff, _status_or_none(status_filter))
    grants = await access.list_break_glass(uow, staff, _status_or_none(status_filter))
    context: dict[str, Any] = {
        "status_filter": status_filter,
        "tickets": [_ticket_row(t, staff, region, now) for t in tickets],
        "grants": [_grant_row(g, a, staff, region, now) for g, a in grants],
        "purposes": [(p, p.replace("_", " ")) for p in PURPOSES],
        "categories": [(c, c) for c in access.CATEGORIES],
        "region_scopes": [("", "No: the listed users only")]
        + [(r, f"Yes: every user of {r.upper()}") for r in runtime.settings.region_names],
        "read_form": {},
        "ticket_form": {},
        "grant_form": {},
        "errors": {"read": {}, "ticket": {}, "grant": {}},
        "read_result": None,
        "read_denial": None,
        "ticket_ttl_hours": int(access.TICKET_TTL.total_seconds() // 3600),
        "required_approvers": access.BREAK_GLASS_APPROVERS,
    }
    context.update(extra or {})
    return _page(request, runtime, staff, "access.html", "access", context, status=status)


@router.get("/access", response_class=HTMLResponse)
async def access_page(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    status: Annotated[StatusFilter, Query()] = "all",
    notice: Notice = None,
) -> Response:
    _notice(request, notice)
    return await _access_page(request, uow, runtime, staff, status_filter=status)


async def _refused(
    request: Request, uow: UnitOfWork, runtime: Runtime, staff: Principal, error: ShopReelError
) -> HTMLResponse:
    """Show a refusal on the access page. A refused approval was already audited and
    committed by the service; anything else of this request is rolled back."""
    await uow.control.rollback()
    flash(request, "error", error.detail)
    return await _access_page(request, uow, runtime, staff, status=error.status)


@router.post("/access/tickets/{ticket_id}/approve")
async def approve_ticket(
    request: Request,
    ticket_id: IdPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        await access.approve_ticket(uow, runtime, staff, ticket_id)
    except ShopReelError as error:
        return await _refused(request, uow, runtime, staff, error)
    return redirect(request, "/trust/access?notice=ticket_approved")


@router.post("/access/break-glass/{grant_id}/approve")
async def approve_break_glass(
    request: Request,
    grant_id: IdPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        grant = await access.approve_break_glass(uow, runtime, staff, grant_id)
    except ShopReelError as error:
        return await _refused(request, uow, runtime, staff, error)
    done = grant.status == GrantStatus.APPROVED.value
    notice = "break_glass_granted" if done else "break_glass_approved"
    return redirect(request, f"/trust/access?notice={notice}")


def _owner_list(raw: str) -> list[str]:
    return [part for part in raw.replace(",", " ").split() if part]


@router.post("/access/tickets", response_class=HTMLResponse)
async def request_ticket(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    owner_ids: Annotated[str, Form(max_length=8000)] = "",
    region: Annotated[str, Form(max_length=16)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    justification: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = {
        "owner_ids": owner_ids,
        "region": region,
        "category": category,
        "purpose": purpose,
        "justification": justification,
    }
    owners = _owner_list(owner_ids)
    errors: dict[str, str] = {}
    status = 422
    if bool(owners) == bool(region):
        errors["owner_ids"] = "Give user ids, or choose a whole region, not both."
    if purpose not in PURPOSES:
        errors["purpose"] = "Choose a purpose from the list."
    if not errors:
        try:
            await access.request_ticket(
                uow,
                runtime,
                staff,
                category=category,
                purpose=purpose,
                justification=justification,
                owner_ids=owners or None,
                region=region or None,
            )
        except ShopReelError as error:
            await uow.control.rollback()
            status = error.status
            fields = ("owner_ids", "region", "category", "purpose", "justification")
            errors = _field_errors(error, fields)
            if error.code == access.AccessErrorCode.OWNER_NOT_FOUND.value:
                errors = {"owner_ids": error.detail}
    if errors:
        return await _access_page(
            request,
            uow,
            runtime,
            staff,
            extra={"ticket_form": form, "errors": {"read": {}, "ticket": errors, "grant": {}}},
            status=status,
        )
    return redirect(request, "/trust/access?notice=ticket_requested")


@router.post("/access/break-glass", response_class=HTMLResponse)
async def request_break_glass(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    owner_id: Annotated[str, Form(max_length=MAX_ID)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = {"owner_id": owner_id, "category": category, "purpose": purpose, "reason": reason}
    errors: dict[str, str] = {}
    status = 422
    if not owner_id.strip():
        errors["owner_id"] = "Enter the user id."
    if purpose not in PURPOSES:
        errors["purpose"] = "Choose a purpose from the list."
    if not errors:
        try:
            await access.request_break_glass(
                uow,
                runtime,
                staff,
                owner_id=owner_id.strip(),
                category=category,
                purpose=purpose,
                reason=reason,
            )
        except ShopReelError as error:
            await uow.control.rollback()
            status = error.status
            errors = _field_errors(error, ("category", "purpose", "reason"))
            if error.code == access.AccessErrorCode.OWNER_NOT_FOUND.value:
                errors = {"owner_id": error.detail}
    if errors:
        return await _access_page(
            request,
            uow,
            runtime,
            staff,
            extra={"grant_form": form, "errors": {"read": {}, "ticket": {}, "grant": errors}},
            status=status,
        )
    return redirect(request, "/trust/access?notice=break_glass_requested")


@router.post("/access/read", response_class=HTMLResponse)
async def read_personal_data(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    owner_id: Annotated[str, Form(max_length=MAX_ID)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
    purpose: Annotated[str, Form(max_length=200)] = "",
    ticket_id: Annotated[str, Form(max_length=48)] = "",
    break_glass_id: Annotated[str, Form(max_length=48)] = "",
) -> Response:
    """Read one user's personal data through the broker: the decision is audited (and
    committed) whether it allows the read or not."""
    form = {
        "owner_id": owner_id,
        "category": category,
        "purpose": purpose,
        "ticket_id": ticket_id,
        "break_glass_id": break_glass_id,
    }
    errors: dict[str, str] = {}
    if not owner_id.strip():
        errors["owner_id"] = "Enter the user id."
    if category not in access.CATEGORIES:
        errors["category"] = "Choose a category from the list."
    if purpose not in PURPOSES:
        errors["purpose"] = "Choose a purpose from the list."
    if ticket_id.strip() and break_glass_id.strip():
        errors["form"] = "Give a ticket or a break-glass grant, not both."
    extra: dict[str, Any] = {"read_form": form}
    status = 200
    if errors:
        status = 422
    else:
        try:
            extra["read_result"] = await access.read_personal_data(
                runtime,
                staff,
                owner_id.strip(),
                category,
                purpose,
                ticket_id=ticket_id.strip() or None,
                break_glass_id=break_glass_id.strip() or None,
            )
            seq = extra["read_result"]["decision"]["audit_seq"]
            flash(request, "success", f"Access allowed by policy; recorded as audit entry #{seq}.")
        except AccessDenied as error:
            status = error.status
            extra["read_denial"] = {
                "detail": error.detail,
                "reasons": list(error.extra.get("reasons", [])),
                "errors": list(error.extra.get("errors", [])),
                "audit_seq": error.extra.get("audit_seq"),
            }
            flash(request, "error", "Access denied by policy. The attempt is in the audit log.")
        except ShopReelError as error:
            status = error.status
            errors = _field_errors(error, ("owner_id", "category", "purpose"))
            if error.code == access.AccessErrorCode.OWNER_NOT_FOUND.value:
                errors = {"owner_id": error.detail}
    extra["errors"] = {"read": errors, "ticket": {}, "grant": {}}
    return await _access_page(request, uow, runtime, staff, extra=extra, status=status)


# ---- proposals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotView:
    authority: str
    decision: str
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    can_decide: bool


@dataclass(frozen=True)
class DiffLine:
    op: Literal["added", "removed", "changed"]
    path: str
    value: str | None = None
    old: str | None = None
    new: str | None = None


def diff_lines(diff: dict[str, Any]) -> list[DiffLine]:
    """The stored diff as readable lines: JSON-Pointer paths ("/" for the whole value)
    and compact JSON values."""
    lines: list[DiffLine] = []
    for change in diff.get("added", []):
        lines.append(DiffLine("added", change.get("path") or "/", value=_json(change.get("value"))))
    for change in diff.get("removed", []):
        lines.append(
            DiffLine("removed", change.get("path") or "/", value=_json(change.get("value")))
        )
    for change in diff.get("changed", []):
        lines.append(
            DiffLine(
                "changed",
                change.get("path") or "/",
                old=_json(change.get("old")),
                new=_json(change.get("new")),
            )
        )
    return lines


def _slots(proposal: Proposal, actor: rules.Actor) -> list[SlotView]:
    open_ = proposal.status == rules.ProposalStatus.PENDING.value
    return [
        SlotView(
            authority=slot.authority,
            decision=slot.decision,
            decided_by=slot.decided_by,
            decided_at=as_utc(slot.decided_at) if slot.decided_at else None,
            comment=slot.comment,
            can_decide=(
                open_
                and slot.decision == rules.Decision.PENDING.value
                and rules.authority_denial(actor, slot.authority, proposal.proposed_by) is None
            ),
        )
        for slot in proposal.approvals
    ]


@router.get("/proposals", response_class=HTMLResponse)
async def proposals_page(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    status: Annotated[ProposalFilter, Query()] = "pending",
) -> Response:
    actor = governance.actor_of(staff, runtime.settings)
    proposals = await governance.list_proposals(
        uow.control, status=None if status == "all" else status, limit=PROPOSAL_LIST_LIMIT
    )
    rows = []
    for proposal in proposals:
        slots = _slots(proposal, actor)
        rows.append(
            {
                "proposal": proposal,
                "created_at": as_utc(proposal.created_at),
                "slots": slots,
                "needs_you": any(slot.can_decide for slot in slots),
            }
        )
    return _page(
        request,
        runtime,
        staff,
        "proposals.html",
        "proposals",
        {"rows": rows, "status_filter": status, "limit": PROPOSAL_LIST_LIMIT},
    )


def _key_options() -> list[tuple[str, str]]:
    return [(r.pattern, r.pattern) for r in rules.KEY_RULES if not r.pattern.endswith(".*")]


async def _new_proposal_page(
    request: Request,
    runtime: Runtime,
    staff: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        runtime,
        staff,
        "proposal_new.html",
        "proposals",
        {
            "form": form or {"scope": console_region(runtime, staff)},
            "errors": errors or {},
            "keys": _key_options(),
            "scopes": [(rules.GLOBAL_SCOPE, "global (every region)")]
            + [(r, f"{r} only") for r in runtime.settings.region_names],
            "key_table": rules.describe_table(runtime.settings.region_names),
            "rationale_min": governance.RATIONALE_MIN,
        },
        status=status,
    )


@router.get("/proposals/new", response_class=HTMLResponse)
async def new_proposal(
    request: Request, _guard: PageGuard, staff: Staff, runtime: RuntimeDep
) -> Response:
    return await _new_proposal_page(request, runtime, staff)


@router.post("/proposals", response_class=HTMLResponse)
async def create_proposal(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    key: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=16)] = "",
    value: Annotated[str, Form(max_length=40_000)] = "",
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = {"key": key, "scope": scope, "value": value, "rationale": rationale}
    errors: dict[str, str] = {}
    parsed: Any = None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        errors["value"] = f"The value is not valid JSON: {exc.args[0] if exc.args else exc}."
    if not errors:
        try:
            proposal = await governance.create_proposal(
                uow.control,
                runtime.settings.region_names,
                governance.actor_of(staff, runtime.settings),
                governance.ProposalDraft(key=key, scope=scope, value=parsed, rationale=rationale),
            )
        except ShopReelError as error:
            await uow.control.rollback()
            errors = _field_errors(error, ("key", "scope", "value", "rationale"))
            if "form" in errors and error.code in ("invalid_value", "invalid_artifact"):
                errors = {"value": errors["form"]}
            return await _new_proposal_page(
                request, runtime, staff, form=form, errors=errors, status=error.status
            )
        return redirect(request, f"/trust/proposals/{proposal.id}?notice=proposal_created")
    return await _new_proposal_page(request, runtime, staff, form=form, errors=errors, status=422)


async def _proposal_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    staff: Principal,
    proposal_id: str,
    *,
    status: int = 200,
) -> HTMLResponse:
    proposal = await governance.get_proposal(uow.control, proposal_id)
    actor = governance.actor_of(staff, runtime.settings)
    slots = _slots(proposal, actor)
    return _page(
        request,
        runtime,
        staff,
        "proposal.html",
        "proposals",
        {
            "proposal": proposal,
            "created_at": as_utc(proposal.created_at),
            "decided_at": as_utc(proposal.decided_at) if proposal.decided_at else None,
            "slots": slots,
            "deciding": [s for s in slots if s.can_decide],
            "own": proposal.proposed_by == staff.id,
            "diff": diff_lines(proposal.diff),
            "value_json": _json(proposal.value, indent=2),
            "rule": rules.rule_for(proposal.key),
            "versions": [(v.scope, v.version) for v in proposal.versions],
        },
        status=status,
    )


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
async def proposal_page(
    request: Request,
    proposal_id: IdPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    notice: Notice = None,
) -> Response:
    _notice(request, notice)
    return await _proposal_page(request, uow, runtime, staff, proposal_id)


async def _decide(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    staff: Principal,
    proposal_id: str,
    *,
    approve: bool,
    comment: str,
    authority: str,
) -> Response:
    actor = governance.actor_of(staff, runtime.settings)
    try:
        if approve:
            proposal = await governance.approve(
                uow.control, actor, proposal_id, comment=comment, authority=authority or None
            )
        else:
            proposal = await governance.reject(
                uow.control, actor, proposal_id, comment=comment, authority=authority or None
            )
    except ShopReelError as error:
        await uow.control.rollback()
        if isinstance(error, NotFound):
            raise
        flash(request, "error", error.detail)
        return await _proposal_page(request, uow, runtime, staff, proposal_id, status=error.status)
    notice = {
        rules.ProposalStatus.APPLIED.value: "proposal_applied",
        rules.ProposalStatus.SUPERSEDED.value: "proposal_superseded",
        rules.ProposalStatus.REJECTED.value: "proposal_rejected",
    }.get(proposal.status, "proposal_approved")
    return redirect(request, f"/trust/proposals/{proposal.id}?notice={notice}")


@router.post("/proposals/{proposal_id}/approve")
async def approve_proposal(
    request: Request,
    proposal_id: IdPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    comment: Annotated[str, Form(max_length=2000)] = "",
    authority: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    return await _decide(
        request,
        uow,
        runtime,
        staff,
        proposal_id,
        approve=True,
        comment=comment,
        authority=authority,
    )


@router.post("/proposals/{proposal_id}/reject")
async def reject_proposal(
    request: Request,
    proposal_id: IdPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    comment: Annotated[str, Form(max_length=2000)] = "",
    authority: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    return await _decide(
        request,
        uow,
        runtime,
        staff,
        proposal_id,
        approve=False,
        comment=comment,
        authority=authority,
    )


# ---- audit log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    seq: int
    time: datetime
    kind: str
    actor_roles: list[str]
    actor_jurisdiction: str | None
    subject: str | None
    region: str | None
    decision: str | None
    decision_variant: str


def _strings(value: object) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def entry_decision(attributes: dict[str, Any]) -> tuple[str | None, str]:
    """A short outcome of an entry and a badge variant: allowed/denied for broker
    decisions, the event or action of tickets, grants and governance records."""
    if "allowed" in attributes:
        return ("allowed", "success") if attributes["allowed"] is True else ("denied", "danger")
    for key in ("event", "action"):
        value = attributes.get(key)
        if isinstance(value, str) and value:
            variant = "danger" if value in ("approval_refused", "reject") else "neutral"
            return value.replace("_", " "), variant
    return None, "neutral"


def _entry_row(entry: AuditEntry) -> EntryRow:
    attributes = entry.attributes if isinstance(entry.attributes, dict) else {}
    roles = _strings(attributes.get("actor_staff_roles")) or _strings(attributes.get("actor_roles"))
    jurisdiction = attributes.get("actor_jurisdiction")
    decision, variant = entry_decision(attributes)
    return EntryRow(
        seq=entry.seq,
        time=as_utc(entry.created_at),
        kind=entry.kind,
        actor_roles=roles,
        actor_jurisdiction=jurisdiction if isinstance(jurisdiction, str) else None,
        subject=entry.subject_id,
        region=entry.region,
        decision=decision,
        decision_variant=variant,
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    kind: Annotated[str, Query(max_length=48)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    control = uow.control
    kinds = list(
        await control.scalars(select(AuditEntry.kind).distinct().order_by(AuditEntry.kind))
    )
    count_query = select(func.count()).select_from(AuditEntry)
    list_query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if kind:
        count_query = count_query.where(AuditEntry.kind == kind)
        list_query = list_query.where(AuditEntry.kind == kind)
    total = int(await control.scalar(count_query) or 0)
    pages = max(1, math.ceil(total / AUDIT_PAGE_SIZE))
    page = min(page, pages)
    entries = await control.scalars(
        list_query.offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)
    )
    head = await audit.latest_tree_head(control)
    return _page(
        request,
        runtime,
        staff,
        "audit.html",
        "audit",
        {
            "rows": [_entry_row(e) for e in entries],
            "kinds": [("", "All kinds")] + [(k, k) for k in kinds],
            "kind": kind,
            "page": page,
            "pages": pages,
            "total": total,
            "params": {"kind": kind} if kind else {},
            "signed_size": head.tree_size if head is not None else 0,
        },
    )


@router.post("/audit/verify", response_class=HTMLResponse)
async def verify_audit_log(
    request: Request, _guard: PageGuard, staff: Staff, uow: UowDep, runtime: RuntimeDep
) -> Response:
    """Recompute every leaf hash, root and signature, as ``shopreel audit verify`` does."""
    signer = load_signer(runtime.settings.key_dir)
    result = await audit.verify_log(uow.control, signer.public_key)
    if result.ok:
        flash(request, "success", "The audit log is intact.")
    else:
        flash(request, "error", "The audit log does not verify: see the problems below.")
    return _page(
        request,
        runtime,
        staff,
        "audit_verify.html",
        "audit",
        {"report": result, "summary": result.summary(), "key_id": signer.key_id},
    )


async def _entry(uow: UnitOfWork, seq: int) -> AuditEntry:
    entry = await audit.get_entry(uow.control, seq)
    if entry is None:
        raise NotFound(f"No audit entry {seq}.")
    return entry


SeqPath = Annotated[int, Path(ge=0, le=2**31 - 1)]


@router.get("/audit/{seq}", response_class=HTMLResponse)
async def audit_entry_page(
    request: Request,
    seq: SeqPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    entry = await _entry(uow, seq)
    data = bytes(entry.leaf_data)
    stored_hash = bytes(entry.leaf_hash)
    try:
        decoded: Any = json.loads(data)
    except ValueError:
        decoded = None
    head = await audit.latest_tree_head(uow.control)
    return _page(
        request,
        runtime,
        staff,
        "audit_entry.html",
        "audit",
        {
            "row": _entry_row(entry),
            "leaf_text": data.decode("utf-8", errors="replace"),
            "leaf_pretty": _json(decoded, indent=2) if isinstance(decoded, dict) else None,
            "leaf_hash": stored_hash.hex(),
            "hash_ok": merkle.leaf_hash(data) == stored_hash,
            "actor_id": entry.actor_id,
            "proof_tree_size": head.tree_size
            if head is not None and head.tree_size > seq
            else None,
        },
    )


def _proof_document(
    entry: AuditEntry,
    proof: audit.InclusionProof,
    head: audit.SignedHead,
    runtime: Runtime,
) -> dict[str, Any]:
    signer = load_signer(runtime.settings.key_dir)
    data = bytes(entry.leaf_data)
    try:
        decoded: Any = json.loads(data)
    except ValueError:
        decoded = None
    return {
        "format": PROOF_FORMAT,
        "seq": entry.seq,
        "leaf_data": base64.b64encode(data).decode("ascii"),
        "entry": decoded,
        "leaf_hash": proof.leaf_hash.hex(),
        "tree_size": proof.tree_size,
        "audit_path": [h.hex() for h in proof.audit_path],
        "tree_head": head.to_json(),
        "public_key": {
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(signer.public_key_raw).decode("ascii"),
            "key_id": signer.key_id,
        },
        "how_to_verify": [
            "leaf_hash = SHA-256(0x00 || base64decode(leaf_data)); it must equal leaf_hash.",
            "Check the Ed25519 signature of tree_head over struct.pack('>BQQ32s', 1, "
            "tree_size, timestamp_ms, root_hash) with public_key; compare key_id with the "
            "key the operator publishes.",
            "Verify audit_path for leaf seq in a tree of tree_size leaves against "
            "tree_head.root_hash (RFC 9162 section 2.1.3.2).",
            "docs/transparency.md, 'Verifying the log from outside', has a script.",
        ],
    }


@router.get("/audit/{seq}/proof.json")
async def inclusion_proof(
    request: Request,
    seq: SeqPath,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    tree_size: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The entry, its audit path and the signed tree head it is proven against, as a file
    anyone can verify offline (``docs/transparency.md``)."""
    entry = await _entry(uow, seq)
    control = uow.control
    row = (
        await audit.tree_head_at(control, tree_size)
        if tree_size is not None
        else await audit.latest_tree_head(control)
    )
    if row is None:
        raise NotFound("No signed tree head of that size has been published.")
    if row.tree_size <= seq:
        raise ValidationFailed(
            f"Entry {seq} is not in the latest signed tree head (size {row.tree_size}) yet; "
            "it is covered once the next tree head is published."
        )
    proof = await audit.inclusion_proof(control, seq, row.tree_size)
    document = _proof_document(entry, proof, audit.SignedHead.from_row(row), runtime)
    body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    filename = f"shopreel-audit-{seq}-inclusion-proof-{row.tree_size}.json"
    return Response(
        body,
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


# ---- privacy requests ------------------------------------------------------------------------


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_page(
    request: Request, _guard: PageGuard, staff: Staff, runtime: RuntimeDep
) -> Response:
    region = console_region(runtime, staff)
    clocks = await privacy.list_open_requests(runtime, region)
    rows = [
        {
            "clock": c,
            "kind_label": KIND_LABELS.get(c.kind, c.kind),
            "law_label": LAW_LABELS.get(c.law, c.law.upper()),
            "time_left": _duration(c.time_left),
            "late": c.time_left < timedelta(0),
        }
        for c in clocks
    ]
    return _page(
        request,
        runtime,
        staff,
        "privacy.html",
        "privacy",
        {"rows": rows, "overdue": sum(1 for c in clocks if c.overdue)},
    )


# ---- transparency report ---------------------------------------------------------------------


async def _report(
    uow: UnitOfWork, runtime: Runtime, staff: Principal, region: str | None, days: int
) -> tuple[reports.TransparencyReport, bool]:
    chosen = region or console_region(runtime, staff)
    if chosen not in runtime.settings.region_names:
        names = ", ".join(runtime.settings.region_names)
        raise ValidationFailed(f"Unknown region; use one of {names}.", extra={"field": "region"})
    until = utcnow()
    raw = await reports.regional_report(
        uow.control, chosen, since=until - timedelta(days=days), until=until
    )
    sees_raw = reports.viewer_sees_raw(staff, chosen, runtime.settings)
    return (raw if sees_raw else reports.suppress(raw)), sees_raw


RegionQuery = Annotated[str | None, Query(max_length=16)]
DaysQuery = Annotated[int, Query(ge=1, le=reports.MAX_DAYS)]


@router.get("/report", response_class=HTMLResponse)
async def report_page(
    request: Request,
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    region: RegionQuery = None,
    days: DaysQuery = reports.DEFAULT_DAYS,
) -> Response:
    result, sees_raw = await _report(uow, runtime, staff, region, days)
    head = await audit.latest_tree_head(uow.control)
    return _page(
        request,
        runtime,
        staff,
        "report.html",
        "report",
        {
            "report": result,
            "sees_raw": sees_raw,
            "days": days,
            "signed_size": head.tree_size if head is not None else 0,
            "region_options": [(r, r.upper()) for r in runtime.settings.region_names],
            "json_url": f"/trust/report.json?region={result.region}&days={days}",
        },
    )


@router.get("/report.json")
async def report_json(
    _guard: PageGuard,
    staff: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    region: RegionQuery = None,
    days: DaysQuery = reports.DEFAULT_DAYS,
) -> JSONResponse:
    result, _ = await _report(uow, runtime, staff, region, days)
    return JSONResponse(result.to_json(), headers={"cache-control": "no-store"})
