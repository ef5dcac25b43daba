"""Privacy requests and export archives (regional plane, the requester's home region).

A :class:`PrivacyRequest` is the legal record of a data-subject request (export, deletion,
access) with its statutory clocks. It holds the requester's opaque id only and is kept
after the account is deleted. A :class:`PrivacyExport` is the archive built for an export
request, encrypted under the requester's data key: deleting the account (its wrapped key)
makes every archive unreadable, and erasure deletes the rows as well.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class RequestKind(StrEnum):
    EXPORT = "export"
    DELETE = "delete"
    ACCESS = "access"


class RequestStatus(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"
    REJECTED = "rejected"


OPEN_STATUSES = (RequestStatus.RECEIVED.value, RequestStatus.ACKNOWLEDGED.value)


class Law(StrEnum):
    CCPA = "ccpa"
    GDPR = "gdpr"


class PrivacyRequest(RegionalBase):
    """One data-subject request and its clocks. ``completed_at`` is also the time a request
    was closed as rejected. ``details`` holds counts and names only, never personal data."""

    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index("ix_privacy_requests_user_received", "user_id", "received_at"),
        Index("ix_privacy_requests_status_complete_by", "status", "complete_by"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.RECEIVED.value)
    law: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    acknowledge_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    complete_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PrivacyExport(RegionalBase):
    """The zip archive of an export request, AES-256-GCM encrypted under the user's data key
    (context ``privacy_exports.archive:<request id>``). ``sha256`` is the plaintext zip's."""

    __tablename__ = "privacy_exports"
    __table_args__ = (Index("ix_privacy_exports_user_id", "user_id"),)

    request_id: Mapped[str] = mapped_column(
        ForeignKey("privacy_requests.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(48))
    archive_ct: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
