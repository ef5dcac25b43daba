"""Control-plane models of governance: versioned settings, proposals and their approval
slots, and the per-region deploy allowlist.

Rows are never deleted. ``setting_versions`` rows are only ever inserted (a new version per
applied proposal); proposals and approval slots change state once; an allowlist entry is
revoked by setting ``revoked_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopreel.kit.time import utcnow
from shopreel.planes import ControlBase


class Proposal(ControlBase):
    """A proposed change of one setting key in one scope (``global`` or a region)."""

    __tablename__ = "governance_proposals"
    __table_args__ = (Index("ix_governance_proposals_status_key", "status", "key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSON)
    rationale: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The setting version the diff was computed against (None: the key was unset).
    base_scope: Mapped[str | None] = mapped_column(String(16), default=None)
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    proposed_by: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    approvals: Mapped[list[ProposalApproval]] = relationship(
        back_populates="proposal", lazy="selectin", order_by="ProposalApproval.position"
    )
    versions: Mapped[list[SettingVersion]] = relationship(
        lazy="selectin", order_by="SettingVersion.id"
    )


class ProposalApproval(ControlBase):
    """One approval slot of a proposal: a region (its trust officer decides) or ``hq``."""

    __tablename__ = "proposal_approvals"
    __table_args__ = (
        UniqueConstraint("proposal_id", "authority", name="uq_proposal_approvals_authority"),
        Index("ix_proposal_approvals_authority_decision", "authority", "decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("governance_proposals.id"))
    position: Mapped[int] = mapped_column(Integer)
    authority: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)

    proposal: Mapped[Proposal] = relationship(back_populates="approvals", lazy="raise")


class SettingVersion(ControlBase):
    """Version ``version`` of setting ``key`` in ``scope`` (``global`` or a region)."""

    __tablename__ = "setting_versions"
    __table_args__ = (
        UniqueConstraint("key", "scope", "version", name="uq_setting_versions_key_scope_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    proposal_id: Mapped[str | None] = mapped_column(
        ForeignKey("governance_proposals.id"), index=True, default=None
    )


ACTIVE_ENTRY = text("revoked_at IS NULL")


class DeployAllowlistEntry(ControlBase):
    """An artifact a region may serve, until revoked."""

    __tablename__ = "deploy_allowlist"
    __table_args__ = (
        Index(
            "uq_deploy_allowlist_active",
            "region",
            "artifact_kind",
            "artifact_sha256",
            unique=True,
            sqlite_where=ACTIVE_ENTRY,
            postgresql_where=ACTIVE_ENTRY,
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), index=True)
    artifact_kind: Mapped[str] = mapped_column(String(32))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    proposal_id: Mapped[str] = mapped_column(ForeignKey("governance_proposals.id"), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    revoke_reason: Mapped[str | None] = mapped_column(Text, default=None)
