"""The trust console over HTTP (server side): who may see it, approvals through the pages
(and refusals that change nothing), proposals, the audit browser and its proofs, privacy
clocks. Runs on SQLite and PostgreSQL like the rest of the suite."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User
from shopreel.accounts.principal import Principal
from shopreel.governance.models import Proposal, SettingVersion
from shopreel.kit.time import utcnow
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import access, audit, merkle, privacy
from shopreel.sovereignty.access_models import AccessTicket, BreakGlassGrant
from shopreel.sovereignty.models import AuditEntry
from shopreel.sovereignty.signing import load_signer, public_key_from_bytes
from shopreel.trust import pages as trust_pages
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import api_login, create_user
from tests.fixtures.governance import genesis

HTML = {"accept": "text/html"}
RATIONALE = "Lower the recency weight after the Q3 review."


async def principal_of(runtime: Runtime, user: User) -> Principal:
    """The session principal of ``user``, as the console would resolve it."""
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        fresh = await uow.region().get(User, user.id)
        assert fresh is not None
        return await accounts.load_principal(uow, runtime, fresh, auth="session")


# ---- people ----------------------------------------------------------------------------------

PEOPLE: dict[str, tuple[tuple[str, ...], str, str | None, tuple[str, ...]]] = {
    # who: (roles, country, jurisdiction, staff roles)
    "us_officer": (("staff",), "US", "US", ("trust_officer",)),
    "us_officer_2": (("staff",), "US", "US", ("trust_officer",)),
    "us_support": (("staff",), "US", "US", ("support",)),
    "us_support_2": (("staff",), "US", "US", ("support",)),
    "intl_officer": (("staff",), "SG", "SG", ("trust_officer",)),
    "shopper": (("shopper",), "US", None, ()),
    "customer": (("shopper",), "US", None, ()),
}


class Person:
    def __init__(self, user: User, principal: Principal, client: httpx.AsyncClient, csrf: str):
        self.user = user
        self.principal = principal
        self.client = client
        self.csrf = csrf

    @property
    def id(self) -> str:
        return self.user.id

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=HTML)

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(
            path, data={**(data or {}), "csrf_token": self.csrf}, headers=HTML
        )


class Desk:
    """The people of a test, each created on first use, signed in with their own client."""

    def __init__(self, runtime: Runtime, app: FastAPI) -> None:
        self.runtime = runtime
        self.app = app
        self.people: dict[str, Person] = {}
        self.clients: list[httpx.AsyncClient] = []

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.9", 51002))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.clients.append(client)
        return client

    async def __call__(self, who: str) -> Person:
        if who not in self.people:
            roles, country, jurisdiction, staff_roles = PEOPLE[who]
            email = f"{who.replace('_', '-')}@example.com"
            user = await create_user(
                self.runtime,
                email=email,
                roles=roles,
                country=country,
                jurisdiction=jurisdiction,
                staff_roles=staff_roles,
            )
            client = self.client()
            csrf = await api_login(client, email)
            principal = await principal_of(self.runtime, user)
            self.people[who] = Person(user, principal, client, csrf)
        return self.people[who]

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


@pytest.fixture
async def desk(runtime: Runtime, app: FastAPI) -> AsyncIterator[Desk]:
    people = Desk(runtime, app)
    try:
        yield people
    finally:
        await people.close()


@pytest.fixture
async def policies(runtime: Runtime) -> None:
    """Allowlist the packaged policy set in every region (installation-time genesis), so
    the deploy gate lets the broker's decisions stand."""
    await genesis(runtime)


# ---- helpers ---------------------------------------------------------------------------------


async def new_ticket(runtime: Runtime, requester: Person, owner_id: str) -> AccessTicket:
    async with UnitOfWork(runtime.databases) as uow:
        return await access.request_ticket(
            uow,
            runtime,
            requester.principal,
            category="account",
            purpose="fraud_investigation",
            justification="chargeback wave, case 4411",
            owner_ids=[owner_id],
        )


async def ticket_row(runtime: Runtime, ticket_id: str) -> AccessTicket:
    async with runtime.databases.session(CONTROL) as session:
        ticket = await session.get(AccessTicket, ticket_id)
        assert ticket is not None
        return ticket


async def audit_of(runtime: Runtime, kind: str) -> list[AuditEntry]:
    async with runtime.databases.session(CONTROL) as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.kind == kind).order_by(AuditEntry.seq)
        )
        return list(rows)


async def publish(runtime: Runtime) -> int:
    async with runtime.databases.session(CONTROL) as session:
        head = await audit.publish_tree_head(session, load_signer(runtime.settings.key_dir))
        await session.commit()
        return head.tree_size


def flashes(page: str) -> str:
    region = re.search(r'<div id="flash-region".*?</div>\s*(?=<)', page, re.S)
    assert region, "no flash region"
    return html.unescape(re.sub(r"<[^>]+>", " ", page[region.start() : region.end() + 2000]))


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def assert_clean_page(page: str, nonce_header: str) -> None:
    """No inline styles or handlers; scripts are external or carry the nonce; every POST
    form carries the CSRF token; exactly one h1."""
    nonce = re.search(r"'nonce-([^']+)'", nonce_header)
    assert nonce
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag or f'nonce="{nonce.group(1)}"' in tag, tag
    assert not re.search(r"\son[a-z]+=", page), "inline event handler breaks the CSP"
    assert " style=" not in page and "<style" not in page
    for form in re.findall(r"<form\b[^>]*method=\"post\".*?</form>", page, re.S):
        assert 'name="csrf_token"' in form, form[:200]
    assert len(re.findall(r"<h1\b", page)) == 1
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


# ---- who may see the console -----------------------------------------------------------------

PAGES = (
    "/trust",
    "/trust/access",
    "/trust/proposals",
    "/trust/proposals/new",
    "/trust/audit",
    "/trust/privacy",
    "/trust/report",
)


async def test_every_page_renders_for_a_trust_officer(desk: Desk, runtime: Runtime) -> None:
    officer = await desk("us_officer")
    support = await desk("us_support")
    customer = await desk("customer")
    ticket = await new_ticket(runtime, support, customer.id)
    proposal_page = await support.post(
        "/trust/proposals",
        {
            "key": "discovery.ranking_blend",
            "scope": "us",
            "value": '{"weights": {"recency": 0.2}}',
            "rationale": RATIONALE,
        },
    )
    assert proposal_page.status_code == 303, proposal_page.text
    proposal_url = proposal_page.headers["location"].split("?")[0]
    await publish(runtime)
    [entry] = await audit_of(runtime, access.AUDIT_TICKET)

    for path in (*PAGES, proposal_url, f"/trust/audit/{entry.seq}"):
        response = await officer.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert "text/html" in response.headers["content-type"]
        assert response.headers["cache-control"] == "no-store"
        assert_clean_page(response.text, response.headers["content-security-policy"])
        assert 'aria-label="Trust console"' in response.text
    access_page = await officer.get("/trust/access")
    assert ticket.id in access_page.text
    assert f'action="/trust/access/tickets/{ticket.id}/approve"' in access_page.text
    report = await officer.client.get("/trust/report.json")
    assert report.status_code == 200 and report.json()["region"] == "us"


async def test_overview_counts_what_waits_for_the_region(desk: Desk, runtime: Runtime) -> None:
    officer = await desk("us_officer")
    support = await desk("us_support")
    customer = await desk("customer")
    await new_ticket(runtime, support, customer.id)
    await new_ticket(runtime, support, customer.id)
    async with UnitOfWork(runtime.databases) as uow:
        await access.request_break_glass(
            uow,
            runtime,
            support.principal,
            owner_id=customer.id,
            category="account",
            purpose="safety_review",
            reason="threat reported by a creator",
        )
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        await privacy.open_request(
            uow, customer.principal, "access", now=utcnow() - timedelta(days=60)
        )
        await privacy.open_request(uow, customer.principal, "access")
    page = await officer.get("/trust")
    assert page.status_code == 200
    counts = dict(
        re.findall(r'<span class="stat__value" id="stat-([a-z-]+)">(\d+)</span>', page.text)
    )
    assert counts == {
        "tickets": "2",
        "break-glass": "1",
        "proposals": "0",
        "privacy": "2",
        "overdue": "1",
    }
    assert "No tree head has been published yet" in page.text
    size = await publish(runtime)
    page = await officer.get("/trust")
    assert f"{size} entries" in text_of(page.text)


async def test_non_staff_get_403_and_anonymous_visitors_log_in(
    desk: Desk, app: FastAPI, runtime: Runtime
) -> None:
    shopper = await desk("shopper")
    officer = await desk("us_officer")
    for path in (*PAGES, "/trust/audit/0", "/trust/report.json"):
        response = await shopper.get(path)
        assert response.status_code == 403, path
        if path != "/trust/report.json":
            assert "for staff only" in response.text
    # Writes are refused too, and change nothing.
    support = await desk("us_support")
    ticket = await new_ticket(runtime, support, shopper.id)
    refused = await shopper.post(f"/trust/access/tickets/{ticket.id}/approve")
    assert refused.status_code == 403
    assert (await ticket_row(runtime, ticket.id)).status == "pending"

    anonymous = desk.client()
    for path in PAGES:
        response = await anonymous.get(path, headers=HTML)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"
    assert (await officer.get("/trust")).status_code == 200


async def test_a_bearer_token_cannot_open_the_console(desk: Desk) -> None:
    officer = await desk("us_officer")
    created = await officer.client.post(
        "/api/v1/me/tokens",
        json={"name": "script", "scopes": ["account:read"]},
        headers={"x-csrf-token": officer.csrf},
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    anonymous = desk.client()
    response = await anonymous.get("/trust", headers={**HTML, "authorization": f"Bearer {token}"})
    assert response.status_code == 403


# ---- access: tickets and break-glass ---------------------------------------------------------


async def test_a_trust_officer_approves_a_ticket_through_the_page(
    desk: Desk, runtime: Runtime
) -> None:
    officer = await desk("us_officer")
    support = await desk("us_support")
    customer = await desk("customer")
    ticket = await new_ticket(runtime, support, customer.id)

    response = await officer.post(f"/trust/access/tickets/{ticket.id}/approve")
    assert response.status_code == 303
    assert response.headers["location"] == "/trust/access?notice=ticket_approved"
    page = await officer.get(response.headers["location"])
    assert "Ticket approved" in flashes(page.text)
    row = await ticket_row(runtime, ticket.id)
    assert (row.status, row.approved_by) == ("approved", officer.id)
    assert row.expires_at is not None
    # Approved: no approve button any more, and the audit log has the approval.
    assert f"/trust/access/tickets/{ticket.id}/approve" not in page.text
    events = [e.attributes["event"] for e in await audit_of(runtime, access.AUDIT_TICKET)]
    assert events == ["requested", "approved"]
    # The requester sees it approved, without a button.
    mine = await support.get("/trust/access?status=approved")
    assert ticket.id in mine.text and "Approved" in mine.text


async def test_a_requester_cannot_approve_their_own_ticket(desk: Desk, runtime: Runtime) -> None:
    officer = await desk("us_officer")  # a trust officer asking for their own ticket
    customer = await desk("customer")
    ticket = await new_ticket(runtime, officer, customer.id)
    page = await officer.get("/trust/access")
    assert ticket.id in page.text
    assert f"/trust/access/tickets/{ticket.id}/approve" not in page.text  # no button
    assert "Your request" in page.text

    response = await officer.post(f"/trust/access/tickets/{ticket.id}/approve")  # forged
    assert response.status_code == 403
    assert "You cannot approve your own ticket." in flashes(response.text)
    row = await ticket_row(runtime, ticket.id)
    assert (row.status, row.approved_by, row.approved_at, row.expires_at) == (
        "pending",
        None,
        None,
        None,
    )
    refusals = [
        e.attributes
        for e in await audit_of(runtime, access.AUDIT_TICKET)
        if e.attributes["event"] == "approval_refused"
    ]
    assert [r["refusal"] for r in refusals] == ["own_request"]


async def test_only_trust_officers_of_the_data_region_approve(desk: Desk, runtime: Runtime) -> None:
    support = await desk("us_support")
    support_2 = await desk("us_support_2")
    intl = await desk("intl_officer")
    customer = await desk("customer")
    ticket = await new_ticket(runtime, support, customer.id)
    for person, message in (
        (intl, "Only a trust officer of region 'us' can approve this ticket."),
        (support_2, "Only a trust officer can approve tickets."),
    ):
        page = await person.get("/trust/access")
        assert f"/trust/access/tickets/{ticket.id}/approve" not in page.text
        response = await person.post(f"/trust/access/tickets/{ticket.id}/approve")
        assert response.status_code == 403
        assert message in flashes(response.text)
    assert (await ticket_row(runtime, ticket.id)).status == "pending"
    missing = await intl.post("/trust/access/tickets/atk_missing/approve")
    assert missing.status_code == 404 and "No such ticket." in flashes(missing.text)


async def test_break_glass_needs_two_approvers_through_the_page(
    desk: Desk, runtime: Runtime, policies: None
) -> None:
    support = await desk("us_support")
    officer = await desk("us_officer")
    second = await desk("us_support_2")
    customer = await desk("customer")
    created = await support.post(
        "/trust/access/break-glass",
        {
            "owner_id": customer.id,
            "category": "account",
            "purpose": "safety_review",
            "reason": "credible threat reported",
        },
    )
    assert created.status_code == 303, created.text
    async with runtime.databases.session(CONTROL) as session:
        [grant] = list(await session.scalars(select(BreakGlassGrant)))
    own = await support.post(f"/trust/access/break-glass/{grant.id}/approve")
    assert own.status_code == 403 and "your own" in flashes(own.text)

    first = await officer.post(f"/trust/access/break-glass/{grant.id}/approve")
    assert first.headers["location"] == "/trust/access?notice=break_glass_approved"
    page = await officer.get("/trust/access")
    assert "You approved" in page.text
    twice = await officer.post(f"/trust/access/break-glass/{grant.id}/approve")
    assert twice.status_code == 409
    done = await second.post(f"/trust/access/break-glass/{grant.id}/approve")
    assert done.headers["location"] == "/trust/access?notice=break_glass_granted"
    async with runtime.databases.session(CONTROL) as session:
        fresh = await session.get(BreakGlassGrant, grant.id)
        assert fresh is not None and fresh.status == "approved"

    read = await support.post(
        "/trust/access/read",
        {
            "owner_id": customer.id,
            "category": "account",
            "purpose": "safety_review",
            "break_glass_id": grant.id,
        },
    )
    assert read.status_code == 200, read.text
    assert "customer@example.com" in read.text
    assert "break glass read" in text_of(read.text)


async def test_requesting_a_ticket_through_the_page(desk: Desk, runtime: Runtime) -> None:
    support = await desk("us_support")
    customer = await desk("customer")
    bad = await support.post(
        "/trust/access/tickets",
        {"owner_ids": "", "region": "", "category": "account", "purpose": "support_case"},
    )
    assert bad.status_code == 422 and "not both" in bad.text
    nobody = await support.post(
        "/trust/access/tickets",
        {
            "owner_ids": "usr_nowhere_1",
            "category": "account",
            "purpose": "support_case",
            "justification": "case 12",
        },
    )
    assert nobody.status_code == 404 and "No such user." in nobody.text, text_of(nobody.text)[:3000]
    ok = await support.post(
        "/trust/access/tickets",
        {
            "owner_ids": f"{customer.id}\n{customer.id}",
            "category": "events",
            "purpose": "support_case",
            "justification": "case 12",
        },
    )
    assert ok.status_code == 303
    async with runtime.databases.session(CONTROL) as session:
        [ticket] = list(await session.scalars(select(AccessTicket)))
    assert (ticket.owner_ids, ticket.category, ticket.status) == (
        [customer.id],
        "events",
        "pending",
    )


# ---- access: personal-data reads -------------------------------------------------------------


async def test_reading_personal_data_shows_the_data_or_the_denial(
    desk: Desk, runtime: Runtime, policies: None
) -> None:
    support = await desk("us_support")
    intl = await desk("intl_officer")
    customer = await desk("customer")
    form = {"owner_id": customer.id, "category": "account", "purpose": "support_case"}

    allowed = await support.post("/trust/access/read", form)
    assert allowed.status_code == 200
    assert "customer@example.com" in allowed.text
    decisions = await audit_of(runtime, access.AUDIT_DECISION)
    assert f'href="/trust/audit/{decisions[-1].seq}"' in allowed.text
    assert "staff-read-for-allowed-purpose" in allowed.text

    denied = await intl.post("/trust/access/read", form)
    assert denied.status_code == 403
    assert "customer@example.com" not in denied.text
    assert "forbid-staff-cross-region-personal-data" in denied.text
    decisions = await audit_of(runtime, access.AUDIT_DECISION)
    assert decisions[-1].attributes["allowed"] is False
    assert f"audit entry #{decisions[-1].seq}" in text_of(denied.text)

    invalid = await support.post("/trust/access/read", {**form, "purpose": "curiosity"})
    assert invalid.status_code == 422
    assert "Choose a purpose from the list." in invalid.text
    assert len(await audit_of(runtime, access.AUDIT_DECISION)) == 2  # not decided at all


def test_the_purpose_list_is_the_policies_list() -> None:
    from importlib import resources

    cedar = (resources.files("shopreel.sovereignty") / "policies" / "access.cedar").read_text()
    lists = re.findall(r'\[\s*("support_case"[^\]]*)\]', cedar)
    assert lists, "allowed purposes not found in access.cedar"
    for found in lists:
        assert tuple(re.findall(r'"([a-z_]+)"', found)) == trust_pages.PURPOSES


# ---- proposals -------------------------------------------------------------------------------


async def propose(person: Person, scope: str = "us", value: str = '{"cap": 20}') -> str:
    response = await person.post(
        "/trust/proposals",
        {"key": "discovery.ranking_blend", "scope": scope, "value": value, "rationale": RATIONALE},
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"].split("/")[-1].split("?")[0])


async def proposal_row(runtime: Runtime, proposal_id: str) -> Proposal:
    async with runtime.databases.session(CONTROL) as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None
        return proposal


async def test_proposal_approved_through_the_page_is_applied(desk: Desk, runtime: Runtime) -> None:
    support = await desk("us_support")
    officer = await desk("us_officer")
    proposal_id = await propose(support, value='{"weights": {"recency": 0.3}, "cap": 20}')
    page = await support.get(f"/trust/proposals/{proposal_id}?notice=proposal_created")
    assert "Proposal created" in flashes(page.text)
    assert "a second person must decide it" in page.text
    assert f"/trust/proposals/{proposal_id}/approve" not in page.text
    text = text_of(page.text)
    assert "+ Added / " in text  # first value of the key: one addition at the root

    own = await support.post(f"/trust/proposals/{proposal_id}/approve", {"authority": "us"})
    assert own.status_code == 403
    assert (await proposal_row(runtime, proposal_id)).status == "pending"

    detail = await officer.get(f"/trust/proposals/{proposal_id}")
    assert f'action="/trust/proposals/{proposal_id}/approve"' in detail.text
    listing = await officer.get("/trust/proposals")
    assert proposal_id in listing.text and "Needs your decision" in listing.text
    response = await officer.post(
        f"/trust/proposals/{proposal_id}/approve", {"authority": "us", "comment": "Fine."}
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("notice=proposal_applied")
    row = await proposal_row(runtime, proposal_id)
    assert row.status == "applied"
    async with runtime.databases.session(CONTROL) as session:
        [version] = list(await session.scalars(select(SettingVersion)))
    assert (version.key, version.scope, version.version) == ("discovery.ranking_blend", "us", 1)

    # A second proposal now shows a readable diff against version 1.
    second = await propose(support, value='{"weights": {"recency": 0.5}, "cap": 20, "new": true}')
    text = text_of((await officer.get(f"/trust/proposals/{second}")).text)
    assert "~ Changed /weights/recency from 0.3 → to 0.5" in text
    assert "+ Added /new true" in text
    assert "version 1 of the us value" in text


async def test_proposal_rejected_through_the_page(desk: Desk, runtime: Runtime) -> None:
    support = await desk("us_support")
    officer = await desk("us_officer")
    intl = await desk("intl_officer")
    proposal_id = await propose(support)
    wrong = await intl.post(f"/trust/proposals/{proposal_id}/reject", {"comment": "No."})
    assert wrong.status_code == 403
    no_reason = await officer.post(f"/trust/proposals/{proposal_id}/reject", {"comment": " "})
    assert no_reason.status_code == 422
    assert "comment" in flashes(no_reason.text)
    assert (await proposal_row(runtime, proposal_id)).status == "pending"

    rejected = await officer.post(
        f"/trust/proposals/{proposal_id}/reject",
        {"authority": "us", "comment": "Not before the audit."},
    )
    assert rejected.status_code == 303
    row = await proposal_row(runtime, proposal_id)
    assert row.status == "rejected"
    assert [(s.authority, s.decision, s.comment) for s in row.approvals] == [
        ("us", "rejected", "Not before the audit.")
    ]
    page = await officer.get(f"/trust/proposals/{proposal_id}")
    assert "Not before the audit." in page.text
    assert f"/trust/proposals/{proposal_id}/approve" not in page.text
    listing = await officer.get("/trust/proposals?status=rejected")
    assert proposal_id in listing.text
    assert proposal_id not in (await officer.get("/trust/proposals")).text  # pending only
    missing = await officer.get("/trust/proposals/prp_missing")
    assert missing.status_code == 404


async def test_proposal_form_shows_field_errors(desk: Desk, runtime: Runtime) -> None:
    support = await desk("us_support")
    cases = [
        ({"value": "{not json"}, "not valid JSON"),
        ({"value": "null"}, "cannot be null"),
        ({"rationale": "short"}, "rationale must be"),
        ({"key": "fees.referral_rate_bps", "scope": "us", "value": "250"}, "global only"),
        ({"key": "fees.referral_rate_bps", "scope": "global", "value": "99999"}, "basis points"),
    ]
    for change, message in cases:
        form = {
            "key": "discovery.ranking_blend",
            "scope": "us",
            "value": "{}",
            "rationale": RATIONALE,
            **change,
        }
        response = await support.post("/trust/proposals", form)
        assert response.status_code == 422, (change, response.status_code)
        assert message in html.unescape(response.text), change
        assert 'class="error-summary"' in response.text
    async with runtime.databases.session(CONTROL) as session:
        assert list(await session.scalars(select(Proposal))) == []


# ---- audit log -------------------------------------------------------------------------------


async def test_audit_entry_page_and_inclusion_proof_verify(desk: Desk, runtime: Runtime) -> None:
    officer = await desk("us_officer")
    support = await desk("us_support")
    customer = await desk("customer")
    for _ in range(3):
        await new_ticket(runtime, support, customer.id)
    size = await publish(runtime)
    assert size == 3
    entry = (await audit_of(runtime, access.AUDIT_TICKET))[1]

    page = await officer.get(f"/trust/audit/{entry.seq}")
    assert page.status_code == 200
    leaf = re.search(
        r'<pre class="code-block" id="leaf-json"><code>(.*?)</code></pre>', page.text, re.S
    )
    assert leaf and html.unescape(leaf.group(1)).encode() == bytes(entry.leaf_data)
    assert bytes(entry.leaf_hash).hex() in page.text
    assert "Matches the leaf" in page.text
    assert f'href="/trust/audit/{entry.seq}/proof.json"' in page.text

    download = await officer.client.get(f"/trust/audit/{entry.seq}/proof.json")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"].startswith("attachment;")
    proof = json.loads(download.content)
    data = base64.b64decode(proof["leaf_data"])
    assert data == bytes(entry.leaf_data) and proof["entry"] == json.loads(data)
    assert proof["leaf_hash"] == merkle.leaf_hash(data).hex()
    head = proof["tree_head"]
    root = bytes.fromhex(head["root_hash"])
    assert merkle.verify_inclusion(
        merkle.leaf_hash(data),
        proof["seq"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        root,
    )
    key = public_key_from_bytes(base64.b64decode(proof["public_key"]["public_key"]))
    signed = audit.SignedHead.from_json(head)
    assert merkle.verify_tree_head(key, signed.tree_head, signed.signature)
    assert proof["public_key"]["key_id"] == head["key_id"]
    # A tampered leaf does not verify against the same proof.
    assert not merkle.verify_inclusion(
        merkle.leaf_hash(data.replace(b"requested", b"approved!")),
        proof["seq"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        root,
    )

    # An entry newer than the latest signed tree head has no proof yet.
    await new_ticket(runtime, support, customer.id)
    newest = (await audit_of(runtime, access.AUDIT_TICKET))[-1]
    page = await officer.get(f"/trust/audit/{newest.seq}")
    assert "newer than the latest signed tree head" in page.text
    assert "proof.json" not in page.text
    assert (await officer.client.get(f"/trust/audit/{newest.seq}/proof.json")).status_code == 422
    assert (await officer.get("/trust/audit/999")).status_code == 404


async def test_verify_log_now(desk: Desk, runtime: Runtime) -> None:
    officer = await desk("us_officer")
    support = await desk("us_support")
    customer = await desk("customer")
    await new_ticket(runtime, support, customer.id)
    await publish(runtime)
    response = await officer.post("/trust/audit/verify")
    assert response.status_code == 200
    assert "The audit log is intact." in flashes(response.text)
    assert "audit log intact: 1 entries, 1 signed tree heads" in response.text
    assert "Intact" in response.text


async def test_audit_list_filters_by_kind_and_pages(desk: Desk, runtime: Runtime) -> None:
    officer = await desk("us_officer")
    async with runtime.databases.session(CONTROL) as session:
        for n in range(55):
            await audit.append(
                session,
                kind="test.ping" if n % 5 else "test.pong",
                actor_id=f"usr_us_{n}",
                subject_id=None,
                region="us",
                attributes={"n": n},
            )
        await session.commit()
    first = await officer.get("/trust/audit")
    seqs = [int(s) for s in re.findall(r'href="/trust/audit/(\d+)"', first.text)]
    assert seqs == list(range(54, 4, -1))  # newest first, 50 a page
    assert 'href="/trust/audit?page=2"' in first.text
    second = await officer.get("/trust/audit?page=2")
    assert [int(s) for s in re.findall(r'href="/trust/audit/(\d+)"', second.text)] == [
        4,
        3,
        2,
        1,
        0,
    ]
    pongs = await officer.get("/trust/audit?kind=test.pong")
    assert [int(s) for s in re.findall(r'href="/trust/audit/(\d+)"', pongs.text)] == list(
        range(50, -1, -5)
    )
    assert "11 entries of kind" in text_of(pongs.text)
    assert '<option value="test.pong" selected>' in pongs.text


# ---- privacy requests ------------------------------------------------------------------------


async def test_privacy_page_lists_open_requests_with_their_clocks(
    desk: Desk, runtime: Runtime
) -> None:
    officer = await desk("us_officer")
    intl = await desk("intl_officer")
    customer = await desk("customer")
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        late = await privacy.open_request(
            uow, customer.principal, "access", now=utcnow() - timedelta(days=50)
        )
        fresh = await privacy.open_request(uow, customer.principal, "export")
    page = await officer.get("/trust/privacy")
    assert page.status_code == 200
    text = text_of(page.text)
    assert late.id in text and fresh.id in text
    assert text.index(late.id) < text.index(fresh.id)  # most urgent first
    assert "Acknowledgement overdue" in text and "Overdue by" in text
    assert "CCPA" in text and "1 overdue" in text
    assert 'class="is-overdue"' in page.text
    # Another region's staff see their own region's requests only.
    assert late.id not in (await intl.get("/trust/privacy")).text


async def test_report_rejects_an_unknown_region(desk: Desk, tmp_path: Path) -> None:
    officer = await desk("us_officer")
    response = await officer.get("/trust/report?region=mars")
    assert response.status_code == 422
    assert (await officer.get("/trust/report?days=0")).status_code == 422
