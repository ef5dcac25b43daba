"""The three data planes and the rules that keep rows in their plane.

* **global** — public catalog, public profiles, content metadata, policies;
* **regional** — one database per region: accounts, PII, carts, orders, money, events;
* **control** — governance and the audit log.

Every model declares its plane by its base class. A session belongs to exactly one plane:
the session refuses (``PlaneViolation``) to flush, bulk-write or even query a model of
another plane, and a regional session refuses a row whose ``region`` is another region's
(``CrossRegionWrite``). The regional migrations add ``CHECK (region = '<region>')`` to every
regional table, so the database itself refuses a foreign row written by raw SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import MetaData, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.orm.session import ORMExecuteState

from shopreel.config import Settings
from shopreel.errors import ShopReelError


class PlaneKind(StrEnum):
    GLOBAL = "global"
    REGIONAL = "regional"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class Plane:
    kind: PlaneKind
    region: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is PlaneKind.REGIONAL) != (self.region is not None):
            raise ValueError("a regional plane names its region; other planes do not")

    @property
    def name(self) -> str:
        return f"region:{self.region}" if self.region else self.kind.value

    @property
    def migration_tree(self) -> str:
        return self.kind.value


GLOBAL = Plane(PlaneKind.GLOBAL)
CONTROL = Plane(PlaneKind.CONTROL)


def regional(region: str) -> Plane:
    return Plane(PlaneKind.REGIONAL, region)


class PlaneViolation(ShopReelError):
    """A row or query reached a session of the wrong plane: a programming error, so 500."""

    status = 500
    code = "plane_violation"
    title = "Data plane violation"


class CrossRegionWrite(PlaneViolation):
    code = "cross_region_write"
    title = "Cross-region write refused"


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class GlobalBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __plane_kind__ = PlaneKind.GLOBAL


class ControlBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __plane_kind__ = PlaneKind.CONTROL


class RegionalBase(DeclarativeBase):
    """Base of every regional model. The ``region`` column names the row's home region."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __plane_kind__ = PlaneKind.REGIONAL

    region: Mapped[str] = mapped_column(String(16), nullable=False)


PLANE_BASES: dict[PlaneKind, type[DeclarativeBase]] = {
    PlaneKind.GLOBAL: GlobalBase,
    PlaneKind.REGIONAL: RegionalBase,
    PlaneKind.CONTROL: ControlBase,
}


def plane_kind_of(cls: type[Any]) -> PlaneKind | None:
    for kind, base in PLANE_BASES.items():
        if isinstance(cls, type) and issubclass(cls, base):
            return kind
    return None


class PlaneSession(Session):
    """A synchronous ORM session bound to one plane (async sessions wrap it)."""

    @property
    def plane(self) -> Plane:
        plane = self.info.get("plane")
        if not isinstance(plane, Plane):
            raise PlaneViolation("session has no plane")
        return plane


def _check_class(plane: Plane, cls: type[Any], action: str) -> None:
    kind = plane_kind_of(cls)
    if kind is None:
        raise PlaneViolation(f"{cls.__name__} declares no plane; refusing to {action} it")
    if kind is not plane.kind:
        raise PlaneViolation(
            f"{cls.__name__} belongs to the {kind.value} plane; "
            f"refusing to {action} it through the {plane.name} session"
        )


def _check_row_region(plane: Plane, cls_name: str, row_region: object) -> None:
    if row_region != plane.region:
        raise CrossRegionWrite(
            f"{cls_name} row of region {row_region!r} refused by the {plane.name} session"
        )


@event.listens_for(PlaneSession, "before_flush")
def _before_flush(session: PlaneSession, _context: object, _instances: object) -> None:
    plane = session.plane
    for obj in (*session.new, *session.dirty, *session.deleted):
        _check_class(plane, type(obj), "write")
        if plane.kind is PlaneKind.REGIONAL:
            if obj in session.new and getattr(obj, "region", None) is None:
                obj.region = plane.region
            _check_row_region(plane, type(obj).__name__, obj.region)


@event.listens_for(PlaneSession, "do_orm_execute")
def _before_execute(state: ORMExecuteState) -> None:
    session = state.session
    if not isinstance(session, PlaneSession):
        return
    plane = session.plane
    action = "query" if state.is_select else "write"
    for mapper in state.all_mappers:
        _check_class(plane, mapper.class_, action)
    if plane.kind is PlaneKind.REGIONAL and state.is_insert:
        for params in _param_rows(state.parameters):
            _check_row_region(plane, "bulk insert", params.get("region"))


def _param_rows(parameters: object) -> Iterable[dict[str, Any]]:
    if isinstance(parameters, dict):
        return [parameters]
    if isinstance(parameters, list):
        return [p for p in parameters if isinstance(p, dict)]
    return []


def async_url(url: str) -> str:
    """Normalize a configured URL to the async driver this process uses."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+psycopg://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def sync_url(url: str) -> str:
    """The synchronous-driver twin of a URL (migrations run synchronously)."""
    if url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


class Databases:
    """Engines and session factories for every plane of one deployment."""

    def __init__(self, settings: Settings, *, pool_size: int | None = None) -> None:
        self.settings = settings
        self.regions = settings.region_names
        self._pool_size = pool_size if pool_size is not None else settings.db_pool_size
        self._max_overflow = settings.db_max_overflow if pool_size is None else pool_size * 2
        self._engines: dict[Plane, AsyncEngine] = {}
        self._factories: dict[Plane, async_sessionmaker[AsyncSession]] = {}

    def planes(self) -> list[Plane]:
        return [GLOBAL, *(regional(r) for r in self.regions), CONTROL]

    def url(self, plane: Plane) -> str:
        if plane.kind is PlaneKind.GLOBAL:
            return self.settings.global_url()
        if plane.kind is PlaneKind.CONTROL:
            return self.settings.control_url()
        assert plane.region is not None
        return self.settings.region_url(plane.region)

    def engine(self, plane: Plane) -> AsyncEngine:
        if plane.region is not None and plane.region not in self.regions:
            raise PlaneViolation(f"unknown region {plane.region!r}")
        engine = self._engines.get(plane)
        if engine is None:
            url = async_url(self.url(plane))
            if url.startswith("sqlite"):
                self.settings.data_dir.mkdir(parents=True, exist_ok=True)
                # A pool keeps connections (and their PRAGMAs) across requests; SQLite
                # serializes writers itself and WAL lets readers run alongside.
                engine = create_async_engine(
                    url,
                    pool_size=self._pool_size,
                    max_overflow=self._pool_size,
                    echo=self.settings.sql_echo,
                    connect_args={"timeout": 30},
                )
            else:
                engine = create_async_engine(
                    url,
                    pool_size=self._pool_size,
                    max_overflow=self._max_overflow,
                    pool_pre_ping=True,
                    echo=self.settings.sql_echo,
                )
            install_sqlite_pragmas(engine.sync_engine)
            self._engines[plane] = engine
        return engine

    def sessionmaker(self, plane: Plane) -> async_sessionmaker[AsyncSession]:
        factory = self._factories.get(plane)
        if factory is None:
            factory = async_sessionmaker(
                self.engine(plane),
                expire_on_commit=False,
                sync_session_class=PlaneSession,
                info={"plane": plane},
            )
            self._factories[plane] = factory
        return factory

    def session(self, plane: Plane) -> AsyncSession:
        return self.sessionmaker(plane)()

    @asynccontextmanager
    async def transaction(self, plane: Plane) -> AsyncIterator[AsyncSession]:
        """A session that commits on success and rolls back on error."""
        async with self.session(plane) as session, session.begin():
            yield session

    async def dispose(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()
        self._factories.clear()


def plane_of_session(session: AsyncSession) -> Plane:
    plane = session.sync_session.info.get("plane")
    if not isinstance(plane, Plane):
        raise PlaneViolation("session has no plane")
    return plane
