"""Privacy JSON API: export, requests, deletion, "who accessed my data".

Mounted under ``/api/v1``. Reads need the ``account:read`` scope; creating or downloading an
export and deleting the account need ``account:write`` (browser sessions carry every
scope; cookie-authenticated writes also need ``X-CSRF-Token``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from shopreel.accounts.principal import Principal
from shopreel.deps import SESSION_COOKIE, RuntimeDep, UowDep, require_scope
from shopreel.kit.time import as_utc, utcnow
from shopreel.sovereignty import privacy
from shopreel.sovereignty.privacy_models import PrivacyExport, PrivacyRequest

router = APIRouter(tags=["privacy"])

ReadAccount = Annotated[Principal, Depends(require_scope("account:read"))]
WriteAccount = Annotated[Principal, Depends(require_scope("account:write"))]


class PrivacyRequestRead(BaseModel):
    id: str
    kind: str
    status: str
    law: str
    received_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    acknowledge_by: datetime
    complete_by: datetime
    download_url: str | None = Field(
        default=None, description="For a completed export whose archive has not expired."
    )
    download_expires_at: datetime | None = None


class DeleteAccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=256, description="Your current password.")


class DeletionRead(BaseModel):
    request: PrivacyRequestRead
    erased: dict[str, int] = Field(description="Records erased or anonymized, per system.")


class AccessLogEntryRead(BaseModel):
    seq: int = Field(description="Audit log position; ask the transparency API for its proof.")
    at: datetime
    region: str | None
    actor_roles: list[str] = Field(description="The staff member's roles (never their name).")
    actor_jurisdiction: str | None
    action: str
    purpose: str
    category: str | None
    decision: str = Field(description="allowed | denied")
    reasons: list[str]


class AccessLogPageRead(BaseModel):
    items: list[AccessLogEntryRead]
    next_cursor: str | None


def export_url(request_id: str) -> str:
    return f"/api/v1/me/privacy/exports/{request_id}"


def request_read(
    request: PrivacyRequest, export: PrivacyExport | None = None, *, url: str | None = None
) -> PrivacyRequestRead:
    available = export is not None and as_utc(export.expires_at) > utcnow()
    return PrivacyRequestRead(
        id=request.id,
        kind=request.kind,
        status=request.status,
        law=request.law,
        received_at=as_utc(request.received_at),
        acknowledged_at=as_utc(request.acknowledged_at) if request.acknowledged_at else None,
        completed_at=as_utc(request.completed_at) if request.completed_at else None,
        acknowledge_by=as_utc(request.acknowledge_by),
        complete_by=as_utc(request.complete_by),
        download_url=(url or export_url(request.id)) if available else None,
        download_expires_at=as_utc(export.expires_at) if export and available else None,
    )


def access_entry_read(entry: privacy.AccessLogEntry) -> AccessLogEntryRead:
    return AccessLogEntryRead.model_validate(entry.to_json())


def archive_response(archive: privacy.ExportArchive) -> Response:
    return Response(
        archive.data,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="{archive.filename}"',
            "cache-control": "no-store",
            "x-content-sha256": archive.sha256,
        },
    )


@router.post("/me/privacy/export", status_code=status.HTTP_201_CREATED)
async def create_export(
    principal: WriteAccount, uow: UowDep, runtime: RuntimeDep
) -> PrivacyRequestRead:
    """Build a zip of everything ShopReel holds about you (your home region plus public rows
    naming your account). Download it from ``download_url`` within 7 days."""
    request, export = await privacy.create_export(uow, runtime, principal)
    return request_read(request, export)


@router.get("/me/privacy/requests")
async def list_requests(principal: ReadAccount, uow: UowDep) -> list[PrivacyRequestRead]:
    """Your privacy requests, newest first, with their legal deadlines."""
    requests = await privacy.requests_of(uow, principal)
    exports = await privacy.exports_of(uow, principal)
    return [request_read(r, exports.get(r.id)) for r in requests]


@router.get(
    "/me/privacy/exports/{request_id}",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_export(
    request_id: str, principal: WriteAccount, uow: UowDep, runtime: RuntimeDep
) -> Response:
    """Download one of your exports (404 for anyone else's, 410 once expired)."""
    return archive_response(await privacy.read_export(uow, runtime, principal, request_id))


@router.post("/me/privacy/delete")
async def delete_account(
    body: DeleteAccountRequest,
    principal: WriteAccount,
    uow: UowDep,
    runtime: RuntimeDep,
    response: Response,
    background: BackgroundTasks,
) -> DeletionRead:
    """Delete your account for good: your data key is destroyed, so everything encrypted
    under it becomes unreadable. Needs your current password. Cannot be undone."""
    result = await privacy.delete_account(uow, runtime, principal, body.password)
    response.delete_cookie(SESSION_COOKIE, path="/")
    background.add_task(privacy.compact_after_erasure, runtime, principal.region)
    return DeletionRead(request=request_read(result.request), erased=result.erased)


@router.get("/me/access-log")
async def access_log(
    principal: ReadAccount,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AccessLogPageRead:
    """Who accessed your data: every staff access decision about you (allowed or denied),
    newest first. Pass ``next_cursor`` as ``cursor`` for the next page."""
    page = await privacy.access_decisions_about(
        uow.control, principal.id, limit=limit, cursor=cursor
    )
    return AccessLogPageRead(
        items=[access_entry_read(e) for e in page.items], next_cursor=page.next_cursor
    )
