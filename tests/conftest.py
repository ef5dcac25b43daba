"""Test harness: every run builds fresh databases for every plane by running the
migrations (SQLite files, or PostgreSQL databases when SHOPREEL_TEST_DB=postgres), and
every test starts from empty tables."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from shopreel.config import Settings
from shopreel.kit.mail import FileOutbox
from shopreel.kit.ratelimit import MemoryFailureCounter, RedisFailureCounter
from shopreel.migrate import upgrade_all
from shopreel.models import metadata_for
from shopreel.runtime import Runtime
from tests.fixtures.databases import create_postgres_databases, drop_postgres_databases
from tests.fixtures.services import redis_url, require_postgres, test_backend

REGIONS = ("us", "intl")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"shopreel planes on: {test_backend()}",
        "failure counters: "
        + ("redis" if redis_url() and test_backend() == "postgres" else "in-process"),
    ]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shopreel-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Iterator[Settings]:
    env: dict[str, str] = {}
    created: dict[str, str] = {}
    admin_url = ""
    if test_backend() == "postgres":
        admin_url = require_postgres()
        created = create_postgres_databases(admin_url, ["global", "control", *REGIONS])
        env = {f"SHOPREEL_DB_{name.upper()}": url for name, url in created.items()}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = Settings(
        env="test",
        data_dir=data_dir,
        regions=",".join(REGIONS),
        db_global=env.get("SHOPREEL_DB_GLOBAL"),
        db_control=env.get("SHOPREEL_DB_CONTROL"),
        secret_key="test-secret-key-0123456789",
        log_json=True,
        log_level="WARNING",
    )
    upgrade_all(settings)
    try:
        yield settings
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if created:
            drop_postgres_databases(admin_url, created)


async def truncate_all(runtime: Runtime) -> None:
    from shopreel.ledger.maintenance import wipe_ledger_for_tests
    from shopreel.ledger.models import LEDGER_TABLES
    from shopreel.planes import PlaneKind
    from shopreel.sovereignty.audit import AUDIT_TABLES, wipe_log_for_tests

    for plane in runtime.databases.planes():
        tables = [t.name for t in reversed(metadata_for(plane.kind).sorted_tables)]
        engine = runtime.databases.engine(plane)
        async with engine.begin() as conn:
            if plane.kind is PlaneKind.CONTROL:
                # The audit tables refuse DELETE and TRUNCATE (append-only triggers).
                await wipe_log_for_tests(conn)
                tables = [t for t in tables if t not in AUDIT_TABLES]
                if not tables:
                    continue
            if plane.kind is PlaneKind.REGIONAL:
                # The ledger refuses DELETE and TRUNCATE of postings (append-only triggers).
                await wipe_ledger_for_tests(conn)
                tables = [t for t in tables if t not in LEDGER_TABLES]
            if engine.dialect.name == "postgresql":
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
            else:
                for table in tables:
                    await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our names


@pytest.fixture
async def runtime(settings: Settings, tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = Runtime.from_settings(settings)
    rt.mailer = FileOutbox(tmp_path / "outbox")
    url = redis_url()
    if url and test_backend() == "postgres":
        # A fresh key prefix per test keeps tests independent on a shared Redis.
        rt.failures = RedisFailureCounter(url, prefix=f"shopreel:test:{os.urandom(6).hex()}:")
    else:
        rt.failures = MemoryFailureCounter()
    try:
        yield rt
    finally:
        await truncate_all(rt)
        await rt.close()


@pytest.fixture
async def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    from shopreel.app import create_app

    return create_app(runtime=runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
