"""HTTP conventions: problem+json, size limits, request ids, headers, health, metrics."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI

from shopreel.runtime import Runtime

PROBLEM = "application/problem+json"


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_reports_every_plane(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    planes = r.json()["planes"]
    assert set(planes) == {"global", "region:us", "region:intl", "control"}
    assert all(p["ok"] and p["revision"] == p["head"] for p in planes.values())


async def test_readyz_fails_when_a_plane_is_unmigrated(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shopreel.app import create_app

    broken = settings.model_copy(update={"db_control": f"sqlite+aiosqlite:///{tmp_path}/empty.db"})
    runtime = Runtime.from_settings(broken)
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/readyz")
    await runtime.close()
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["planes"]["control"]["ok"] is False
    assert r.json()["planes"]["global"]["ok"] is True


async def test_metrics_prometheus_format(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'shopreel_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text
    assert "shopreel_http_request_duration_seconds_bucket" in r.text


async def test_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers  # plain HTTP in tests


async def test_request_id_generated_and_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) >= 8
    r2 = await client.get("/healthz", headers={"X-Request-ID": "abc-123-def"})
    assert r2.headers["x-request-id"] == "abc-123-def"
    r3 = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces\n"})
    assert r3.headers["x-request-id"] != "bad id with spaces\n"


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "not_found"


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    r = await client.delete("/api/v1/auth/login")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


async def test_malformed_json_is_422_problem(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "validation_failed" and r.json()["errors"]


async def test_body_over_limit_is_413_by_content_length(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    big = b"{" + b" " * runtime.settings.max_request_bytes + b"}"
    r = await client.post(
        "/api/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "payload_too_large"


async def test_streamed_body_over_limit_is_413(client: httpx.AsyncClient, runtime: Runtime) -> None:
    limit = runtime.settings.max_request_bytes

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    r = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_unexpected_error_is_500_problem_without_details(runtime: Runtime) -> None:
    from shopreel.app import create_app

    app: FastAPI = create_app(runtime=runtime)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "internal_error"
    assert "secret internals" not in r.text


async def test_openapi_lists_the_api(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/auth/login" in paths and "/api/v1/me/tokens" in paths
    assert "/signup" not in paths  # pages are not API


async def test_json_access_log(client: httpx.AsyncClient) -> None:
    import io
    import logging

    from shopreel.observability import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("shopreel")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel("INFO")
    try:
        await client.get("/healthz", headers={"X-Request-ID": "log-test-0001"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    lines = [line for line in stream.getvalue().splitlines() if "log-test-0001" in line]
    assert lines, "no access log line"
    entry = json.loads(lines[-1])
    assert entry["request_id"] == "log-test-0001"
    assert entry["route"] == "/healthz" and entry["status"] == 200 and "duration_ms" in entry


async def test_an_exhausted_database_answers_503_with_retry_after(app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import exc as sa_exc

    class TooManyConnectionsError(Exception):
        sqlstate = "53300"

    async def pool_timeout() -> None:
        raise sa_exc.TimeoutError("QueuePool limit of size 10 overflow 0 reached")

    async def too_many() -> None:
        raise sa_exc.DBAPIError("connect", None, TooManyConnectionsError("too many clients"))

    async def other() -> None:
        raise sa_exc.DBAPIError("select 1", None, ValueError("syntax"))

    app.add_api_route("/test-only/pool-timeout", pool_timeout)
    app.add_api_route("/test-only/too-many", too_many)
    app.add_api_route("/test-only/other", other)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for path in ("/test-only/pool-timeout", "/test-only/too-many"):
            r = await c.get(path)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "2"
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "service_busy"
        r = await c.get("/test-only/other")
        assert r.status_code == 500 and r.json()["code"] == "internal_error"
