"""``@idempotent``: the one line that makes a money-moving endpoint safe to retry.

    @router.post("/checkout/{checkout_id}/pay", status_code=201)
    @idempotent
    async def pay(checkout_id: str, body: PayIn, uow: UowDep, ...) -> PaymentOut: ...

The decorator adds the request, the principal, the unit of work and the runtime to the
endpoint's dependencies (FastAPI resolves each once per request, so an endpoint that also
declares them gets the same objects) and runs the endpoint inside the protocol below.

1. No valid ``Idempotency-Key`` header: 400, nothing recorded.
2. The request's fingerprint (method, route template, path parameters, query, canonical
   body) is computed, and the key claimed for the principal in its own short transaction
   (:func:`service.claim`): a replay, a 422 or a 409 answers without running the endpoint.
3. The endpoint runs. Its return value is serialized here, exactly as FastAPI would, and
   the bytes are stored through the request's regional session and committed with the
   endpoint's own regional writes (one transaction), then sent. Retries get the same bytes.
4. A 4xx problem (``ShopReelError``) is the operation's final outcome: the endpoint's
   writes are rolled back, the problem is stored and replayed. An unexpected exception or a
   5xx (or 408/425/429) rolls back and *releases* the key: a retry of the same request runs
   again as attempt 2 (see :attr:`service.Claim.retried`).

Requests refused before the endpoint runs (authentication, body validation, CSRF) never
reach step 2, so they record nothing and a corrected retry with the same key is accepted.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Annotated, Any, TypeVar, cast, get_type_hints, overload

from fastapi import Depends, Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, serialize_response

from shopreel.accounts.principal import Principal
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import ShopReelError
from shopreel.idempotency import privacy as _privacy  # noqa: F401 - registers the eraser
from shopreel.idempotency import service
from shopreel.idempotency.errors import RequestInFlight
from shopreel.idempotency.rules import (
    DEFAULT_LEASE,
    HEADER,
    IN_FLIGHT_RETRY_AFTER,
    REPLAYED_HEADER,
    STORED_HEADERS,
    fingerprint,
    is_final,
    validate_key,
)
from shopreel.idempotency.service import Claim, Replay, StoredResponse
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

log = logging.getLogger("shopreel.idempotency")

Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])

_REQUEST = "idempotency_request_"
_PRINCIPAL = "idempotency_principal_"
_UOW = "idempotency_uow_"
_RUNTIME = "idempotency_runtime_"
_RESPONSE = "idempotency_response_"


async def _the_request(request: Request) -> Request:
    return request


async def _the_response(response: Response) -> Response:
    return response


# Request and Response come through dependencies: FastAPI hands the request (and the
# temporal response) to one parameter of the endpoint only, which may be the endpoint's own.
_ADDED: tuple[tuple[str, Any], ...] = (
    (_REQUEST, Annotated[Request, Depends(_the_request)]),
    (_PRINCIPAL, CurrentPrincipal),
    (_UOW, UowDep),
    (_RUNTIME, RuntimeDep),
    (_RESPONSE, Annotated[Response, Depends(_the_response)]),
)
_NO_BODY_STATUSES = frozenset({204, 205, 304})

_current: ContextVar[Claim | None] = ContextVar("shopreel_idempotency_claim", default=None)


def current_claim() -> Claim | None:
    """The claim of the idempotent endpoint running in this task (None outside one).
    Checkout code passes ``current_claim().record_id`` to providers as their own
    idempotency key, and reconciles first when ``current_claim().retried``."""
    return _current.get()


class _LeaseLost(Exception):
    """Another attempt took the key over while this one ran (its lease had run out)."""


@overload
def idempotent(endpoint: Endpoint, /) -> Endpoint: ...


@overload
def idempotent(*, lease: timedelta = DEFAULT_LEASE) -> Callable[[Endpoint], Endpoint]: ...


def idempotent(
    endpoint: Endpoint | None = None, /, *, lease: timedelta = DEFAULT_LEASE
) -> Endpoint | Callable[[Endpoint], Endpoint]:
    """Require ``Idempotency-Key`` on this endpoint and run it at most once per key and
    user (see the module docstring). ``lease``: how long one attempt owns the key before a
    retry may assume it crashed; give endpoints that wait on slow providers more."""
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")

    def decorate(func: Endpoint) -> Endpoint:
        return cast(Endpoint, _wrap(func, lease))

    return decorate(endpoint) if endpoint is not None else decorate


def _wrap(func: Callable[..., Awaitable[Any]], lease: timedelta) -> Callable[..., Awaitable[Any]]:
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"@idempotent needs an async endpoint, not {func!r}")
    signature = inspect.signature(func)
    hints = get_type_hints(func, include_extras=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"@idempotent endpoints take named parameters only: {func!r}")
        if parameter.name in dict(_ADDED):
            raise TypeError(f"parameter name {parameter.name!r} is reserved by @idempotent")
        parameters.append(
            parameter.replace(
                kind=inspect.Parameter.KEYWORD_ONLY,
                annotation=hints.get(parameter.name, parameter.annotation),
            )
        )
    parameters.extend(
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        for name, annotation in _ADDED
    )

    @functools.wraps(func)
    async def endpoint(**values: Any) -> Response:
        request: Request = values.pop(_REQUEST)
        principal: Principal = values.pop(_PRINCIPAL)
        uow: UnitOfWork = values.pop(_UOW)
        runtime: Runtime = values.pop(_RUNTIME)
        temporal: Response = values.pop(_RESPONSE)
        return await _run(func, values, request, principal, uow, runtime, temporal, lease)

    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters,
        return_annotation=hints.get("return", signature.return_annotation),
    )
    return endpoint


async def _run(
    func: Callable[..., Awaitable[Any]],
    values: dict[str, Any],
    request: Request,
    principal: Principal,
    uow: UnitOfWork,
    runtime: Runtime,
    temporal: Response,
    lease: timedelta,
) -> Response:
    key = validate_key(request.headers.get(HEADER))
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        raise RuntimeError("@idempotent works on FastAPI API routes only")
    template = _route_template(request, route)
    request_fingerprint = fingerprint(
        method=request.method,
        route=template,
        path_params=request.path_params,
        query=request.query_params.multi_items(),
        body=await request.body(),
    )
    region = principal.region
    # Resolving the principal opened a transaction on the regional session (and may have
    # written to it, e.g. a token's last use). End it before claiming on another
    # connection: holding one pooled connection while waiting for a second starves the pool
    # under a burst, and on SQLite a pending write would lock the claim out.
    await uow.region(region).commit()
    outcome = await service.claim(
        runtime,
        region=region,
        user_id=principal.id,
        key=key,
        fingerprint=request_fingerprint,
        method=request.method,
        route=template,
        lease=lease,
    )
    if isinstance(outcome, Replay):
        return _response(outcome.response, replayed=True)
    claim = outcome
    request.state.idempotency = claim
    token = _current.set(claim)
    try:
        result = await func(**values)
        stored, extra_headers = await _render(request, route, temporal, result)
    except ShopReelError as error:
        await uow.rollback()
        if not is_final(error.status):
            await _release(runtime, claim)
            raise
        stored = _problem(request, error)
        try:
            owned = await service.complete_apart(runtime, claim, stored)
        except BaseException:
            await _release(runtime, claim)
            raise
        if not owned:
            raise _lease_lost() from error
        return _response(stored)
    except BaseException:
        await uow.rollback()
        await _release(runtime, claim)
        raise
    finally:
        _current.reset(token)

    if not is_final(stored.status):
        # The endpoint itself answered "try again later": treat it as a failed attempt.
        await uow.rollback()
        await _release(runtime, claim)
        return _response(stored, extra=extra_headers)
    try:
        if not await service.complete(runtime, uow.region(region), claim, stored):
            raise _LeaseLost
        # The endpoint's writes and its stored response commit together (regional first,
        # then the other planes; see docs/idempotency.md for what that means for them).
        await uow.commit()
    except _LeaseLost:
        await uow.rollback()
        raise _lease_lost() from None
    except BaseException:
        await uow.rollback()
        await _release(runtime, claim)
        raise
    return _response(stored, extra=extra_headers)


def _route_template(request: Request, route: APIRoute) -> str:
    """The full path template (``/api/v1/orders/{order_id}/refund``). An included router's
    route knows only its own part, so the prefix is read off the concrete path."""
    own = route.path_format
    try:
        rendered = own.format(**request.path_params)
    except (KeyError, IndexError, ValueError):
        return own
    path: str = request.scope["path"]
    return path[: -len(rendered)] + own if path.endswith(rendered) else own


def _lease_lost() -> RequestInFlight:
    return RequestInFlight(
        "This attempt took longer than its lease and another attempt with the same "
        "Idempotency-Key took over. Retry to get that attempt's response.",
        retry_after=IN_FLIGHT_RETRY_AFTER,
    )


async def _release(runtime: Runtime, claim: Claim) -> None:
    try:
        await service.release(runtime, claim)
    except Exception:  # the original failure matters more; the lease expires anyway
        log.exception("could not release idempotency key %s", claim.record_id)


async def _render(
    request: Request, route: APIRoute, temporal: Response, result: Any
) -> tuple[StoredResponse, tuple[tuple[str, str], ...]]:
    """The endpoint's result as the bytes FastAPI would send, split into what is stored
    (status, body, :data:`STORED_HEADERS`) and the other headers of this response only."""
    if isinstance(result, Response):
        response = result
        if not isinstance(getattr(response, "body", None), bytes):
            raise TypeError("@idempotent endpoints cannot stream their response")
    else:
        status = temporal.status_code or route.status_code or 200
        if status in _NO_BODY_STATUSES or status < 200:
            response = Response(status_code=status)
        else:
            content = await serialize_response(
                field=route.response_field,
                response_content=result,
                include=route.response_model_include,
                exclude=route.response_model_exclude,
                by_alias=route.response_model_by_alias,
                exclude_unset=route.response_model_exclude_unset,
                exclude_defaults=route.response_model_exclude_defaults,
                exclude_none=route.response_model_exclude_none,
            )
            response_class = route.response_class
            if isinstance(response_class, DefaultPlaceholder):
                response_class = response_class.value
            response = response_class(content, status_code=status)
        for name, value in temporal.headers.items():
            if name.lower() != "content-length":
                response.headers.append(name, value)
    stored: list[tuple[str, str]] = []
    extra: list[tuple[str, str]] = []
    for name, value in response.headers.items():
        lowered = name.lower()
        if lowered in STORED_HEADERS:
            stored.append((lowered, value))
        elif lowered != "content-length":
            extra.append((lowered, value))
    return StoredResponse(response.status_code, tuple(stored), bytes(response.body)), tuple(extra)


def _problem(request: Request, error: ShopReelError) -> StoredResponse:
    rendered = JSONResponse(error.problem(request.url.path), status_code=error.status)
    return StoredResponse(
        error.status, (("content-type", "application/problem+json"),), bytes(rendered.body)
    )


def _response(
    stored: StoredResponse, *, replayed: bool = False, extra: tuple[tuple[str, str], ...] = ()
) -> Response:
    response = Response(content=stored.body, status_code=stored.status)
    for name, value in (*stored.headers, *extra):
        response.headers.append(name, value)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response
