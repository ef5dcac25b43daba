"""Jinja2 templates with the context every page receives (see docs/design-system.md)."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shopreel.web.csrf import apply_csrf_cookie

TEMPLATE_DIR = Path(str(resources.files("shopreel.web") / "templates"))
STATIC_DIR = Path(str(resources.files("shopreel.web") / "static"))


@cache
def _static_version(path: str) -> str:
    file = STATIC_DIR / path
    if not file.is_file():
        return "0"
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    return f"/static/{path}?v={_static_version(path)}"


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    templates.env.globals["static_url"] = static_url
    templates.env.globals["app_name"] = "ShopReel"
    return templates


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    flashes: list[tuple[str, str]] = getattr(request.state, "flashes", [])
    return flashes


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a page with the shared context (user, CSRF token, flashes, CSP nonce)."""
    templates: Jinja2Templates = request.app.state.runtime.templates
    principal = getattr(request.state, "principal", None)
    base: dict[str, Any] = {
        "current_user": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flashes": pop_flashes(request),
        "nonce": getattr(request.state, "csp_nonce", ""),
    }
    base.update(context or {})
    response = templates.TemplateResponse(request, template, base, status_code=status)
    _finish(request, response)
    return response


def redirect(request: Request, url: str, status: int = 303) -> RedirectResponse:
    response = RedirectResponse(url, status_code=status)
    _finish(request, response)
    return response


def _finish(request: Request, response: Response) -> None:
    runtime = request.app.state.runtime
    apply_csrf_cookie(request, response, secure=runtime.settings.secure_cookies)
    for name, value, max_age in getattr(request.state, "set_cookies", []):
        if value is None:
            response.delete_cookie(name, path="/")
        else:
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                httponly=True,
                secure=runtime.settings.secure_cookies,
                samesite="lax",
                path="/",
            )
    response.headers.setdefault("cache-control", "no-store")


def set_cookie_later(request: Request, name: str, value: str | None, max_age: int | None) -> None:
    """Queue a cookie for the page response that ``render``/``redirect`` builds."""
    pending = getattr(request.state, "set_cookies", [])
    pending.append((name, value, max_age))
    request.state.set_cookies = pending


def flash(request: Request, category: str, message: str) -> None:
    """Show a message on the page rendered by this request (no server-side flash store)."""
    flashes = getattr(request.state, "flashes", [])
    flashes.append((category, message))
    request.state.flashes = flashes
