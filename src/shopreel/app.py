"""The application factory: lifespan, middleware, error handlers, routers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopreel import __version__
from shopreel.config import Settings, get_settings
from shopreel.errors import NotAuthenticated, ShopReelError
from shopreel.media.storage import storage_for
from shopreel.middleware import RequestMiddleware
from shopreel.observability import configure_logging
from shopreel.runtime import Runtime
from shopreel.sovereignty.broker import PolicySet
from shopreel.sovereignty.publisher import run_publisher
from shopreel.web.templating import STATIC_DIR, redirect, render

log = logging.getLogger("shopreel.app")

API_PREFIX = "/api/v1"
UPLOAD_PREFIXES = (
    f"{API_PREFIX}/uploads",  # product images, shop logos (API)
    f"{API_PREFIX}/seller/imports",  # catalog imports (API)
    "/seller/uploads",  # product images, shop logos (seller center forms)
    "/seller/import",  # catalog imports (seller center form)
)
"""Paths whose bodies may reach ``max_upload_bytes``; every other body is limited to
``max_request_bytes``. Each upload endpoint also enforces its own, smaller limit."""
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/readyz", "/metrics", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method != "GET"


def problem_response(request: Request, error: ShopReelError) -> Response:
    if _wants_html(request):
        if isinstance(error, NotAuthenticated) and request.method == "GET":
            return redirect(request, f"/login?next={request.url.path}")
        response = render(
            request,
            "errors/error.html",
            {"status": error.status, "title": error.title, "detail": error.detail},
            status=error.status,
        )
        response.headers.update(error.headers)
        return response
    return JSONResponse(
        error.problem(request.url.path),
        status_code=error.status,
        media_type="application/problem+json",
        headers=error.headers,
    )


BUSY_RETRY_AFTER_SECONDS = 2


def _is_overload(exc: sa_exc.DBAPIError) -> bool:
    """The database refused a new connection because it has too many (PostgreSQL's
    ``too_many_connections``, SQLSTATE 53300)."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "53300" or "TooManyConnections" in type(orig).__name__


def _busy(request: Request, exc: Exception) -> Response:
    """No database connection within the pool's timeout (a burst larger than the pools):
    503 with ``Retry-After`` instead of an internal error. Retryable: an idempotent request
    may be sent again with the same key (a 5xx releases it)."""
    log.warning("database busy: %s", type(exc).__name__)
    error = ShopReelError(
        "The service is busy; try again in a moment.",
        code="service_busy",
        status=503,
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )
    error.title = "Service busy"
    return problem_response(request, error)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShopReelError)
    async def _shopreel_error(request: Request, exc: ShopReelError) -> Response:
        if exc.status >= 500:
            log.error("server error", exc_info=exc)
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        error = ShopReelError(
            "The request is not valid.",
            code="validation_failed",
            status=422,
            extra={"errors": errors},
        )
        error.title = "Validation failed"
        return problem_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = ShopReelError(
            str(exc.detail),
            code=_STATUS_CODES.get(exc.status_code, "http_error"),
            status=exc.status_code,
            headers=dict(exc.headers or {}),
        )
        error.title = str(exc.detail)
        return problem_response(request, error)

    @app.exception_handler(sa_exc.TimeoutError)
    async def _pool_timeout(request: Request, exc: sa_exc.TimeoutError) -> Response:
        return _busy(request, exc)

    @app.exception_handler(sa_exc.DBAPIError)
    async def _database_error(request: Request, exc: sa_exc.DBAPIError) -> Response:
        if _is_overload(exc):
            return _busy(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        error = ShopReelError(
            "Something went wrong on our side.", code="internal_error", status=500
        )
        error.title = "Internal error"
        return problem_response(request, error)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else get_settings())
    configure_logging(settings.log_level, json_logs=settings.log_json)
    owns_runtime = runtime is None
    rt = runtime or Runtime.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        publisher: asyncio.Task[None] | None = None
        if owns_runtime and settings.audit_publish_seconds > 0:
            publisher = asyncio.create_task(run_publisher(rt, settings.audit_publish_seconds))
        try:
            yield
        finally:
            if publisher is not None:
                publisher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publisher
            if owns_runtime:
                await rt.close()

    app = FastAPI(
        title="ShopReel API",
        version=__version__,
        description="Social commerce with sovereign personal data. Errors are "
        "application/problem+json with a stable `code`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    # Fails here, at start-up, when SHOPREEL_MEDIA_BACKEND names a backend not built yet.
    app.state.media_storage = storage_for(settings)
    # Access policies are validated against their schema at start-up: an invalid policy
    # set refuses to load (PolicyValidationError) instead of serving.
    PolicySet.default()
    install_error_handlers(app)
    app.add_middleware(
        RequestMiddleware,
        metrics=rt.metrics,
        max_body=settings.max_request_bytes,
        upload_max_body=settings.max_upload_bytes,
        upload_prefixes=UPLOAD_PREFIXES,
        hsts=settings.base_url.startswith("https://"),
    )

    from shopreel import health
    from shopreel.accounts import endpoints as accounts_api
    from shopreel.accounts import pages as accounts_pages
    from shopreel.cart import endpoints as cart_api
    from shopreel.cart import pages as cart_pages
    from shopreel.catalog import endpoints as catalog_api
    from shopreel.catalog import image_endpoints as catalog_images_api
    from shopreel.catalog import image_pages as catalog_image_pages
    from shopreel.catalog import import_endpoints as catalog_import_api
    from shopreel.catalog import import_pages as catalog_import_pages
    from shopreel.catalog import pages as catalog_pages
    from shopreel.checkout import endpoints as checkout_api
    from shopreel.checkout import pages as checkout_pages
    from shopreel.governance import endpoints as governance_api
    from shopreel.inventory import endpoints as inventory_api
    from shopreel.inventory import pages as inventory_pages
    from shopreel.media import endpoints as media_routes
    from shopreel.orders import endpoints as orders_api
    from shopreel.orders import pages as orders_pages
    from shopreel.payments import endpoints as payments_api
    from shopreel.payments import pages as payments_pages
    from shopreel.promotions import endpoints as promotions_api
    from shopreel.sellers import endpoints as sellers_api
    from shopreel.sellers import pages as sellers_pages
    from shopreel.sovereignty import access_endpoints as access_api
    from shopreel.sovereignty import privacy_endpoints as privacy_api
    from shopreel.sovereignty import privacy_pages
    from shopreel.sovereignty import transparency as transparency_api
    from shopreel.trust import pages as trust_pages
    from shopreel.web import pages as web_pages

    app.include_router(health.router)
    for api in (
        accounts_api,
        privacy_api,
        access_api,
        governance_api,
        transparency_api,
        sellers_api,
        catalog_api,
        catalog_images_api,
        catalog_import_api,
        inventory_api,
        payments_api,
        orders_api,
        cart_api,
        checkout_api,
        promotions_api,
    ):
        app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(web_pages.router)
    app.include_router(accounts_pages.router)
    app.include_router(privacy_pages.router)
    app.include_router(trust_pages.router)
    for pages in (sellers_pages, catalog_pages, catalog_import_pages, inventory_pages):
        app.include_router(pages.router)
    app.include_router(catalog_image_pages.router)
    app.include_router(payments_pages.router)
    app.include_router(orders_pages.router)
    app.include_router(cart_pages.router)
    app.include_router(checkout_pages.router)
    app.include_router(media_routes.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app
