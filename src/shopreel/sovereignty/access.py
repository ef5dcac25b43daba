"""Staff access to personal data: the one path from a staff request to a region's data.

Every read of personal data by staff (or by a service acting for staff) goes through
:class:`StaffAccess`:

1. the request is described to the access broker (:mod:`.broker`, Cedar policies), with a
   context built from the staff member's ticket or break-glass grant (control plane);
2. the decision — allowed or denied — is appended to the tamper-evident audit log
   (``kind="access.decision"``) and the control transaction is **committed before anything
   else happens**: a denied attempt cannot vanish with a rolled-back request, and an allowed
   read never starts without its record;
3. only an allowed decision opens the data's region, through :func:`open_data_region`:
   the one sanctioned crossing from a staff request (bound to the staff member's own home
   region) into another region's plane. Aggregates are computed inside their region by
   :func:`users_by_country_in_region`, which hands back only the suppressed table.

Tickets (bulk reads) and break-glass grants are requested and approved here too; their
approvals — and refused approvals — are audited (``access.ticket``, ``access.break_glass``).
The rules themselves live in Cedar, not here: this module never decides on its own whether
a staff member may see data, it only gathers the facts the policies need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User, UserKey, UserStatus
from shopreel.accounts.principal import Principal
from shopreel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shopreel.events.models import InteractionEvent
from shopreel.governance import service as governance
from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import as_utc, utcnow
from shopreel.planes import CONTROL, PlaneViolation, regional
from shopreel.runtime import Runtime
from shopreel.sellers import vault as seller_vault
from shopreel.sovereignty import audit
from shopreel.sovereignty.access_models import (
    AccessTicket,
    BreakGlassApproval,
    BreakGlassGrant,
    GrantStatus,
    TicketScope,
    TicketStatus,
)
from shopreel.sovereignty.anonymity import MIN_K, suppress_small_cells
from shopreel.sovereignty.broker import (
    AccessBroker,
    AccessContext,
    Action,
    AggregateResource,
    Decision,
    PersonalDataResource,
    PolicySet,
    PolicyValidationError,
    Resource,
    StaffPrincipal,
    packaged_schema_text,
)
from shopreel.uow import UnitOfWork

__all__ = [
    "AGGREGATE_K",
    "ALL_OWNERS",
    "BREAK_GLASS_APPROVERS",
    "BREAK_GLASS_TTL",
    "CATEGORIES",
    "POLICIES_KEY",
    "TICKET_TTL",
    "AccessDenied",
    "AccessErrorCode",
    "AuditedDecision",
    "StaffAccess",
    "approve_break_glass",
    "approve_ticket",
    "break_glass_approvers",
    "break_glass_status",
    "bulk_read_personal_data",
    "default_policies",
    "grant_approvals",
    "list_break_glass",
    "list_tickets",
    "open_data_region",
    "policies_from_text",
    "read_personal_data",
    "request_break_glass",
    "request_ticket",
    "staff_principal",
    "ticket_status",
    "users_by_country",
    "users_by_country_in_region",
]

CATEGORIES: Final = ("account", "events", "seller_application")
"""Categories of personal data staff can read through the broker."""
AGGREGATE_K: Final = MIN_K
"""Minimum cell size for released aggregates (the platform floor, 10)."""
TICKET_TTL: Final = timedelta(hours=24)
"""An approved bulk-access ticket is valid this long after its approval."""
BREAK_GLASS_TTL: Final = timedelta(hours=1)
"""A break-glass grant is valid this long after the approval that completed it."""
BREAK_GLASS_APPROVERS: Final = 2
"""Distinct in-region approvers (requester excluded) that complete a grant; the Cedar
policy ``staff-break-glass-read`` requires the same number."""
EVENTS_LIMIT: Final = 100
BULK_MAX_OWNERS: Final = 100
TICKET_MAX_OWNERS: Final = 100
LIST_LIMIT: Final = 200
MAX_PURPOSE: Final = 200
MAX_REASON: Final = 2000
ALL_OWNERS: Final = "*"
"""Owner id of the resource of a region-wide bulk read (every user of the region)."""
TRUST_OFFICER: Final = "trust_officer"
METRIC_USERS_BY_COUNTRY: Final = "users_by_country"

POLICIES_KEY: Final = "access.policies"
"""The governance setting holding a scope's access policies, ``{"text": "<Cedar>"}``."""
POLICY_CACHE_SIZE: Final = 32
"""Parsed policy sets kept per process (by SHA-256 of their text)."""

AUDIT_DECISION: Final = "access.decision"
AUDIT_TICKET: Final = "access.ticket"
AUDIT_BREAK_GLASS: Final = "access.break_glass"


# ---- errors ----------------------------------------------------------------------------------


class AccessErrorCode(StrEnum):
    ACCESS_DENIED = "access_denied"
    OWN_REQUEST = "own_request"
    NOT_TRUST_OFFICER = "not_trust_officer"
    WRONG_JURISDICTION = "wrong_jurisdiction"
    OWNER_NOT_FOUND = "owner_not_found"
    TICKET_NOT_FOUND = "ticket_not_found"
    BREAK_GLASS_NOT_FOUND = "break_glass_not_found"
    NOT_PENDING = "not_pending"
    ALREADY_APPROVED = "already_approved"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_REGION = "unknown_region"
    INVALID_ACCESS_REQUEST = "invalid_access_request"


class AccessDenied(PermissionDenied):
    """The access broker denied the request (the decision is in the audit log)."""

    code = AccessErrorCode.ACCESS_DENIED.value
    title = "Access denied by policy"


class OwnRequest(PermissionDenied):
    """Two-person rule: nobody approves their own ticket or break-glass request."""

    code = AccessErrorCode.OWN_REQUEST.value


class NotTrustOfficer(PermissionDenied):
    code = AccessErrorCode.NOT_TRUST_OFFICER.value


class WrongJurisdiction(PermissionDenied):
    """The approver's jurisdiction does not map to the data's region."""

    code = AccessErrorCode.WRONG_JURISDICTION.value


class OwnerNotFound(NotFound):
    code = AccessErrorCode.OWNER_NOT_FOUND.value


class TicketNotFound(NotFound):
    code = AccessErrorCode.TICKET_NOT_FOUND.value


class BreakGlassNotFound(NotFound):
    code = AccessErrorCode.BREAK_GLASS_NOT_FOUND.value


class NotPending(Conflict):
    code = AccessErrorCode.NOT_PENDING.value


class AlreadyApproved(Conflict):
    code = AccessErrorCode.ALREADY_APPROVED.value


class UnknownCategory(ValidationFailed):
    code = AccessErrorCode.UNKNOWN_CATEGORY.value


class UnknownRegion(ValidationFailed):
    code = AccessErrorCode.UNKNOWN_REGION.value


class InvalidAccessRequest(ValidationFailed):
    code = AccessErrorCode.INVALID_ACCESS_REQUEST.value


# ---- principals and checks -------------------------------------------------------------------


def staff_principal(principal: Principal) -> StaffPrincipal:
    """The broker's view of a staff member; non-staff and staff without a jurisdiction get
    403 ``permission_denied`` (they never reach the broker)."""
    if not principal.is_staff:
        raise PermissionDenied("Only staff can use staff access.")
    if not principal.jurisdiction:
        raise PermissionDenied("This staff account has no jurisdiction; ask an administrator.")
    return StaffPrincipal(
        id=principal.id,
        jurisdiction=principal.jurisdiction,
        roles=frozenset(principal.staff_roles),
    )


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise UnknownCategory(
            f"Unknown category {category[:32]!r}; use one of {', '.join(CATEGORIES)}.",
            extra={"field": "category"},
        )


def _check_purpose(purpose: str) -> None:
    if len(purpose) > MAX_PURPOSE:
        raise InvalidAccessRequest(
            f"The purpose is longer than {MAX_PURPOSE} characters.", extra={"field": "purpose"}
        )


def _text(value: str, what: str, maximum: int) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > maximum:
        raise InvalidAccessRequest(
            f"Give a {what} of 1 to {maximum} characters.", extra={"field": what}
        )
    return cleaned


def _owner_region(runtime: Runtime, owner_id: str) -> str:
    """The home region of ``owner_id``; 404 when the id names no configured region."""
    region = region_of(owner_id) if owner_id.startswith("usr_") else None
    if region is None or region not in runtime.settings.region_names:
        raise OwnerNotFound("No such user.")
    return region


def _check_region(runtime: Runtime, region: str) -> None:
    if region not in runtime.settings.region_names:
        names = ", ".join(runtime.settings.region_names)
        raise UnknownRegion(
            f"Unknown region {region[:16]!r}; use one of {names}.", extra={"field": "region"}
        )


def _home_region(runtime: Runtime, principal: Principal) -> str | None:
    if not principal.jurisdiction:
        return None
    return runtime.settings.region_for_country(principal.jurisdiction)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat()


# ---- the broker and the audit log ------------------------------------------------------------


@cache
def default_policies() -> PolicySet:
    """The packaged, validated policies (parsed once per process)."""
    return PolicySet.default()


_policy_sets: dict[str, PolicySet] = {}


def policies_from_text(text: str) -> PolicySet:
    """The policy set of ``text``, validated against the packaged schema, parsed once per
    process and version (cached by SHA-256). Raises :class:`PolicyValidationError`."""
    digest = governance.artifact_sha256(text)
    policies = _policy_sets.get(digest)
    if policies is None:
        policies = PolicySet.from_text(text, packaged_schema_text())
        if len(_policy_sets) >= POLICY_CACHE_SIZE:
            del _policy_sets[next(iter(_policy_sets))]  # the oldest
        _policy_sets[digest] = policies
    return policies


def _fail_closed(decision: Decision, error: str, version: str | None = None) -> Decision:
    """``decision`` turned into a denial, with ``error`` added to its errors."""
    if version is None:
        return replace(decision, allowed=False, errors=(*decision.errors, error))
    return replace(
        decision,
        allowed=False,
        reasons=(),
        errors=(*decision.errors, error),
        policy_version=version,
    )


@dataclass(frozen=True, slots=True)
class AuditedDecision:
    """A decision and the sequence number of its audit record."""

    decision: Decision
    seq: int
    owner_id: str | None

    def summary(self) -> dict[str, Any]:
        return {
            "allowed": self.decision.allowed,
            "reasons": list(self.decision.reasons),
            "policy_version": self.decision.policy_version,
            "audit_seq": self.seq,
        }


AccessItem = tuple[Action, Resource, AccessContext]


class StaffAccess:
    """The access brokers of one runtime, and every staff read of personal data.

    A request about data of region R is decided with the policies in force in R: the
    effective ``access.policies`` setting of R (governance), else ``policies`` (by default
    the packaged set, which is also :attr:`broker`). Either way the region must have
    allowlisted that policy set (``deploy.policy_set``), or the decision is a denial.

    The broker's ``on_decision`` hook is not used: it is synchronous and cannot write to the
    database. :meth:`decide_and_audit` appends each decision to the audit log instead, in
    the caller's control transaction."""

    def __init__(
        self, runtime: Runtime, *, policies: PolicySet | None = None, k: int = AGGREGATE_K
    ) -> None:
        self.runtime = runtime
        self.broker = AccessBroker(
            policies if policies is not None else default_policies(),
            k=k,
            region_for_jurisdiction=runtime.settings.region_for_country,
        )
        self._brokers: dict[str, AccessBroker] = {self.broker.policies.version: self.broker}

    def _broker_of(self, policies: PolicySet) -> AccessBroker:
        broker = self._brokers.get(policies.version)
        if broker is None:
            broker = AccessBroker(
                policies,
                k=self.broker.k,
                region_for_jurisdiction=self.runtime.settings.region_for_country,
            )
            self._brokers[policies.version] = broker
        return broker

    # -- deciding ------------------------------------------------------------------------------

    async def decide_and_audit(
        self,
        session: AsyncSession,
        principal: Principal,
        action: Action,
        resource: Resource,
        context: AccessContext,
        *,
        ticket_id: str | None = None,
        break_glass_id: str | None = None,
    ) -> Decision:
        """Decide one request and append it to the audit log in ``session`` (control plane).

        The caller commits ``session`` — before acting on the decision, and also when it is
        a denial (so the attempt is recorded even though the request then fails)."""
        [audited] = await self.decide_and_audit_many(
            session,
            principal,
            [(action, resource, context)],
            ticket_id=ticket_id,
            break_glass_id=break_glass_id,
        )
        return audited.decision

    async def decide_and_audit_many(
        self,
        session: AsyncSession,
        principal: Principal,
        items: Sequence[AccessItem],
        *,
        ticket_id: str | None = None,
        break_glass_id: str | None = None,
    ) -> list[AuditedDecision]:
        """Decide several requests of one staff member (one Cedar call per data region, with
        that region's policies) and append one audit record per decision, in request order."""
        staff = staff_principal(principal)
        by_region: dict[str, list[int]] = {}
        for index, (_action, resource, _context) in enumerate(items):
            by_region.setdefault(resource.region, []).append(index)
        decided: dict[int, Decision] = {}
        for region, indexes in by_region.items():
            requests = [(staff, *items[index]) for index in indexes]
            decisions = await self._decide_in_region(session, region, requests)
            decided.update(zip(indexes, decisions, strict=True))
        audited: list[AuditedDecision] = []
        for index, (action, resource, _context) in enumerate(items):
            decision = decided[index]
            owner = _subject_of(resource)
            entry = await audit.append(
                session,
                kind=AUDIT_DECISION,
                actor_id=principal.id,
                subject_id=owner,
                region=resource.region,
                attributes=_decision_attributes(
                    principal, decision, action, resource, ticket_id, break_glass_id
                ),
            )
            audited.append(AuditedDecision(decision, entry.seq, owner))
        return audited

    async def _decide_in_region(
        self,
        session: AsyncSession,
        region: str,
        requests: list[tuple[StaffPrincipal, Action, Resource, AccessContext]],
    ) -> list[Decision]:
        """Decide requests about data of ``region`` with the policy set in force there, then
        apply the region's deploy gate."""
        setting = await governance.effective_setting(session, POLICIES_KEY, region)
        if setting is None:
            broker = self.broker
        else:
            text = setting.get("text") if isinstance(setting, dict) else None
            try:
                if not isinstance(text, str):
                    raise PolicyValidationError(['the value is not {"text": "<Cedar policies>"}'])
                broker = self._broker_of(policies_from_text(text))
            except PolicyValidationError as exc:
                # Validated when proposed, so only a change of the packaged schema gets
                # here. Fail closed, and still audit every request.
                version = governance.artifact_sha256(text) if isinstance(text, str) else ""
                error = (
                    f"policy set {version[:12]} in force in region {region!r} does not load: "
                    + "; ".join(exc.messages)
                )
                return [_fail_closed(d, error, version) for d in self.broker.decide_many(requests)]
        decisions = broker.decide_many(requests)
        return await _apply_deploy_gate(session, region, broker.policies.version, decisions)

    # -- personal data -------------------------------------------------------------------------

    async def read_personal_data(
        self,
        staff: Principal,
        owner_id: str,
        category: str,
        purpose: str,
        ticket_id: str | None = None,
        break_glass_id: str | None = None,
    ) -> dict[str, Any]:
        """One user's personal data of one category, if the policies allow it.

        Without ticket or grant the action is ``read``; with ``ticket_id`` it is a
        ticket-backed ``bulk_read`` of this one user; with ``break_glass_id`` a
        ``break_glass_read``. Raises :class:`AccessDenied` (403, audited and committed),
        ``OwnerNotFound`` (404: the id names no region — no decision — or, after an allowed
        decision, no such user), ``UnknownCategory`` (422)."""
        _check_category(category)
        _check_purpose(purpose)
        if ticket_id and break_glass_id:
            raise InvalidAccessRequest("Give a ticket or a break-glass grant, not both.")
        staff_principal(staff)
        region = _owner_region(self.runtime, owner_id)
        resource = PersonalDataResource(owner_id=owner_id, region=region, category=category)
        now = utcnow()
        async with self.runtime.databases.session(CONTROL) as control:
            if break_glass_id:
                action = Action.BREAK_GLASS_READ
                context = await _break_glass_context(
                    control, staff.id, break_glass_id, resource, purpose, now
                )
            elif ticket_id:
                action = Action.BULK_READ
                ticket = await control.get(AccessTicket, ticket_id)
                approved = _ticket_covers(ticket, staff.id, resource, purpose, now)
                context = AccessContext(purpose=purpose, ticket_approved=approved, now=now)
            else:
                action = Action.READ
                context = AccessContext(purpose=purpose, now=now)
            [audited] = await self.decide_and_audit_many(
                control,
                staff,
                [(action, resource, context)],
                ticket_id=ticket_id,
                break_glass_id=break_glass_id,
            )
            await control.commit()
        if not audited.decision.allowed:
            raise _denied(audited)
        async with open_data_region(self.runtime, audited.decision) as uow:
            data = await _read_category(self.runtime, uow, owner_id, category)
        if data is None:
            raise OwnerNotFound("No such user.")
        return {
            "owner_id": owner_id,
            "region": region,
            "category": category,
            "action": action.value,
            "data": data,
            "decision": audited.summary(),
        }

    async def bulk_read_personal_data(
        self,
        staff: Principal,
        *,
        category: str,
        purpose: str,
        ticket_id: str | None = None,
        owner_ids: Sequence[str] | None = None,
        region: str | None = None,
        after: str | None = None,
        limit: int = BULK_MAX_OWNERS,
    ) -> dict[str, Any]:
        """A ``bulk_read`` of several users (``owner_ids``, one region) or of a page of a
        whole region (``region``, paged by user id with ``after``/``limit``).

        One decision per user, each audited with the user as subject; a region-wide read is
        first decided (and audited) for the whole region, owner ``"*"``. All or nothing: if
        any user is denied, nothing is read and the answer is 403."""
        _check_category(category)
        _check_purpose(purpose)
        staff_principal(staff)
        if (owner_ids is None) == (region is None):
            raise InvalidAccessRequest("Give either owner_ids or a region, not both.")
        if not 1 <= limit <= BULK_MAX_OWNERS:
            raise InvalidAccessRequest(f"limit must be 1 to {BULK_MAX_OWNERS}.")
        now = utcnow()
        if owner_ids is not None:
            owners = _dedupe(owner_ids)
            if not 1 <= len(owners) <= BULK_MAX_OWNERS:
                raise InvalidAccessRequest(f"Give 1 to {BULK_MAX_OWNERS} owner ids.")
            data_region = _single_region(self.runtime, owners)
        else:
            assert region is not None
            _check_region(self.runtime, region)
            data_region = region
        async with self.runtime.databases.session(CONTROL) as control:
            ticket = await control.get(AccessTicket, ticket_id) if ticket_id else None
            if owner_ids is None:
                # Region-wide: decide for the whole region before even listing its users.
                scope = PersonalDataResource(ALL_OWNERS, data_region, category)
                scope_context = AccessContext(
                    purpose=purpose,
                    ticket_approved=_ticket_covers(ticket, staff.id, scope, purpose, now),
                    now=now,
                )
                [gate] = await self.decide_and_audit_many(
                    control, staff, [(Action.BULK_READ, scope, scope_context)], ticket_id=ticket_id
                )
                await control.commit()
                if not gate.decision.allowed:
                    raise _denied(gate)
                async with open_data_region(self.runtime, gate.decision) as uow:
                    owners = await _user_ids_page(uow.region(data_region), after, limit)
            items: list[AccessItem] = []
            for owner in owners:
                resource = PersonalDataResource(owner, data_region, category)
                covered = _ticket_covers(ticket, staff.id, resource, purpose, now)
                context = AccessContext(purpose=purpose, ticket_approved=covered, now=now)
                items.append((Action.BULK_READ, resource, context))
            audited = await self.decide_and_audit_many(control, staff, items, ticket_id=ticket_id)
            await control.commit()
        denied = [item for item in audited if not item.decision.allowed]
        if denied:
            raise AccessDenied(
                f"Access refused by policy for {len(denied)} of {len(audited)} users.",
                extra={
                    "reasons": sorted({r for item in denied for r in item.decision.reasons}),
                    "denied": [
                        {
                            "owner_id": item.owner_id,
                            "reasons": list(item.decision.reasons),
                            "errors": list(item.decision.errors),
                            "audit_seq": item.seq,
                        }
                        for item in denied
                    ],
                },
            )
        records: list[dict[str, Any]] = []
        missing: list[str] = []
        if audited:
            async with open_data_region(self.runtime, audited[0].decision) as uow:
                for item in audited:
                    assert item.owner_id is not None
                    data = await _read_category(self.runtime, uow, item.owner_id, category)
                    if data is None:
                        missing.append(item.owner_id)
                    else:
                        records.append(
                            {"owner_id": item.owner_id, "data": data, "decision": item.summary()}
                        )
        page_full = owner_ids is None and len(owners) == limit
        return {
            "region": data_region,
            "category": category,
            "action": Action.BULK_READ.value,
            "records": records,
            "missing": missing,
            "next_after": owners[-1] if page_full and owners else None,
        }

    # -- aggregates ----------------------------------------------------------------------------

    async def users_by_country(self, staff: Principal, region: str) -> dict[str, Any]:
        """Counts of a region's users by country, small cells suppressed, for any staff.

        The counts are computed inside the region and suppressed there
        (:func:`users_by_country_in_region`); the broker then decides on the table that
        would be released, with ``cell_size`` = its smallest *visible* cell, so a table is
        either released with every shown cell >= k, or (nothing left to show) denied."""
        staff_principal(staff)
        _check_region(self.runtime, region)
        table = await users_by_country_in_region(self.runtime, region, self.broker.k)
        visible = [count for count in table.values() if count is not None]
        context = AccessContext(cell_size=min(visible) if visible else None, now=utcnow())
        resource = AggregateResource(region=region, metric=METRIC_USERS_BY_COUNTRY)
        async with self.runtime.databases.session(CONTROL) as control:
            [audited] = await self.decide_and_audit_many(
                control, staff, [(Action.READ_AGGREGATE, resource, context)]
            )
            await control.commit()
        if not audited.decision.allowed:
            raise _denied(audited)
        return {
            "region": region,
            "metric": METRIC_USERS_BY_COUNTRY,
            "k": self.broker.k,
            "counts": table,
            "suppressed": [country for country, count in table.items() if count is None],
            "decision": audited.summary(),
        }


async def _apply_deploy_gate(
    session: AsyncSession, region: str, version: str, decisions: list[Decision]
) -> list[Decision]:
    """A region serves only policy sets on its approved allowlist: an allow made with a
    policy set that the data's region has not approved is a denial (fail closed)."""
    if await governance.is_deployable(session, region, "policy_set", version):
        return decisions
    error = (
        f"deploy gate: policy set {version[:12]} is not on region {region!r}'s approved allowlist"
    )
    return [_fail_closed(d, error) if d.allowed else d for d in decisions]


def _subject_of(resource: Resource) -> str | None:
    if isinstance(resource, PersonalDataResource) and resource.owner_id != ALL_OWNERS:
        return resource.owner_id
    return None


def _decision_attributes(
    principal: Principal,
    decision: Decision,
    action: Action,
    resource: Resource,
    ticket_id: str | None,
    break_glass_id: str | None,
) -> dict[str, audit.JSONValue]:
    request = decision.request
    context = request.get("context", {})
    personal = resource if isinstance(resource, PersonalDataResource) else None
    return {
        "action": action.value,
        "category": personal.category if personal else None,
        "metric": resource.metric if isinstance(resource, AggregateResource) else None,
        "scope": "region" if personal and personal.owner_id == ALL_OWNERS else None,
        "purpose": context.get("purpose", ""),
        "ticket_id": ticket_id,
        "break_glass_id": break_glass_id,
        "allowed": decision.allowed,
        "reasons": list(decision.reasons),
        "errors": list(decision.errors),
        "policy_version": decision.policy_version,
        "actor_jurisdiction": principal.jurisdiction,
        "actor_home_region": request.get("principal", {}).get("home_region"),
        "actor_roles": sorted(principal.roles),
        "actor_staff_roles": sorted(principal.staff_roles),
        "context": context,
    }


def _denied(audited: AuditedDecision) -> AccessDenied:
    decision = audited.decision
    return AccessDenied(
        "Access refused by policy.",
        extra={
            "reasons": list(decision.reasons),
            "errors": list(decision.errors),
            "policy_version": decision.policy_version,
            "audit_seq": audited.seq,
        },
    )


def _dedupe(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _single_region(runtime: Runtime, owner_ids: Sequence[str]) -> str:
    regions = {_owner_region(runtime, owner) for owner in owner_ids}
    if len(regions) != 1:
        raise InvalidAccessRequest("All owners of one request must live in the same region.")
    return regions.pop()


# ---- tickets and grants as broker context -------------------------------------------------------


def _ticket_covers(
    ticket: AccessTicket | None,
    staff_id: str,
    resource: PersonalDataResource,
    purpose: str,
    now: datetime,
) -> bool:
    """Whether an approved, unexpired ticket of this staff member covers ``resource``."""
    if ticket is None or ticket.status != TicketStatus.APPROVED.value:
        return False
    if ticket.expires_at is None or now >= as_utc(ticket.expires_at):
        return False
    if ticket.requester_id != staff_id or ticket.region != resource.region:
        return False
    if ticket.category != resource.category or ticket.purpose != purpose.strip():
        return False
    if ticket.scope == TicketScope.REGION.value:
        return True
    return resource.owner_id != ALL_OWNERS and resource.owner_id in (ticket.owner_ids or [])


async def break_glass_approvers(session: AsyncSession, grant: BreakGlassGrant) -> int:
    """Distinct approvers of ``grant`` from the data's region, the requester excluded."""
    count = await session.scalar(
        select(func.count(func.distinct(BreakGlassApproval.approver_id))).where(
            BreakGlassApproval.grant_id == grant.id,
            BreakGlassApproval.approver_id != grant.requester_id,
            BreakGlassApproval.approver_region == grant.region,
        )
    )
    return int(count or 0)


async def _break_glass_context(
    session: AsyncSession,
    staff_id: str,
    grant_id: str,
    resource: PersonalDataResource,
    purpose: str,
    now: datetime,
) -> AccessContext:
    """The grant's approvers and expiry, if it is this staff member's grant for exactly this
    user, category and purpose; otherwise no approval at all (the broker then denies)."""
    grant = await session.get(BreakGlassGrant, grant_id)
    if (
        grant is None
        or grant.requester_id != staff_id
        or grant.owner_id != resource.owner_id
        or grant.region != resource.region
        or grant.category != resource.category
        or grant.purpose != purpose.strip()
    ):
        return AccessContext(purpose=purpose, now=now)
    return AccessContext(
        purpose=purpose,
        break_glass_approvers=await break_glass_approvers(session, grant),
        break_glass_expires_at=as_utc(grant.expires_at) if grant.expires_at else None,
        now=now,
    )


# ---- the sanctioned crossings into a data region -------------------------------------------------


@asynccontextmanager
async def open_data_region(runtime: Runtime, decision: Decision) -> AsyncIterator[UnitOfWork]:
    """**The** sanctioned cross-region read of personal data for staff.

    A staff request's unit of work is bound to the staff member's own home region, so it
    cannot open the data's region. This opens a separate, read-only unit of work bound to
    the region of the decided resource — and only for an *allowed* decision of the broker
    about a staff member and personal data, which by then is in the audit log. Nothing
    written through it is kept (it is rolled back)."""
    resource = decision.request.get("resource", {})
    principal = decision.request.get("principal", {})
    if not decision.allowed:
        raise AccessDenied("Access refused by policy.")
    if resource.get("type") != "PersonalData" or principal.get("type") != "Staff":
        raise PlaneViolation("only a staff decision about personal data opens a data region")
    region = resource.get("region")
    if not isinstance(region, str) or region not in runtime.settings.region_names:
        raise PlaneViolation(f"unknown data region {region!r}")
    uow = UnitOfWork(runtime.databases, home_region=region)
    try:
        yield uow
    finally:
        await uow.rollback()
        await uow.close()


async def users_by_country_in_region(
    runtime: Runtime, region: str, k: int
) -> dict[str, int | None]:
    """Counts of ``region``'s users by country, computed in that region's plane.

    The second sanctioned crossing, for aggregates only: the raw counts never leave this
    function; what it returns is already suppressed (cells below ``k``, and their
    complements, are ``None``). Deleted accounts are not counted."""
    async with runtime.databases.session(regional(region)) as session:
        rows = (
            await session.execute(
                select(User.country, func.count())
                .where(User.status != UserStatus.DELETED.value)
                .group_by(User.country)
                .order_by(User.country)
            )
        ).all()
        await session.rollback()
    return suppress_small_cells({str(country): int(count) for country, count in rows}, k)


async def _user_ids_page(session: AsyncSession, after: str | None, limit: int) -> list[str]:
    query = select(User.id).order_by(User.id).limit(limit)
    if after:
        query = query.where(User.id > after)
    return [str(user_id) for user_id in (await session.scalars(query))]


async def _read_category(
    runtime: Runtime, uow: UnitOfWork, owner_id: str, category: str
) -> dict[str, Any] | None:
    """Decrypt one user's data of ``category`` (None: no such user, or crypto-shredded)."""
    session = uow.region()
    user = await session.get(User, owner_id)
    if user is None:
        return None
    if category == "account":
        key = await session.get(UserKey, owner_id)
        if key is None:
            return None
        person = await accounts.load_principal(uow, runtime, user, auth="session", key=key)
        return {
            "email": person.email,
            "display_name": person.display_name,
            "country": person.country,
            "roles": list(person.roles),
            "created_at": _iso(user.created_at),
        }
    if category == "events":
        events = await session.scalars(
            select(InteractionEvent)
            .where(InteractionEvent.user_id == owner_id)
            .order_by(InteractionEvent.occurred_at.desc(), InteractionEvent.id.desc())
            .limit(EVENTS_LIMIT)
        )
        return {
            "events": [
                {
                    "id": event.id,
                    "kind": event.kind,
                    "video_id": event.video_id,
                    "product_id": event.product_id,
                    "watch_ms": event.watch_ms,
                    "occurred_at": _iso(event.occurred_at),
                }
                for event in events
            ],
            "limit": EVENTS_LIMIT,
        }
    if category == "seller_application":
        # None when the user never applied (or their key is shredded)
        return {"application": await seller_vault.application_record(runtime, session, owner_id)}
    raise UnknownCategory(f"Unknown category {category[:32]!r}.")  # pragma: no cover


# ---- module-level shortcuts ------------------------------------------------------------------


async def read_personal_data(
    runtime: Runtime,
    staff: Principal,
    owner_id: str,
    category: str,
    purpose: str,
    ticket_id: str | None = None,
    break_glass_id: str | None = None,
) -> dict[str, Any]:
    """See :meth:`StaffAccess.read_personal_data`."""
    return await StaffAccess(runtime).read_personal_data(
        staff, owner_id, category, purpose, ticket_id, break_glass_id
    )


async def bulk_read_personal_data(
    runtime: Runtime, staff: Principal, **kwargs: Any
) -> dict[str, Any]:
    """See :meth:`StaffAccess.bulk_read_personal_data`."""
    return await StaffAccess(runtime).bulk_read_personal_data(staff, **kwargs)


async def users_by_country(runtime: Runtime, staff: Principal, region: str) -> dict[str, Any]:
    """See :meth:`StaffAccess.users_by_country`."""
    return await StaffAccess(runtime).users_by_country(staff, region)


# ---- tickets ---------------------------------------------------------------------------------


def ticket_status(ticket: AccessTicket, now: datetime) -> str:
    """pending, approved, or expired (approved and past ``expires_at``)."""
    if ticket.status == TicketStatus.APPROVED.value and (
        ticket.expires_at is None or now >= as_utc(ticket.expires_at)
    ):
        return TicketStatus.EXPIRED.value
    return ticket.status


async def _refuse(
    session: AsyncSession,
    error: PermissionDenied,
    *,
    kind: str,
    actor: Principal,
    subject_id: str | None,
    region: str,
    attributes: dict[str, audit.JSONValue],
) -> PermissionDenied:
    """Record a refused approval and commit it, so the attempt survives the 403."""
    await audit.append(
        session,
        kind=kind,
        actor_id=actor.id,
        subject_id=subject_id,
        region=region,
        attributes={**attributes, "event": "approval_refused", "refusal": error.code},
    )
    await session.commit()
    return error


def _ticket_attributes(ticket: AccessTicket, event: str) -> dict[str, audit.JSONValue]:
    return {
        "event": event,
        "ticket_id": ticket.id,
        "requester_id": ticket.requester_id,
        "scope": ticket.scope,
        "owner_ids": list(ticket.owner_ids or []),
        "category": ticket.category,
        "purpose": ticket.purpose,
        "status": ticket.status,
        "expires_at": _iso(ticket.expires_at),
    }


async def request_ticket(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    category: str,
    purpose: str,
    justification: str,
    owner_ids: Sequence[str] | None = None,
    region: str | None = None,
) -> AccessTicket:
    """A pending bulk-access ticket for listed users of one region, or a whole region."""
    staff = staff_principal(principal)
    _check_category(category)
    purpose = _text(purpose, "purpose", MAX_PURPOSE)
    justification = _text(justification, "justification", MAX_REASON)
    if (owner_ids is None) == (region is None):
        raise InvalidAccessRequest("Give either owner_ids or a region, not both.")
    owners: list[str] = []
    if owner_ids is not None:
        owners = _dedupe(owner_ids)
        if not 1 <= len(owners) <= TICKET_MAX_OWNERS:
            raise InvalidAccessRequest(f"Give 1 to {TICKET_MAX_OWNERS} owner ids.")
        data_region = _single_region(runtime, owners)
        scope = TicketScope.OWNERS
    else:
        assert region is not None
        _check_region(runtime, region)
        data_region, scope = region, TicketScope.REGION
    ticket = AccessTicket(
        id=new_id("atk"),
        requester_id=staff.id,
        requester_jurisdiction=staff.jurisdiction,
        region=data_region,
        scope=scope.value,
        owner_ids=owners,
        category=category,
        purpose=purpose,
        justification=justification,
        status=TicketStatus.PENDING.value,
        created_at=utcnow(),
    )
    session = uow.control
    session.add(ticket)
    await session.flush()
    await audit.append(
        session,
        kind=AUDIT_TICKET,
        actor_id=staff.id,
        subject_id=None,
        region=data_region,
        attributes=_ticket_attributes(ticket, "requested"),
    )
    return ticket


async def approve_ticket(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, ticket_id: str
) -> AccessTicket:
    """Approve a pending ticket: a trust officer of the data's region, not the requester.

    Refusals (403) are audited and committed; the ticket stays as it was."""
    staff_principal(principal)
    session = uow.control
    ticket = await session.scalar(
        select(AccessTicket).where(AccessTicket.id == ticket_id).with_for_update()
    )
    if ticket is None:
        raise TicketNotFound("No such ticket.")
    refusal: PermissionDenied | None = None
    if principal.id == ticket.requester_id:
        refusal = OwnRequest("You cannot approve your own ticket.")
    elif TRUST_OFFICER not in principal.staff_roles:
        refusal = NotTrustOfficer("Only a trust officer can approve tickets.")
    elif _home_region(runtime, principal) != ticket.region:
        refusal = WrongJurisdiction(
            f"Only a trust officer of region {ticket.region!r} can approve this ticket."
        )
    if refusal is not None:
        raise await _refuse(
            session,
            refusal,
            kind=AUDIT_TICKET,
            actor=principal,
            subject_id=None,
            region=ticket.region,
            attributes=_ticket_attributes(ticket, "approval_refused"),
        )
    if ticket.status != TicketStatus.PENDING.value:
        raise NotPending(f"The ticket is {ticket_status(ticket, utcnow())}, not pending.")
    now = utcnow()
    ticket.status = TicketStatus.APPROVED.value
    ticket.approved_by = principal.id
    ticket.approved_at = now
    ticket.expires_at = now + TICKET_TTL
    await session.flush()
    await audit.append(
        session,
        kind=AUDIT_TICKET,
        actor_id=principal.id,
        subject_id=None,
        region=ticket.region,
        attributes=_ticket_attributes(ticket, "approved"),
    )
    return ticket


async def list_tickets(
    uow: UnitOfWork, principal: Principal, status: str | None = None
) -> list[AccessTicket]:
    """Newest first (at most 200); ``status`` filters by the effective status."""
    staff_principal(principal)
    now = utcnow()
    query = select(AccessTicket).order_by(AccessTicket.created_at.desc(), AccessTicket.id.desc())
    if status == TicketStatus.PENDING.value:
        query = query.where(AccessTicket.status == status)
    elif status == TicketStatus.APPROVED.value:
        query = query.where(AccessTicket.status == status, AccessTicket.expires_at > now)
    elif status == TicketStatus.EXPIRED.value:
        query = query.where(
            AccessTicket.status == TicketStatus.APPROVED.value, AccessTicket.expires_at <= now
        )
    elif status is not None:
        raise InvalidAccessRequest("status must be pending, approved or expired.")
    return list(await uow.control.scalars(query.limit(LIST_LIMIT)))


# ---- break-glass -----------------------------------------------------------------------------


def break_glass_status(grant: BreakGlassGrant, now: datetime) -> str:
    """pending, approved, or expired (approved and past ``expires_at``)."""
    if grant.status == GrantStatus.APPROVED.value and (
        grant.expires_at is None or now >= as_utc(grant.expires_at)
    ):
        return GrantStatus.EXPIRED.value
    return grant.status


def _grant_attributes(
    grant: BreakGlassGrant, event: str, approvers: int
) -> dict[str, audit.JSONValue]:
    return {
        "event": event,
        "break_glass_id": grant.id,
        "requester_id": grant.requester_id,
        "category": grant.category,
        "purpose": grant.purpose,
        "status": grant.status,
        "approvers": approvers,
        "required_approvers": BREAK_GLASS_APPROVERS,
        "expires_at": _iso(grant.expires_at),
    }


async def request_break_glass(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    owner_id: str,
    category: str,
    purpose: str,
    reason: str,
) -> BreakGlassGrant:
    """A pending break-glass grant for one user's data of one category."""
    staff = staff_principal(principal)
    _check_category(category)
    purpose = _text(purpose, "purpose", MAX_PURPOSE)
    reason = _text(reason, "reason", MAX_REASON)
    region = _owner_region(runtime, owner_id)
    grant = BreakGlassGrant(
        id=new_id("bgl"),
        requester_id=staff.id,
        requester_jurisdiction=staff.jurisdiction,
        owner_id=owner_id,
        region=region,
        category=category,
        purpose=purpose,
        reason=reason,
        status=GrantStatus.PENDING.value,
        created_at=utcnow(),
    )
    session = uow.control
    session.add(grant)
    await session.flush()
    await audit.append(
        session,
        kind=AUDIT_BREAK_GLASS,
        actor_id=staff.id,
        subject_id=owner_id,
        region=region,
        attributes=_grant_attributes(grant, "requested", 0),
    )
    return grant


async def approve_break_glass(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, grant_id: str
) -> BreakGlassGrant:
    """One approval by a staff member of the data's region other than the requester.

    The approval that brings the distinct approvers to :data:`BREAK_GLASS_APPROVERS`
    completes the grant, which then expires :data:`BREAK_GLASS_TTL` later. Refusals (403)
    are audited and committed."""
    staff = staff_principal(principal)
    session = uow.control
    grant = await session.scalar(
        select(BreakGlassGrant).where(BreakGlassGrant.id == grant_id).with_for_update()
    )
    if grant is None:
        raise BreakGlassNotFound("No such break-glass request.")
    approver_region = _home_region(runtime, principal)
    refusal: PermissionDenied | None = None
    if principal.id == grant.requester_id:
        refusal = OwnRequest("You cannot approve your own break-glass request.")
    elif approver_region != grant.region:
        refusal = WrongJurisdiction(
            f"Only staff of region {grant.region!r} can approve this break-glass request."
        )
    if refusal is not None:
        raise await _refuse(
            session,
            refusal,
            kind=AUDIT_BREAK_GLASS,
            actor=principal,
            subject_id=grant.owner_id,
            region=grant.region,
            attributes=_grant_attributes(
                grant, "approval_refused", await break_glass_approvers(session, grant)
            ),
        )
    now = utcnow()
    if grant.status != GrantStatus.PENDING.value:
        raise NotPending(f"The break-glass request is {break_glass_status(grant, now)}.")
    existing = await session.get(BreakGlassApproval, (grant.id, principal.id))
    if existing is not None:
        raise AlreadyApproved("You have already approved this break-glass request.")
    assert approver_region is not None
    session.add(
        BreakGlassApproval(
            grant_id=grant.id,
            approver_id=principal.id,
            approver_jurisdiction=staff.jurisdiction,
            approver_region=approver_region,
            approved_at=now,
        )
    )
    await session.flush()
    approvers = await break_glass_approvers(session, grant)
    if approvers >= BREAK_GLASS_APPROVERS:
        grant.status = GrantStatus.APPROVED.value
        grant.approved_at = now
        grant.expires_at = now + BREAK_GLASS_TTL
        await session.flush()
    await audit.append(
        session,
        kind=AUDIT_BREAK_GLASS,
        actor_id=principal.id,
        subject_id=grant.owner_id,
        region=grant.region,
        attributes=_grant_attributes(grant, "approved", approvers),
    )
    return grant


async def list_break_glass(
    uow: UnitOfWork, principal: Principal, status: str | None = None
) -> list[tuple[BreakGlassGrant, list[BreakGlassApproval]]]:
    """Newest first (at most 200) with their approvals; ``status`` filters by the effective
    status."""
    staff_principal(principal)
    now = utcnow()
    query = select(BreakGlassGrant).order_by(
        BreakGlassGrant.created_at.desc(), BreakGlassGrant.id.desc()
    )
    if status == GrantStatus.PENDING.value:
        query = query.where(BreakGlassGrant.status == status)
    elif status == GrantStatus.APPROVED.value:
        query = query.where(BreakGlassGrant.status == status, BreakGlassGrant.expires_at > now)
    elif status == GrantStatus.EXPIRED.value:
        query = query.where(
            BreakGlassGrant.status == GrantStatus.APPROVED.value,
            BreakGlassGrant.expires_at <= now,
        )
    elif status is not None:
        raise InvalidAccessRequest("status must be pending, approved or expired.")
    session = uow.control
    grants = list(await session.scalars(query.limit(LIST_LIMIT)))
    approvals: dict[str, list[BreakGlassApproval]] = {grant.id: [] for grant in grants}
    for approval in await _approvals(session, list(approvals)):
        approvals[approval.grant_id].append(approval)
    return [(grant, approvals[grant.id]) for grant in grants]


async def grant_approvals(session: AsyncSession, grant_id: str) -> list[BreakGlassApproval]:
    """The approvals of one grant, oldest first."""
    return await _approvals(session, [grant_id])


async def _approvals(session: AsyncSession, grant_ids: list[str]) -> list[BreakGlassApproval]:
    if not grant_ids:
        return []
    rows = await session.scalars(
        select(BreakGlassApproval)
        .where(BreakGlassApproval.grant_id.in_(grant_ids))
        .order_by(BreakGlassApproval.approved_at, BreakGlassApproval.approver_id)
    )
    return list(rows)
