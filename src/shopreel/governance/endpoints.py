"""Governance JSON API: proposals and approvals, effective settings, deploy allowlists.

Staff only, and only with a signed-in browser session: personal access tokens carry no
governance scope. Every rule is enforced in :mod:`shopreel.governance.service`; these
handlers only translate HTTP. Include with
``app.include_router(governance_api.router, prefix=API_PREFIX)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from shopreel.accounts.principal import Principal
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.governance import rules, service
from shopreel.governance.errors import InvalidScope, SessionRequired, SettingNotFound, StaffOnly
from shopreel.governance.schemas import (
    AllowlistEntryRead,
    ApproveRequest,
    ArtifactKindName,
    EffectiveSettingRead,
    ProposalCreate,
    ProposalRead,
    ProposalStatusName,
    RejectRequest,
    RevokeRequest,
    SettingVersionRead,
)
from shopreel.runtime import Runtime

router = APIRouter(prefix="/governance", tags=["governance"])


async def require_staff_session(principal: CurrentPrincipal) -> Principal:
    """A staff member with a browser session (tokens have no governance scope)."""
    if not principal.is_staff:
        raise StaffOnly("Governance is for staff only.")
    if principal.auth != "session":
        raise SessionRequired(
            "Governance needs a signed-in staff session; access tokens cannot be used."
        )
    return principal


Staff = Annotated[Principal, Depends(require_staff_session)]


def _region(runtime: Runtime, region: str | None, *, allow: tuple[str, ...] = ()) -> None:
    if region is not None and region not in (*runtime.settings.region_names, *allow):
        names = ", ".join((*runtime.settings.region_names, *allow))
        raise InvalidScope(f"Unknown region {region!r}; use one of {names}.")


@router.post("/proposals", status_code=status.HTTP_201_CREATED)
async def create_proposal(
    body: ProposalCreate, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> ProposalRead:
    """Propose a new value for a setting in a scope ('global' or a region); returns the
    pending proposal with its diff against the value in force and the approvals it needs."""
    proposal = await service.create_proposal(
        uow.control,
        runtime.settings.region_names,
        service.actor_of(principal, runtime.settings),
        service.ProposalDraft(
            key=body.key, scope=body.scope, value=body.value, rationale=body.rationale
        ),
    )
    return ProposalRead.of(proposal)


@router.get("/proposals")
async def list_proposals(
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    status_filter: Annotated[ProposalStatusName | None, Query(alias="status")] = None,
    region: Annotated[
        str | None,
        Query(description="Proposals needing a decision from this region (or 'hq')."),
    ] = None,
    key: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[str | None, Query(max_length=40, description="Page: an id")] = None,
) -> list[ProposalRead]:
    """Proposals, newest first."""
    _region(runtime, region, allow=(rules.HQ,))
    proposals = await service.list_proposals(
        uow.control, status=status_filter, authority=region, key=key, limit=limit, before=before
    )
    return [ProposalRead.of(p) for p in proposals]


@router.get("/proposals/{proposal_id}")
async def get_proposal(proposal_id: str, principal: Staff, uow: UowDep) -> ProposalRead:
    """One proposal with its diff, approvals and applied versions."""
    return ProposalRead.of(await service.get_proposal(uow.control, proposal_id))


@router.post("/proposals/{proposal_id}/approve")
async def approve_proposal(
    proposal_id: str, body: ApproveRequest, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> ProposalRead:
    """Approve for your region (trust officers) or for HQ (policy admins). The last
    required approval applies the proposal. 409 if not pending or already decided."""
    proposal = await service.approve(
        uow.control,
        service.actor_of(principal, runtime.settings),
        proposal_id,
        comment=body.comment,
        authority=body.authority,
    )
    return ProposalRead.of(proposal)


@router.post("/proposals/{proposal_id}/reject")
async def reject_proposal(
    proposal_id: str, body: RejectRequest, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> ProposalRead:
    """Reject (a comment is required); one rejection rejects the proposal."""
    proposal = await service.reject(
        uow.control,
        service.actor_of(principal, runtime.settings),
        proposal_id,
        comment=body.comment,
        authority=body.authority,
    )
    return ProposalRead.of(proposal)


@router.get("/settings/{key}")
async def get_setting(
    key: str,
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    region: Annotated[str | None, Query(description="Omit for the global value.")] = None,
) -> EffectiveSettingRead:
    """The value in force (the region's own version, else the global one) and its version."""
    _region(runtime, region)
    rules.rule_for(key)
    row = await service.effective_version(uow.control, key, region)
    if row is None:
        raise SettingNotFound(f"{key} has never been set.")
    return EffectiveSettingRead.effective(row, region)


@router.get("/settings/{key}/history")
async def setting_history(
    key: str,
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    scope: str = rules.GLOBAL_SCOPE,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SettingVersionRead]:
    """Versions of a key in exactly one scope, newest first."""
    if scope != rules.GLOBAL_SCOPE:
        _region(runtime, scope)
    rules.rule_for(key)
    rows = await service.history(uow.control, key, scope, limit=limit)
    return [SettingVersionRead.of(r) for r in rows]


@router.get("/allowlist")
async def list_allowlist(
    principal: Staff,
    uow: UowDep,
    runtime: RuntimeDep,
    region: str | None = None,
    kind: ArtifactKindName | None = None,
    include_revoked: bool = True,
) -> list[AllowlistEntryRead]:
    """Deploy allowlist entries (discovery models and policy sets), newest first."""
    _region(runtime, region)
    entries = await service.list_allowlist(
        uow.control, region=region, kind=kind, include_revoked=include_revoked
    )
    return [AllowlistEntryRead.of(e) for e in entries]


@router.post("/allowlist/{entry_id}/revoke")
async def revoke_allowlist_entry(
    entry_id: str, body: RevokeRequest, principal: Staff, uow: UowDep, runtime: RuntimeDep
) -> AllowlistEntryRead:
    """Revoke an artifact at once (the region's own trust officer only)."""
    entry = await service.revoke_artifact(
        uow.control,
        service.actor_of(principal, runtime.settings),
        entry_id,
        reason=body.reason,
    )
    return AllowlistEntryRead.of(entry)
