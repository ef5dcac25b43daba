"""The regional transparency report: pure counting over audit leaves, small-cell
suppression, and the report served by the console over a log written by the real services."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from shopreel.accounts.principal import Principal
from shopreel.config import Settings
from shopreel.errors import PermissionDenied
from shopreel.governance import service as governance
from shopreel.kit.time import set_clock
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import access, privacy
from shopreel.sovereignty.access import AccessDenied
from shopreel.sovereignty.models import AuditEntry
from shopreel.trust import report as reports
from shopreel.trust.report import OTHER, ReportBuilder, compute_report, suppress
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user
from tests.fixtures.governance import genesis
from tests.trust.test_trust_pages import Desk, principal_of

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=90)


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class Log:
    """Synthetic leaves, numbered like the real log."""

    def __init__(self) -> None:
        self.leaves: list[dict[str, Any]] = []

    def add(
        self,
        kind: str,
        attributes: dict[str, Any],
        *,
        region: str | None = "us",
        at: datetime = NOW - timedelta(days=1),
    ) -> dict[str, Any]:
        leaf = {
            "v": 1,
            "seq": len(self.leaves),
            "kind": kind,
            "actor": "usr_us_1",
            "subject": None,
            "region": region,
            "time": stamp(at),
            "attributes": attributes,
        }
        self.leaves.append(leaf)
        return leaf

    def decision(
        self,
        *,
        allowed: object = True,
        jurisdiction: str = "US",
        action: str = "read",
        purpose: str = "support_case",
        region: str = "us",
        at: datetime = NOW - timedelta(days=1),
    ) -> None:
        self.add(
            "access.decision",
            {
                "allowed": allowed,
                "actor_jurisdiction": jurisdiction,
                "action": action,
                "purpose": purpose,
            },
            region=region,
            at=at,
        )

    def report(self, region: str = "us") -> reports.TransparencyReport:
        return compute_report(self.leaves, region=region, since=SINCE, until=NOW)


# ---- counting ----------------------------------------------------------------------------------


def test_decisions_are_counted_by_jurisdiction_and_by_action_and_purpose() -> None:
    log = Log()
    for _ in range(4):
        log.decision()
    log.decision(allowed=False, jurisdiction="SG")
    log.decision(allowed="true", purpose="curiosity")  # only `true` itself is allowed
    log.decision(action="break_glass_read", purpose="safety_review")
    log.decision(region="intl", jurisdiction="SG")  # another region's data
    report = log.report()
    by_jurisdiction = report.tables["decisions_by_jurisdiction"]
    assert by_jurisdiction.rows == ((("SG",), (0, 1)), (("US",), (5, 1)))
    assert by_jurisdiction.total == 7
    by_purpose = report.tables["decisions_by_action_purpose"]
    assert by_purpose.cell(("read", "support_case"), "allowed") == 4
    assert by_purpose.cell(("read", "support_case"), "denied") == 1
    assert by_purpose.cell(("read", "curiosity"), "denied") == 1
    assert by_purpose.cell(("break_glass_read", "safety_review"), "allowed") == 1
    assert report.tables["break_glass"].cell(("reads allowed",), "count") == 1
    assert (report.entries, report.first_seq, report.last_seq) == (7, 0, 6)
    assert log.report("intl").tables["decisions_by_jurisdiction"].rows == ((("SG",), (1, 0)),)


def test_break_glass_tickets_privacy_governance_and_takedowns() -> None:
    log = Log()
    log.add("access.break_glass", {"event": "requested", "status": "pending"})
    log.add("access.break_glass", {"event": "approved", "status": "pending"})
    log.add("access.break_glass", {"event": "approved", "status": "approved"})
    log.add("access.break_glass", {"event": "approval_refused", "status": "pending"})
    log.add("access.ticket", {"event": "requested"})
    log.add("access.ticket", {"event": "approval_refused"})
    log.add("access.ticket", {"event": "approved"})
    log.add("access.ticket", {"event": "something_else"})  # not counted
    log.add("privacy.export", {"law": "ccpa"})
    log.add("privacy.export", {"law": "gdpr"})
    log.add("privacy.erasure", {"law": "ccpa"})
    log.add("policy.change", {"action": "propose"})  # proposals are not changes
    log.add("policy.change", {"action": "apply"})
    log.add("policy.change", {"action": "apply"}, region=None)  # global: every region
    log.add("policy.change", {"action": "apply"}, region="intl")  # not ours
    log.add("model.deploy", {"action": "apply"})
    log.add("model.deploy", {"action": "genesis"})
    log.add("model.deploy", {"action": "revoke"})
    log.add("catalog.takedown", {"listing": "prd_1"})
    log.add("refund", {"amount": 5})  # not part of the report
    report = log.report()
    counts = {key: table.rows for key, table in report.tables.items()}
    assert counts["break_glass"] == (
        (("requested",), (1,)),
        (("approvals",), (2,)),
        (("grants completed",), (1,)),
        (("approvals refused",), (1,)),
        (("reads allowed",), (0,)),
        (("reads denied",), (0,)),
    )
    assert counts["tickets"] == (
        (("requested",), (1,)),
        (("approved",), (1,)),
        (("approvals refused",), (1,)),
    )
    assert counts["privacy_requests"] == ((("export",), (1, 1)), (("delete",), (1, 0)))
    assert counts["governance"] == (
        (("policy changes applied",), (1, 1)),
        (("deployments allowlisted",), (1, 0)),
        (("allowlisted at genesis",), (1, 0)),
        (("deployments revoked",), (1, 0)),
    )
    assert counts["takedowns"] == ((("takedowns",), (1,)),)
    assert report.entries == 16
    assert "not written to the audit log" in (report.tables["privacy_requests"].note or "")
    assert "from the catalog issue on" in (report.tables["takedowns"].note or "")


def test_the_window_is_since_inclusive_until_exclusive() -> None:
    log = Log()
    log.decision(at=SINCE)
    log.decision(at=SINCE - timedelta(milliseconds=1))
    log.decision(at=NOW - timedelta(milliseconds=1))
    log.decision(at=NOW)
    report = log.report()
    assert report.tables["decisions_by_jurisdiction"].rows == ((("US",), (2, 0)),)
    assert (report.first_seq, report.last_seq, report.days) == (0, 2, 90)


def test_malformed_leaves_are_skipped_not_counted() -> None:
    builder = ReportBuilder("us", SINCE, NOW)
    good = Log()
    good.decision()
    builder.add(good.leaves[0])
    builder.add("not an object")
    builder.add({**good.leaves[0], "time": "yesterday"})
    builder.add({**good.leaves[0], "seq": "7"})
    builder.add({**good.leaves[0], "attributes": []})
    builder.add({**good.leaves[0], "region": 5})
    builder.add_bytes(b"{not json")
    builder.add_bytes(json.dumps(good.leaves[0]).encode())
    report = builder.build()
    assert report.skipped == 6
    assert report.tables["decisions_by_jurisdiction"].rows == ((("US",), (2, 0)),)


def test_report_json_shape() -> None:
    log = Log()
    log.decision()
    document = log.report().to_json()
    assert document["format"] == reports.REPORT_FORMAT
    assert document["source"] == "audit log"
    assert (document["region"], document["days"], document["suppressed"]) == ("us", 90, False)
    table = document["tables"]["decisions_by_jurisdiction"]
    assert table["rows"] == [{"key": {"jurisdiction": "US"}, "counts": {"allowed": 1, "denied": 0}}]
    assert set(document["tables"]) == {
        "decisions_by_jurisdiction",
        "decisions_by_action_purpose",
        "break_glass",
        "tickets",
        "privacy_requests",
        "governance",
        "takedowns",
    }


# ---- suppression -------------------------------------------------------------------------------


def test_suppression_hides_small_cells_complements_and_small_groups() -> None:
    log = Log()
    for _ in range(30):
        log.decision()
    for _ in range(12):
        log.decision(jurisdiction="GB", allowed=False)
    for _ in range(3):
        log.decision(jurisdiction="SG", allowed=False)
    raw = log.report()
    hidden = suppress(raw)
    assert hidden.suppressed and hidden.k == 10 and not raw.suppressed
    table = hidden.tables["decisions_by_jurisdiction"]
    # Cells: GB 0/12, SG 0/3, US 30/0 -> the zeros and the 3 are below k; with three cells
    # hidden, no single one can be worked out from the total, so 12 and 30 stay visible.
    assert table.rows == ((("GB",), (None, 12)), (("US",), (30, None)), ((OTHER,), (None, None)))
    assert table.total == 45
    assert "SG" not in json.dumps(hidden.to_json())
    # Fixed tables keep their labels; every small count is hidden, zeros included.
    assert hidden.tables["takedowns"].rows == ((("takedowns",), (None,)),)
    assert hidden.tables["takedowns"].total is None
    assert hidden.entries == 45


def test_a_lone_small_cell_takes_its_complement_with_it() -> None:
    log = Log()
    for _ in range(40):
        log.decision()
    for _ in range(25):
        log.decision(allowed=False)
    for _ in range(3):
        log.decision(jurisdiction="SG", allowed=False)
    for _ in range(20):
        log.decision(jurisdiction="SG")
    table = suppress(log.report()).tables["decisions_by_jurisdiction"]
    # Only SG/denied (3) is small: the smallest visible cell (SG/allowed, 20) goes too.
    assert table.rows == ((("US",), (40, 25)), ((OTHER,), (None, None)))
    assert table.total == 88


def test_suppression_refuses_k_below_the_platform_floor() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        suppress(Log().report(), k=5)


def staff_principal(jurisdiction: str, *roles: str, region: str = "us") -> Principal:
    return Principal(
        id=f"usr_{region}_1",
        region=region,
        email="x@example.com",
        display_name="X",
        country=jurisdiction,
        roles=("staff",),
        jurisdiction=jurisdiction,
        staff_roles=roles,
        auth="session",
    )


def test_only_the_regions_trust_officers_see_raw_counts(settings: Settings) -> None:
    assert reports.viewer_sees_raw(staff_principal("US", "trust_officer"), "us", settings)
    assert not reports.viewer_sees_raw(staff_principal("US", "trust_officer"), "intl", settings)
    assert not reports.viewer_sees_raw(staff_principal("US", "support"), "us", settings)
    assert not reports.viewer_sees_raw(
        staff_principal("SG", "trust_officer", region="intl"), "us", settings
    )
    assert reports.viewer_sees_raw(
        staff_principal("SG", "trust_officer", region="intl"), "intl", settings
    )


# ---- the report over a real log ---------------------------------------------------------------


@pytest.fixture
async def desk(runtime: Runtime, app: FastAPI) -> AsyncIterator[Desk]:
    people = Desk(runtime, app)
    try:
        yield people
    finally:
        await people.close()


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    now = [datetime.now(UTC)]
    set_clock(lambda: now[0])
    yield now
    set_clock(None)


async def read(runtime: Runtime, staff: Principal, owner: str, purpose: str, **kw: Any) -> bool:
    try:
        await access.read_personal_data(runtime, staff, owner, "account", purpose, **kw)
    except AccessDenied:
        return False
    return True


async def report_json(client: httpx.AsyncClient, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/trust/report.json{query}")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    document: dict[str, Any] = response.json()
    return document


def rows(document: dict[str, Any], table: str) -> list[tuple[list[str], list[int | None]]]:
    return [
        (list(row["key"].values()), list(row["counts"].values()))
        for row in document["tables"][table]["rows"]
    ]


async def test_report_counts_match_the_audit_log_written_by_the_services(
    runtime: Runtime, desk: Desk
) -> None:
    await genesis(runtime)
    officer = await desk("us_officer")
    officer_2 = await desk("us_officer_2")
    support = await desk("us_support")
    intl = await desk("intl_officer")
    customer = await desk("customer")
    sg_support = await principal_of(
        runtime,
        await create_user(
            runtime, roles=("staff",), country="SG", jurisdiction="SG", staff_roles=("support",)
        ),
    )
    admin = await principal_of(
        runtime,
        await create_user(
            runtime, roles=("staff",), jurisdiction="US", staff_roles=("policy_admin",)
        ),
    )
    intl_customer = await create_user(runtime, country="SG")

    # Access decisions about US data: 12 allowed, 1 denied purpose, 3 denied cross-region.
    for _ in range(12):
        assert await read(runtime, support.principal, customer.id, "support_case")
    assert not await read(runtime, support.principal, customer.id, "curiosity")
    for _ in range(3):
        assert not await read(runtime, sg_support, customer.id, "support_case")
    # ... and one about intl data, which the US report must not count.
    assert await read(runtime, sg_support, intl_customer.id, "support_case")

    # A ticket: requested, a refused self-approval, approved.
    async with UnitOfWork(runtime.databases) as uow:
        ticket = await access.request_ticket(
            uow,
            runtime,
            officer.principal,
            category="account",
            purpose="fraud_investigation",
            justification="case 7",
            owner_ids=[customer.id],
        )
    with pytest.raises(PermissionDenied):
        async with UnitOfWork(runtime.databases) as uow:
            await access.approve_ticket(uow, runtime, officer.principal, ticket.id)
    async with UnitOfWork(runtime.databases) as uow:
        await access.approve_ticket(uow, runtime, officer_2.principal, ticket.id)

    # Break-glass: requested, two approvals (the second completes it), one read.
    async with UnitOfWork(runtime.databases) as uow:
        grant = await access.request_break_glass(
            uow,
            runtime,
            support.principal,
            owner_id=customer.id,
            category="account",
            purpose="safety_review",
            reason="threat",
        )
    for approver in (officer, officer_2):
        async with UnitOfWork(runtime.databases) as uow:
            await access.approve_break_glass(uow, runtime, approver.principal, grant.id)
    assert await read(
        runtime, support.principal, customer.id, "safety_review", break_glass_id=grant.id
    )

    # A privacy export by the customer.
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        await privacy.create_export(uow, runtime, customer.principal)

    # Governance: a US change and a global fee change, both applied.
    actor = governance.actor_of
    async with UnitOfWork(runtime.databases) as uow:
        regional = await governance.create_proposal(
            uow.control,
            runtime.settings.region_names,
            actor(support.principal, runtime.settings),
            governance.ProposalDraft("discovery.ranking_blend", "us", {"cap": 5}, "x" * 12),
        )
        fee = await governance.create_proposal(
            uow.control,
            runtime.settings.region_names,
            actor(support.principal, runtime.settings),
            governance.ProposalDraft("fees.referral_rate_bps", "global", 250, "y" * 12),
        )
    async with UnitOfWork(runtime.databases) as uow:
        await governance.approve(
            uow.control, actor(officer.principal, runtime.settings), regional.id
        )
        await governance.approve(uow.control, actor(admin, runtime.settings), fee.id)

    document = await report_json(officer.client)
    assert (document["region"], document["suppressed"], document["days"]) == ("us", False, 90)
    assert rows(document, "decisions_by_jurisdiction") == [(["SG"], [0, 3]), (["US"], [13, 1])]
    assert rows(document, "decisions_by_action_purpose") == [
        (["break_glass_read", "safety_review"], [1, 0]),
        (["read", "curiosity"], [0, 1]),
        (["read", "support_case"], [12, 3]),
    ]
    assert rows(document, "break_glass") == [
        (["requested"], [1]),
        (["approvals"], [2]),
        (["grants completed"], [1]),
        (["approvals refused"], [0]),
        (["reads allowed"], [1]),
        (["reads denied"], [0]),
    ]
    assert rows(document, "tickets") == [
        (["requested"], [1]),
        (["approved"], [1]),
        (["approvals refused"], [1]),
    ]
    assert rows(document, "privacy_requests") == [(["export"], [1, 0]), (["delete"], [0, 0])]
    assert rows(document, "governance") == [
        (["policy changes applied"], [1, 1]),
        (["deployments allowlisted"], [0, 0]),
        (["allowlisted at genesis"], [1, 0]),
        (["deployments revoked"], [0, 0]),
    ]
    assert rows(document, "takedowns") == [(["takedowns"], [0])]

    # Cross-check against the log itself: every US decision entry is counted once.
    async with runtime.databases.session(CONTROL) as session:
        us_decisions = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.kind == "access.decision", AuditEntry.region == "us")
        )
        last_seq = await session.scalar(select(func.max(AuditEntry.seq)))
    assert document["tables"]["decisions_by_jurisdiction"]["total"] == us_decisions == 17
    assert document["entries"] == 17 + 3 + 3 + 1 + 3  # + grants, tickets, export, governance
    assert document["last_seq"] == last_seq  # the global fee change is the last entry

    # Another region's trust officer gets the suppressed report of the same log.
    hidden = await report_json(intl.client, "?region=us")
    assert hidden["suppressed"] is True and hidden["k"] == 10
    assert rows(hidden, "decisions_by_jurisdiction") == [
        (["US"], [13, None]),
        ([OTHER], [None, None]),
    ]
    assert rows(hidden, "decisions_by_action_purpose") == [
        (["read", "support_case"], [12, None]),
        ([OTHER, ""], [None, None]),
    ]
    assert hidden["tables"]["decisions_by_jurisdiction"]["total"] == 17
    assert rows(hidden, "break_glass") == [([r], [None]) for r in reports.BREAK_GLASS_ROWS]
    assert hidden["tables"]["break_glass"]["total"] is None
    text = json.dumps(hidden)
    assert '"SG"' not in text and "curiosity" not in text
    # Staff of the region without the trust officer role are suppressed too.
    assert (await report_json(support.client))["suppressed"] is True
    # Their own region's report is raw for the intl officer.
    own = await report_json(intl.client)
    assert own["region"] == "intl" and own["suppressed"] is False
    assert rows(own, "decisions_by_jurisdiction") == [(["SG"], [1, 0])]

    # The page shows the same, with the suppression explained.
    page = await intl.get("/trust/report?region=us")
    assert page.status_code == 200
    assert "Small counts suppressed" in page.text and OTHER in page.text
    assert "Suppressed" in page.text and "curiosity" not in page.text
    raw_page = await officer.get("/trust/report")
    assert "curiosity" in raw_page.text and "small counts are shown as they are" in raw_page.text
    assert "not written to the audit log yet" in raw_page.text
    assert "from the catalog issue on" in raw_page.text


async def test_report_window_counts_only_recent_entries(
    runtime: Runtime, desk: Desk, clock: list[datetime]
) -> None:
    await genesis(runtime)
    officer = await desk("us_officer")
    support = await desk("us_support")
    customer = await desk("customer")
    clock[0] -= timedelta(days=10)
    assert await read(runtime, support.principal, customer.id, "support_case")
    clock[0] += timedelta(days=10)
    assert await read(runtime, support.principal, customer.id, "support_case")
    assert rows(await report_json(officer.client, "?days=5"), "decisions_by_jurisdiction") == [
        (["US"], [1, 0])
    ]
    assert rows(await report_json(officer.client, "?days=30"), "decisions_by_jurisdiction") == [
        (["US"], [2, 0])
    ]
