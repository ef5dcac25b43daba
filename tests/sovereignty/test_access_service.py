"""Staff access service: every personal-data read decided by the broker and audited.

Also the helpers shared with ``test_access_api.py`` (staff factories, audit counting).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User
from shopreel.accounts.principal import Principal
from shopreel.errors import NotFound, PermissionDenied, ValidationFailed
from shopreel.events.models import InteractionEvent
from shopreel.kit.ids import new_id
from shopreel.kit.time import set_clock
from shopreel.planes import CONTROL, PlaneViolation, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty import access
from shopreel.sovereignty.access_models import AccessTicket, BreakGlassGrant
from shopreel.sovereignty.broker import AccessContext, Action, PersonalDataResource
from shopreel.sovereignty.models import AuditEntry
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user
from tests.fixtures.governance import genesis

CROSS_REGION = "forbid-staff-cross-region-personal-data"


# ---- helpers (shared with test_access_api.py) ------------------------------------------------


async def make_staff(
    runtime: Runtime,
    *,
    jurisdiction: str = "US",
    staff_roles: tuple[str, ...] = ("support",),
    country: str | None = None,
    email: str | None = None,
) -> User:
    return await create_user(
        runtime,
        email=email,
        roles=("staff",),
        jurisdiction=jurisdiction,
        staff_roles=staff_roles,
        country=country or jurisdiction,
    )


async def principal_of(runtime: Runtime, user: User) -> Principal:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        fresh = await uow.region().get(User, user.id)
        assert fresh is not None
        return await accounts.load_principal(uow, runtime, fresh, auth="session")


async def audit_entries(runtime: Runtime, kind: str = access.AUDIT_DECISION) -> list[AuditEntry]:
    async with runtime.databases.session(CONTROL) as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.kind == kind).order_by(AuditEntry.seq)
        )
        return list(rows)


class AuditCounter:
    """Counts ``access.decision`` entries between checks."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen = 0

    async def start(self) -> AuditCounter:
        self.seen = len(await audit_entries(self.runtime))
        return self

    async def new(self) -> list[AuditEntry]:
        entries = await audit_entries(self.runtime)
        fresh = entries[self.seen :]
        self.seen = len(entries)
        return fresh

    async def one(self, *, allowed: bool, subject: str | None, actor: str) -> AuditEntry:
        fresh = await self.new()
        assert len(fresh) == 1, [e.attributes for e in fresh]
        entry = fresh[0]
        assert entry.attributes["allowed"] is allowed
        assert entry.subject_id == subject
        assert entry.actor_id == actor
        return entry


@pytest.fixture(autouse=True)
async def _policy_genesis(runtime: Runtime) -> None:
    """The deploy gate needs the packaged policy set on every region's allowlist."""
    await genesis(runtime)


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    """A fake clock: tests move ``clock[0]``."""
    now = [datetime.now(UTC)]
    set_clock(lambda: now[0])
    yield now
    set_clock(None)


async def approved_ticket(
    runtime: Runtime,
    requester: Principal,
    officer: Principal,
    *,
    owner_ids: list[str] | None = None,
    region: str | None = None,
    category: str = "account",
    purpose: str = "support_case",
) -> AccessTicket:
    async with UnitOfWork(runtime.databases) as uow:
        ticket = await access.request_ticket(
            uow,
            runtime,
            requester,
            category=category,
            purpose=purpose,
            justification="chargeback wave, case 4411",
            owner_ids=owner_ids,
            region=region,
        )
    async with UnitOfWork(runtime.databases) as uow:
        return await access.approve_ticket(uow, runtime, officer, ticket.id)


async def break_glass(
    runtime: Runtime,
    requester: Principal,
    owner_id: str,
    approvers: list[Principal],
    *,
    category: str = "account",
    purpose: str = "imminent safety threat",
) -> BreakGlassGrant:
    async with UnitOfWork(runtime.databases) as uow:
        grant = await access.request_break_glass(
            uow,
            runtime,
            requester,
            owner_id=owner_id,
            category=category,
            purpose=purpose,
            reason="user reported self-harm in a live stream",
        )
    for approver in approvers:
        async with UnitOfWork(runtime.databases) as uow:
            grant = await access.approve_break_glass(uow, runtime, approver, grant.id)
    return grant


# ---- single reads ----------------------------------------------------------------------------


async def test_us_support_reads_us_account_and_it_is_audited(runtime: Runtime) -> None:
    owner = await create_user(runtime, email="ada@example.com", display_name="Ada Lovelace")
    staff = await principal_of(runtime, await make_staff(runtime))
    counter = await AuditCounter(runtime).start()

    result = await access.read_personal_data(runtime, staff, owner.id, "account", "support_case")

    assert result["owner_id"] == owner.id and result["region"] == "us"
    assert result["action"] == "read"
    data = result["data"]
    assert data["email"] == "ada@example.com"
    assert data["display_name"] == "Ada Lovelace"
    assert data["country"] == "US" and data["roles"] == ["shopper"]
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert result["decision"]["allowed"] is True
    assert result["decision"]["reasons"] == ["staff-read-for-allowed-purpose"]

    entry = await counter.one(allowed=True, subject=owner.id, actor=staff.id)
    assert entry.kind == "access.decision" and entry.region == "us"
    assert entry.seq == result["decision"]["audit_seq"]
    attrs = entry.attributes
    assert attrs["action"] == "read" and attrs["category"] == "account"
    assert attrs["purpose"] == "support_case"
    assert attrs["ticket_id"] is None and attrs["break_glass_id"] is None
    assert attrs["reasons"] == ["staff-read-for-allowed-purpose"] and attrs["errors"] == []
    assert attrs["policy_version"] == access.default_policies().version
    assert attrs["actor_jurisdiction"] == "US" and attrs["actor_home_region"] == "us"
    assert attrs["actor_roles"] == ["staff"] and attrs["actor_staff_roles"] == ["support"]
    # Ids only: the audit log holds no personal data.
    assert b"ada@example.com" not in entry.leaf_data and b"Lovelace" not in entry.leaf_data


async def test_events_category_returns_the_last_100_events(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    other = await create_user(runtime)
    staff = await principal_of(runtime, await make_staff(runtime))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with runtime.databases.transaction(regional("us")) as session:
        for i in range(105):
            session.add(
                InteractionEvent(
                    id=new_id("evt", "us"),
                    user_id=owner.id,
                    kind="view",
                    video_id=f"vid_{i}",
                    watch_ms=i,
                    occurred_at=start + timedelta(minutes=i),
                )
            )
        session.add(InteractionEvent(id=new_id("evt", "us"), user_id=other.id, kind="like"))

    result = await access.read_personal_data(
        runtime, staff, owner.id, "events", "fraud_investigation"
    )

    events = result["data"]["events"]
    assert len(events) == 100
    assert [e["video_id"] for e in events[:2]] == ["vid_104", "vid_103"]
    assert events[-1]["video_id"] == "vid_5"
    assert {e["kind"] for e in events} == {"view"}


async def test_sg_staff_is_denied_us_data_even_with_ticket_and_break_glass(
    runtime: Runtime,
) -> None:
    owner = await create_user(runtime)
    hq = await principal_of(
        runtime, await make_staff(runtime, jurisdiction="SG", staff_roles=("support",))
    )
    officer = await principal_of(runtime, await make_staff(runtime, staff_roles=("trust_officer",)))
    us_a = await principal_of(runtime, await make_staff(runtime))
    us_b = await principal_of(runtime, await make_staff(runtime))
    ticket = await approved_ticket(runtime, hq, officer, owner_ids=[owner.id])
    assert ticket.status == "approved"
    grant = await break_glass(runtime, hq, owner.id, [us_a, us_b], purpose="support_case")
    assert grant.status == "approved" and grant.expires_at is not None
    counter = await AuditCounter(runtime).start()

    attempts: list[dict[str, Any]] = [
        {},
        {"ticket_id": ticket.id},
        {"break_glass_id": grant.id},
    ]
    for extra in attempts:
        with pytest.raises(access.AccessDenied) as caught:
            await access.read_personal_data(
                runtime, hq, owner.id, "account", "support_case", **extra
            )
        assert caught.value.code == "access_denied" and caught.value.status == 403
        assert caught.value.extra["reasons"] == [CROSS_REGION]
        entry = await counter.one(allowed=False, subject=owner.id, actor=hq.id)
        assert entry.attributes["reasons"] == [CROSS_REGION]
        assert entry.attributes["actor_home_region"] == "intl"
    entries = await audit_entries(runtime)
    assert [e.attributes["action"] for e in entries[-3:]] == [
        "read",
        "bulk_read",
        "break_glass_read",
    ]
    assert entries[-2].attributes["ticket_id"] == ticket.id
    assert entries[-1].attributes["break_glass_id"] == grant.id
    # The ticket and the grant really were valid: the decision context says so.
    assert entries[-2].attributes["context"]["ticket_approved"] is True
    assert entries[-1].attributes["context"]["break_glass_approvers"] == 2


@pytest.mark.parametrize("purpose", ["", "   ", "curiosity", "SUPPORT_CASE"])
async def test_missing_or_invalid_purpose_is_denied_and_audited(
    runtime: Runtime, purpose: str
) -> None:
    owner = await create_user(runtime)
    staff = await principal_of(runtime, await make_staff(runtime))
    counter = await AuditCounter(runtime).start()
    with pytest.raises(access.AccessDenied) as caught:
        await access.read_personal_data(runtime, staff, owner.id, "account", purpose)
    assert caught.value.extra["reasons"] == []  # default deny: no rule allowed it
    entry = await counter.one(allowed=False, subject=owner.id, actor=staff.id)
    assert entry.attributes["purpose"] == purpose.strip()


async def test_staff_without_a_data_role_is_denied(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    analyst = await principal_of(runtime, await make_staff(runtime, staff_roles=("analyst",)))
    counter = await AuditCounter(runtime).start()
    with pytest.raises(access.AccessDenied) as caught:
        await access.read_personal_data(runtime, analyst, owner.id, "account", "support_case")
    assert caught.value.extra["reasons"] == ["forbid-staff-without-data-role"]
    await counter.one(allowed=False, subject=owner.id, actor=analyst.id)


async def test_non_staff_never_reach_the_broker(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    shopper = await principal_of(runtime, await create_user(runtime))
    counter = await AuditCounter(runtime).start()
    with pytest.raises(PermissionDenied) as caught:
        await access.read_personal_data(runtime, shopper, owner.id, "account", "support_case")
    assert caught.value.code == "permission_denied"
    assert await counter.new() == []


async def test_unknown_owner_is_404(runtime: Runtime) -> None:
    staff = await principal_of(runtime, await make_staff(runtime))
    counter = await AuditCounter(runtime).start()
    for bogus in (
        "nobody",
        "usr_mars_01jf0000000000000000000000",
        "ord_us_01jf0000000000000000000000",
    ):
        with pytest.raises(NotFound) as caught:
            await access.read_personal_data(runtime, staff, bogus, "account", "support_case")
        assert caught.value.code == "owner_not_found"
    assert await counter.new() == []  # no region, no resource, no decision

    # A well-formed id of a real region: the decision is taken (and audited) first, so the
    # answer cannot reveal to someone denied whether the user exists.
    missing = new_id("usr", "us")
    with pytest.raises(NotFound):
        await access.read_personal_data(runtime, staff, missing, "account", "support_case")
    await counter.one(allowed=True, subject=missing, actor=staff.id)
    hq = await principal_of(runtime, await make_staff(runtime, jurisdiction="SG"))
    with pytest.raises(access.AccessDenied):
        await access.read_personal_data(runtime, hq, missing, "account", "support_case")
    await counter.one(allowed=False, subject=missing, actor=hq.id)


async def test_unknown_category_is_422_without_decision(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    staff = await principal_of(runtime, await make_staff(runtime))
    counter = await AuditCounter(runtime).start()
    with pytest.raises(ValidationFailed) as caught:
        await access.read_personal_data(runtime, staff, owner.id, "payments", "support_case")
    assert caught.value.status == 422 and caught.value.code == "unknown_category"
    assert await counter.new() == []


async def test_a_denied_decision_is_committed_even_when_the_caller_rolls_back(
    runtime: Runtime,
) -> None:
    owner = await create_user(runtime)
    hq = await principal_of(runtime, await make_staff(runtime, jurisdiction="SG"))
    counter = await AuditCounter(runtime).start()
    with pytest.raises(access.AccessDenied):
        async with UnitOfWork(runtime.databases) as uow:  # rolls back on the exception
            uow.control  # noqa: B018 - the caller's own control session is open too
            await access.read_personal_data(runtime, hq, owner.id, "account", "support_case")
    await counter.one(allowed=False, subject=owner.id, actor=hq.id)


async def test_decide_and_audit_appends_in_the_callers_transaction(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    staff = await principal_of(runtime, await make_staff(runtime))
    service = access.StaffAccess(runtime)
    resource = PersonalDataResource(owner.id, "us", "account")
    counter = await AuditCounter(runtime).start()
    async with runtime.databases.session(CONTROL) as session:
        decision = await service.decide_and_audit(
            session,
            staff,
            Action.READ,
            resource,
            AccessContext(purpose="legal_request", now=datetime.now(UTC)),
        )
        assert decision.allowed
        await session.rollback()  # the caller decides: not committed, not logged
    assert await counter.new() == []
    with pytest.raises(PlaneViolation):
        async with runtime.databases.session(regional("us")) as session:
            await service.decide_and_audit(
                session,
                staff,
                Action.READ,
                resource,
                AccessContext(purpose="legal_request", now=datetime.now(UTC)),
            )


async def test_the_data_region_opens_only_for_an_allowed_staff_decision(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    staff = await principal_of(runtime, await make_staff(runtime))
    service = access.StaffAccess(runtime)
    resource = PersonalDataResource(owner.id, "us", "account")
    denied = service.broker.decide(
        access.staff_principal(staff), Action.READ, resource, AccessContext(now=datetime.now(UTC))
    )
    with pytest.raises(access.AccessDenied):
        async with access.open_data_region(runtime, denied):
            pass
    allowed = service.broker.decide(
        access.staff_principal(staff),
        Action.READ,
        resource,
        AccessContext(purpose="support_case", now=datetime.now(UTC)),
    )
    async with access.open_data_region(runtime, allowed) as uow:
        assert uow.home_region == "us"
        with pytest.raises(PlaneViolation):
            uow.region("intl")


# ---- bulk reads and tickets ------------------------------------------------------------------


async def test_bulk_read_needs_an_approved_ticket(runtime: Runtime) -> None:
    owners = [await create_user(runtime, display_name=f"Owner {i}") for i in range(3)]
    owner_ids = [o.id for o in owners]
    staff = await principal_of(runtime, await make_staff(runtime))
    officer = await principal_of(runtime, await make_staff(runtime, staff_roles=("trust_officer",)))
    counter = await AuditCounter(runtime).start()

    with pytest.raises(access.AccessDenied) as caught:
        await access.bulk_read_personal_data(
            runtime, staff, category="account", purpose="support_case", owner_ids=owner_ids
        )
    assert [d["owner_id"] for d in caught.value.extra["denied"]] == owner_ids
    fresh = await counter.new()
    assert [(e.subject_id, e.attributes["allowed"]) for e in fresh] == [
        (o, False) for o in owner_ids
    ]
    assert {e.attributes["action"] for e in fresh} == {"bulk_read"}

    ticket = await approved_ticket(runtime, staff, officer, owner_ids=owner_ids[:2])
    result = await access.bulk_read_personal_data(
        runtime,
        staff,
        category="account",
        purpose="support_case",
        owner_ids=owner_ids[:2],
        ticket_id=ticket.id,
    )
    assert [r["owner_id"] for r in result["records"]] == owner_ids[:2]
    assert [r["data"]["display_name"] for r in result["records"]] == ["Owner 0", "Owner 1"]
    fresh = await counter.new()
    assert [(e.subject_id, e.attributes["allowed"]) for e in fresh] == [
        (o, True) for o in owner_ids[:2]
    ]
    assert {e.attributes["ticket_id"] for e in fresh} == {ticket.id}

    # The ticket covers its listed owners only, its category and purpose only.
    for kwargs in (
        {"owner_ids": owner_ids},
        {"owner_ids": owner_ids[:1], "purpose": "legal_request"},
        {"owner_ids": owner_ids[:1], "category": "events"},
    ):
        call: dict[str, Any] = {"category": "account", "purpose": "support_case", **kwargs}
        with pytest.raises(access.AccessDenied):
            await access.bulk_read_personal_data(runtime, staff, ticket_id=ticket.id, **call)
    assert len(await counter.new()) == 3 + 1 + 1

    # A ticket is personal: a colleague cannot use it.
    colleague = await principal_of(runtime, await make_staff(runtime))
    with pytest.raises(access.AccessDenied):
        await access.bulk_read_personal_data(
            runtime,
            colleague,
            category="account",
            purpose="support_case",
            owner_ids=owner_ids[:2],
            ticket_id=ticket.id,
        )
    assert len(await counter.new()) == 2


async def test_ticket_backed_single_read_and_ticket_expiry(
    runtime: Runtime, clock: list[datetime]
) -> None:
    owner = await create_user(runtime)
    staff = await principal_of(runtime, await make_staff(runtime, staff_roles=("fraud_analyst",)))
    officer = await principal_of(runtime, await make_staff(runtime, staff_roles=("trust_officer",)))
    ticket = await approved_ticket(
        runtime, staff, officer, owner_ids=[owner.id], purpose="fraud_investigation"
    )
    assert ticket.expires_at is not None
    counter = await AuditCounter(runtime).start()
    result = await access.read_personal_data(
        runtime, staff, owner.id, "account", "fraud_investigation", ticket_id=ticket.id
    )
    assert result["action"] == "bulk_read"
    assert result["decision"]["reasons"] == ["staff-bulk-read-with-approved-ticket"]
    await counter.one(allowed=True, subject=owner.id, actor=staff.id)

    clock[0] += access.TICKET_TTL + timedelta(seconds=1)
    with pytest.raises(access.AccessDenied):
        await access.read_personal_data(
            runtime, staff, owner.id, "account", "fraud_investigation", ticket_id=ticket.id
        )
    entry = await counter.one(allowed=False, subject=owner.id, actor=staff.id)
    assert entry.attributes["context"]["ticket_approved"] is False
    async with UnitOfWork(runtime.databases) as uow:
        expired = await access.list_tickets(uow, staff, "expired")
    assert [t.id for t in expired] == [ticket.id]


async def test_region_wide_ticket_pages_through_the_region(runtime: Runtime) -> None:
    users = [await create_user(runtime) for _ in range(3)]
    await create_user(runtime, country="DE")  # intl: not part of the us region
    staff = await principal_of(runtime, await make_staff(runtime, staff_roles=("legal",)))
    officer = await principal_of(runtime, await make_staff(runtime, staff_roles=("trust_officer",)))
    counter = await AuditCounter(runtime).start()

    with pytest.raises(access.AccessDenied):
        await access.bulk_read_personal_data(
            runtime, staff, category="account", purpose="legal_request", region="us"
        )
    gate = await counter.one(allowed=False, subject=None, actor=staff.id)
    assert gate.attributes["scope"] == "region"

    ticket = await approved_ticket(runtime, staff, officer, region="us", purpose="legal_request")
    everyone_us = sorted([*(u.id for u in users), staff.id, officer.id])
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await access.bulk_read_personal_data(
            runtime,
            staff,
            category="account",
            purpose="legal_request",
            region="us",
            ticket_id=ticket.id,
            after=after,
            limit=2,
        )
        seen += [r["owner_id"] for r in page["records"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == everyone_us
    fresh = await counter.new()
    per_owner = [e for e in fresh if e.subject_id is not None]
    assert sorted(e.subject_id for e in per_owner) == everyone_us  # type: ignore[type-var]
    assert all(e.attributes["allowed"] for e in fresh)
    assert len(fresh) - len(per_owner) == 3  # one region-wide gate decision per page


async def test_ticket_approval_rules(runtime: Runtime) -> None:
    owner = await create_user(runtime)
    requester = await principal_of(
        runtime, await make_staff(runtime, staff_roles=("support", "trust_officer"))
    )
    support = await principal_of(runtime, await make_staff(runtime))
    sg_officer = await principal_of(
        runtime, await make_staff(runtime, jurisdiction="SG", staff_roles=("trust_officer",))
    )
    officer = await principal_of(runtime, await make_staff(runtime, staff_roles=("trust_officer",)))
    async with UnitOfWork(runtime.databases) as uow:
        ticket = await access.request_ticket(
            uow,
            runtime,
            requester,
            category="account",
            purpose="support_case",
            justification="bulk refund review",
            owner_ids=[owner.id, owner.id],
        )
    assert ticket.status == "pending" and ticket.owner_ids == [owner.id]
    refusals = [
        (requester, "own_request"),
        (support, "not_trust_officer"),
        (sg_officer, "wrong_jurisdiction"),
    ]
    for approver, code in refusals:
        with pytest.raises(PermissionDenied) as caught:
            async with UnitOfWork(runtime.databases) as uow:
                await access.approve_ticket(uow, runtime, approver, ticket.id)
        assert caught.value.code == code
        async with runtime.databases.session(CONTROL) as session:
            stored = await session.get(AccessTicket, ticket.id)
        assert stored is not None and stored.status == "pending" and stored.approved_by is None
    ticket_log = await audit_entries(runtime, "access.ticket")
    assert [e.attributes["event"] for e in ticket_log] == ["requested"] + ["approval_refused"] * 3
    assert [e.attributes["refusal"] for e in ticket_log[1:]] == [c for _, c in refusals]

    async with UnitOfWork(runtime.databases) as uow:
        approved = await access.approve_ticket(uow, runtime, officer, ticket.id)
    assert approved.status == "approved" and approved.approved_by == officer.id
    assert approved.expires_at is not None and approved.approved_at is not None
    assert approved.expires_at - approved.approved_at == access.TICKET_TTL
    last = (await audit_entries(runtime, "access.ticket"))[-1]
    assert last.attributes["event"] == "approved" and last.actor_id == officer.id
    with pytest.raises(access.NotPending):
        async with UnitOfWork(runtime.databases) as uow:
            await access.approve_ticket(uow, runtime, officer, ticket.id)
    with pytest.raises(access.TicketNotFound):
        async with UnitOfWork(runtime.databases) as uow:
            await access.approve_ticket(uow, runtime, officer, "atk_missing")


async def test_ticket_requests_are_validated(runtime: Runtime) -> None:
    staff = await principal_of(runtime, await make_staff(runtime))
    us_owner = new_id("usr", "us")
    intl_owner = new_id("usr", "intl")
    cases: list[dict[str, Any]] = [
        {"owner_ids": [us_owner, intl_owner]},
        {"owner_ids": [us_owner], "region": "us"},
        {},
        {"region": "mars"},
        {"owner_ids": [us_owner], "category": "secrets"},
        {"owner_ids": [us_owner], "justification": "  "},
    ]
    for case in cases:
        kwargs: dict[str, Any] = {
            "category": "account",
            "purpose": "support_case",
            "justification": "why",
            **case,
        }
        with pytest.raises(ValidationFailed):
            async with UnitOfWork(runtime.databases) as uow:
                await access.request_ticket(uow, runtime, staff, **kwargs)
    assert await audit_entries(runtime, "access.ticket") == []


# ---- break-glass -----------------------------------------------------------------------------


async def test_break_glass_needs_two_in_region_approvers_and_expires(
    runtime: Runtime, clock: list[datetime]
) -> None:
    owner = await create_user(runtime, email="grace@example.com")
    requester = await principal_of(runtime, await make_staff(runtime))
    first = await principal_of(runtime, await make_staff(runtime, staff_roles=("engineer",)))
    second = await principal_of(runtime, await make_staff(runtime, staff_roles=("legal",)))
    outsider = await principal_of(runtime, await make_staff(runtime, jurisdiction="GB"))
    purpose = "imminent safety threat"
    grant = await break_glass(runtime, requester, owner.id, [], purpose=purpose)
    counter = await AuditCounter(runtime).start()

    async def attempt() -> dict[str, Any]:
        return await access.read_personal_data(
            runtime, requester, owner.id, "account", purpose, break_glass_id=grant.id
        )

    # Neither the requester nor staff of another region can approve.
    for approver, code in ((requester, "own_request"), (outsider, "wrong_jurisdiction")):
        with pytest.raises(PermissionDenied) as caught:
            async with UnitOfWork(runtime.databases) as uow:
                await access.approve_break_glass(uow, runtime, approver, grant.id)
        assert caught.value.code == code

    async with UnitOfWork(runtime.databases) as uow:
        grant = await access.approve_break_glass(uow, runtime, first, grant.id)
    assert grant.status == "pending" and grant.expires_at is None
    with pytest.raises(access.AlreadyApproved):
        async with UnitOfWork(runtime.databases) as uow:
            await access.approve_break_glass(uow, runtime, first, grant.id)
    with pytest.raises(access.AccessDenied):
        await attempt()
    entry = await counter.one(allowed=False, subject=owner.id, actor=requester.id)
    assert entry.attributes["context"]["break_glass_approvers"] == 1

    clock[0] += timedelta(minutes=5)
    async with UnitOfWork(runtime.databases) as uow:
        grant = await access.approve_break_glass(uow, runtime, second, grant.id)
    assert grant.status == "approved" and grant.expires_at == clock[0] + access.BREAK_GLASS_TTL
    result = await attempt()
    assert result["action"] == "break_glass_read"
    assert result["data"]["email"] == "grace@example.com"
    assert result["decision"]["reasons"] == ["staff-break-glass-read"]
    entry = await counter.one(allowed=True, subject=owner.id, actor=requester.id)
    assert entry.attributes["break_glass_id"] == grant.id

    # Valid for another user, category or purpose? No.
    other = await create_user(runtime)
    for args in (
        (other.id, "account", purpose),
        (owner.id, "events", purpose),
        (owner.id, "account", "other"),
    ):
        with pytest.raises(access.AccessDenied):
            await access.read_personal_data(runtime, requester, *args, break_glass_id=grant.id)
        await counter.one(allowed=False, subject=args[0], actor=requester.id)

    clock[0] += access.BREAK_GLASS_TTL - timedelta(seconds=1)
    await attempt()
    await counter.one(allowed=True, subject=owner.id, actor=requester.id)
    clock[0] += timedelta(seconds=1)
    with pytest.raises(access.AccessDenied):
        await attempt()
    await counter.one(allowed=False, subject=owner.id, actor=requester.id)

    log = await audit_entries(runtime, "access.break_glass")
    assert [e.attributes["event"] for e in log] == [
        "requested",
        "approval_refused",
        "approval_refused",
        "approved",
        "approved",
    ]
    assert [e.attributes["approvers"] for e in log[-2:]] == [1, 2]
    async with UnitOfWork(runtime.databases) as uow:
        expired = await access.list_break_glass(uow, requester, "expired")
    assert [(g.id, [a.approver_id for a in approvals]) for g, approvals in expired] == [
        (grant.id, [first.id, second.id])
    ]
    third = await principal_of(runtime, await make_staff(runtime))
    with pytest.raises(access.NotPending):
        async with UnitOfWork(runtime.databases) as uow:
            await access.approve_break_glass(uow, runtime, third, grant.id)


# ---- aggregates ------------------------------------------------------------------------------


async def test_hq_staff_get_only_suppressed_aggregates(runtime: Runtime) -> None:
    hq = await principal_of(
        runtime, await make_staff(runtime, jurisdiction="SG", staff_roles=("analyst",))
    )
    assert hq.region == "intl"
    for _ in range(25):
        await create_user(runtime, country="US")
    for _ in range(3):
        await create_user(runtime, country="CA")  # CA residents live in the "intl" region...
    counter = await AuditCounter(runtime).start()

    # ...so the us region holds 25 US users only: one cell, released.
    result = await access.users_by_country(runtime, hq, "us")
    assert result["counts"] == {"US": 25} and result["suppressed"] == []
    entry = await counter.one(allowed=True, subject=None, actor=hq.id)
    assert entry.region == "us" and entry.attributes["metric"] == "users_by_country"
    assert entry.attributes["context"]["cell_size"] == 25

    # intl: 3 CA users and the HQ staff member (SG): every cell is small, nothing to show.
    with pytest.raises(access.AccessDenied) as caught:
        await access.users_by_country(runtime, hq, "intl")
    assert caught.value.extra["reasons"] == ["forbid-aggregate-with-small-cells"]
    entry = await counter.one(allowed=False, subject=None, actor=hq.id)
    assert entry.attributes["context"]["cell_size"] is None


async def test_small_cells_and_their_complements_are_suppressed(runtime: Runtime) -> None:
    hq = await principal_of(
        runtime, await make_staff(runtime, jurisdiction="SG", staff_roles=("analyst",))
    )
    await seed_us_region_countries(runtime, {"US": 25, "CA": 3})
    counter = await AuditCounter(runtime).start()

    # 25 US + 3 CA: CA is hidden, and so is US, or CA = total - US would give it away.
    # Nothing is left to show, so the broker refuses the table.
    with pytest.raises(access.AccessDenied):
        await access.users_by_country(runtime, hq, "us")
    await counter.one(allowed=False, subject=None, actor=hq.id)

    await seed_us_region_countries(runtime, {"MX": 12})
    result = await access.users_by_country(runtime, hq, "us")
    assert result["counts"] == {"CA": None, "MX": None, "US": 25}
    assert result["suppressed"] == ["CA", "MX"]
    assert all(c is None or c >= 10 for c in result["counts"].values())
    await counter.one(allowed=True, subject=None, actor=hq.id)

    # In-region staff get exactly the same table: aggregates are never raw.
    us = await principal_of(runtime, await make_staff(runtime, country="DE", staff_roles=()))
    assert us.region == "intl"  # lives abroad; the jurisdiction (US) is what counts
    same = await access.users_by_country(runtime, us, "us")
    assert same["counts"] == result["counts"]

    with pytest.raises(ValidationFailed):
        await access.users_by_country(runtime, hq, "mars")


async def seed_us_region_countries(runtime: Runtime, counts: dict[str, int]) -> None:
    """Users of the us region with the given countries of residence.

    Accounts are placed by country (CA residents live in "intl"), so users who moved abroad
    are made with ``create_user(country="US")`` and then given their new country."""
    made: dict[str, list[str]] = {}
    for country, count in counts.items():
        made[country] = [(await create_user(runtime, country="US")).id for _ in range(count)]
    async with runtime.databases.transaction(regional("us")) as session:
        for country, ids in made.items():
            for user_id in ids:
                user = await session.get(User, user_id)
                assert user is not None
                user.country = country
