"""The raw hot-row measurement used by the flash-sale benchmark, with tiny counts."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from shopreel.bench.hot_row import measure_hot_row, raw_hot_row_rate
from shopreel.config import Settings
from shopreel.planes import sync_url


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


async def test_hot_row_counts_every_decrement_and_cleans_up(settings: Settings) -> None:
    url = settings.global_url()  # SQLite file or PostgreSQL database, per the test backend
    before = _tables(url)
    result = await measure_hot_row(url, 8, count=40)
    assert result.operations == 40 and result.refused == 0  # no lost update
    assert result.ops_per_s > 0 and result.concurrency == 8
    assert result.backend in {"sqlite", "postgresql"}
    assert _tables(url) == before  # the scratch table is gone


async def test_hot_row_by_duration(settings: Settings) -> None:
    rate = await raw_hot_row_rate(settings.global_url(), 4, duration=0.3)
    assert rate > 0


@pytest.mark.parametrize(
    ("concurrency", "count", "duration"), [(0, 1, None), (1, None, None), (1, 1, 1.0), (1, 0, None)]
)
async def test_hot_row_refuses_bad_arguments(
    settings: Settings, concurrency: int, count: int | None, duration: float | None
) -> None:
    with pytest.raises(ValueError):
        await measure_hot_row(settings.global_url(), concurrency, count=count, duration=duration)
