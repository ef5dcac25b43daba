"""Account API schemas (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PublicRole = Literal["shopper", "seller", "creator"]


def _default_roles() -> list[PublicRole]:
    return ["shopper"]


class SignUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=256)
    display_name: str = Field(min_length=1, max_length=80)
    country: str = Field(min_length=2, max_length=2, examples=["US"])
    roles: list[PublicRole] = Field(default_factory=_default_roles, max_length=3)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class UserRead(BaseModel):
    id: str
    email: str
    display_name: str
    country: str
    region: str
    roles: list[str]
    jurisdiction: str | None


class LoginResponse(BaseModel):
    user: UserRead
    csrf_token: str = Field(description="Send as X-CSRF-Token on cookie-authenticated writes.")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=20)
    expires_in_days: int | None = Field(default=None, ge=1, le=366)


class TokenRead(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret. Shown once; only its hash is stored.")


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=200)
    password: str = Field(max_length=256)
