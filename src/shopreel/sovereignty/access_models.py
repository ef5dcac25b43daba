"""Control-plane models of staff access: bulk-access tickets and break-glass grants.

They hold ids, regions, roles and the staff member's stated reasons only — never personal
data (that stays in its home region). The decisions taken with them are in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import ControlBase


class TicketScope(StrEnum):
    OWNERS = "owners"  # the listed owner ids
    REGION = "region"  # every user of the region


class TicketStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"  # derived when listing: approved, and ``expires_at`` has passed


class GrantStatus(StrEnum):
    PENDING = "pending"  # fewer than the required approvers so far
    APPROVED = "approved"
    EXPIRED = "expired"  # derived when listing


class AccessTicket(ControlBase):
    """A request for bulk access to one region's personal data of one category.

    Approved by a trust officer of that region who is not the requester; valid until
    ``expires_at``."""

    __tablename__ = "access_tickets"
    __table_args__ = (Index("ix_access_tickets_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    requester_id: Mapped[str] = mapped_column(String(64), index=True)
    requester_jurisdiction: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    owner_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(200))
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class BreakGlassGrant(ControlBase):
    """An emergency read of one user's data of one category.

    Needs distinct approvers from the data's region (the requester never counts); expires a
    fixed time after the approval that completed it."""

    __tablename__ = "break_glass_grants"
    __table_args__ = (Index("ix_break_glass_grants_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    requester_id: Mapped[str] = mapped_column(String(64), index=True)
    requester_jurisdiction: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=GrantStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class BreakGlassApproval(ControlBase):
    """One approver's approval of a grant; one row per (grant, approver)."""

    __tablename__ = "break_glass_approvals"

    grant_id: Mapped[str] = mapped_column(
        ForeignKey("break_glass_grants.id", ondelete="CASCADE"), primary_key=True
    )
    approver_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    approver_jurisdiction: Mapped[str] = mapped_column(String(8))
    approver_region: Mapped[str] = mapped_column(String(16))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
