"""Unit of work: one request or task, one set of plane sessions, committed once at the end.

A unit of work is bound to at most one home region. Before a principal is known (sign-up,
login) any region may be opened; once bound, opening another region's session raises
``PlaneViolation``: a request acting for a US user cannot touch the intl plane by accident.
Code that legitimately crosses regions must go through a named function that opens its own
unit of work for that region (e.g. staff access via the access broker).

Commits are per plane and not atomic across planes; order is regional, global, control so
that the audit record (control) is written last, after the facts it describes exist.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.planes import CONTROL, GLOBAL, Databases, Plane, PlaneViolation, regional


class UnitOfWork:
    def __init__(self, databases: Databases, home_region: str | None = None) -> None:
        self.databases = databases
        self._home_region: str | None = None
        self._sessions: dict[Plane, AsyncSession] = {}
        if home_region is not None:
            self.bind_region(home_region)

    @property
    def home_region(self) -> str | None:
        return self._home_region

    def bind_region(self, region: str) -> None:
        if region not in self.databases.regions:
            raise PlaneViolation(f"unknown region {region!r}")
        if self._home_region is not None and self._home_region != region:
            raise PlaneViolation(
                f"unit of work already bound to region {self._home_region!r}, not {region!r}"
            )
        for plane in self._sessions:
            if plane.region is not None and plane.region != region:
                raise PlaneViolation(
                    f"cannot bind to region {region!r}: region {plane.region!r} is already open"
                )
        self._home_region = region

    def _open(self, plane: Plane) -> AsyncSession:
        session = self._sessions.get(plane)
        if session is None:
            session = self.databases.session(plane)
            self._sessions[plane] = session
        return session

    @property
    def global_(self) -> AsyncSession:
        return self._open(GLOBAL)

    @property
    def control(self) -> AsyncSession:
        return self._open(CONTROL)

    def region(self, region: str | None = None) -> AsyncSession:
        """The session of ``region`` (default: the bound home region)."""
        target = region or self._home_region
        if target is None:
            raise PlaneViolation("no home region bound to this unit of work")
        if self._home_region is not None and target != self._home_region:
            raise PlaneViolation(
                f"this unit of work is bound to region {self._home_region!r}; "
                f"refusing to open region {target!r}"
            )
        return self._open(regional(target))

    def open_regions(self) -> list[str]:
        return [p.region for p in self._sessions if p.region is not None]

    async def flush(self) -> None:
        for session in self._sessions.values():
            await session.flush()

    async def commit(self) -> None:
        ordered = sorted(self._sessions.items(), key=lambda item: _COMMIT_ORDER[item[0].kind.value])
        for _, session in ordered:
            await session.commit()

    async def rollback(self) -> None:
        for session in self._sessions.values():
            await session.rollback()

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self.rollback()
        finally:
            await self.close()


_COMMIT_ORDER = {"regional": 0, "global": 1, "control": 2}
