"""FastAPI dependencies, with ``Annotated`` aliases so signatures read like documentation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request

from shopreel.accounts import service as accounts
from shopreel.accounts.errors import InsufficientScope
from shopreel.accounts.principal import Principal
from shopreel.errors import NotAuthenticated, PermissionDenied
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from shopreel.web.csrf import verify_csrf

SESSION_COOKIE = "sr_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs plain-def dependencies in a thread pool.
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request. Committed when the endpoint returns, before the
    response is sent (``scope="function"``), rolled back when it raises."""
    runtime: Runtime = request.app.state.runtime
    uow = UnitOfWork(runtime.databases)
    request.state.uow = uow
    try:
        yield uow
        await uow.commit()
    except BaseException:
        await uow.rollback()
        raise
    finally:
        await uow.close()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_optional_principal(
    request: Request, uow: UowDep, runtime: RuntimeDep
) -> Principal | None:
    """Bearer token (``Authorization: Bearer srt_...``) or the session cookie; binds the unit
    of work to the principal's home region."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    principal: Principal | None = None
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise NotAuthenticated("Use 'Authorization: Bearer <token>'.", code="invalid_token")
        principal = await accounts.resolve_access_token(uow, runtime, credentials.strip())
        if principal is None:
            raise NotAuthenticated(
                "The token is invalid, expired or revoked.", code="invalid_token"
            )
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = await accounts.resolve_session(uow, runtime, cookie)
            if principal is not None and request.method not in SAFE_METHODS:
                # Cookies ride along on cross-site requests; writes must prove same origin.
                await verify_csrf(request, runtime.settings.secret_key)
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


async def get_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated("Log in to continue.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Token requests need ``scope``; browser sessions carry every scope."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if scope not in principal.scopes:
            raise InsufficientScope(f"This token lacks the '{scope}' scope.")
        return principal

    return dependency


def require_role(role: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(role):
            raise PermissionDenied(f"This needs the '{role}' role.")
        return principal

    return dependency
