"""The raw hot-row limit of a database: how many single-statement conditional decrements of
ONE row it commits per second under concurrency.

Each operation is ``UPDATE <scratch> SET qty = qty - 1 WHERE id = 1 AND qty > 0`` in its
own transaction (autocommit), the cheapest possible "sell one unit" a database can do:
every operation waits for the previous one's commit on the row lock (PostgreSQL) or the
database write lock (SQLite). The flash-sale benchmark compares checkout's orders/s with
this number measured on the same database in the same run, so the ratio says how much of
the row's capacity checkout uses (a stock claim holds the level row only from its UPDATE
to its COMMIT; see ``docs/inventory.md``).

The scratch table gets a random name, lives only during the measurement and is dropped
afterwards (also on errors). Same driver as the application (SQLAlchemy async: asyncpg or
aiosqlite), so the ratio compares like with like.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shopreel.planes import async_url, install_sqlite_pragmas


@dataclass(frozen=True)
class HotRowResult:
    backend: str
    concurrency: int
    operations: int  # committed decrements (each returned one row)
    refused: int  # decrements refused by ``qty > 0`` (stock ran out)
    seconds: float
    ops_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def measure_hot_row(
    database_url: str,
    concurrency: int,
    *,
    count: int | None = None,
    duration: float | None = None,
) -> HotRowResult:
    """Run ``concurrency`` workers decrementing one row, either ``count`` times in total
    (the row starts at ``count``: every operation must succeed and the row must end at 0)
    or for ``duration`` seconds (the row starts far above what can be sold)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if (count is None) == (duration is None):
        raise ValueError("give exactly one of count or duration")
    if count is not None and count < 1:
        raise ValueError("count must be at least 1")
    if duration is not None and duration <= 0:
        raise ValueError("duration must be positive")

    url = async_url(database_url)
    sqlite = url.startswith("sqlite")
    engine = create_async_engine(
        url,
        pool_size=concurrency,
        max_overflow=0,
        **({"connect_args": {"timeout": 30}} if sqlite else {}),
    )
    install_sqlite_pragmas(engine.sync_engine)
    table = f"bench_hot_row_{secrets.token_hex(6)}"
    initial = count if count is not None else 2_000_000_000
    decrement = text(f"UPDATE {table} SET qty = qty - 1 WHERE id = 1 AND qty > 0")  # noqa: S608
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, qty INTEGER)"))
            await conn.execute(text(f"INSERT INTO {table} (id, qty) VALUES (1, {initial})"))  # noqa: S608

        remaining = count
        done = 0
        refused = 0
        deadline = 0.0

        def take() -> bool:
            nonlocal remaining
            if remaining is not None:
                if remaining <= 0:
                    return False
                remaining -= 1
                return True
            return time.perf_counter() < deadline

        async def worker(conn: AsyncConnection) -> None:
            nonlocal done, refused
            while take():
                result = await conn.execute(decrement)
                if int(getattr(result, "rowcount", 0) or 0) == 1:
                    done += 1
                else:
                    refused += 1

        connections = [
            await engine.connect() for _ in range(concurrency)
        ]  # connected before the clock starts
        try:
            for conn in connections:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            started = time.perf_counter()
            deadline = started + (duration or 0.0)
            await asyncio.gather(*(worker(conn) for conn in connections))
            seconds = time.perf_counter() - started
        finally:
            for conn in connections:
                await conn.close()

        async with engine.connect() as conn:
            final = int((await conn.execute(text(f"SELECT qty FROM {table}"))).scalar_one())  # noqa: S608
        if final != initial - done:
            raise RuntimeError(f"lost updates: {initial} - {done} != {final}")
        return HotRowResult(
            backend=engine.dialect.name,
            concurrency=concurrency,
            operations=done,
            refused=refused,
            seconds=seconds,
            ops_per_s=done / seconds if seconds > 0 else 0.0,
        )
    finally:
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        finally:
            await engine.dispose()


async def raw_hot_row_rate(
    database_url: str,
    concurrency: int,
    *,
    count: int | None = None,
    duration: float | None = None,
) -> float:
    """Committed single-row conditional decrements per second (see :func:`measure_hot_row`)."""
    result = await measure_hot_row(database_url, concurrency, count=count, duration=duration)
    return result.ops_per_s
