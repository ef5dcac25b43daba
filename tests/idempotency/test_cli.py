"""``shopreel idempotency purge`` deletes records past retention in every region."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shopreel.cli import app
from shopreel.config import Settings, reset_settings_cache
from shopreel.idempotency import service
from shopreel.idempotency.models import IdempotencyRecord
from shopreel.idempotency.rules import RETENTION
from shopreel.kit import time as clock
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.fixtures.cli_env import use_settings
from tests.fixtures.factories import create_user

runner = CliRunner()


async def _record(runtime: Runtime, user_id: str, key: str) -> None:
    claim = await service.claim(
        runtime,
        region="us",
        user_id=user_id,
        key=key,
        fingerprint="0" * 64,
        method="POST",
        route="/api/v1/x",
        lease=timedelta(seconds=5),
    )
    assert isinstance(claim, service.Claim)
    done = service.StoredResponse(201, (("content-type", "application/json"),), b"{}")
    assert await service.complete_apart(runtime, claim, done)


async def _count(runtime: Runtime) -> int:
    async with runtime.databases.session(regional("us")) as session:
        return int(await session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0)


async def test_purge_command_deletes_only_expired_records(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, runtime: Runtime
) -> None:
    user = await create_user(runtime)
    real_now = clock.utcnow()
    clock.set_clock(lambda: real_now - RETENTION - timedelta(minutes=5))
    try:
        await _record(runtime, user.id, "old")
    finally:
        clock.set_clock(None)
    await _record(runtime, user.id, "recent")
    assert await _count(runtime) == 2

    use_settings(monkeypatch, settings)
    try:
        result = await asyncio.to_thread(runner.invoke, app, ["idempotency", "purge", "--json"])
    finally:
        reset_settings_cache()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {
        "deleted": {"us": 1, "intl": 0},
        "total": 1,
    }
    assert await _count(runtime) == 1


def test_purge_command_has_help() -> None:
    result = runner.invoke(app, ["idempotency", "purge", "--help"])
    assert result.exit_code == 0
    assert "retention" in result.output
