"""Time is always timezone-aware UTC. A replaceable clock lets tests move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    if _clock is not None:
        return _clock()
    return datetime.now(UTC)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Install a fake clock (tests); ``None`` restores the real one."""
    global _clock
    _clock = clock


def as_utc(value: datetime) -> datetime:
    """Databases such as SQLite hand back naive datetimes; they are UTC by construction."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
