"""Every plane's migrations build from nothing, reach head, and downgrade cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from shopreel.config import Settings
from shopreel.migrate import alembic_config, current_revision, head_revision, upgrade_all
from shopreel.models import metadata_for
from shopreel.planes import Databases, PlaneKind, sync_url
from tests.fixtures.databases import create_postgres_databases, drop_postgres_databases
from tests.fixtures.services import require_postgres


def _check_deployment(settings: Settings) -> None:
    databases = Databases(settings)
    upgrade_all(settings)
    for plane in databases.planes():
        url = databases.url(plane)
        assert current_revision(url) == head_revision(plane)
        engine = create_engine(sync_url(url))
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        expected = {t.name for t in metadata_for(plane.kind).sorted_tables}
        assert expected <= tables, f"{plane.name} misses {expected - tables}"
        for kind in PlaneKind:
            if kind is not plane.kind:
                foreign = {t.name for t in metadata_for(kind).sorted_tables}
                assert not (foreign & tables), f"{plane.name} holds {foreign & tables}"
        _assert_no_drift(url, plane.kind)
    for plane in databases.planes():
        config = alembic_config(databases.url(plane), plane)
        command.downgrade(config, "base")
        assert current_revision(databases.url(plane)) is None
        command.upgrade(config, "head")
        assert current_revision(databases.url(plane)) == head_revision(plane)


def _assert_no_drift(url: str, kind: PlaneKind) -> None:
    """The migrated schema is what the models declare: no table, column, index or
    constraint of the models is missing from (or extra in) the migrations."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata_for(kind))
    finally:
        engine.dispose()
    # alembic_version is Alembic's own table, not a model
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert diff == [], f"{kind.value} models and migrations differ: {diff}"


def test_migrations_build_every_plane_on_sqlite(tmp_path: Path) -> None:
    _check_deployment(Settings(env="test", data_dir=tmp_path))


@pytest.mark.postgres
def test_migrations_build_every_plane_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = require_postgres()
    urls = create_postgres_databases(admin, ["global", "control", "us", "intl"])
    try:
        monkeypatch.setenv("SHOPREEL_DB_US", urls["us"])
        monkeypatch.setenv("SHOPREEL_DB_INTL", urls["intl"])
        settings = Settings(
            env="test", data_dir=tmp_path, db_global=urls["global"], db_control=urls["control"]
        )
        _check_deployment(settings)
    finally:
        drop_postgres_databases(admin, urls)
