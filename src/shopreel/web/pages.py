"""Shared page plumbing (CSRF on every form) and the landing page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from shopreel.deps import OptionalPrincipal, RuntimeDep
from shopreel.web.csrf import ensure_csrf, verify_csrf
from shopreel.web.templating import render


async def page_guard(request: Request, runtime: RuntimeDep) -> None:
    """Every page gets a CSRF token; every unsafe page request must carry it."""
    if request.method not in ("GET", "HEAD"):
        await verify_csrf(request, runtime.settings.secret_key)
    ensure_csrf(request, runtime.settings.secret_key)


PageGuard = Annotated[None, Depends(page_guard)]

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def landing(
    request: Request, _guard: PageGuard, principal: OptionalPrincipal
) -> HTMLResponse:
    return render(request, "landing.html")
