"""Seller applications (home-region plane): the personal and payout data of a seller.

Everything identifying is encrypted under the applicant's data key (AES-GCM, context
``"seller_applications.<column>:<id>"``): legal name, business address, tax id, contact,
bank account. Deleting the account crypto-shreds it with the rest of the user's data.
The public shop profile (name, handle, logo, description) is in the global plane
(:class:`shopreel.catalog.models.Shop`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class ApplicationKind(StrEnum):
    INDIVIDUAL = "individual"
    BUSINESS = "business"


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class SellerApplication(RegionalBase):
    __tablename__ = "seller_applications"
    __table_args__ = (Index("ix_seller_applications_state_submitted", "state", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    # one application per user: the unique index settles two racing applications
    user_id: Mapped[str] = mapped_column(String(48), index=True, unique=True)
    shop_id: Mapped[str] = mapped_column(String(48), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=ApplicationState.DRAFT.value)
    legal_name_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    address_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tax_id_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    contact_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    bank_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    rejection_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(48), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SellerApplicationEvent(RegionalBase):
    """State history of an application: who moved it, from what, to what, why."""

    __tablename__ = "seller_application_events"
    __table_args__ = (
        Index("ix_seller_application_events_app_created", "application_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(48))
    from_state: Mapped[str | None] = mapped_column(String(16), default=None)
    to_state: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(48))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
