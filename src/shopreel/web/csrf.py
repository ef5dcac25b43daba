"""CSRF protection for cookie-authenticated requests (forms and same-origin fetches).

A random ``sr_csrf`` cookie (HttpOnly, SameSite=Lax) is paired with a token derived from it
by HMAC under the app secret; forms carry it in ``csrf_token`` and scripts in the
``X-CSRF-Token`` header. A cross-site page can neither read the cookie nor forge the HMAC.
The cookie is replaced at login and logout, so a token planted before login is useless."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from shopreel.errors import PermissionDenied

CSRF_COOKIE = "sr_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


def _derive(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def ensure_csrf(request: Request, secret_key: str) -> str:
    """Make sure the request has a CSRF cookie value; returns the form token."""
    value = getattr(request.state, "csrf_cookie", None) or request.cookies.get(CSRF_COOKIE)
    if not value or len(value) < 32:
        value = secrets.token_urlsafe(32)
        request.state.csrf_new_cookie = value
    request.state.csrf_cookie = value
    token = _derive(secret_key, value)
    request.state.csrf_token = token
    return token


def rotate_csrf(request: Request, secret_key: str) -> str:
    value = secrets.token_urlsafe(32)
    request.state.csrf_cookie = value
    request.state.csrf_new_cookie = value
    token = _derive(secret_key, value)
    request.state.csrf_token = token
    return token


def apply_csrf_cookie(request: Request, response: Response, *, secure: bool) -> None:
    new_value = getattr(request.state, "csrf_new_cookie", None)
    if new_value:
        response.set_cookie(
            CSRF_COOKIE, new_value, httponly=True, secure=secure, samesite="lax", path="/"
        )


async def verify_csrf(request: Request, secret_key: str) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    if not cookie or not submitted:
        raise CsrfFailed("The form has expired. Reload the page and try again.")
    if not hmac.compare_digest(_derive(secret_key, cookie), submitted):
        raise CsrfFailed("The form has expired. Reload the page and try again.")
