"""Staff access JSON API (``/api/v1/staff``): reads, tickets, break-glass, aggregates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shopreel.accounts.models import User
from shopreel.kit.ids import new_id
from shopreel.kit.time import set_clock
from shopreel.runtime import Runtime
from shopreel.sovereignty import access
from tests.fixtures.factories import api_login, create_user
from tests.fixtures.governance import genesis
from tests.sovereignty.test_access_service import (
    CROSS_REGION,
    AuditCounter,
    audit_entries,
    make_staff,
    seed_us_region_countries,
)

STAFF = "/api/v1/staff"
EMAILS: dict[str, str] = {}  # user id -> email, to log in


class Session:
    """A logged-in browser session of one user."""

    def __init__(self, client: httpx.AsyncClient, csrf: str, user: User) -> None:
        self.client = client
        self.csrf = csrf
        self.user = user

    @property
    def id(self) -> str:
        return self.user.id

    async def post(self, path: str, json: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(
            f"{STAFF}{path}", json=json or {}, headers={"X-CSRF-Token": self.csrf}
        )

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(f"{STAFF}{path}", params=params)


Login = Callable[[User], Awaitable[Session]]


@pytest.fixture(autouse=True)
async def _policy_genesis(runtime: Runtime) -> None:
    """The deploy gate needs the packaged policy set on every region's allowlist."""
    await genesis(runtime)


@pytest.fixture
async def staff_app(app: FastAPI) -> FastAPI:
    return app


@pytest.fixture
async def login(staff_app: FastAPI) -> AsyncIterator[Login]:
    async with AsyncExitStack() as stack:

        async def _login(user: User) -> Session:
            transport = httpx.ASGITransport(app=staff_app, client=("203.0.113.9", 52000))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
            return Session(client, await api_login(client, EMAILS[user.id]), user)

        yield _login


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    """A fake clock: tests move ``clock[0]``."""
    now = [datetime.now(UTC)]
    set_clock(lambda: now[0])
    yield now
    set_clock(None)


def _new_email() -> str:
    return f"api-{new_id('u')[-10:]}@example.com"


async def user(runtime: Runtime, **kwargs: Any) -> User:
    """``create_user`` that remembers the email for logging in."""
    email = kwargs.pop("email", None) or _new_email()
    made = await create_user(runtime, email=email, **kwargs)
    EMAILS[made.id] = email
    return made


async def staff(runtime: Runtime, **kwargs: Any) -> User:
    email = _new_email()
    made = await make_staff(runtime, email=email, **kwargs)
    EMAILS[made.id] = email
    return made


def assert_denied(response: httpx.Response, code: str = "access_denied") -> dict[str, Any]:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# ---- personal data ---------------------------------------------------------------------------


async def test_read_personal_data_us_allowed_sg_denied(runtime: Runtime, login: Login) -> None:
    owner = await user(runtime, email="lin@example.com", display_name="Lin Park")
    us = await login(await staff(runtime))
    sg = await login(await staff(runtime, jurisdiction="SG"))
    counter = await AuditCounter(runtime).start()
    body = {"owner_id": owner.id, "category": "account", "purpose": "support_case"}

    ok = await us.post("/personal-data", body)
    assert ok.status_code == 200, ok.text
    result = ok.json()
    assert result["data"]["email"] == "lin@example.com"
    assert result["data"]["display_name"] == "Lin Park"
    assert result["data"]["country"] == "US" and result["region"] == "us"
    assert result["decision"]["allowed"] is True
    await counter.one(allowed=True, subject=owner.id, actor=us.id)

    problem = assert_denied(await sg.post("/personal-data", body))
    assert problem["reasons"] == [CROSS_REGION]
    assert "lin@example.com" not in str(problem)
    entry = await counter.one(allowed=False, subject=owner.id, actor=sg.id)
    assert problem["audit_seq"] == entry.seq


async def test_sg_staff_denied_with_ticket_and_break_glass_via_api(
    runtime: Runtime, login: Login
) -> None:
    owner = await user(runtime)
    sg = await login(await staff(runtime, jurisdiction="SG"))
    officer = await login(await staff(runtime, staff_roles=("trust_officer",)))
    us_a = await login(await staff(runtime))
    us_b = await login(await staff(runtime))
    purpose = "support_case"
    ticket = (
        await sg.post(
            "/tickets",
            {
                "owner_ids": [owner.id],
                "category": "account",
                "purpose": purpose,
                "justification": "account takeover sweep",
            },
        )
    ).json()
    approved = await officer.post(f"/tickets/{ticket['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    grant = (
        await sg.post(
            "/break-glass",
            {"owner_id": owner.id, "category": "account", "purpose": purpose, "reason": "r"},
        )
    ).json()
    for approver in (us_a, us_b):
        assert (await approver.post(f"/break-glass/{grant['id']}/approve")).status_code == 200
    counter = await AuditCounter(runtime).start()
    base = {"owner_id": owner.id, "category": "account", "purpose": purpose}
    for extra in ({}, {"ticket_id": ticket["id"]}, {"break_glass_id": grant["id"]}):
        problem = assert_denied(await sg.post("/personal-data", {**base, **extra}))
        assert problem["reasons"] == [CROSS_REGION]
        await counter.one(allowed=False, subject=owner.id, actor=sg.id)


@pytest.mark.parametrize("purpose", [None, "", "because"])
async def test_missing_or_invalid_purpose_is_403(
    runtime: Runtime, login: Login, purpose: str | None
) -> None:
    owner = await user(runtime)
    us = await login(await staff(runtime))
    counter = await AuditCounter(runtime).start()
    body: dict[str, Any] = {"owner_id": owner.id, "category": "account"}
    if purpose is not None:
        body["purpose"] = purpose
    problem = assert_denied(await us.post("/personal-data", body))
    assert problem["reasons"] == []
    await counter.one(allowed=False, subject=owner.id, actor=us.id)


async def test_who_may_call_the_staff_api(
    runtime: Runtime, login: Login, staff_app: FastAPI
) -> None:
    owner = await user(runtime)
    shopper = await login(await user(runtime))
    counter = await AuditCounter(runtime).start()
    body = {"owner_id": owner.id, "category": "account", "purpose": "support_case"}

    assert_denied(await shopper.post("/personal-data", body), "permission_denied")
    for path in ("/tickets", "/break-glass", "/aggregates/users-by-country?region=us"):
        assert_denied(await shopper.get(path), "permission_denied")

    transport = httpx.ASGITransport(app=staff_app, client=("203.0.113.10", 52001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
        response = await anon.post(f"{STAFF}/personal-data", json=body)
        assert response.status_code == 401

    us = await login(await staff(runtime))
    created = await us.client.post(
        "/api/v1/me/tokens",
        json={"name": "script", "scopes": ["account:read"]},
        headers={"X-CSRF-Token": us.csrf},
    )
    assert created.status_code == 201, created.text
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bot:
        response = await bot.post(
            f"{STAFF}/personal-data",
            json=body,
            headers={"Authorization": f"Bearer {created.json()['token']}"},
        )
    assert_denied(response, "session_required")

    csrf_less = await us.client.post(f"{STAFF}/personal-data", json=body)
    assert_denied(csrf_less, "csrf_failed")
    assert await counter.new() == []  # none of these reached the broker


async def test_unknown_owner_404_and_unknown_category_422(runtime: Runtime, login: Login) -> None:
    owner = await user(runtime)
    us = await login(await staff(runtime))
    counter = await AuditCounter(runtime).start()
    response = await us.post(
        "/personal-data", {"owner_id": "usr_zz_nobody", "category": "account", "purpose": "x"}
    )
    assert response.status_code == 404 and response.json()["code"] == "owner_not_found"
    response = await us.post(
        "/personal-data", {"owner_id": owner.id, "category": "payments", "purpose": "x"}
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_category"
    response = await us.post(
        "/personal-data",
        {
            "owner_id": owner.id,
            "category": "account",
            "purpose": "x",
            "ticket_id": "a",
            "break_glass_id": "b",
        },
    )
    assert response.status_code == 422
    assert await counter.new() == []


async def test_events_via_api(runtime: Runtime, login: Login) -> None:
    owner = await user(runtime)
    us = await login(await staff(runtime, staff_roles=("fraud_analyst",)))
    response = await us.post(
        "/personal-data",
        {"owner_id": owner.id, "category": "events", "purpose": "fraud_investigation"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"events": [], "limit": 100}


# ---- tickets ---------------------------------------------------------------------------------


async def test_ticket_flow_and_bulk_read(runtime: Runtime, login: Login) -> None:
    owners = [await user(runtime, display_name=f"Bulk {i}") for i in range(2)]
    owner_ids = [o.id for o in owners]
    requester = await login(await staff(runtime, staff_roles=("support", "trust_officer")))
    officer = await login(await staff(runtime, staff_roles=("trust_officer",)))
    counter = await AuditCounter(runtime).start()
    bulk = {"owner_ids": owner_ids, "category": "account", "purpose": "support_case"}

    problem = assert_denied(await requester.post("/personal-data/bulk", bulk))
    assert [d["owner_id"] for d in problem["denied"]] == owner_ids
    assert [(e.subject_id, e.attributes["allowed"]) for e in await counter.new()] == [
        (o, False) for o in owner_ids
    ]

    created = await requester.post(
        "/tickets", {**bulk, "justification": "refund abuse ring, case 77"}
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["status"] == "pending" and ticket["region"] == "us"
    assert ticket["scope"] == "owners" and ticket["owner_ids"] == owner_ids

    own = await requester.post(f"/tickets/{ticket['id']}/approve")
    assert_denied(own, "own_request")
    pending = (await officer.get("/tickets", status="pending")).json()
    assert [(t["id"], t["status"], t["approved_by"]) for t in pending] == [
        (ticket["id"], "pending", None)
    ]
    assert (await officer.get("/tickets", status="approved")).json() == []

    approved = await officer.post(f"/tickets/{ticket['id']}/approve")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["approved_by"] == officer.id
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(
        body["approved_at"]
    )
    assert lifetime == timedelta(hours=24)
    again = await officer.post(f"/tickets/{ticket['id']}/approve")
    assert again.status_code == 409 and again.json()["code"] == "not_pending"
    missing = await officer.post("/tickets/atk_nope/approve")
    assert missing.status_code == 404 and missing.json()["code"] == "ticket_not_found"

    ok = await requester.post("/personal-data/bulk", {**bulk, "ticket_id": ticket["id"]})
    assert ok.status_code == 200, ok.text
    records = ok.json()["records"]
    assert [r["data"]["display_name"] for r in records] == ["Bulk 0", "Bulk 1"]
    assert [(e.subject_id, e.attributes["allowed"]) for e in await counter.new()] == [
        (o, True) for o in owner_ids
    ]
    listed = (await requester.get("/tickets", status="approved")).json()
    assert [t["id"] for t in listed] == [ticket["id"]]
    bad = await requester.get("/tickets", status="bogus")
    assert bad.status_code == 422

    events = [e.attributes["event"] for e in await audit_entries(runtime, "access.ticket")]
    assert events == ["requested", "approval_refused", "approved"]


async def test_region_wide_ticket_via_api(runtime: Runtime, login: Login) -> None:
    await user(runtime)
    requester = await login(await staff(runtime, staff_roles=("legal",)))
    officer = await login(await staff(runtime, staff_roles=("trust_officer",)))
    sg_officer = await login(
        await staff(runtime, jurisdiction="SG", staff_roles=("trust_officer",))
    )
    ticket = (
        await requester.post(
            "/tickets",
            {
                "region": "us",
                "category": "events",
                "purpose": "legal_request",
                "justification": "subpoena 2026-114",
            },
        )
    ).json()
    assert ticket["scope"] == "region"
    assert_denied(await sg_officer.post(f"/tickets/{ticket['id']}/approve"), "wrong_jurisdiction")
    assert (await officer.post(f"/tickets/{ticket['id']}/approve")).status_code == 200
    page = await requester.post(
        "/personal-data/bulk",
        {
            "region": "us",
            "category": "events",
            "purpose": "legal_request",
            "ticket_id": ticket["id"],
            "limit": 10,
        },
    )
    assert page.status_code == 200, page.text
    assert len(page.json()["records"]) == 3 and page.json()["next_after"] is None


# ---- break-glass -----------------------------------------------------------------------------


async def test_break_glass_flow_via_api(
    runtime: Runtime, login: Login, clock: list[datetime]
) -> None:
    owner = await user(runtime, email="kai@example.com")
    requester = await login(await staff(runtime))
    first = await login(await staff(runtime, staff_roles=("trust_officer",)))
    second = await login(await staff(runtime))
    outsider = await login(await staff(runtime, jurisdiction="DE"))
    purpose = "credible threat reported by police"
    created = await requester.post(
        "/break-glass",
        {"owner_id": owner.id, "category": "account", "purpose": purpose, "reason": "ticket 9"},
    )
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant["status"] == "pending" and grant["approvals"] == []
    assert grant["required_approvers"] == 2 and grant["region"] == "us"
    counter = await AuditCounter(runtime).start()
    read = {
        "owner_id": owner.id,
        "category": "account",
        "purpose": purpose,
        "break_glass_id": grant["id"],
    }

    assert_denied(await requester.post(f"/break-glass/{grant['id']}/approve"), "own_request")
    assert_denied(await outsider.post(f"/break-glass/{grant['id']}/approve"), "wrong_jurisdiction")
    one = await first.post(f"/break-glass/{grant['id']}/approve")
    assert one.status_code == 200 and one.json()["status"] == "pending"
    assert [a["approver_id"] for a in one.json()["approvals"]] == [first.id]
    dup = await first.post(f"/break-glass/{grant['id']}/approve")
    assert dup.status_code == 409 and dup.json()["code"] == "already_approved"

    assert_denied(await requester.post("/personal-data", read))
    await counter.one(allowed=False, subject=owner.id, actor=requester.id)

    two = await second.post(f"/break-glass/{grant['id']}/approve")
    assert two.status_code == 200 and two.json()["status"] == "approved"
    expires_at = datetime.fromisoformat(two.json()["expires_at"])
    assert expires_at - clock[0] == access.BREAK_GLASS_TTL
    listed = (await first.get("/break-glass", status="approved")).json()
    assert [(g["id"], len(g["approvals"])) for g in listed] == [(grant["id"], 2)]

    ok = await requester.post("/personal-data", read)
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["email"] == "kai@example.com"
    assert ok.json()["action"] == "break_glass_read"
    await counter.one(allowed=True, subject=owner.id, actor=requester.id)

    clock[0] = expires_at
    assert_denied(await requester.post("/personal-data", read))
    await counter.one(allowed=False, subject=owner.id, actor=requester.id)
    assert [g["id"] for g in (await first.get("/break-glass", status="expired")).json()] == [
        grant["id"]
    ]
    assert (await first.get("/break-glass", status="approved")).json() == []


# ---- aggregates ------------------------------------------------------------------------------


async def test_aggregates_for_hq_staff(runtime: Runtime, login: Login) -> None:
    hq = await login(await staff(runtime, jurisdiction="SG", staff_roles=("analyst",)))
    await seed_us_region_countries(runtime, {"US": 25, "CA": 3})
    counter = await AuditCounter(runtime).start()

    refused = assert_denied(await hq.get("/aggregates/users-by-country", region="us"))
    assert refused["reasons"] == ["forbid-aggregate-with-small-cells"]
    await counter.one(allowed=False, subject=None, actor=hq.id)

    await seed_us_region_countries(runtime, {"MX": 12})
    response = await hq.get("/aggregates/users-by-country", region="us")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"] == {"CA": None, "MX": None, "US": 25}
    assert body["suppressed"] == ["CA", "MX"] and body["k"] == 10
    assert all(count is None or count >= 10 for count in body["counts"].values())
    entry = await counter.one(allowed=True, subject=None, actor=hq.id)
    assert entry.region == "us" and entry.attributes["context"]["cell_size"] == 25

    unknown = await hq.get("/aggregates/users-by-country", region="mars")
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_region"
