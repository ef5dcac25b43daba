"""Accounts JSON API: sign-up, login/logout, profile, personal access tokens, reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from shopreel.accounts import service
from shopreel.accounts.principal import Principal
from shopreel.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    PasswordResetConfirm,
    PasswordResetRequest,
    SignUpRequest,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserRead,
)
from shopreel.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    RuntimeDep,
    UowDep,
    client_ip,
    require_scope,
)
from shopreel.web.csrf import CSRF_COOKIE, rotate_csrf

router = APIRouter(tags=["accounts"])


def user_read(principal: Principal) -> UserRead:
    return UserRead(
        id=principal.id,
        email=principal.email,
        display_name=principal.display_name,
        country=principal.country,
        region=principal.region,
        roles=list(principal.roles),
        jurisdiction=principal.jurisdiction,
    )


def token_read(token: object) -> TokenRead:
    return TokenRead.model_validate(token, from_attributes=True)


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED)
async def sign_up(body: SignUpRequest, uow: UowDep, runtime: RuntimeDep) -> UserRead:
    """Create an account; its home region follows from the country."""
    user = await service.sign_up(
        uow,
        runtime,
        service.NewUser(
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            country=body.country,
            roles=tuple(body.roles),
        ),
    )
    principal = await service.load_principal(uow, runtime, user, auth="session")
    return user_read(principal)


@router.post("/auth/login")
async def login(
    body: LoginRequest, request: Request, response: Response, uow: UowDep, runtime: RuntimeDep
) -> LoginResponse:
    """Start a browser session (cookie). Scripts and integrations should prefer tokens."""
    user = await service.authenticate(
        uow, runtime, body.email, body.password, ip=client_ip(request)
    )
    cookie = await service.start_session(
        uow, runtime, user, previous_cookie=request.cookies.get(SESSION_COOKIE)
    )
    secure = runtime.settings.secure_cookies
    max_age = runtime.settings.session_absolute_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=max_age, httponly=True, secure=secure, samesite="lax"
    )
    csrf_token = rotate_csrf(request, runtime.settings.secret_key)
    response.set_cookie(
        CSRF_COOKIE, request.state.csrf_cookie, httponly=True, secure=secure, samesite="lax"
    )
    principal = await service.load_principal(uow, runtime, user, auth="session")
    return LoginResponse(user=user_read(principal), csrf_token=csrf_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, uow: UowDep, response: Response) -> None:
    """End the current browser session."""
    await service.end_session(uow, principal)
    response.delete_cookie(SESSION_COOKIE)


@router.post("/auth/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def password_reset(body: PasswordResetRequest, runtime: RuntimeDep) -> dict[str, str]:
    """Mail a reset link if the account exists (the answer is the same either way)."""
    await service.request_password_reset(runtime, body.email)
    return {"status": "accepted"}


@router.post("/auth/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def password_reset_confirm(
    body: PasswordResetConfirm, uow: UowDep, runtime: RuntimeDep
) -> None:
    """Set a new password with a reset token; ends every session of the account."""
    await service.reset_password(uow, runtime, body.token, body.password)


ReadAccount = Annotated[Principal, Depends(require_scope("account:read"))]
WriteAccount = Annotated[Principal, Depends(require_scope("account:write"))]


@router.get("/me")
async def me(principal: ReadAccount) -> UserRead:
    """The authenticated user."""
    return user_read(principal)


@router.get("/me/tokens")
async def list_tokens(principal: ReadAccount, uow: UowDep) -> list[TokenRead]:
    """Your personal access tokens (never their secrets)."""
    from shopreel.accounts import repository

    tokens = await repository.access_tokens_of(uow.region(principal.region), principal.id)
    return [token_read(t) for t in tokens]


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, principal: WriteAccount, uow: UowDep) -> TokenCreated:
    """Create a scoped personal access token; the secret is returned once."""
    token, secret = await service.create_access_token(
        uow, principal, body.name, body.scopes, body.expires_in_days
    )
    return TokenCreated(**token_read(token).model_dump(), token=secret)


@router.post("/me/tokens/{token_id}/revoke")
async def revoke_token(token_id: str, principal: WriteAccount, uow: UowDep) -> TokenRead:
    """Revoke one of your tokens."""
    return token_read(await service.revoke_access_token(uow, principal, token_id))
