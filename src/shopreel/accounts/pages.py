"""Account pages: sign-up, login, logout, account, API tokens, password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.accounts import repository, service
from shopreel.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    OptionalPrincipal,
    RuntimeDep,
    UowDep,
    client_ip,
)
from shopreel.errors import ShopReelError, TooManyRequests
from shopreel.kit.countries import country_choices
from shopreel.web.csrf import rotate_csrf
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render, set_cookie_later

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/account"


def _regions_help(runtime: RuntimeDep) -> str:
    regions = ", ".join(r.upper() for r in runtime.settings.region_names)
    return (
        f"Your country decides your home data region ({regions}). Your personal data is "
        "stored and processed there."
    )


@router.get("/signup", response_class=HTMLResponse)
async def signup_form(
    request: Request, _guard: PageGuard, principal: OptionalPrincipal, runtime: RuntimeDep
) -> Response:
    if principal is not None:
        return redirect(request, "/account")
    return render(
        request,
        "accounts/signup.html",
        {
            "countries": country_choices(),
            "form": {},
            "errors": {},
            "regions_help": _regions_help(runtime),
        },
    )


@router.post("/signup", response_class=HTMLResponse)
async def signup_submit(
    request: Request,
    _guard: PageGuard,
    uow: UowDep,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    country: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    form = {"email": email, "display_name": display_name, "country": country}
    try:
        user = await service.sign_up(
            uow,
            runtime,
            service.NewUser(
                email=email, password=password, display_name=display_name, country=country
            ),
        )
    except ShopReelError as error:
        field = str(error.extra.get("field", "form"))
        return render(
            request,
            "accounts/signup.html",
            {
                "countries": country_choices(),
                "form": form,
                "errors": {field: error.detail},
                "regions_help": _regions_help(runtime),
            },
            status=error.status,
        )
    cookie = await service.start_session(uow, runtime, user)
    _set_session_cookie(request, runtime, cookie)
    rotate_csrf(request, runtime.settings.secret_key)
    return redirect(request, "/account")


def _set_session_cookie(request: Request, runtime: RuntimeDep, cookie: str | None) -> None:
    max_age = runtime.settings.session_absolute_hours * 3600
    set_cookie_later(request, SESSION_COOKIE, cookie, max_age)


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, _guard: PageGuard, principal: OptionalPrincipal, next: str | None = None
) -> Response:
    if principal is not None:
        return redirect(request, _safe_next(next))
    return render(
        request,
        "accounts/login.html",
        {"next": _safe_next(next), "error": None, "retry_after": None, "email": ""},
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    _guard: PageGuard,
    uow: UowDep,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/account",
) -> Response:
    context = {"next": _safe_next(next), "email": email, "retry_after": None}
    try:
        user = await service.authenticate(uow, runtime, email, password, ip=client_ip(request))
    except TooManyRequests as error:
        response = render(
            request,
            "accounts/login.html",
            {**context, "error": error.detail, "retry_after": error.retry_after},
            status=429,
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except ShopReelError as error:
        return render(
            request,
            "accounts/login.html",
            {**context, "error": error.detail},
            status=error.status,
        )
    cookie = await service.start_session(
        uow, runtime, user, previous_cookie=request.cookies.get(SESSION_COOKIE)
    )
    _set_session_cookie(request, runtime, cookie)
    rotate_csrf(request, runtime.settings.secret_key)
    return redirect(request, _safe_next(next))


@router.post("/logout")
async def logout(
    request: Request,
    _guard: PageGuard,
    principal: OptionalPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    if principal is not None:
        await service.end_session(uow, principal)
    _set_session_cookie(request, runtime, None)
    rotate_csrf(request, runtime.settings.secret_key)
    return redirect(request, "/")


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, _guard: PageGuard, principal: CurrentPrincipal) -> Response:
    return render(request, "accounts/account.html")


async def _tokens_page(
    request: Request,
    uow: UowDep,
    principal: CurrentPrincipal,
    new_token: str | None = None,
    status: int = 200,
) -> Response:
    tokens = await repository.access_tokens_of(uow.region(principal.region), principal.id)
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": tokens,
            "available_scopes": list(service.SCOPES.items()),
            "new_token": new_token,
        },
        status=status,
    )


@router.get("/account/tokens", response_class=HTMLResponse)
async def tokens(
    request: Request, _guard: PageGuard, principal: CurrentPrincipal, uow: UowDep
) -> Response:
    return await _tokens_page(request, uow, principal)


@router.post("/account/tokens", response_class=HTMLResponse)
async def tokens_create(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    name: Annotated[str, Form(max_length=100)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        _, secret = await service.create_access_token(uow, principal, name, scopes or [])
    except ShopReelError as error:
        flash(request, "error", error.detail)
        return await _tokens_page(request, uow, principal, status=error.status)
    flash(request, "success", "Token created. Copy it now: it will not be shown again.")
    return await _tokens_page(request, uow, principal, new_token=secret)


@router.post("/account/tokens/{token_id}/revoke")
async def tokens_revoke(
    request: Request, token_id: str, _guard: PageGuard, principal: CurrentPrincipal, uow: UowDep
) -> Response:
    await service.revoke_access_token(uow, principal, token_id)
    return redirect(request, "/account/tokens")


@router.get("/password-reset", response_class=HTMLResponse)
async def reset_form(request: Request, _guard: PageGuard) -> Response:
    return render(request, "accounts/password_reset_request.html", {"sent": False})


@router.post("/password-reset", response_class=HTMLResponse)
async def reset_submit(
    request: Request,
    _guard: PageGuard,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    await service.request_password_reset(runtime, email)
    return render(request, "accounts/password_reset_request.html", {"sent": True})


@router.get("/password-reset/confirm", response_class=HTMLResponse)
async def reset_confirm_form(request: Request, _guard: PageGuard, token: str = "") -> Response:
    return render(request, "accounts/password_reset.html", {"token": token, "error": None})


@router.post("/password-reset/confirm", response_class=HTMLResponse)
async def reset_confirm(
    request: Request,
    _guard: PageGuard,
    uow: UowDep,
    runtime: RuntimeDep,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        await service.reset_password(uow, runtime, token, password)
    except ShopReelError as error:
        return render(
            request,
            "accounts/password_reset.html",
            {"token": token, "error": error.detail},
            status=error.status,
        )
    flash(request, "success", "Your password was changed. Log in with the new one.")
    return render(
        request,
        "accounts/login.html",
        {"next": "/account", "error": None, "retry_after": None, "email": ""},
    )
