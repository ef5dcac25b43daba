"""``shopreel bench http``: an authenticated API read against /healthz of the same server.

The ratio says how much of the server's bare request rate survives authentication (token hash
lookup in the home region, data-key unwrap, two field decryptions) and the unit of work."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from shopreel.accounts import service
from shopreel.bench.load import ServerProcess, free_port, run_load
from shopreel.config import Settings
from shopreel.migrate import upgrade_all
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork


async def _prepare(settings: Settings) -> str:
    runtime = Runtime.from_settings(settings)
    try:
        async with UnitOfWork(runtime.databases) as uow:
            user = await service.sign_up(
                uow,
                runtime,
                service.NewUser(
                    email="bench@example.com",
                    password="benchmark passphrase",  # noqa: S106 - throwaway bench account
                    display_name="Bench",
                    country="US",
                ),
            )
            principal = await service.load_principal(uow, runtime, user, auth="session")
            _, secret = await service.create_access_token(uow, principal, "bench", ["account:read"])
        return secret
    finally:
        await runtime.close()


def run_http_bench(seconds: float, connections: int, data_dir: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shopreel-bench-") as tmp:
        directory = data_dir or Path(tmp)
        settings = Settings(env="dev", data_dir=directory, log_level="WARNING")
        upgrade_all(settings)
        secret = asyncio.run(_prepare(settings))
        env = {"SHOPREEL_DATA_DIR": str(directory), "SHOPREEL_LOG_LEVEL": "WARNING"}
        with ServerProcess(env, free_port()) as server:
            asyncio.run(run_load(f"{server.base_url}/healthz", seconds=1, connections=4))
            healthz = asyncio.run(
                run_load(f"{server.base_url}/healthz", seconds=seconds, connections=connections)
            )
            me = asyncio.run(
                run_load(
                    f"{server.base_url}/api/v1/me",
                    seconds=seconds,
                    connections=connections,
                    headers={"Authorization": f"Bearer {secret}"},
                )
            )
    return {
        "benchmark": "http",
        "connections": connections,
        "seconds": seconds,
        "healthz_rps": round(healthz.rps, 1),
        "me_rps": round(me.rps, 1),
        "ratio": round(me.rps / healthz.rps, 3) if healthz.rps else None,
        "me_p50_ms": round(me.p50_ms, 2),
        "me_p99_ms": round(me.p99_ms, 2),
        "errors": healthz.errors + me.errors,
    }
