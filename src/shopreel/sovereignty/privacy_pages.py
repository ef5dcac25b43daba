"""Privacy pages: "Your data" (export, requests, deletion) and "Who accessed your data"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.accounts.principal import Principal
from shopreel.deps import SESSION_COOKIE, CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import TooManyRequests
from shopreel.kit.time import as_utc, utcnow
from shopreel.sovereignty import privacy
from shopreel.sovereignty.privacy_endpoints import archive_response
from shopreel.sovereignty.privacy_models import OPEN_STATUSES, PrivacyExport, PrivacyRequest
from shopreel.uow import UnitOfWork
from shopreel.web.csrf import rotate_csrf
from shopreel.web.pages import PageGuard
from shopreel.web.templating import flash, redirect, render, set_cookie_later

router = APIRouter(include_in_schema=False)

CONFIRM_WORD = "DELETE"
ACCESS_LOG_PAGE_SIZE = 25

KIND_LABELS = {"export": "Data export", "delete": "Account deletion", "access": "Access request"}
STATUS_BADGES = {
    "received": ("Received", "warning"),
    "acknowledged": ("In progress", "info"),
    "completed": ("Completed", "success"),
    "rejected": ("Rejected", "danger"),
}
LAW_LABELS = {"ccpa": "CCPA", "gdpr": "GDPR"}
ACTION_LABELS = {
    "read": "Read",
    "bulk_read": "Bulk read",
    "break_glass_read": "Emergency (break-glass) read",
    "export": "Export",
    "read_aggregate": "Aggregate read",
}


def export_page_url(request_id: str) -> str:
    return f"/account/privacy/exports/{request_id}"


@dataclass(frozen=True)
class RequestRow:
    id: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    status_variant: str
    law_label: str
    received_at: datetime
    complete_by: datetime
    completed_at: datetime | None
    is_open: bool
    overdue: bool
    download_url: str | None
    download_expires_at: datetime | None


def _row(request: PrivacyRequest, export: PrivacyExport | None, now: datetime) -> RequestRow:
    clock = privacy.clock(request, now)
    label, variant = STATUS_BADGES.get(request.status, (request.status.title(), "neutral"))
    available = export is not None and as_utc(export.expires_at) > now
    return RequestRow(
        id=request.id,
        kind=request.kind,
        kind_label=KIND_LABELS.get(request.kind, request.kind.title()),
        status=request.status,
        status_label=label,
        status_variant=variant,
        law_label=LAW_LABELS.get(request.law, request.law.upper()),
        received_at=clock.received_at,
        complete_by=clock.complete_by,
        completed_at=clock.completed_at,
        is_open=request.status in OPEN_STATUSES,
        overdue=clock.overdue,
        download_url=export_page_url(request.id) if available else None,
        download_expires_at=as_utc(export.expires_at) if export and available else None,
    )


async def _privacy_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    ready: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    now = utcnow()
    requests = await privacy.requests_of(uow, principal)
    exports = await privacy.exports_of(uow, principal)
    rows = [_row(r, exports.get(r.id), now) for r in requests]
    ready_row = next((r for r in rows if r.id == ready and r.download_url), None)
    context: dict[str, Any] = {
        "requests": rows,
        "ready": ready_row,
        "errors": errors or {},
        "confirm_word": CONFIRM_WORD,
        "law_label": LAW_LABELS[privacy.law_for_country(principal.country).value],
        "export_ttl_days": privacy.EXPORT_TTL.days,
    }
    return render(request, "privacy/index.html", context, status=status)


@router.get("/account/privacy", response_class=HTMLResponse)
async def privacy_home(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    ready: Annotated[str | None, Query(max_length=48)] = None,
) -> Response:
    return await _privacy_page(request, uow, principal, ready=ready)


@router.post("/account/privacy/export", response_class=HTMLResponse)
async def privacy_export(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        created, _ = await privacy.create_export(uow, runtime, principal)
    except TooManyRequests as error:
        flash(request, "error", error.detail)
        response = await _privacy_page(request, uow, principal, status=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    return redirect(request, f"/account/privacy?ready={created.id}")


@router.get("/account/privacy/exports/{request_id}")
async def privacy_download(
    request_id: str,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    return archive_response(await privacy.read_export(uow, runtime, principal, request_id))


@router.post("/account/privacy/delete", response_class=HTMLResponse)
async def privacy_delete(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    password: Annotated[str, Form(max_length=256)] = "",
    confirm: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = "Enter your current password."  # noqa: S105 - a message
    if confirm.strip() != CONFIRM_WORD:
        errors["confirm"] = f"Type {CONFIRM_WORD} in capital letters to confirm."
    if errors:
        return await _privacy_page(request, uow, principal, errors=errors, status=422)
    try:
        result = await privacy.delete_account(uow, runtime, principal, password)
    except privacy.WrongPassword as error:
        return await _privacy_page(
            request, uow, principal, errors={"password": error.detail}, status=error.status
        )
    except TooManyRequests as error:
        response = await _privacy_page(
            request, uow, principal, errors={"form": error.detail}, status=429
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    request.state.principal = None
    set_cookie_later(request, SESSION_COOKIE, None, None)
    rotate_csrf(request, runtime.settings.secret_key)
    background.add_task(privacy.compact_after_erasure, runtime, principal.region)
    return render(
        request,
        "privacy/deleted.html",
        {"reference": result.request.id, "law_label": LAW_LABELS.get(result.request.law, "")},
    )


@router.get("/account/access-log", response_class=HTMLResponse)
async def access_log(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    page = await privacy.access_decisions_about(
        uow.control, principal.id, limit=ACCESS_LOG_PAGE_SIZE, cursor=cursor or None
    )
    entries = [
        {
            "entry": entry,
            "action_label": ACTION_LABELS.get(entry.action, entry.action.replace("_", " ")),
        }
        for entry in page.items
    ]
    return render(
        request,
        "privacy/access_log.html",
        {
            "entries": entries,
            "newest_url": "/account/access-log" if cursor else None,
            "older_url": f"/account/access-log?cursor={page.next_cursor}"
            if page.next_cursor
            else None,
        },
    )
