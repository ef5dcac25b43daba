"""Interaction events (regional plane)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class InteractionEvent(RegionalBase):
    __tablename__ = "interaction_events"
    __table_args__ = (
        UniqueConstraint("user_id", "client_event_id", name="user_client_event"),
        Index("ix_interaction_events_user_time", "user_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(48))
    client_event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str] = mapped_column(String(24))
    video_id: Mapped[str | None] = mapped_column(String(48), default=None)
    product_id: Mapped[str | None] = mapped_column(String(48), default=None)
    watch_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
