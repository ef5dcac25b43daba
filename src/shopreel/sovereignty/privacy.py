"""Data-subject rights: export, deletion by crypto-shredding, the access log, legal clocks.

Everything here works in the requester's **home region** (the unit of work is bound to it)
plus the public global rows that name the requester's opaque id, and the control plane's
audit log. See ``docs/privacy.md`` for the rules and their limits.

* **Export** runs every registered exporter (``register_exporter``) and zips one JSON file
  per exporter with a manifest (sha256 and record count per file). The archive is stored
  encrypted under the user's data key and expires after :data:`EXPORT_TTL`.
* **Deletion** runs every registered eraser (``register_eraser``), then shreds the account:
  the wrapped data key, sessions, tokens and reset tokens are deleted and the user row is
  tombstoned. The privacy request row stays as the legal record.
* **Access log**: :func:`access_decisions_about` is the one named read of the audit log
  for a user's own "who accessed my data" view.
* **Legal clocks**: pure functions (:func:`deadlines`, :func:`add_business_days`,
  :func:`add_calendar_months`) and :func:`list_open_requests` for the trust console.

Functions take the unit of work first; they flush, never commit.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import io
import json
import re
import secrets
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts import passwords, repository
from shopreel.accounts import service as accounts
from shopreel.accounts.models import (
    AccessToken,
    PasswordResetToken,
    User,
    UserKey,
    UserStatus,
    WebSession,
)
from shopreel.accounts.principal import Principal
from shopreel.catalog.models import Shop, ShopStatus
from shopreel.content.models import CreatorProfile
from shopreel.errors import (
    NotFound,
    PermissionDenied,
    ShopReelError,
    TooManyRequests,
    ValidationFailed,
)
from shopreel.events.models import InteractionEvent
from shopreel.kit.ids import new_id
from shopreel.kit.time import as_utc, utcnow
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit
from shopreel.sovereignty.models import AuditEntry
from shopreel.sovereignty.privacy_models import (
    OPEN_STATUSES,
    Law,
    PrivacyExport,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
)
from shopreel.uow import UnitOfWork

__all__ = [
    "ACCESS_DECISION",
    "EXPORT_DAILY_LIMIT",
    "EXPORT_FORMAT",
    "EXPORT_TTL",
    "PLANNED_ERASERS",
    "AccessLogEntry",
    "AccessLogPage",
    "Deadlines",
    "DeletionResult",
    "Eraser",
    "ExportArchive",
    "ExportExpired",
    "Exporter",
    "RequestClock",
    "WrongPassword",
    "access_decisions_about",
    "add_business_days",
    "add_calendar_months",
    "audit_entries_about",
    "build_archive",
    "clock",
    "compact_after_erasure",
    "create_export",
    "deadlines",
    "decode_cursor",
    "delete_account",
    "encode_cursor",
    "erasers",
    "exporters",
    "exports_of",
    "law_for_country",
    "list_open_requests",
    "missing_erasers",
    "open_request",
    "purge_expired_exports",
    "read_export",
    "register_eraser",
    "register_exporter",
    "requests_of",
    "transition",
    "unregister_eraser",
    "unregister_exporter",
]

ACCESS_DECISION: Final = "access.decision"
EXPORT_FORMAT: Final = "shopreel-export/1"
EXPORT_TTL: Final = timedelta(days=7)
EXPORT_DAILY_LIMIT: Final = 5
DELETED_DISPLAY_NAME: Final = "Deleted user"
TOMBSTONE_PREFIX: Final = "deleted-"  # blind indexes are lower-case hex: never collides
DELETED_OWNER_PREFIX: Final = "deleted:"
UNKNOWN_COUNTRY: Final = "ZZ"  # ISO 3166 user-assigned code
CCPA_ACKNOWLEDGE_BUSINESS_DAYS: Final = 10
CCPA_COMPLETE_DAYS: Final = 45
GDPR_ACKNOWLEDGE_BUSINESS_DAYS: Final = 3  # internal target for "without undue delay"
GDPR_COMPLETE_MONTHS: Final = 1
_CURSOR_PREFIX: Final = "a1:"


# ---- errors ----------------------------------------------------------------------------------


class ExportExpired(ShopReelError):
    status = 410
    code = "export_expired"
    title = "Export expired"


class WrongPassword(PermissionDenied):
    code = "invalid_password"


# ---- legal clocks (pure) ---------------------------------------------------------------------


def law_for_country(country: str) -> Law:
    """US residents get CCPA clocks; everyone else GDPR clocks (the stricter default)."""
    return Law.CCPA if country.strip().upper() == "US" else Law.GDPR


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` moved forward by ``days`` business days (Monday to Friday), keeping the time
    of day. Public holidays are not modelled. Friday + 1 = Monday; Saturday + 1 = Monday."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def add_calendar_months(start: datetime, months: int) -> datetime:
    """Same day and time ``months`` later; when that month is shorter, its last day
    (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year)."""
    if months < 0:
        raise ValueError("months must not be negative")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: datetime
    complete_by: datetime


def deadlines(law: Law | str, received_at: datetime) -> Deadlines:
    """Statutory clocks of a request received at ``received_at`` (UTC).

    * CCPA: acknowledge within 10 business days, complete within 45 calendar days.
    * GDPR: complete within one calendar month; acknowledge "without undue delay", for which
      ShopReel's internal target is 3 business days.
    """
    law = Law(law)
    if law is Law.CCPA:
        return Deadlines(
            acknowledge_by=add_business_days(received_at, CCPA_ACKNOWLEDGE_BUSINESS_DAYS),
            complete_by=received_at + timedelta(days=CCPA_COMPLETE_DAYS),
        )
    return Deadlines(
        acknowledge_by=add_business_days(received_at, GDPR_ACKNOWLEDGE_BUSINESS_DAYS),
        complete_by=add_calendar_months(received_at, GDPR_COMPLETE_MONTHS),
    )


@dataclass(frozen=True)
class RequestClock:
    """A request with its clocks as seen at ``now`` (for the trust console). No PII."""

    request_id: str
    user_id: str
    region: str
    kind: str
    status: str
    law: str
    received_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    acknowledge_by: datetime
    complete_by: datetime
    acknowledge_overdue: bool
    complete_overdue: bool
    time_left: timedelta

    @property
    def overdue(self) -> bool:
        return self.acknowledge_overdue or self.complete_overdue


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def clock(request: PrivacyRequest, now: datetime) -> RequestClock:
    """The request's clocks at ``now``: a deadline is overdue while its step is still open
    after it (acknowledging late clears the acknowledge flag; the lateness stays visible
    from the timestamps)."""
    now = as_utc(now)
    acknowledge_by = as_utc(request.acknowledge_by)
    complete_by = as_utc(request.complete_by)
    is_open = request.status in OPEN_STATUSES
    return RequestClock(
        request_id=request.id,
        user_id=request.user_id,
        region=request.region,
        kind=request.kind,
        status=request.status,
        law=request.law,
        received_at=as_utc(request.received_at),
        acknowledged_at=_maybe_utc(request.acknowledged_at),
        completed_at=_maybe_utc(request.completed_at),
        acknowledge_by=acknowledge_by,
        complete_by=complete_by,
        acknowledge_overdue=(
            request.status == RequestStatus.RECEIVED.value and now > acknowledge_by
        ),
        complete_overdue=is_open and now > complete_by,
        time_left=complete_by - now,
    )


_TRANSITIONS: Final = {
    RequestStatus.RECEIVED: {
        RequestStatus.ACKNOWLEDGED,
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
    },
    RequestStatus.ACKNOWLEDGED: {RequestStatus.COMPLETED, RequestStatus.REJECTED},
    RequestStatus.COMPLETED: set(),
    RequestStatus.REJECTED: set(),
}


def transition(request: PrivacyRequest, to: RequestStatus | str, now: datetime) -> None:
    """Move a request forward (received → acknowledged → completed | rejected). Completing or
    rejecting an unacknowledged request acknowledges it at the same moment; ``completed_at``
    records when the request was closed either way. Raises ValueError otherwise."""
    target = RequestStatus(to)
    current = RequestStatus(request.status)
    if target not in _TRANSITIONS[current]:
        raise ValueError(f"a {current.value} request cannot become {target.value}")
    if request.acknowledged_at is None:
        request.acknowledged_at = now
    if target in (RequestStatus.COMPLETED, RequestStatus.REJECTED):
        request.completed_at = now
    request.status = target.value


# ---- registries ------------------------------------------------------------------------------

Record: TypeAlias = dict[str, Any]
Exporter: TypeAlias = Callable[[UnitOfWork, Runtime, Principal], Awaitable[list[Record]]]
Eraser: TypeAlias = Callable[[UnitOfWork, Runtime, Principal], Awaitable[int]]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}(/[a-z][a-z0-9_]{0,47}){0,2}")
_RESERVED = frozenset({"manifest"})


@dataclass(frozen=True)
class _Hook:
    name: str
    fn: Callable[..., Awaitable[Any]]
    description: str


_EXPORTERS: dict[str, _Hook] = {}
_ERASERS: dict[str, _Hook] = {}

PLANNED_ERASERS: Final[Mapping[str, str]] = {
    "orders": "order records are kept for tax law but pseudonymized (names and addresses "
    "shredded, amounts and dates kept)",
    "carts": "carts are deleted",
    "addresses": "addresses are deleted",
    "messages": "messages the user sent are deleted or shredded",
    "search_index": "documents and query history about the user are purged from search indexes",
    "caches": "cached pages, profiles and API responses about the user are evicted",
    "feeds": "feed state and precomputed recommendations for the user are purged",
    "model_user_factors": "the user's factors in each region's recommendation models are "
    "deleted and excluded from the next training run",
}
"""Systems that will hold personal data but do not exist yet. Each must register an eraser
(and an exporter) with the same name when it is built; :func:`missing_erasers` lists those
still missing."""


def _register(
    registry: dict[str, _Hook], name: str, fn: Callable[..., Awaitable[Any]], description: str
) -> None:
    if not _NAME.fullmatch(name) or name in _RESERVED:
        raise ValueError(f"invalid name {name!r}: lower-case words, optionally 'public/...'")
    if name in registry:
        raise ValueError(f"{name!r} is already registered")
    registry[name] = _Hook(name, fn, description)


def register_exporter(name: str, fn: Exporter, *, description: str = "") -> None:
    """Add ``<name>.json`` to every export: ``await fn(uow, runtime, principal)`` returns the
    user's records as JSON-able dicts (datetimes allowed). Read through ``uow`` only: it is
    bound to the user's home region. Never return secrets (hashes, keys)."""
    _register(_EXPORTERS, name, fn, description)


def unregister_exporter(name: str) -> None:
    _EXPORTERS.pop(name, None)


def exporters() -> list[tuple[str, Exporter, str]]:
    return [(h.name, h.fn, h.description) for h in _EXPORTERS.values()]


def register_eraser(name: str, fn: Eraser, *, description: str = "") -> None:
    """Run ``await fn(uow, runtime, principal)`` when an account is deleted, before the data
    key is destroyed; it returns how many records it erased. Runs inside the deletion's unit
    of work: raising aborts the whole (regional) deletion."""
    _register(_ERASERS, name, fn, description)


def unregister_eraser(name: str) -> None:
    _ERASERS.pop(name, None)


def erasers() -> list[tuple[str, Eraser, str]]:
    return [(h.name, h.fn, h.description) for h in _ERASERS.values()]


def missing_erasers() -> list[str]:
    """Planned systems (:data:`PLANNED_ERASERS`) that have not registered an eraser yet."""
    return [name for name in PLANNED_ERASERS if name not in _ERASERS]


# ---- requests --------------------------------------------------------------------------------


async def open_request(
    uow: UnitOfWork, principal: Principal, kind: RequestKind | str, *, now: datetime | None = None
) -> PrivacyRequest:
    """Record a new request (status received) with its legal clocks."""
    now = now or utcnow()
    law = law_for_country(principal.country)
    clocks = deadlines(law, now)
    request = PrivacyRequest(
        id=new_id("prq", principal.region),
        user_id=principal.id,
        region=principal.region,
        kind=RequestKind(kind).value,
        status=RequestStatus.RECEIVED.value,
        law=law.value,
        received_at=now,
        acknowledge_by=clocks.acknowledge_by,
        complete_by=clocks.complete_by,
        details={},
    )
    session = uow.region(principal.region)
    session.add(request)
    await session.flush()
    return request


async def requests_of(uow: UnitOfWork, principal: Principal) -> list[PrivacyRequest]:
    """The user's requests, newest first."""
    result = await uow.region(principal.region).scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.user_id == principal.id)
        .order_by(PrivacyRequest.received_at.desc(), PrivacyRequest.id.desc())
    )
    return list(result)


async def exports_of(uow: UnitOfWork, principal: Principal) -> dict[str, PrivacyExport]:
    """The user's stored archives by request id (expired ones included until purged)."""
    result = await uow.region(principal.region).scalars(
        select(PrivacyExport).where(PrivacyExport.user_id == principal.id)
    )
    return {export.request_id: export for export in result}


async def list_open_requests(
    runtime: Runtime, region: str, *, now: datetime | None = None, limit: int = 500
) -> list[RequestClock]:
    """Open requests of ``region`` with their clocks, most urgent first (trust console).

    Reads only the request rows (opaque user ids, no personal data) through its own session
    of ``region``. The caller is responsible for authorizing staff access."""
    now = now or utcnow()
    async with runtime.databases.session(regional(region)) as session:
        result = await session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.status.in_(OPEN_STATUSES))
            .order_by(PrivacyRequest.complete_by, PrivacyRequest.id)
            .limit(limit)
        )
        return [clock(request, now) for request in result]


# ---- access log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessLogEntry:
    """One staff access decision about the user: who by role and jurisdiction, never by
    name or id. ``seq`` is the audit log position (for inclusion proofs)."""

    seq: int
    at: datetime
    region: str | None
    actor_roles: tuple[str, ...]
    actor_jurisdiction: str | None
    action: str
    purpose: str
    category: str | None
    allowed: bool
    reasons: tuple[str, ...]

    def to_json(self) -> Record:
        return {
            "seq": self.seq,
            "at": self.at,
            "region": self.region,
            "actor_roles": list(self.actor_roles),
            "actor_jurisdiction": self.actor_jurisdiction,
            "action": self.action,
            "purpose": self.purpose,
            "category": self.category,
            "decision": "allowed" if self.allowed else "denied",
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class AccessLogPage:
    items: list[AccessLogEntry]
    next_cursor: str | None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The audit seq a cursor points before; ValidationFailed (422) for anything else."""
    invalid = ValidationFailed(
        "The cursor is not valid; start again without it.",
        code="invalid_cursor",
        extra={"field": "cursor"},
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except ValueError:  # binascii.Error and UnicodeError are ValueErrors
        raise invalid from None
    number = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        raise invalid
    seq = int(number)
    if encode_cursor(seq) != cursor:
        raise invalid
    return seq


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _access_entry(entry: AuditEntry) -> AccessLogEntry:
    attributes: Mapping[str, object] = (
        entry.attributes if isinstance(entry.attributes, dict) else {}
    )
    return AccessLogEntry(
        seq=entry.seq,
        at=as_utc(entry.created_at),
        region=entry.region,
        actor_roles=tuple(
            dict.fromkeys(
                (
                    *_texts(attributes.get("actor_roles")),
                    *_texts(attributes.get("actor_staff_roles")),
                )
            )
        ),
        actor_jurisdiction=_text(attributes.get("actor_jurisdiction")),
        action=_text(attributes.get("action")) or "unknown",
        purpose=_text(attributes.get("purpose")) or "",
        category=_text(attributes.get("category")),
        allowed=attributes.get("allowed") is True,  # anything else shows as denied
        reasons=_texts(attributes.get("reasons")),
    )


async def access_decisions_about(
    control: AsyncSession, user_id: str, *, limit: int = 50, cursor: str | None = None
) -> AccessLogPage:
    """Staff access decisions for "who accessed my data": (allowed and denied) whose subject is
    ``user_id``, newest first, from the control plane's audit log. ``cursor`` comes from a
    previous page's ``next_cursor``; a malformed one raises ValidationFailed."""
    if not 1 <= limit <= 200:
        raise ValidationFailed("limit must be between 1 and 200", extra={"field": "limit"})
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject_id == user_id, AuditEntry.kind == ACCESS_DECISION)
        .order_by(AuditEntry.seq.desc())
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(AuditEntry.seq < decode_cursor(cursor))
    rows = list(await control.scalars(query))
    items = [_access_entry(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].seq) if len(rows) > limit else None
    return AccessLogPage(items=items, next_cursor=next_cursor)


async def audit_entries_about(control: AsyncSession, user_id: str) -> list[AuditEntry]:
    """Every audit entry whose subject is ``user_id`` (any kind), oldest first."""
    result = await control.scalars(
        select(AuditEntry).where(AuditEntry.subject_id == user_id).order_by(AuditEntry.seq)
    )
    return list(result)


# ---- built-in exporters ----------------------------------------------------------------------


async def _export_account(uow: UnitOfWork, runtime: Runtime, principal: Principal) -> list[Record]:
    user = await repository.user_by_id(uow.region(principal.region), principal.id)
    if user is None:
        return []
    profile = await accounts.load_principal(uow, runtime, user, auth="session")
    return [
        {
            "id": user.id,
            "region": user.region,
            "email": profile.email,
            "display_name": profile.display_name,
            "country": user.country,
            "roles": list(user.roles),
            "jurisdiction": user.jurisdiction,
            "staff_roles": list(user.staff_roles),
            "status": user.status,
            "created_at": user.created_at,
            "password_changed_at": user.password_changed_at,
        }
    ]


async def _export_sessions(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> list[Record]:
    result = await uow.region(principal.region).scalars(
        select(WebSession).where(WebSession.user_id == principal.id).order_by(WebSession.created_at)
    )
    return [
        {
            "created_at": s.created_at,
            "last_seen_at": s.last_seen_at,
            "expires_at": s.expires_at,
            "current": s.token_hash == principal.session_hash,
        }
        for s in result
    ]


async def _export_tokens(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> list[Record]:
    tokens = await repository.access_tokens_of(uow.region(principal.region), principal.id)
    return [
        {
            "id": t.id,
            "name": t.name,
            "scopes": list(t.scopes),
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
        }
        for t in reversed(tokens)
    ]


async def _export_events(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> list[Record]:
    result = await uow.region(principal.region).scalars(
        select(InteractionEvent)
        .where(InteractionEvent.user_id == principal.id)
        .order_by(InteractionEvent.occurred_at, InteractionEvent.id)
    )
    return [
        {
            "id": e.id,
            "client_event_id": e.client_event_id,
            "kind": e.kind,
            "video_id": e.video_id,
            "product_id": e.product_id,
            "watch_ms": e.watch_ms,
            "occurred_at": e.occurred_at,
            "received_at": e.received_at,
        }
        for e in result
    ]


def _request_json(r: PrivacyRequest) -> Record:
    return {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "law": r.law,
        "received_at": r.received_at,
        "acknowledged_at": r.acknowledged_at,
        "completed_at": r.completed_at,
        "acknowledge_by": r.acknowledge_by,
        "complete_by": r.complete_by,
        "details": r.details,
    }


async def _export_requests(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> list[Record]:
    return [_request_json(r) for r in reversed(await requests_of(uow, principal))]


# Attributes of other audit kinds about the user (break-glass grants, tickets, privacy requests)
# that are safe to show them: never staff ids or other users' ids.
_SHAREABLE_ATTRIBUTES: Final = frozenset(
    {
        "event",
        "action",
        "category",
        "purpose",
        "status",
        "scope",
        "expires_at",
        "approvers",
        "required_approvers",
        "allowed",
        "request_id",
        "law",
        "erased",
        "files",
    }
)


async def _export_access_log(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> list[Record]:
    records: list[Record] = []
    for entry in await audit_entries_about(uow.control, principal.id):
        if entry.kind == ACCESS_DECISION:
            records.append({"kind": entry.kind, **_access_entry(entry).to_json()})
        else:
            records.append(
                {
                    "seq": entry.seq,
                    "kind": entry.kind,
                    "at": as_utc(entry.created_at),
                    "region": entry.region,
                    "attributes": {
                        key: value
                        for key, value in (entry.attributes or {}).items()
                        if key in _SHAREABLE_ATTRIBUTES
                    },
                }
            )
    return records


async def _export_shops(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> list[Record]:
    result = await uow.global_.scalars(
        select(Shop).where(Shop.owner_id == principal.id).order_by(Shop.created_at, Shop.id)
    )
    return [
        {
            "id": s.id,
            "handle": s.handle,
            "name": s.name,
            "description": s.description,
            "country": s.country,
            "status": s.status,
            "created_at": s.created_at,
        }
        for s in result
    ]


async def _export_creator_profile(
    uow: UnitOfWork, _rt: Runtime, principal: Principal
) -> list[Record]:
    result = await uow.global_.scalars(
        select(CreatorProfile)
        .where(CreatorProfile.user_id == principal.id)
        .order_by(CreatorProfile.created_at, CreatorProfile.id)
    )
    return [
        {
            "id": p.id,
            "handle": p.handle,
            "display_name": p.display_name,
            "bio": p.bio,
            "home_region": p.home_region,
            "follower_count": p.follower_count,
            "created_at": p.created_at,
        }
        for p in result
    ]


register_exporter("account", _export_account, description="Your profile, decrypted")
register_exporter("sessions", _export_sessions, description="Your browser sessions")
register_exporter("access_tokens", _export_tokens, description="Your API tokens (no secrets)")
register_exporter(
    "interaction_events", _export_events, description="What you watched, liked and bought"
)
register_exporter("privacy_requests", _export_requests, description="Your privacy requests")
register_exporter(
    "access_log", _export_access_log, description="Audit log entries about you (staff access)"
)
register_exporter("public/shops", _export_shops, description="Shops you own (public)")
register_exporter(
    "public/creator_profile", _export_creator_profile, description="Your creator profile (public)"
)


# ---- export ----------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not exportable as JSON")


def _dumps(value: object) -> bytes:
    return json.dumps(
        value, default=_json_default, ensure_ascii=False, indent=2, sort_keys=True
    ).encode("utf-8")


def _archive_context(request_id: str) -> str:
    return f"privacy_exports.archive:{request_id}"


async def build_archive(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, request: PrivacyRequest
) -> tuple[bytes, Record]:
    """Run every exporter; returns the zip's bytes and its manifest."""
    generated_at = utcnow()
    stamp = as_utc(generated_at).timetuple()[:6]
    files: list[Record] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, fn, description in exporters():
            records = await fn(uow, runtime, principal)
            data = _dumps(records)
            path = f"{name}.json"
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            files.append(
                {
                    "name": path,
                    "description": description,
                    "records": len(records),
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
        manifest: Record = {
            "format": EXPORT_FORMAT,
            "user_id": principal.id,
            "region": principal.region,
            "request_id": request.id,
            "generated_at": generated_at,
            "files": files,
            "notes": [
                f"Your personal data is stored only in your home region "
                f"({principal.region}); this archive was built there.",
                "Files under public/ are rows of the public catalog that name your account.",
                "Password hashes, token hashes and encryption keys are never exported.",
            ],
        }
        info = zipfile.ZipInfo("manifest.json", date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, _dumps(manifest))
    return buffer.getvalue(), manifest


async def _data_key(uow: UnitOfWork, runtime: Runtime, principal: Principal) -> bytes:
    key = await repository.user_key(uow.region(principal.region), principal.id)
    if key is None:
        raise NotFound("This account no longer exists.")
    return runtime.cipher(principal.region).open(key.wrapped_key)


async def purge_expired_exports(
    runtime: Runtime, region: str, *, now: datetime | None = None
) -> int:
    """Delete every expired archive of ``region`` (for a periodic job); returns the count."""
    now = now or utcnow()
    async with runtime.databases.transaction(regional(region)) as session:
        result = await session.execute(delete(PrivacyExport).where(PrivacyExport.expires_at < now))
        return _rowcount(result)


async def create_export(
    uow: UnitOfWork, runtime: Runtime, principal: Principal
) -> tuple[PrivacyRequest, PrivacyExport]:
    """Record an export request, build the archive now (small data) and store it encrypted
    under the user's data key. At most :data:`EXPORT_DAILY_LIMIT` exports per 24 hours."""
    session = uow.region(principal.region)
    now = utcnow()
    recent = list(
        await session.scalars(
            select(PrivacyRequest.received_at)
            .where(
                PrivacyRequest.user_id == principal.id,
                PrivacyRequest.kind == RequestKind.EXPORT.value,
                PrivacyRequest.received_at > now - timedelta(days=1),
            )
            .order_by(PrivacyRequest.received_at)
        )
    )
    if len(recent) >= EXPORT_DAILY_LIMIT:
        retry = as_utc(recent[0]) + timedelta(days=1) - now
        raise TooManyRequests(
            f"You can request {EXPORT_DAILY_LIMIT} exports a day. Download an earlier one or "
            "try again later.",
            retry_after=int(retry.total_seconds()) + 1,
            code="export_limit",
        )
    await session.execute(
        delete(PrivacyExport).where(
            PrivacyExport.user_id == principal.id, PrivacyExport.expires_at < now
        )
    )
    request = await open_request(uow, principal, RequestKind.EXPORT, now=now)
    archive, manifest = await build_archive(uow, runtime, principal, request)
    data_key = await _data_key(uow, runtime, principal)
    cipher = runtime.cipher(principal.region)
    export = PrivacyExport(
        request_id=request.id,
        user_id=principal.id,
        region=principal.region,
        archive_ct=cipher.encrypt(data_key, archive, _archive_context(request.id)),
        sha256=hashlib.sha256(archive).hexdigest(),
        size_bytes=len(archive),
        created_at=now,
        expires_at=now + EXPORT_TTL,
    )
    session.add(export)
    transition(request, RequestStatus.COMPLETED, utcnow())
    request.details = {
        "files": {f["name"]: f["records"] for f in manifest["files"]},
        "size_bytes": len(archive),
        "sha256": export.sha256,
    }
    await session.flush()
    await audit.append(
        uow.control,
        kind="privacy.export",
        actor_id=principal.id,
        subject_id=principal.id,
        region=principal.region,
        attributes={"request_id": request.id, "law": request.law, "files": len(manifest["files"])},
    )
    return request, export


@dataclass(frozen=True)
class ExportArchive:
    request_id: str
    filename: str
    data: bytes
    sha256: str


async def read_export(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, request_id: str
) -> ExportArchive:
    """The decrypted archive of one of the user's exports: NotFound for anyone else's (or
    an unknown id), ExportExpired (410) after :data:`EXPORT_TTL`."""
    if not 1 <= len(request_id) <= 48:
        raise NotFound("No such export.")
    session = uow.region(principal.region)
    export = await session.get(PrivacyExport, request_id)
    if export is None or export.user_id != principal.id:
        raise NotFound("No such export.")
    if as_utc(export.expires_at) <= utcnow():
        raise ExportExpired("This export has expired. Request a new one.")
    data_key = await _data_key(uow, runtime, principal)
    archive = runtime.cipher(principal.region).decrypt(
        data_key, export.archive_ct, _archive_context(request_id)
    )
    stamp = as_utc(export.created_at).strftime("%Y%m%d-%H%M%S")
    return ExportArchive(
        request_id=request_id,
        filename=f"shopreel-export-{stamp}.zip",
        data=archive,
        sha256=export.sha256,
    )


# ---- deletion --------------------------------------------------------------------------------


def _rowcount(result: object) -> int:
    count = getattr(result, "rowcount", 0)
    return count if isinstance(count, int) and count > 0 else 0


async def _erase_events(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> int:
    result = await uow.region(principal.region).execute(
        delete(InteractionEvent).where(InteractionEvent.user_id == principal.id)
    )
    return _rowcount(result)


async def _erase_exports(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> int:
    result = await uow.region(principal.region).execute(
        delete(PrivacyExport).where(PrivacyExport.user_id == principal.id)
    )
    return _rowcount(result)


async def _erase_creator_profile(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> int:
    profiles = list(
        await uow.global_.scalars(
            select(CreatorProfile).where(CreatorProfile.user_id == principal.id)
        )
    )
    for profile in profiles:
        profile.handle = f"deleted-{secrets.token_hex(8)}"
        profile.display_name = DELETED_DISPLAY_NAME
        profile.bio = ""
    return len(profiles)


async def _erase_shop_ownership(uow: UnitOfWork, _rt: Runtime, principal: Principal) -> int:
    shops = list(await uow.global_.scalars(select(Shop).where(Shop.owner_id == principal.id)))
    for shop in shops:
        shop.owner_id = f"{DELETED_OWNER_PREFIX}{principal.id}"
        shop.status = ShopStatus.SUSPENDED.value
    return len(shops)


register_eraser("interaction_events", _erase_events, description="interaction events deleted")
register_eraser("privacy_exports", _erase_exports, description="export archives deleted")
register_eraser(
    "public/creator_profile",
    _erase_creator_profile,
    description="creator profile anonymized (handle, name, bio)",
)
register_eraser(
    "public/shops",
    _erase_shop_ownership,
    description="shops kept as legal records, owner marked deleted, shop suspended",
)


@asynccontextmanager
async def _secure_delete(session: AsyncSession) -> AsyncIterator[None]:
    """On SQLite, overwrite deleted and replaced content with zeros instead of leaving it in
    free space (``PRAGMA secure_delete``, per connection; restored afterwards). Flushes
    before restoring, so every pending change is written under it."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = await connection.exec_driver_sql("PRAGMA secure_delete")
    before = previous.scalar()
    await connection.exec_driver_sql("PRAGMA secure_delete = ON")
    try:
        yield
        await session.flush()
    finally:
        await connection.exec_driver_sql(f"PRAGMA secure_delete = {int(before or 0)}")


async def _shred_account(session: AsyncSession, user: User) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, model in (
        ("web_sessions", WebSession),
        ("access_tokens", AccessToken),
        ("password_reset_tokens", PasswordResetToken),
        ("user_keys", UserKey),
    ):
        result = await session.execute(delete(model).where(model.user_id == user.id))
        counts[name] = _rowcount(result)
    user.status = UserStatus.DELETED.value
    user.email_index = TOMBSTONE_PREFIX + secrets.token_hex(28)
    user.email_ct = b""
    user.display_name_ct = b""
    user.password_hash = ""
    user.country = UNKNOWN_COUNTRY
    user.roles = []
    user.staff_roles = []
    user.jurisdiction = None
    user.password_changed_at = utcnow()
    counts["users"] = 1
    return counts


@dataclass(frozen=True)
class DeletionResult:
    request: PrivacyRequest
    erased: dict[str, int] = field(default_factory=dict)


def _password_throttle_key(user_id: str) -> str:
    return f"privacy:delete:{user_id}"


async def delete_account(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, password: str
) -> DeletionResult:
    """Delete the account after checking its current password (throttled like logins).

    Runs every registered eraser, then destroys the wrapped data key (crypto-shredding every
    ``*_ct`` value and export archive of the user), deletes sessions, API tokens and reset
    tokens, and tombstones the user row (random email index, emptied ciphertexts, no
    password, status deleted). The privacy request (kind delete, completed) stays as the
    legal record and an audit entry ``privacy.erasure`` records the counts."""
    session = uow.region(principal.region)
    user = await repository.user_by_id(session, principal.id)
    if user is None or user.status == UserStatus.DELETED.value:
        raise NotFound("This account no longer exists.")
    throttle = _password_throttle_key(user.id)
    failures, retry_after = await runtime.failures.count(throttle)
    if failures >= runtime.settings.login_max_failures:
        raise TooManyRequests(
            "Too many wrong passwords. Try again later.",
            retry_after=retry_after,
            code="password_throttled",
        )
    if not passwords.verify_password(user.password_hash, password):
        await runtime.failures.add(throttle, runtime.settings.login_window_seconds)
        raise WrongPassword("The password is not correct.", extra={"field": "password"})
    await runtime.failures.reset(throttle)

    request = await open_request(uow, principal, RequestKind.DELETE)
    erased: dict[str, int] = {}
    async with _secure_delete(session):
        for name, fn, _ in erasers():
            erased[name] = await fn(uow, runtime, principal)
        erased.update(await _shred_account(session, user))
    transition(request, RequestStatus.COMPLETED, utcnow())
    request.details = {"erased": erased}
    await session.flush()
    await audit.append(
        uow.control,
        kind="privacy.erasure",
        actor_id=principal.id,
        subject_id=principal.id,
        region=principal.region,
        attributes={"request_id": request.id, "law": request.law, "erased": erased},
    )
    return DeletionResult(request=request, erased=erased)


async def compact_after_erasure(runtime: Runtime, region: str) -> bool:
    """After a deletion has committed: on SQLite, checkpoint and truncate the write-ahead log,
    so no older page image holding the deleted key stays in the ``-wal`` file. Best effort
    (returns False if readers kept part of the log); a no-op on PostgreSQL."""
    engine = runtime.databases.engine(regional(region))
    if engine.dialect.name != "sqlite":
        return False
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        row = result.first()
    return row is not None and row[0] == 0
