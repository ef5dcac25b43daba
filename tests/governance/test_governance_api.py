"""The governance API end to end: proposals, the approval rules enforced by the API, applied
setting versions, the audit trail, and that denied requests change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.governance import service
from shopreel.governance.models import (
    DeployAllowlistEntry,
    Proposal,
    ProposalApproval,
    SettingVersion,
)
from shopreel.governance.rules import Actor
from shopreel.planes import CONTROL, GLOBAL, PlaneViolation, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty.models import AuditEntry
from tests.fixtures.factories import api_login, create_user

API = "/api/v1/governance"
RATIONALE = "Tune the feed after the Q3 experiment results."
BLEND = {"weights": {"recency": 0.3, "follows": 0.5}, "cap": 20}


STAFF: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # who: (country, jurisdiction, staff roles)
    "hq": ("US", "US", ("analyst",)),  # proposes
    "us_officer": ("US", "US", ("trust_officer",)),
    "us_officer_2": ("US", "US", ("trust_officer",)),
    "intl_officer": ("SG", "SG", ("trust_officer",)),  # jurisdiction SG -> region intl
    "expat_officer": ("US", "SG", ("trust_officer",)),  # lives in the US, works for intl
    "analyst": ("SG", "SG", ("analyst",)),  # staff without the trust_officer role
    "policy_admin": ("US", "US", ("policy_admin",)),
}


class Desk:
    """The people of a test, each created on first use with their own signed-in client
    (so no test pays for accounts or logins it does not use)."""

    def __init__(self, runtime: Runtime, app: FastAPI) -> None:
        self.runtime = runtime
        self.app = app
        self._clients: dict[str, tuple[httpx.AsyncClient, dict[str, str], str]] = {}

    def new_client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.8", 51001))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def _session(self, who: str) -> tuple[httpx.AsyncClient, dict[str, str], str]:
        if who not in self._clients:
            email = f"{who.replace('_', '-')}@example.com"
            if who == "shopper":
                user = await create_user(self.runtime, email=email)
            else:
                country, jurisdiction, roles = STAFF[who]
                user = await create_user(
                    self.runtime,
                    email=email,
                    country=country,
                    roles=("staff",),
                    jurisdiction=jurisdiction,
                    staff_roles=roles,
                )
            client = self.new_client()
            headers = {"X-CSRF-Token": await api_login(client, email)}
            self._clients[who] = (client, headers, user.id)
        return self._clients[who]

    async def client(self, who: str) -> httpx.AsyncClient:
        return (await self._session(who))[0]

    async def id(self, who: str) -> str:
        return (await self._session(who))[2]

    async def request(
        self, who: str, method: str, path: str, *, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        client, headers, _ = await self._session(who)
        return await client.request(method, path, json=json, headers=headers, **kwargs)

    async def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        return await self.request(who, "GET", path, params=params)

    async def aclose(self) -> None:
        for client, _, _ in self._clients.values():
            await client.aclose()


@pytest.fixture
async def desk(runtime: Runtime, app: FastAPI) -> AsyncIterator[Desk]:
    desk = Desk(runtime, app)
    yield desk
    await desk.aclose()


async def propose(
    desk: Desk,
    who: str = "hq",
    *,
    key: str = "discovery.ranking_blend",
    scope: str = "global",
    value: Any = None,
    rationale: str = RATIONALE,
    expect: int = 201,
) -> dict[str, Any]:
    body = {"key": key, "scope": scope, "value": BLEND if value is None else value}
    body["rationale"] = rationale
    response = await desk.request(who, "POST", f"{API}/proposals", json=body)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


async def decide(
    desk: Desk,
    who: str,
    proposal_id: str,
    action: str = "approve",
    *,
    expect: int = 200,
    code: str | None = None,
    **body: Any,
) -> dict[str, Any]:
    if action == "reject":
        body.setdefault("comment", "Not in our market, sorry.")
    path = f"{API}/proposals/{proposal_id}/{action}"
    response = await desk.request(who, "POST", path, json=body)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    if code is not None:
        assert data["code"] == code, data
        assert response.headers["content-type"].startswith("application/problem+json")
    return data


async def fetch(desk: Desk, path: str, who: str = "hq", **params: Any) -> Any:
    response = await desk.get(who, path, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every governance row and audit entry, for before/after comparisons."""
    async with runtime.databases.session(CONTROL) as session:

        async def rows(*columns: Any) -> list[tuple[Any, ...]]:
            result = await session.execute(select(*columns).order_by(*columns[:1]))
            return [tuple(r) for r in result.all()]

        return {
            "proposals": await rows(
                Proposal.id, Proposal.status, Proposal.decided_at, Proposal.value
            ),
            "approvals": await rows(
                ProposalApproval.id,
                ProposalApproval.decision,
                ProposalApproval.decided_by,
                ProposalApproval.comment,
            ),
            "versions": await rows(SettingVersion.id, SettingVersion.value),
            "allowlist": await rows(DeployAllowlistEntry.id, DeployAllowlistEntry.revoked_at),
            "audit": await rows(AuditEntry.seq, AuditEntry.kind, AuditEntry.attributes),
        }


async def audit_trail(runtime: Runtime, subject: str) -> list[tuple[str, str, str | None]]:
    """(kind, action, region) of the audit entries about ``subject``, in order."""
    async with runtime.databases.session(CONTROL) as session:
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == subject).order_by(AuditEntry.seq)
        )
        return [(e.kind, str(e.attributes["action"]), e.region) for e in entries]


# ---- proposing -------------------------------------------------------------------------------


async def test_proposal_carries_diff_and_required_regions(desk: Desk, runtime: Runtime) -> None:
    created = await propose(desk)
    assert created["status"] == "pending"
    assert created["key"] == "discovery.ranking_blend"
    assert created["base"] is None
    assert created["diff"] == {
        "added": [{"path": "", "value": BLEND}],
        "removed": [],
        "changed": [],
    }
    assert [(a["authority"], a["decision"]) for a in created["approvals"]] == [
        ("us", "pending"),
        ("intl", "pending"),
    ]
    assert created["pending_authorities"] == ["us", "intl"]
    assert created["proposed_by"] == await desk.id("hq")
    assert await fetch(desk, f"{API}/proposals/{created['id']}", "us_officer") == created
    assert await audit_trail(runtime, created["id"]) == [("policy.change", "propose", None)]


async def test_global_protected_change_needs_every_regions_trust_officer(
    desk: Desk, runtime: Runtime
) -> None:
    pid = (await propose(desk))["id"]

    after_us = await decide(desk, "us_officer", pid, comment="Fine for the US.")
    assert after_us["status"] == "pending"
    assert after_us["pending_authorities"] == ["intl"]
    us_slot = after_us["approvals"][0]
    assert us_slot["decision"] == "approved"
    assert us_slot["decided_by"] == await desk.id("us_officer")
    assert us_slot["comment"] == "Fine for the US."
    missing = await desk.get("hq", f"{API}/settings/discovery.ranking_blend", region="us")
    assert (missing.status_code, missing.json()["code"]) == (404, "setting_not_found")

    applied = await decide(desk, "intl_officer", pid)
    assert applied["status"] == "applied"
    assert applied["decided_at"] is not None
    assert applied["applied"] == [{"scope": "global", "version": 1}]
    for params in ({"region": "us"}, {"region": "intl"}, {}):
        body = await fetch(desk, f"{API}/settings/discovery.ranking_blend", **params)
        assert (body["value"], body["scope"], body["version"]) == (BLEND, "global", 1)
        assert body["proposal_id"] == pid
    assert await audit_trail(runtime, pid) == [
        ("policy.change", "propose", None),
        ("policy.change", "approve", "us"),
        ("policy.change", "approve", "intl"),
        ("policy.change", "apply", None),
    ]
    async with runtime.databases.session(CONTROL) as session:
        assert await service.effective_setting(session, "discovery.ranking_blend", "us") == BLEND


async def test_regional_override_needs_only_that_region_and_wins_there(desk: Desk) -> None:
    first = await propose(desk)
    await decide(desk, "us_officer", first["id"])
    await decide(desk, "intl_officer", first["id"])

    local = {"weights": {"recency": 0.6, "follows": 0.5}, "cap": 20}
    proposal = await propose(desk, scope="intl", value=local)
    assert [a["authority"] for a in proposal["approvals"]] == ["intl"]
    assert proposal["base"] == {"scope": "global", "version": 1}
    assert proposal["diff"]["changed"] == [{"path": "/weights/recency", "old": 0.3, "new": 0.6}]
    await decide(desk, "us_officer", proposal["id"], expect=403, code="wrong_jurisdiction")
    applied = await decide(desk, "intl_officer", proposal["id"])
    assert applied["status"] == "applied"
    assert applied["applied"] == [{"scope": "intl", "version": 1}]

    intl = await fetch(desk, f"{API}/settings/discovery.ranking_blend", region="intl")
    us = await fetch(desk, f"{API}/settings/discovery.ranking_blend", region="us")
    assert (intl["scope"], intl["value"]) == ("intl", local)
    assert (us["scope"], us["value"]) == ("global", BLEND)
    history = await fetch(desk, f"{API}/settings/discovery.ranking_blend/history", scope="intl")
    assert [v["version"] for v in history] == [1]
    history = await fetch(desk, f"{API}/settings/discovery.ranking_blend/history")
    assert [(v["scope"], v["version"]) for v in history] == [("global", 1)]


async def test_jurisdiction_not_home_region_decides_the_authority(desk: Desk) -> None:
    # Lives in the US (home region us) but works under Singapore rules: approves for intl.
    proposal = await propose(desk, scope="intl")
    pid = proposal["id"]
    code = "authority_not_required"
    await decide(desk, "expat_officer", pid, authority="us", expect=422, code=code)
    applied = await decide(desk, "expat_officer", proposal["id"])
    assert applied["status"] == "applied"


# ---- denied requests change nothing ----------------------------------------------------------


async def test_proposer_cannot_approve_their_own_proposal(desk: Desk, runtime: Runtime) -> None:
    # The proposer is the US trust officer: still needs a second person.
    proposal = await propose(desk, "us_officer", scope="us")
    before = await snapshot(runtime)
    await decide(desk, "us_officer", proposal["id"], expect=403, code="own_proposal")
    await decide(
        desk, "us_officer", proposal["id"], authority="us", expect=403, code="own_proposal"
    )
    await decide(desk, "us_officer", proposal["id"], "reject", expect=403, code="own_proposal")
    assert await snapshot(runtime) == before
    applied = await decide(desk, "us_officer_2", proposal["id"])
    assert applied["status"] == "applied"


async def test_trust_officer_of_another_region_cannot_approve(desk: Desk, runtime: Runtime) -> None:
    pid = (await propose(desk, scope="us"))["id"]
    before = await snapshot(runtime)
    await decide(desk, "intl_officer", pid, expect=403, code="wrong_jurisdiction")
    await decide(desk, "intl_officer", pid, authority="us", expect=403, code="wrong_jurisdiction")
    await decide(
        desk, "intl_officer", pid, authority="intl", expect=422, code="authority_not_required"
    )
    await decide(desk, "intl_officer", pid, "reject", expect=403, code="wrong_jurisdiction")
    await decide(desk, "analyst", pid, expect=403, code="not_trust_officer")
    await decide(desk, "policy_admin", pid, expect=403, code="not_trust_officer")
    assert await snapshot(runtime) == before


async def test_non_staff_get_403_everywhere_and_anonymous_401(desk: Desk, runtime: Runtime) -> None:
    proposal = await propose(desk)
    before = await snapshot(runtime)
    body = {"key": "access.policies", "scope": "us", "value": [1], "rationale": RATIONALE}
    requests = [
        ("POST", f"{API}/proposals", body),
        ("POST", f"{API}/proposals/{proposal['id']}/approve", {}),
        ("POST", f"{API}/proposals/{proposal['id']}/reject", {"comment": "no"}),
        ("GET", f"{API}/proposals", None),
        ("GET", f"{API}/proposals/{proposal['id']}", None),
        ("GET", f"{API}/settings/access.policies", None),
        ("GET", f"{API}/settings/access.policies/history", None),
        ("GET", f"{API}/allowlist", None),
        ("POST", f"{API}/allowlist/dpl_x/revoke", {"reason": "x"}),
    ]
    for method, url, json_body in requests:
        response = await desk.request("shopper", method, url, json=json_body)
        assert response.status_code == 403, (url, response.text)
        assert response.json()["code"] == "staff_only"
    async with desk.new_client() as anonymous:
        for method, url, json_body in requests:
            response = await anonymous.request(method, url, json=json_body)
            assert response.status_code == 401, (url, response.text)
    assert await snapshot(runtime) == before


async def test_access_tokens_cannot_govern(desk: Desk, runtime: Runtime) -> None:
    proposal = await propose(desk, scope="us")
    created = await desk.request(
        "us_officer", "POST", "/api/v1/me/tokens", json={"name": "ci", "scopes": ["account:read"]}
    )
    assert created.status_code == 201, created.text
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}
    before = await snapshot(runtime)
    async with desk.new_client() as script:
        response = await script.post(
            f"{API}/proposals/{proposal['id']}/approve", json={}, headers=bearer
        )
        assert (response.status_code, response.json()["code"]) == (403, "session_required")
        response = await script.get(f"{API}/proposals", headers=bearer)
        assert (response.status_code, response.json()["code"]) == (403, "session_required")
    assert await snapshot(runtime) == before


async def test_cookie_writes_need_the_csrf_token(desk: Desk, runtime: Runtime) -> None:
    proposal = await propose(desk, scope="us")
    client = await desk.client("us_officer")
    before = await snapshot(runtime)
    response = await client.post(f"{API}/proposals/{proposal['id']}/approve", json={})
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    assert await snapshot(runtime) == before


# ---- decisions -------------------------------------------------------------------------------


async def test_duplicate_approval_is_409_and_changes_nothing(desk: Desk, runtime: Runtime) -> None:
    pid = (await propose(desk))["id"]
    await decide(desk, "us_officer", pid)
    before = await snapshot(runtime)
    await decide(desk, "us_officer", pid, expect=409, code="already_decided")
    # Another US trust officer cannot decide for us a second time either.
    await decide(desk, "us_officer_2", pid, expect=409, code="already_decided")
    await decide(desk, "us_officer_2", pid, "reject", expect=409, code="already_decided")
    assert await snapshot(runtime) == before


async def test_decisions_on_a_non_pending_proposal_are_409(desk: Desk, runtime: Runtime) -> None:
    applied = await propose(desk, scope="us")
    await decide(desk, "us_officer", applied["id"])
    rejected = await propose(desk, key="enforcement.thresholds", value={"spam": 0.9})
    await decide(desk, "intl_officer", rejected["id"], "reject")
    before = await snapshot(runtime)
    for pid in (applied["id"], rejected["id"]):
        await decide(desk, "us_officer_2", pid, expect=409, code="proposal_not_pending")
        await decide(desk, "us_officer_2", pid, "reject", expect=409, code="proposal_not_pending")
    await decide(desk, "us_officer", rejected["id"], expect=409, code="proposal_not_pending")
    assert await snapshot(runtime) == before


async def test_one_rejection_rejects_and_is_audited(desk: Desk, runtime: Runtime) -> None:
    pid = (await propose(desk, key="catalog.restricted_categories", value=["weapons"]))["id"]
    await decide(desk, "us_officer", pid)
    await decide(
        desk, "intl_officer", pid, "reject", comment="  ", expect=422, code="validation_failed"
    )
    rejected = await decide(desk, "intl_officer", pid, "reject", comment="Conflicts with PDPA.")
    assert rejected["status"] == "rejected"
    assert rejected["pending_authorities"] == []
    assert rejected["approvals"][1]["decision"] == "rejected"
    assert rejected["approvals"][1]["comment"] == "Conflicts with PDPA."
    assert rejected["applied"] == []
    assert await audit_trail(runtime, pid) == [
        ("policy.change", "propose", None),
        ("policy.change", "approve", "us"),
        ("policy.change", "reject", "intl"),
    ]
    missing = await desk.get("hq", f"{API}/settings/catalog.restricted_categories")
    assert missing.status_code == 404


async def test_fees_are_global_and_need_a_policy_admin(desk: Desk, runtime: Runtime) -> None:
    key = "fees.referral_rate_bps"
    regional = await propose(desk, key=key, scope="us", value=300, expect=422)
    assert regional["code"] == "scope_not_allowed"
    bad = await propose(desk, key=key, value=20_000, expect=422)
    assert bad["code"] == "invalid_value"
    proposal = await propose(desk, key=key, value=300)
    assert [a["authority"] for a in proposal["approvals"]] == ["hq"]
    await decide(desk, "us_officer", proposal["id"], expect=403, code="not_policy_admin")
    applied = await decide(desk, "policy_admin", proposal["id"])
    assert applied["status"] == "applied"
    assert await audit_trail(runtime, proposal["id"]) == [
        ("policy.change", "propose", None),
        ("policy.change", "approve", None),
        ("policy.change", "apply", None),
    ]
    # A policy admin's own fee proposal needs another policy admin.
    own = await propose(desk, "policy_admin", key=key, value=350)
    assert own["diff"]["changed"] == [{"path": "", "old": 300, "new": 350}]
    await decide(desk, "policy_admin", own["id"], expect=403, code="own_proposal")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"rationale": "too short"}, "validation_failed"),
        ({"rationale": " " * 12}, "validation_failed"),
        ({"rationale": "x" * 2001}, "validation_failed"),
        ({"scope": "eu"}, "invalid_scope"),
        ({"key": "Not A Key"}, "invalid_setting_key"),
        ({"key": "deploy.ranker", "scope": "us"}, "invalid_setting_key"),
        ({"value": None}, "invalid_value"),
        ({"extra": 1}, "validation_failed"),
    ],
)
async def test_invalid_proposals_are_422(
    desk: Desk, runtime: Runtime, body: dict[str, Any], code: str
) -> None:
    payload: dict[str, Any] = {
        "key": "catalog.restricted_categories",
        "scope": "global",
        "value": {"a": 1},
        "rationale": RATIONALE,
    }
    payload.update(body)
    await desk.client("hq")
    before = await snapshot(runtime)
    response = await desk.request("hq", "POST", f"{API}/proposals", json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await snapshot(runtime) == before


async def test_unchanged_value_is_refused(desk: Desk) -> None:
    proposal = await propose(desk, scope="us")
    await decide(desk, "us_officer", proposal["id"])
    same = await propose(desk, scope="us", expect=422)
    assert same["code"] == "no_change"


async def test_applying_supersedes_pending_proposals_it_made_stale(
    desk: Desk, runtime: Runtime
) -> None:
    first = await propose(desk, scope="us")
    second = await propose(desk, scope="us", value={"cap": 5})
    other_region = await propose(desk, scope="intl")
    await decide(desk, "us_officer", first["id"])
    stale = await fetch(desk, f"{API}/proposals/{second['id']}")
    assert stale["status"] == "superseded"
    assert stale["pending_authorities"] == []
    assert (await fetch(desk, f"{API}/proposals/{other_region['id']}"))["status"] == "pending"
    await decide(desk, "us_officer_2", second["id"], expect=409, code="proposal_not_pending")
    assert await audit_trail(runtime, second["id"]) == [
        ("policy.change", "propose", "us"),
        ("policy.change", "supersede", "us"),
    ]


async def test_global_change_supersedes_regional_proposals_based_on_it(desk: Desk) -> None:
    regional = await propose(desk, scope="intl", value={"cap": 1})
    assert regional["base"] is None
    global_ = await propose(desk)
    await decide(desk, "us_officer", global_["id"])
    assert (await fetch(desk, f"{API}/proposals/{regional['id']}"))["status"] == "pending"
    await decide(desk, "intl_officer", global_["id"])
    assert (await fetch(desk, f"{API}/proposals/{regional['id']}"))["status"] == "superseded"


async def test_list_filters_by_status_and_region(desk: Desk) -> None:
    global_ = await propose(desk)
    us_only = await propose(desk, key="catalog.restricted_categories", scope="us", value=[1])
    intl_only = await propose(desk, key="catalog.restricted_categories", scope="intl", value=[2])
    fees = await propose(desk, key="fees.referral_rate_bps", value=100)
    await decide(desk, "us_officer", us_only["id"])

    async def ids(**params: Any) -> list[str]:
        return [p["id"] for p in await fetch(desk, f"{API}/proposals", **params)]

    assert await ids() == [fees["id"], intl_only["id"], us_only["id"], global_["id"]]
    assert await ids(region="intl") == [intl_only["id"], global_["id"]]
    assert await ids(region="us", status="pending") == [global_["id"]]
    assert await ids(status="applied") == [us_only["id"]]
    assert await ids(region="hq") == [fees["id"]]
    assert await ids(limit=2) == [fees["id"], intl_only["id"]]
    assert await ids(before=intl_only["id"]) == [us_only["id"], global_["id"]]
    assert await ids(key="catalog.restricted_categories") == [intl_only["id"], us_only["id"]]
    assert (await desk.get("hq", f"{API}/proposals", region="mars")).status_code == 422
    assert (await desk.get("hq", f"{API}/proposals", status="done")).status_code == 422
    missing = await desk.get("hq", f"{API}/proposals/prp_nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "proposal_not_found")


async def test_concurrent_final_approvals_apply_exactly_once(runtime: Runtime) -> None:
    """Two regions approve at the same moment: the governance lock serialises them, so the
    second sees the first and applies (no proposal stuck with every slot approved)."""
    regions = runtime.settings.region_names
    proposer = Actor("usr_us_hq", True, frozenset({"analyst"}), "us")
    officers = [Actor(f"usr_{r}_to", True, frozenset({"trust_officer"}), r) for r in regions]
    async with runtime.databases.transaction(CONTROL) as session:
        draft = service.ProposalDraft("discovery.ranking_blend", "global", BLEND, RATIONALE)
        proposal = await service.create_proposal(session, regions, proposer, draft)

    async def approve(actor: Actor) -> None:
        async with runtime.databases.transaction(CONTROL) as session:
            await service.approve(session, actor, proposal.id)

    await asyncio.gather(*(approve(a) for a in officers))
    async with runtime.databases.session(CONTROL) as session:
        final = await service.get_proposal(session, proposal.id)
        assert final.status == "applied"
        assert [(v.scope, v.version) for v in final.versions] == [("global", 1)]
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == proposal.id)
        )
        actions = [e.attributes["action"] for e in entries]
        assert actions.count("apply") == 1
        assert actions.count("approve") == len(regions)


async def test_governance_refuses_sessions_of_other_planes(runtime: Runtime) -> None:
    actor = Actor("usr_us_hq", True, frozenset({"analyst"}), "us")
    draft = service.ProposalDraft("access.policies", "us", [1], RATIONALE)
    for plane in (GLOBAL, regional("us")):
        async with runtime.databases.session(plane) as session:
            with pytest.raises(PlaneViolation):
                await service.effective_setting(session, "access.policies", "us")
            with pytest.raises(PlaneViolation):
                await service.create_proposal(session, ("us", "intl"), actor, draft)
            with pytest.raises(PlaneViolation):
                await service.is_deployable(session, "us", "policy_set", "0" * 64)
