"""Governance service: versioned settings, proposals and approvals, and the deploy gate.

Every function takes a **control-plane** session first (``uow.control`` in a request) and
flushes, never commits: the caller's unit of work commits. Decisions (propose, approve,
reject, apply, supersede, revoke) append their audit entry (:mod:`shopreel.sovereignty.audit`)
in the same transaction, so a decision and its audit record commit or roll back together;
any error raised here leaves the database unchanged once the caller rolls back.

Writers are serialised by a governance lock taken before anything is read
(``pg_advisory_xact_lock`` on PostgreSQL; SQLite's single write lock): two final approvals
of one proposal, or two proposals of one key applied at once, cannot interleave.

Reading settings
    :func:`effective_version`, :func:`effective_setting`, :func:`history`
Proposals
    :func:`create_proposal`, :func:`get_proposal`, :func:`list_proposals`,
    :func:`approve`, :func:`reject` (the rules are in :mod:`shopreel.governance.rules`)
Deploy gate
    :func:`is_deployable`, :func:`assert_deployable`, :func:`check_policy_set`,
    :func:`allowlisted_entry`, :func:`list_allowlist`, :func:`revoke_artifact`
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.principal import Principal
from shopreel.config import Settings
from shopreel.errors import ValidationFailed
from shopreel.governance import rules
from shopreel.governance.errors import (
    AllowlistEntryNotFound,
    AlreadyAllowlisted,
    AlreadyDecided,
    AlreadyRevoked,
    DeployBlocked,
    InvalidArtifact,
    NoChange,
    ProposalNotFound,
    ProposalNotPending,
)
from shopreel.governance.models import (
    DeployAllowlistEntry,
    Proposal,
    ProposalApproval,
    SettingVersion,
)
from shopreel.governance.rules import (
    GLOBAL_SCOPE,
    HQ,
    Actor,
    Decision,
    KeyRule,
    ProposalStatus,
)
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.planes import CONTROL, PlaneViolation, plane_of_session
from shopreel.sovereignty import audit

__all__ = [
    "ProposalDraft",
    "actor_of",
    "allowlisted_entry",
    "approve",
    "artifact_sha256",
    "assert_deployable",
    "check_policy_set",
    "create_proposal",
    "effective_setting",
    "effective_version",
    "get_proposal",
    "history",
    "is_deployable",
    "list_allowlist",
    "list_proposals",
    "reject",
    "revoke_artifact",
]

RATIONALE_MIN: Final = 10
RATIONALE_MAX: Final = 2000
COMMENT_MAX: Final = 2000
# pg_advisory_xact_lock key of governance writes: b"SRGOVRN\x01" as a signed 64-bit integer.
_PG_LOCK_KEY: Final = int.from_bytes(b"SRGOVRN\x01", "big", signed=True)
# Matches no row but takes SQLite's write lock, so later reads happen under it.
_SQLITE_WRITE_LOCK: Final = "UPDATE governance_proposals SET status = status WHERE 1 = 0"


# ---- plumbing --------------------------------------------------------------------------------


def _require_control(session: AsyncSession) -> None:
    plane = plane_of_session(session)
    if plane != CONTROL:
        raise PlaneViolation(f"governance lives in the control plane, not {plane.name}")


async def _lock(session: AsyncSession) -> None:
    """Serialise governance writers until the session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    else:
        await session.execute(text(_SQLITE_WRITE_LOCK))


def actor_of(principal: Principal, settings: Settings) -> Actor:
    """The governance view of a principal: its staff roles and the region its
    jurisdiction maps to (``settings.region_for_country``)."""
    jurisdiction = principal.jurisdiction
    return Actor(
        id=principal.id,
        is_staff=principal.is_staff,
        staff_roles=frozenset(principal.staff_roles),
        region=settings.region_for_country(jurisdiction) if jurisdiction else None,
    )


def _text(value: str | None, what: str, *, minimum: int, maximum: int) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned and minimum == 0:
        return None
    if not minimum <= len(cleaned) <= maximum:
        raise ValidationFailed(
            f"The {what} must be {max(minimum, 1)} to {maximum} characters.",
            extra={"field": what},
        )
    return cleaned


def _ref(version: SettingVersion | None) -> dict[str, Any] | None:
    return None if version is None else {"scope": version.scope, "version": version.version}


async def _audit(
    session: AsyncSession,
    rule: KeyRule,
    actor_id: str | None,
    proposal: Proposal,
    action: str,
    *,
    region: str | None,
    **attributes: audit.JSONValue,
) -> None:
    await audit.append(
        session,
        kind=rule.audit_kind,
        actor_id=actor_id,
        subject_id=proposal.id,
        region=region,
        attributes={
            "action": action,
            "proposal": proposal.id,
            "key": proposal.key,
            "scope": proposal.scope,
            **attributes,
        },
    )


def _scope_region(scope: str) -> str | None:
    return None if scope in (GLOBAL_SCOPE, HQ) else scope


# ---- settings --------------------------------------------------------------------------------


async def _latest(session: AsyncSession, key: str, scope: str) -> SettingVersion | None:
    result = await session.scalars(
        select(SettingVersion)
        .where(SettingVersion.key == key, SettingVersion.scope == scope)
        .order_by(SettingVersion.version.desc())
        .limit(1)
    )
    return result.first()


async def effective_version(
    session: AsyncSession, key: str, region: str | None
) -> SettingVersion | None:
    """The version of ``key`` in force in ``region``: the region's latest version if it has
    one, else the latest global one; None if the key was never set. ``region`` None or
    ``"global"`` asks for the global version only."""
    _require_control(session)
    if region is not None and region != GLOBAL_SCOPE:
        regional = await _latest(session, key, region)
        if regional is not None:
            return regional
    return await _latest(session, key, GLOBAL_SCOPE)


async def effective_setting(session: AsyncSession, key: str, region: str | None) -> Any:
    """The value of ``key`` in force in ``region`` (see :func:`effective_version`), or None
    if it was never set (values are never null, so None always means unset)."""
    version = await effective_version(session, key, region)
    return None if version is None else version.value


async def history(
    session: AsyncSession, key: str, scope: str, *, limit: int = 100
) -> list[SettingVersion]:
    """Versions of ``key`` in exactly ``scope`` (``global`` or a region), newest first."""
    _require_control(session)
    result = await session.scalars(
        select(SettingVersion)
        .where(SettingVersion.key == key, SettingVersion.scope == scope)
        .order_by(SettingVersion.version.desc())
        .limit(limit)
    )
    return list(result)


# ---- proposals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalDraft:
    key: str
    scope: str
    value: Any
    rationale: str


async def create_proposal(
    session: AsyncSession, regions: Sequence[str], actor: Actor, draft: ProposalDraft
) -> Proposal:
    """Propose ``draft``: validates key, scope and value, computes the diff against the
    value currently in force in the scope, creates one pending approval slot per required
    authority and audits ``propose``. Any staff member may propose.

    Raises StaffOnly, InvalidSettingKey, InvalidScope, ScopeNotAllowed, InvalidValue /
    InvalidArtifact, ValidationFailed (rationale), NoChange (same value as now) and, for
    deploy keys, AlreadyAllowlisted."""
    _require_control(session)
    rules.require_staff(actor)
    rule = rules.rule_for(draft.key)
    authorities = rules.required_authorities(rule, draft.scope, regions)
    value = rules.validate_value(rule, draft.value)
    rationale = _text(draft.rationale, "rationale", minimum=RATIONALE_MIN, maximum=RATIONALE_MAX)
    assert rationale is not None
    await _lock(session)
    base = await effective_version(session, draft.key, draft.scope)
    diff = rules.diff_setting(None if base is None else base.value, value)
    if rule.artifact_kind is not None:
        if await allowlisted_entry(session, draft.scope, rule.artifact_kind, value["sha256"]):
            raise AlreadyAllowlisted(
                f"This {rule.artifact_kind} is already on {draft.scope}'s allowlist."
            )
    elif diff.empty:
        raise NoChange(f"{draft.key} already has this value in {draft.scope}.")
    proposal = Proposal(
        id=new_id("prp"),
        key=draft.key,
        scope=draft.scope,
        value=value,
        rationale=rationale,
        status=ProposalStatus.PENDING.value,
        diff=diff.to_json(),
        base_scope=None if base is None else base.scope,
        base_version=None if base is None else base.version,
        proposed_by=actor.id,
        created_at=utcnow(),
        approvals=[
            ProposalApproval(position=i, authority=authority, decision=Decision.PENDING.value)
            for i, authority in enumerate(authorities)
        ],
        versions=[],  # initialised, so reading it never lazy-loads (async sessions cannot)
    )
    session.add(proposal)
    await session.flush()
    await _audit(
        session,
        rule,
        actor.id,
        proposal,
        "propose",
        region=_scope_region(draft.scope),
        value_sha256=rules.value_sha256(value),
        base=_ref(base),
        diff=diff.counts(),
        authorities=list(authorities),
    )
    return proposal


async def get_proposal(session: AsyncSession, proposal_id: str) -> Proposal:
    """The proposal with its approval slots and applied versions; ProposalNotFound if none."""
    _require_control(session)
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise ProposalNotFound("No such proposal.")
    return proposal


async def list_proposals(
    session: AsyncSession,
    *,
    status: str | None = None,
    authority: str | None = None,
    key: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[Proposal]:
    """Proposals, newest first. ``authority`` keeps those needing a decision from that
    region (or ``hq``), including global ones; ``before`` (a proposal id) pages back."""
    _require_control(session)
    query = select(Proposal).order_by(Proposal.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Proposal.status == status)
    if key is not None:
        query = query.where(Proposal.key == key)
    if before is not None:
        query = query.where(Proposal.id < before)
    if authority is not None:
        query = query.where(
            Proposal.id.in_(
                select(ProposalApproval.proposal_id).where(ProposalApproval.authority == authority)
            )
        )
    return list(await session.scalars(query))


def decisions_of(proposal: Proposal) -> dict[str, str]:
    """Authority -> decision (``pending``, ``approved``, ``rejected``), in slot order."""
    return {slot.authority: slot.decision for slot in proposal.approvals}


async def approve(
    session: AsyncSession,
    actor: Actor,
    proposal_id: str,
    *,
    comment: str | None = None,
    authority: str | None = None,
) -> Proposal:
    """Approve for one authority (a region: its trust officer; ``hq``: a policy_admin).
    When every authority has approved, the proposal is applied in the same transaction
    (or superseded, if the setting changed since it was proposed).

    ``authority`` may be omitted when the actor is eligible for exactly one. Raises
    StaffOnly, OwnProposal (two-person rule), NotTrustOfficer, WrongJurisdiction,
    NotPolicyAdmin, AuthorityNotRequired, ProposalNotFound, ProposalNotPending (409) and
    AlreadyDecided (409: this authority already decided; nothing changes)."""
    cleaned = _text(comment, "comment", minimum=0, maximum=COMMENT_MAX)
    return await _decide(session, actor, proposal_id, Decision.APPROVED, cleaned, authority)


async def reject(
    session: AsyncSession,
    actor: Actor,
    proposal_id: str,
    *,
    comment: str,
    authority: str | None = None,
) -> Proposal:
    """Reject for one authority, with a required comment: one rejection rejects the
    proposal. Same eligibility and errors as :func:`approve`."""
    cleaned = _text(comment, "comment", minimum=1, maximum=COMMENT_MAX)
    return await _decide(session, actor, proposal_id, Decision.REJECTED, cleaned, authority)


async def _decide(
    session: AsyncSession,
    actor: Actor,
    proposal_id: str,
    decision: Decision,
    comment: str | None,
    requested: str | None,
) -> Proposal:
    _require_control(session)
    rules.require_staff(actor)
    await _lock(session)
    proposal = await get_proposal(session, proposal_id)
    rule = rules.rule_for(proposal.key)
    decisions = decisions_of(proposal)
    chosen = rules.choose_authority(actor, proposal.proposed_by, decisions, requested)
    if proposal.status != ProposalStatus.PENDING.value:
        raise ProposalNotPending(f"This proposal is {proposal.status}, no longer pending.")
    slot = next(s for s in proposal.approvals if s.authority == chosen)
    if slot.decision != Decision.PENDING.value:
        raise AlreadyDecided(f"{chosen!r} has already {slot.decision} this proposal.")
    now = utcnow()
    slot.decision = decision.value
    slot.decided_by = actor.id
    slot.decided_at = now
    slot.comment = comment
    if decision is Decision.REJECTED:
        proposal.status = ProposalStatus.REJECTED.value
        proposal.decided_at = now
    await session.flush()
    left = rules.remaining(decisions_of(proposal))
    await _audit(
        session,
        rule,
        actor.id,
        proposal,
        "approve" if decision is Decision.APPROVED else "reject",
        region=_scope_region(chosen),
        authority=chosen,
        comment=comment,
        remaining=[] if decision is Decision.REJECTED else list(left),
    )
    if decision is Decision.APPROVED and not left:
        await _apply(session, rule, actor, proposal)
    return proposal


async def _supersede(
    session: AsyncSession,
    rule: KeyRule,
    actor: Actor,
    proposal: Proposal,
    reason: str,
    current: SettingVersion | None,
    **attributes: audit.JSONValue,
) -> None:
    proposal.status = ProposalStatus.SUPERSEDED.value
    proposal.decided_at = utcnow()
    await session.flush()
    await _audit(
        session,
        rule,
        actor.id,
        proposal,
        "supersede",
        region=_scope_region(proposal.scope),
        reason=reason,
        base={"scope": proposal.base_scope, "version": proposal.base_version}
        if proposal.base_version is not None
        else None,
        current=_ref(current),
        **attributes,
    )


def _stale(proposal: Proposal, current: SettingVersion | None) -> bool:
    now = (None, None) if current is None else (current.scope, current.version)
    return now != (proposal.base_scope, proposal.base_version)


async def _apply(session: AsyncSession, rule: KeyRule, actor: Actor, proposal: Proposal) -> None:
    """Write the new setting version (and allowlist entry); audit ``apply``; supersede
    pending proposals of the same key whose diff this made stale."""
    current = await effective_version(session, proposal.key, proposal.scope)
    if not rule.additive and _stale(proposal, current):
        await _supersede(
            session,
            rule,
            actor,
            proposal,
            "the setting changed after this proposal was made",
            current,
        )
        return
    value = proposal.value
    if rule.artifact_kind is not None and await allowlisted_entry(
        session, proposal.scope, rule.artifact_kind, value["sha256"]
    ):
        reason = "the artifact is already allowlisted"
        await _supersede(session, rule, actor, proposal, reason, None)
        return
    latest = await _latest(session, proposal.key, proposal.scope)
    now = utcnow()
    version = SettingVersion(
        key=proposal.key,
        scope=proposal.scope,
        version=1 if latest is None else latest.version + 1,
        value=value,
        created_at=now,
    )
    proposal.versions.append(version)
    proposal.status = ProposalStatus.APPLIED.value
    proposal.decided_at = now
    entry: DeployAllowlistEntry | None = None
    if rule.artifact_kind is not None:
        entry = DeployAllowlistEntry(
            id=new_id("dpl"),
            region=proposal.scope,
            artifact_kind=rule.artifact_kind,
            artifact_sha256=value["sha256"],
            version=value["version"],
            approved_by=actor.id,
            approved_at=now,
            proposal_id=proposal.id,
        )
        session.add(entry)
    await session.flush()
    artifact: audit.JSONValue = None
    if entry is not None:
        artifact = {
            "entry": entry.id,
            "region": entry.region,
            "kind": entry.artifact_kind,
            "sha256": entry.artifact_sha256,
            "version": entry.version,
        }
    await _audit(
        session,
        rule,
        actor.id,
        proposal,
        "apply",
        region=_scope_region(proposal.scope),
        version=version.version,
        value_sha256=rules.value_sha256(value),
        previous=_ref(latest),
        approvals=[{"authority": s.authority, "by": s.decided_by} for s in proposal.approvals],
        artifact=artifact,
    )
    if not rule.additive:
        await _supersede_stale(session, rule, actor, proposal)


async def _supersede_stale(
    session: AsyncSession, rule: KeyRule, actor: Actor, applied: Proposal
) -> None:
    pending = await session.scalars(
        select(Proposal).where(
            Proposal.key == applied.key,
            Proposal.status == ProposalStatus.PENDING.value,
            Proposal.id != applied.id,
        )
    )
    for other in list(pending):
        current = await effective_version(session, other.key, other.scope)
        if _stale(other, current):
            await _supersede(
                session,
                rule,
                actor,
                other,
                "another proposal of this key was applied",
                current,
                by_proposal=applied.id,
            )


# ---- deploy gate -----------------------------------------------------------------------------


def artifact_sha256(data: str | bytes) -> str:
    """SHA-256 (hex) of an artifact: bytes as given, text as UTF-8 (no normalisation)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _check_kind(kind: str) -> None:
    if kind not in rules.ARTIFACT_KINDS:
        raise InvalidArtifact(f"Unknown artifact kind {kind!r}; use one of {rules.ARTIFACT_KINDS}.")


async def allowlisted_entry(
    session: AsyncSession, region: str, kind: str, sha256: str
) -> DeployAllowlistEntry | None:
    """The active (not revoked) allowlist entry of this artifact in ``region``, or None."""
    _require_control(session)
    _check_kind(kind)
    digest = rules.normalize_sha256(sha256)
    if digest is None:
        return None
    result = await session.scalars(
        select(DeployAllowlistEntry).where(
            DeployAllowlistEntry.region == region,
            DeployAllowlistEntry.artifact_kind == kind,
            DeployAllowlistEntry.artifact_sha256 == digest,
            DeployAllowlistEntry.revoked_at.is_(None),
        )
    )
    return result.first()


async def is_deployable(session: AsyncSession, region: str, kind: str, sha256: str) -> bool:
    """Whether ``region`` may serve the ``kind`` artifact with this SHA-256."""
    return await allowlisted_entry(session, region, kind, sha256) is not None


async def assert_deployable(session: AsyncSession, region: str, kind: str, sha256: str) -> None:
    """Raise :class:`DeployBlocked` (403, ``deploy_blocked``) unless allowlisted."""
    if await allowlisted_entry(session, region, kind, sha256) is None:
        raise DeployBlocked(
            f"This {kind} is not on region {region!r}'s approved allowlist (or was revoked); "
            f"propose deploy.{kind} for {region!r} and have its trust officer approve it.",
            extra={"region": region, "artifact_kind": kind, "artifact_sha256": sha256},
        )


async def check_policy_set(session: AsyncSession, region: str, text: str | bytes) -> str:
    """Startup check: the policy set ``text`` (as loaded, hashed as UTF-8) must be on
    ``region``'s allowlist. Returns its SHA-256; raises DeployBlocked otherwise."""
    digest = artifact_sha256(text)
    await assert_deployable(session, region, "policy_set", digest)
    return digest


async def list_allowlist(
    session: AsyncSession,
    *,
    region: str | None = None,
    kind: str | None = None,
    include_revoked: bool = True,
) -> list[DeployAllowlistEntry]:
    """Allowlist entries, newest first."""
    _require_control(session)
    query = select(DeployAllowlistEntry).order_by(
        DeployAllowlistEntry.approved_at.desc(), DeployAllowlistEntry.id.desc()
    )
    if region is not None:
        query = query.where(DeployAllowlistEntry.region == region)
    if kind is not None:
        _check_kind(kind)
        query = query.where(DeployAllowlistEntry.artifact_kind == kind)
    if not include_revoked:
        query = query.where(DeployAllowlistEntry.revoked_at.is_(None))
    return list(await session.scalars(query))


async def revoke_artifact(
    session: AsyncSession, actor: Actor, entry_id: str, *, reason: str
) -> DeployAllowlistEntry:
    """Take an artifact off a region's allowlist, at once. Revoking only narrows what the
    region serves, so the region's own trust officer does it alone (no proposal); nobody
    else can. Audited as ``model.deploy`` / ``revoke``.

    Raises StaffOnly, NotTrustOfficer, WrongJurisdiction, AllowlistEntryNotFound and
    AlreadyRevoked (409)."""
    _require_control(session)
    rules.require_staff(actor)
    cleaned = _text(reason, "reason", minimum=1, maximum=COMMENT_MAX)
    await _lock(session)
    entry = await session.get(DeployAllowlistEntry, entry_id)
    if entry is None:
        raise AllowlistEntryNotFound("No such allowlist entry.")
    denial = rules.authority_denial(actor, entry.region, None)
    if denial is not None:
        raise denial
    if entry.revoked_at is not None:
        raise AlreadyRevoked("This artifact is already revoked.")
    entry.revoked_at = utcnow()
    entry.revoked_by = actor.id
    entry.revoke_reason = cleaned
    await session.flush()
    await audit.append(
        session,
        kind=rules.AUDIT_MODEL_DEPLOY,
        actor_id=actor.id,
        subject_id=entry.id,
        region=entry.region,
        attributes={
            "action": "revoke",
            "entry": entry.id,
            "proposal": entry.proposal_id,
            "kind": entry.artifact_kind,
            "sha256": entry.artifact_sha256,
            "version": entry.version,
            "reason": cleaned,
        },
    )
    return entry
