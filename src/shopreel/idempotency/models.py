"""Idempotency records (regional plane): one per (user, ``Idempotency-Key``).

A record lives in the user's home region, next to the orders and payments its request
creates, so the stored response can commit in the same transaction as the regional effects
of the handler that produced it (see :mod:`shopreel.idempotency.http`).

* ``state`` is ``in_flight`` while an attempt runs, ``completed`` once its response is stored.
* ``lease_token`` fences attempts: only the attempt holding the current token may complete
  the record. An attempt that crashed leaves its lease to expire (``locked_until``); a retry
  then takes the record over with a new token and ``attempts + 1``.
* ``response_body_ct`` is the stored body, encrypted under the user's data key (a checkout
  response carries a shipping address): deleting the user's key shreds it like any other
  personal field. Status and the few stored headers are not personal and stay in clear.
* ``expires_at``: records are kept at least 24 hours (``rules.RETENTION``) after the last
  attempt started or completed; :func:`shopreel.idempotency.service.purge_expired` deletes
  the older ones, and a claim treats an expired record as free.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shopreel.kit.time import utcnow
from shopreel.planes import RegionalBase


class RecordState(StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"


class IdempotencyRecord(RegionalBase):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        # The race guard: concurrent first requests with one key insert into this index and
        # exactly one wins.
        UniqueConstraint("user_id", "idempotency_key", name="uq_idempotency_records_user_key"),
        CheckConstraint("state IN ('in_flight', 'completed')", name="state"),
        CheckConstraint("attempts >= 1", name="attempts"),
        Index("ix_idempotency_records_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(48))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=RecordState.IN_FLIGHT.value)
    lease_token: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    response_body_ct: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
