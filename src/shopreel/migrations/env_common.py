"""Shared Alembic environment: each tree's env.py calls ``run(kind)``.

The runner passes ``url`` (and ``region`` for regional trees) in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from shopreel.models import metadata_for
from shopreel.planes import PlaneKind, install_sqlite_pragmas, sync_url


def run(kind: PlaneKind) -> None:
    config = context.config
    url = sync_url(config.attributes["url"])
    metadata = metadata_for(kind)
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, metadata, url)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    install_sqlite_pragmas(engine)
    with engine.connect() as conn:
        _run(conn, metadata, url)
    engine.dispose()


def _run(connection, metadata, url: str) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
