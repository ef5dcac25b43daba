"""Governance API schemas (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shopreel.governance.models import (
    DeployAllowlistEntry,
    Proposal,
    ProposalApproval,
    SettingVersion,
)
from shopreel.kit.time import as_utc

ProposalStatusName = Literal["pending", "applied", "rejected", "superseded"]
ArtifactKindName = Literal["discovery_model", "policy_set"]


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


class ProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=64, examples=["discovery.ranking_blend"])
    scope: str = Field(
        max_length=16, description="'global' or a region name", examples=["global", "us"]
    )
    value: JsonValue = Field(description="The complete new value (JSON, not null).")
    rationale: str = Field(min_length=10, max_length=2000)


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)
    authority: str | None = Field(
        default=None,
        max_length=16,
        description="Which required authority you decide for (a region, or 'hq'); "
        "optional when you are eligible for only one.",
    )


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=2000)
    authority: str | None = Field(default=None, max_length=16)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class DiffRead(BaseModel):
    """Paths are RFC 6901 JSON Pointers ('' is the whole value); added and removed entries
    carry ``value``, changed ones ``old`` and ``new``."""

    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[dict[str, Any]]


class ApprovalRead(BaseModel):
    authority: str = Field(description="A region (its trust officer decides) or 'hq'.")
    decision: Literal["pending", "approved", "rejected"]
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None

    @classmethod
    def of(cls, slot: ProposalApproval) -> ApprovalRead:
        return cls(
            authority=slot.authority,
            decision=slot.decision,
            decided_by=slot.decided_by,
            decided_at=_utc(slot.decided_at),
            comment=slot.comment,
        )


class VersionRef(BaseModel):
    scope: str
    version: int


class SettingVersionRead(BaseModel):
    key: str
    scope: str
    version: int
    value: JsonValue
    created_at: datetime
    proposal_id: str | None

    @classmethod
    def of(cls, row: SettingVersion) -> SettingVersionRead:
        return cls(
            key=row.key,
            scope=row.scope,
            version=row.version,
            value=row.value,
            created_at=as_utc(row.created_at),
            proposal_id=row.proposal_id,
        )


class EffectiveSettingRead(SettingVersionRead):
    region: str | None = Field(description="The region asked about (None: global).")

    @classmethod
    def effective(cls, row: SettingVersion, region: str | None) -> EffectiveSettingRead:
        return cls(**SettingVersionRead.of(row).model_dump(), region=region)


class ProposalRead(BaseModel):
    id: str
    key: str
    scope: str
    value: JsonValue
    rationale: str
    status: ProposalStatusName
    proposed_by: str
    created_at: datetime
    decided_at: datetime | None
    base: VersionRef | None = Field(
        description="The setting version the diff was computed against (None: unset)."
    )
    diff: DiffRead
    approvals: list[ApprovalRead]
    pending_authorities: list[str]
    applied: list[VersionRef]

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalRead:
        base = None
        if proposal.base_scope is not None and proposal.base_version is not None:
            base = VersionRef(scope=proposal.base_scope, version=proposal.base_version)
        return cls(
            id=proposal.id,
            key=proposal.key,
            scope=proposal.scope,
            value=proposal.value,
            rationale=proposal.rationale,
            status=proposal.status,
            proposed_by=proposal.proposed_by,
            created_at=as_utc(proposal.created_at),
            decided_at=_utc(proposal.decided_at),
            base=base,
            diff=DiffRead.model_validate(proposal.diff),
            approvals=[ApprovalRead.of(s) for s in proposal.approvals],
            pending_authorities=[s.authority for s in proposal.approvals if s.decision == "pending"]
            if proposal.status == "pending"
            else [],
            applied=[VersionRef(scope=v.scope, version=v.version) for v in proposal.versions],
        )


class AllowlistEntryRead(BaseModel):
    id: str
    region: str
    artifact_kind: ArtifactKindName
    artifact_sha256: str
    version: str
    approved_by: str
    approved_at: datetime
    proposal_id: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    active: bool

    @classmethod
    def of(cls, entry: DeployAllowlistEntry) -> AllowlistEntryRead:
        return cls(
            id=entry.id,
            region=entry.region,
            artifact_kind=entry.artifact_kind,
            artifact_sha256=entry.artifact_sha256,
            version=entry.version,
            approved_by=entry.approved_by,
            approved_at=as_utc(entry.approved_at),
            proposal_id=entry.proposal_id,
            revoked_at=_utc(entry.revoked_at),
            revoked_by=entry.revoked_by,
            revoke_reason=entry.revoke_reason,
            active=entry.revoked_at is None,
        )
