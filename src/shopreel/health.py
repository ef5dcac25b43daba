"""Liveness, readiness (every plane reachable and migrated) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shopreel.deps import RuntimeDep
from shopreel.migrate import head_revision
from shopreel.planes import Plane

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


async def _check_plane(runtime: RuntimeDep, plane: Plane) -> dict[str, Any]:
    try:
        async with runtime.databases.engine(plane).connect() as conn:
            await conn.execute(text("SELECT 1"))
            row = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = row.scalar_one_or_none()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    head = head_revision(plane)
    return {"ok": current == head, "revision": current, "head": head}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: every plane reachable and at the latest migration."""
    planes = runtime.databases.planes()
    results = await asyncio.gather(*(_check_plane(runtime, p) for p in planes))
    report = {p.name: r for p, r in zip(planes, results, strict=True)}
    ready = all(r["ok"] for r in results)
    if ready:
        return JSONResponse({"status": "ok", "planes": report})
    return JSONResponse(
        {
            "type": "https://shopreel.dev/problems/not_ready",
            "title": "Not ready",
            "status": 503,
            "code": "not_ready",
            "detail": "a data plane is unreachable or not migrated",
            "planes": report,
        },
        status_code=503,
        media_type="application/problem+json",
    )


@router.get("/metrics")
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus metrics of this process."""
    runtime = request.app.state.runtime
    return PlainTextResponse(
        generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
