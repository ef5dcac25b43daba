"""Staff access JSON API: personal-data reads through the access broker, bulk-access tickets,
break-glass grants, k-anonymous aggregates (the trust console's back end).

Staff only (``permission_denied`` otherwise), and only with a signed-in browser session:
personal access tokens carry no staff scope (``session_required``). Every rule lives in
:mod:`shopreel.sovereignty.access` and the Cedar policies; these handlers translate HTTP.
Include with ``app.include_router(access_api.router, prefix=API_PREFIX)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from shopreel.accounts.principal import Principal
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import PermissionDenied
from shopreel.kit.time import as_utc, utcnow
from shopreel.sovereignty import access
from shopreel.sovereignty.access_models import AccessTicket, BreakGlassApproval, BreakGlassGrant

router = APIRouter(prefix="/staff", tags=["staff access"])

StatusName = Literal["pending", "approved", "expired"]
OwnerId = Annotated[str, Field(min_length=1, max_length=64)]


async def require_staff_session(principal: CurrentPrincipal) -> Principal:
    """A staff member signed in with a browser session."""
    if not principal.is_staff:
        raise PermissionDenied("Staff access is for staff only.")
    if principal.auth != "session":
        raise PermissionDenied(
            "Staff access needs a signed-in staff session; access tokens cannot be used.",
            code="session_required",
        )
    return principal


Staff = Annotated[Principal, Depends(require_staff_session)]


# ---- schemas ---------------------------------------------------------------------------------


class PersonalDataRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: OwnerId
    category: str = Field(max_length=32, examples=["account"])
    purpose: str = Field(default="", max_length=200, examples=["support_case"])
    ticket_id: str | None = Field(default=None, max_length=48)
    break_glass_id: str | None = Field(default=None, max_length=48)


class BulkReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=32)
    purpose: str = Field(default="", max_length=200)
    ticket_id: str | None = Field(default=None, max_length=48)
    owner_ids: list[OwnerId] | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=16)
    after: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=100, ge=1, le=100)


class DecisionRead(BaseModel):
    allowed: bool
    reasons: list[str]
    policy_version: str
    audit_seq: int


class PersonalDataRead(BaseModel):
    owner_id: str
    region: str
    category: str
    action: str
    data: dict[str, Any]
    decision: DecisionRead


class BulkRecord(BaseModel):
    owner_id: str
    data: dict[str, Any]
    decision: DecisionRead


class BulkReadResult(BaseModel):
    region: str
    category: str
    action: str
    records: list[BulkRecord]
    missing: list[str] = Field(description="Allowed, but no such user (or crypto-shredded).")
    next_after: str | None = Field(description="Region-wide reads: pass as `after` for more.")


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_ids: list[OwnerId] | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=16, description="Region-wide scope.")
    category: str = Field(max_length=32)
    purpose: str = Field(max_length=200)
    justification: str = Field(max_length=2000)


class TicketRead(BaseModel):
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
    approved_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, ticket: AccessTicket) -> TicketRead:
        return cls(
            id=ticket.id,
            requester_id=ticket.requester_id,
            requester_jurisdiction=ticket.requester_jurisdiction,
            region=ticket.region,
            scope=ticket.scope,
            owner_ids=list(ticket.owner_ids or []),
            category=ticket.category,
            purpose=ticket.purpose,
            justification=ticket.justification,
            status=access.ticket_status(ticket, utcnow()),
            created_at=as_utc(ticket.created_at),
            approved_by=ticket.approved_by,
            approved_at=as_utc(ticket.approved_at) if ticket.approved_at else None,
            expires_at=as_utc(ticket.expires_at) if ticket.expires_at else None,
        )


class BreakGlassCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: OwnerId
    category: str = Field(max_length=32)
    purpose: str = Field(max_length=200)
    reason: str = Field(max_length=2000)


class ApprovalRead(BaseModel):
    approver_id: str
    approver_jurisdiction: str
    approver_region: str
    approved_at: datetime


class BreakGlassRead(BaseModel):
    id: str
    requester_id: str
    requester_jurisdiction: str
    owner_id: str
    region: str
    category: str
    purpose: str
    reason: str
    status: str
    approvals: list[ApprovalRead]
    required_approvers: int
    created_at: datetime
    approved_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, grant: BreakGlassGrant, approvals: list[BreakGlassApproval]) -> BreakGlassRead:
        return cls(
            id=grant.id,
            requester_id=grant.requester_id,
            requester_jurisdiction=grant.requester_jurisdiction,
            owner_id=grant.owner_id,
            region=grant.region,
            category=grant.category,
            purpose=grant.purpose,
            reason=grant.reason,
            status=access.break_glass_status(grant, utcnow()),
            approvals=[
                ApprovalRead(
                    approver_id=a.approver_id,
                    approver_jurisdiction=a.approver_jurisdiction,
                    approver_region=a.approver_region,
                    approved_at=as_utc(a.approved_at),
                )
                for a in approvals
            ],
            required_approvers=access.BREAK_GLASS_APPROVERS,
            created_at=as_utc(grant.created_at),
            approved_at=as_utc(grant.approved_at) if grant.approved_at else None,
            expires_at=as_utc(grant.expires_at) if grant.expires_at else None,
        )


class AggregateRead(BaseModel):
    region: str
    metric: str
    k: int
    counts: dict[str, int | None] = Field(
        description="null: suppressed (fewer than k, or its complement)"
    )
    suppressed: list[str]
    decision: DecisionRead


# ---- personal data ---------------------------------------------------------------------------


@router.post("/personal-data")
async def read_personal_data(
    body: PersonalDataRequest, principal: Staff, runtime: RuntimeDep
) -> PersonalDataRead:
    """One user's personal data of one category (`account`, `events`), decided by the
    access policies and audited: 403 `access_denied` with the policies' reasons otherwise.
    With `ticket_id` the read is a ticket-backed bulk read, with `break_glass_id` a
    break-glass read."""
    result = await access.read_personal_data(
        runtime,
        principal,
        body.owner_id,
        body.category,
        body.purpose,
        ticket_id=body.ticket_id,
        break_glass_id=body.break_glass_id,
    )
    return PersonalDataRead.model_validate(result)


@router.post("/personal-data/bulk")
async def bulk_read_personal_data(
    body: BulkReadRequest, principal: Staff, runtime: RuntimeDep
) -> BulkReadResult:
    """A bulk read (needs an approved ticket) of listed users of one region, or of a page
    of a whole region. All or nothing; every user's decision is audited."""
    result = await access.bulk_read_personal_data(
        runtime,
        principal,
        category=body.category,
        purpose=body.purpose,
        ticket_id=body.ticket_id,
        owner_ids=body.owner_ids,
        region=body.region,
        after=body.after,
        limit=body.limit,
    )
    return BulkReadResult.model_validate(result)


# ---- tickets ---------------------------------------------------------------------------------


@router.post("/tickets", status_code=status.HTTP_201_CREATED)
async def create_ticket(
    body: TicketCreate, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> TicketRead:
    """Request bulk access to listed users (`owner_ids`, one region) or a whole `region`."""
    ticket = await access.request_ticket(
        uow,
        runtime,
        principal,
        category=body.category,
        purpose=body.purpose,
        justification=body.justification,
        owner_ids=body.owner_ids,
        region=body.region,
    )
    return TicketRead.of(ticket)


@router.get("/tickets")
async def list_tickets(
    principal: Staff,
    uow: UowDep,
    status_filter: Annotated[StatusName | None, Query(alias="status")] = None,
) -> list[TicketRead]:
    """Tickets, newest first (at most 200)."""
    tickets = await access.list_tickets(uow, principal, status_filter)
    return [TicketRead.of(ticket) for ticket in tickets]


@router.post("/tickets/{ticket_id}/approve")
async def approve_ticket(
    ticket_id: str, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> TicketRead:
    """Approve a pending ticket: trust officers of the data's region, never the requester.
    Valid for 24 hours."""
    ticket = await access.approve_ticket(uow, runtime, principal, ticket_id)
    return TicketRead.of(ticket)


# ---- break-glass -----------------------------------------------------------------------------


@router.post("/break-glass", status_code=status.HTTP_201_CREATED)
async def create_break_glass(
    body: BreakGlassCreate, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> BreakGlassRead:
    """Request an emergency read of one user's data of one category."""
    grant = await access.request_break_glass(
        uow,
        runtime,
        principal,
        owner_id=body.owner_id,
        category=body.category,
        purpose=body.purpose,
        reason=body.reason,
    )
    return BreakGlassRead.of(grant, [])


@router.get("/break-glass")
async def list_break_glass(
    principal: Staff,
    uow: UowDep,
    status_filter: Annotated[StatusName | None, Query(alias="status")] = None,
) -> list[BreakGlassRead]:
    """Break-glass requests with their approvals, newest first (at most 200)."""
    grants = await access.list_break_glass(uow, principal, status_filter)
    return [BreakGlassRead.of(grant, approvals) for grant, approvals in grants]


@router.post("/break-glass/{grant_id}/approve")
async def approve_break_glass(
    grant_id: str, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> BreakGlassRead:
    """Approve as staff of the data's region (not the requester). The second distinct
    approval starts a one-hour validity."""
    grant = await access.approve_break_glass(uow, runtime, principal, grant_id)
    return BreakGlassRead.of(grant, await access.grant_approvals(uow.control, grant.id))


# ---- aggregates ------------------------------------------------------------------------------


@router.get("/aggregates/users-by-country")
async def users_by_country(
    principal: Staff,
    runtime: RuntimeDep,
    region: Annotated[str, Query(max_length=16)],
) -> AggregateRead:
    """Users of a region by country, for staff of any jurisdiction: cells below k = 10
    (and their complements) are null; a table with nothing left to show is refused."""
    result = await access.users_by_country(runtime, principal, region)
    return AggregateRead.model_validate(result)
