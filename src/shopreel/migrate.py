"""Run each plane's Alembic tree: ``shopreel db upgrade`` migrates every plane."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from shopreel.config import Settings
from shopreel.planes import Databases, Plane, install_sqlite_pragmas, sync_url


def tree_path(plane: Plane) -> Path:
    return Path(str(resources.files("shopreel.migrations") / plane.migration_tree))


def alembic_config(url: str, plane: Plane) -> Config:
    config = Config()
    config.set_main_option("script_location", str(tree_path(plane)))
    config.attributes["url"] = url
    if plane.region is not None:
        config.attributes["region"] = plane.region
    return config


def upgrade_plane(url: str, plane: Plane, revision: str = "head") -> None:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url, plane), revision)


def current_revision(url: str) -> str | None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    install_sqlite_pragmas(engine)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(plane: Plane) -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://", plane)).get_current_head()


def upgrade_all(settings: Settings, on_plane: Callable[[Plane], None] | None = None) -> list[Plane]:
    databases = Databases(settings)
    planes = databases.planes()
    for plane in planes:
        upgrade_plane(databases.url(plane), plane)
        if on_plane is not None:
            on_plane(plane)
    return planes
