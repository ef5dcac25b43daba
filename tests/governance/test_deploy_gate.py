"""The deploy gate: a region serves only artifacts on its own approved allowlist; additions
go through proposals approved by that region's trust officer; revocation blocks at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.errors import PermissionDenied
from shopreel.governance import service
from shopreel.governance.errors import (
    AlreadyAllowlisted,
    AlreadyRevoked,
    DeployBlocked,
    InvalidArtifact,
    NotTrustOfficer,
    OwnProposal,
    ScopeNotAllowed,
    WrongJurisdiction,
)
from shopreel.governance.models import DeployAllowlistEntry
from shopreel.governance.rules import Actor
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from tests.governance.test_governance_api import (
    API,
    Desk,
    audit_trail,
    decide,
    fetch,
    propose,
    snapshot,
)

MODEL = "3f" * 32
OTHER_MODEL = "a0" * 32
POLICY_TEXT = 'permit (principal, action, resource) when { principal.jurisdiction == "US" };\n'
RATIONALE = "Ship the retrained discovery model to this region."

HQ = Actor("usr_us_hq", True, frozenset({"analyst"}), "us")
US_OFFICER = Actor("usr_us_officer", True, frozenset({"trust_officer"}), "us")
INTL_OFFICER = Actor("usr_intl_officer", True, frozenset({"trust_officer"}), "intl")


@pytest.fixture
async def desk(runtime: Runtime, app: FastAPI) -> AsyncIterator[Desk]:
    desk = Desk(runtime, app)
    yield desk
    await desk.aclose()


@pytest.fixture
async def session(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    """One control-plane session; tests commit where a decision must be visible."""
    async with runtime.databases.session(CONTROL) as s:
        yield s


async def allowlist(
    session: AsyncSession,
    region: str,
    kind: str,
    sha256: str,
    *,
    version: str = "2026.11.1",
    approver: Actor = US_OFFICER,
) -> DeployAllowlistEntry:
    """Propose (as HQ) and approve (as ``approver``) an artifact for ``region``."""
    draft = service.ProposalDraft(
        f"deploy.{kind}", region, {"sha256": sha256, "version": version}, RATIONALE
    )
    regions = ("us", "intl")
    proposal = await service.create_proposal(session, regions, HQ, draft)
    applied = await service.approve(session, approver, proposal.id)
    assert applied.status == "applied"
    entry = await service.allowlisted_entry(session, region, kind, sha256)
    assert entry is not None
    await session.commit()
    return entry


# ---- service ---------------------------------------------------------------------------------


async def test_artifact_approved_for_us_is_deployable_in_us_only(session: AsyncSession) -> None:
    assert not await service.is_deployable(session, "us", "discovery_model", MODEL)
    entry = await allowlist(session, "us", "discovery_model", MODEL)
    assert (entry.region, entry.artifact_kind) == ("us", "discovery_model")
    assert entry.version == "2026.11.1"
    assert entry.approved_by == US_OFFICER.id
    assert await service.is_deployable(session, "us", "discovery_model", MODEL)
    assert await service.is_deployable(session, "us", "discovery_model", MODEL.upper())
    await service.assert_deployable(session, "us", "discovery_model", MODEL)
    assert not await service.is_deployable(session, "intl", "discovery_model", MODEL)
    assert not await service.is_deployable(session, "us", "policy_set", MODEL)
    assert not await service.is_deployable(session, "us", "discovery_model", OTHER_MODEL)
    assert not await service.is_deployable(session, "us", "discovery_model", "not-a-sha")
    with pytest.raises(DeployBlocked) as blocked:
        await service.assert_deployable(session, "intl", "discovery_model", MODEL)
    assert isinstance(blocked.value, PermissionDenied)
    problem = blocked.value.problem()
    assert (problem["status"], problem["code"]) == (403, "deploy_blocked")
    assert problem["region"] == "intl"
    with pytest.raises(InvalidArtifact):
        await service.is_deployable(session, "us", "ranker", MODEL)


async def test_only_that_regions_trust_officer_approves_a_deploy(session: AsyncSession) -> None:
    draft = service.ProposalDraft(
        "deploy.discovery_model", "us", {"sha256": MODEL, "version": "1.0"}, RATIONALE
    )
    proposal = await service.create_proposal(session, ("us", "intl"), HQ, draft)
    assert [a.authority for a in proposal.approvals] == ["us"]
    with pytest.raises(WrongJurisdiction):
        await service.approve(session, INTL_OFFICER, proposal.id)
    with pytest.raises(NotTrustOfficer):
        await service.approve(session, Actor("usr_us_a", True, frozenset(), "us"), proposal.id)
    own = service.ProposalDraft(
        "deploy.discovery_model", "us", {"sha256": OTHER_MODEL, "version": "1.1"}, RATIONALE
    )
    mine = await service.create_proposal(session, ("us", "intl"), US_OFFICER, own)
    with pytest.raises(OwnProposal):
        await service.approve(session, US_OFFICER, mine.id)
    assert not await service.is_deployable(session, "us", "discovery_model", MODEL)
    with pytest.raises(ScopeNotAllowed):
        await service.create_proposal(
            session,
            ("us", "intl"),
            HQ,
            service.ProposalDraft(
                "deploy.discovery_model", "global", {"sha256": MODEL, "version": "1"}, RATIONALE
            ),
        )


async def test_revoked_artifact_is_blocked(session: AsyncSession) -> None:
    entry = await allowlist(session, "us", "discovery_model", MODEL)
    with pytest.raises(WrongJurisdiction):
        await service.revoke_artifact(session, INTL_OFFICER, entry.id, reason="not ours")
    revoked = await service.revoke_artifact(
        session, US_OFFICER, entry.id, reason="Ranking regression found in the holdout."
    )
    assert revoked.revoked_at is not None
    assert revoked.revoked_by == US_OFFICER.id
    assert not await service.is_deployable(session, "us", "discovery_model", MODEL)
    with pytest.raises(DeployBlocked):
        await service.assert_deployable(session, "us", "discovery_model", MODEL)
    with pytest.raises(AlreadyRevoked):
        await service.revoke_artifact(session, US_OFFICER, entry.id, reason="again")
    # It can be proposed and approved again, as a new entry.
    again = await allowlist(session, "us", "discovery_model", MODEL, version="2026.11.2")
    assert again.id != entry.id
    assert await service.is_deployable(session, "us", "discovery_model", MODEL)
    entries = await service.list_allowlist(session, region="us")
    assert [e.id for e in entries] == [again.id, entry.id]
    active = await service.list_allowlist(session, region="us", include_revoked=False)
    assert [e.id for e in active] == [again.id]


async def test_an_allowlisted_artifact_cannot_be_proposed_again(session: AsyncSession) -> None:
    await allowlist(session, "us", "discovery_model", MODEL)
    draft = service.ProposalDraft(
        "deploy.discovery_model", "us", {"sha256": MODEL, "version": "x"}, RATIONALE
    )
    with pytest.raises(AlreadyAllowlisted):
        await service.create_proposal(session, ("us", "intl"), HQ, draft)
    # ...but the same artifact may be proposed for another region.
    other = service.ProposalDraft("deploy.discovery_model", "intl", draft.value, RATIONALE)
    assert (await service.create_proposal(session, ("us", "intl"), HQ, other)).status == "pending"


async def test_allowlist_additions_do_not_supersede_each_other(session: AsyncSession) -> None:
    regions = ("us", "intl")

    def draft(sha: str, version: str) -> service.ProposalDraft:
        value = {"sha256": sha, "version": version}
        return service.ProposalDraft("deploy.discovery_model", "us", value, RATIONALE)

    first = await service.create_proposal(session, regions, HQ, draft(MODEL, "1.0"))
    second = await service.create_proposal(session, regions, HQ, draft(OTHER_MODEL, "1.1"))
    await service.approve(session, US_OFFICER, first.id)
    assert second.status == "pending"
    await service.approve(session, US_OFFICER, second.id)
    assert second.status == "applied"
    assert second.diff["changed"] == []  # computed before the first was applied
    assert await service.is_deployable(session, "us", "discovery_model", MODEL)
    assert await service.is_deployable(session, "us", "discovery_model", OTHER_MODEL)
    history = await service.history(session, "deploy.discovery_model", "us")
    assert [(v.version, v.value["sha256"]) for v in history] == [(2, OTHER_MODEL), (1, MODEL)]


async def test_two_pending_proposals_of_one_artifact_apply_once(session: AsyncSession) -> None:
    regions = ("us", "intl")
    value = {"sha256": MODEL, "version": "1.0"}
    drafts = [service.ProposalDraft("deploy.policy_set", "us", value, RATIONALE)] * 2
    first, second = [await service.create_proposal(session, regions, HQ, d) for d in drafts]
    await service.approve(session, US_OFFICER, first.id)
    late = await service.approve(session, US_OFFICER, second.id)
    assert late.status == "superseded"
    assert len(await service.list_allowlist(session, region="us")) == 1


async def test_check_policy_set_at_startup(session: AsyncSession) -> None:
    digest = service.artifact_sha256(POLICY_TEXT)
    assert digest == service.artifact_sha256(POLICY_TEXT.encode("utf-8"))
    with pytest.raises(DeployBlocked):
        await service.check_policy_set(session, "us", POLICY_TEXT)
    await allowlist(session, "us", "policy_set", digest, version="policies-7")
    assert await service.check_policy_set(session, "us", POLICY_TEXT) == digest
    assert await service.check_policy_set(session, "us", POLICY_TEXT.encode("utf-8")) == digest
    tampered = POLICY_TEXT.replace("US", "SG")
    with pytest.raises(DeployBlocked):
        await service.check_policy_set(session, "us", tampered)
    with pytest.raises(DeployBlocked):
        await service.check_policy_set(session, "us", POLICY_TEXT + " ")
    with pytest.raises(DeployBlocked):
        await service.check_policy_set(session, "intl", POLICY_TEXT)
    # The discovery model list is separate from the policy-set list.
    assert not await service.is_deployable(session, "us", "discovery_model", digest)


# ---- API -------------------------------------------------------------------------------------


async def test_deploy_flow_through_the_api(desk: Desk, runtime: Runtime) -> None:
    value: dict[str, Any] = {"sha256": MODEL.upper(), "version": "2026.11.3"}
    proposal = await propose(desk, key="deploy.discovery_model", scope="us", value=value)
    assert proposal["value"] == {"sha256": MODEL, "version": "2026.11.3"}
    assert [a["authority"] for a in proposal["approvals"]] == ["us"]
    await desk.client("intl_officer")
    before = await snapshot(runtime)
    await decide(desk, "intl_officer", proposal["id"], expect=403, code="wrong_jurisdiction")
    assert await snapshot(runtime) == before
    applied = await decide(desk, "us_officer", proposal["id"])
    assert applied["status"] == "applied"

    [entry] = await fetch(desk, f"{API}/allowlist", region="us")
    assert (entry["artifact_sha256"], entry["version"], entry["active"]) == (
        MODEL,
        "2026.11.3",
        True,
    )
    assert (entry["artifact_kind"], entry["proposal_id"]) == ("discovery_model", proposal["id"])
    assert entry["approved_by"] == await desk.id("us_officer")
    assert await fetch(desk, f"{API}/allowlist", region="intl") == []
    assert await fetch(desk, f"{API}/allowlist", kind="policy_set") == []
    assert (await desk.get("hq", f"{API}/allowlist", region="eu")).status_code == 422

    # Only the region's trust officer revokes; the revocation blocks at once.
    revoke = f"{API}/allowlist/{entry['id']}/revoke"
    before = await snapshot(runtime)
    for who, code in (("intl_officer", "wrong_jurisdiction"), ("hq", "not_trust_officer")):
        response = await desk.request(who, "POST", revoke, json={"reason": "not ours"})
        assert (response.status_code, response.json()["code"]) == (403, code)
    assert await snapshot(runtime) == before
    response = await desk.request("us_officer", "POST", revoke, json={"reason": "Regression."})
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert response.json()["revoke_reason"] == "Regression."
    again = await desk.request("us_officer", "POST", revoke, json={"reason": "Again."})
    assert (again.status_code, again.json()["code"]) == (409, "already_revoked")
    missing = await desk.request(
        "us_officer", "POST", f"{API}/allowlist/dpl_nope/revoke", json={"reason": "x"}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "allowlist_entry_not_found")
    assert await fetch(desk, f"{API}/allowlist", region="us", include_revoked="false") == []
    async with runtime.databases.session(CONTROL) as session:
        assert not await service.is_deployable(session, "us", "discovery_model", MODEL)

    assert await audit_trail(runtime, proposal["id"]) == [
        ("model.deploy", "propose", "us"),
        ("model.deploy", "approve", "us"),
        ("model.deploy", "apply", "us"),
    ]
    assert await audit_trail(runtime, entry["id"]) == [("model.deploy", "revoke", "us")]


@pytest.mark.parametrize(
    ("scope", "value", "code"),
    [
        ("global", {"sha256": MODEL, "version": "1"}, "scope_not_allowed"),
        ("us", {"sha256": "abc", "version": "1"}, "invalid_artifact"),
        ("us", {"sha256": MODEL}, "invalid_artifact"),
        ("us", "just-a-string", "invalid_artifact"),
    ],
)
async def test_invalid_deploy_proposals_are_422(
    desk: Desk, scope: str, value: Any, code: str
) -> None:
    problem = await propose(desk, key="deploy.policy_set", scope=scope, value=value, expect=422)
    assert problem["code"] == code
