"""Access policies are governance data: ``access.policies`` holds a scope's Cedar text,
validated when proposed; a region decides with the policy set in force there, and only
once its trust officer has allowlisted that set (``deploy.policy_set``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.governance import service
from shopreel.governance.errors import InvalidValue
from shopreel.governance.models import Proposal, SettingVersion
from shopreel.governance.rules import Actor
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import access
from shopreel.sovereignty.broker import (
    AccessContext,
    Action,
    PersonalDataResource,
    PolicySet,
    packaged_schema_text,
)
from shopreel.sovereignty.models import AuditEntry
from tests.fixtures.factories import create_user
from tests.fixtures.governance import genesis
from tests.sovereignty.test_access_service import AuditCounter, make_staff, principal_of

REGIONS = ("us", "intl")
RATIONALE = "Support agents no longer read personal data without a fraud case."
HQ = Actor("usr_us_hq", True, frozenset({"analyst"}), "us")
US_OFFICER = Actor("usr_us_officer", True, frozenset({"trust_officer"}), "us")

PACKAGED = PolicySet.default()
# Stricter: "support_case" is no longer an allowed purpose (rules 2 and 3).
STRICT_TEXT = PACKAGED.text.replace('"support_case", ', "")
STRICT = PolicySet.from_text(STRICT_TEXT, packaged_schema_text())


@pytest.fixture(autouse=True)
async def _policy_genesis(runtime: Runtime) -> None:
    """The packaged policy set is allowlisted in every region, as at installation."""
    await genesis(runtime)


async def stored(runtime: Runtime) -> tuple[int, int, int]:
    """access.policies proposals, access.policies versions, audit entries (genesis: 2)."""
    async with runtime.databases.session(CONTROL) as session:
        proposals = await session.scalar(
            select(func.count()).where(Proposal.key == access.POLICIES_KEY)
        )
        versions = await session.scalar(
            select(func.count()).where(SettingVersion.key == access.POLICIES_KEY)
        )
        entries = await session.scalar(select(func.count()).select_from(AuditEntry))
    return int(proposals or 0), int(versions or 0), int(entries or 0)


async def apply(session: AsyncSession, key: str, scope: str, value: object) -> Proposal:
    """Propose (as HQ) and approve (as the US trust officer), then commit."""
    draft = service.ProposalDraft(key, scope, value, RATIONALE)
    proposal = await service.create_proposal(session, REGIONS, HQ, draft)
    assert [slot.authority for slot in proposal.approvals] == [scope]
    applied = await service.approve(session, US_OFFICER, proposal.id)
    assert applied.status == "applied"
    await session.commit()
    return applied


async def apply_strict_us_policies(runtime: Runtime, *, allowlist: bool) -> None:
    async with runtime.databases.session(CONTROL) as session:
        await apply(session, access.POLICIES_KEY, "us", {"text": STRICT_TEXT})
        if allowlist:
            artifact = {"sha256": service.artifact_sha256(STRICT_TEXT), "version": "no-support"}
            await apply(session, "deploy.policy_set", "us", artifact)


def test_the_strict_text_is_the_packaged_one_without_support_case() -> None:
    assert PACKAGED.text.count('"support_case", ') == 2
    assert "support_case" not in STRICT_TEXT
    assert STRICT.policy_ids == PACKAGED.policy_ids
    assert STRICT.version == service.artifact_sha256(STRICT_TEXT) != PACKAGED.version
    assert access.policies_from_text(STRICT_TEXT) is access.policies_from_text(STRICT_TEXT)


# ---- (a) validated when proposed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expect_messages"),
    [
        ({"text": "permit (principal, action, resource) when { principal.nope == 1 };"}, True),
        ({"text": "permit (principal, action"}, True),
        ({"text": 'permit (principal, action, resource);\n@id("x") forbid (p, a, r);'}, True),
        ({"text": "permit (principal, action, resource);"}, True),  # no @id
        ({"text": ""}, True),
        ({"text": STRICT_TEXT, "note": "extra keys"}, False),
        ({"text": 42}, False),
        (STRICT_TEXT, False),
    ],
)
async def test_invalid_policies_are_refused_with_422_and_nothing_is_stored(
    runtime: Runtime, value: object, expect_messages: bool
) -> None:
    before = await stored(runtime)
    async with runtime.databases.session(CONTROL) as session:
        draft = service.ProposalDraft(access.POLICIES_KEY, "us", value, RATIONALE)
        with pytest.raises(InvalidValue) as refused:
            await service.create_proposal(session, REGIONS, HQ, draft)
        await session.rollback()
    problem = refused.value.problem()
    assert (problem["status"], problem["code"], problem["field"]) == (422, "invalid_value", "value")
    if expect_messages:
        assert problem["messages"] and all(isinstance(m, str) for m in problem["messages"])
        assert problem["messages"][0] in problem["detail"]
    assert await stored(runtime) == before == (0, 0, 2)
    async with runtime.databases.session(CONTROL) as session:
        assert await service.effective_setting(session, access.POLICIES_KEY, "us") is None


# ---- (b) a stricter regional policy, applied and allowlisted ---------------------------------


async def test_a_stricter_us_policy_decides_us_reads_once_allowlisted(runtime: Runtime) -> None:
    us_owner = await create_user(runtime, country="US")
    intl_owner = await create_user(runtime, country="SG")
    support = await principal_of(runtime, await make_staff(runtime, staff_roles=("support",)))
    analyst = await principal_of(runtime, await make_staff(runtime, staff_roles=("fraud_analyst",)))
    intl_support = await principal_of(runtime, await make_staff(runtime, jurisdiction="SG"))

    # Before: the packaged policy set decides everywhere.
    before = await access.read_personal_data(
        runtime, support, us_owner.id, "account", "support_case"
    )
    assert before["decision"]["policy_version"] == PACKAGED.version

    await apply_strict_us_policies(runtime, allowlist=True)
    async with runtime.databases.session(CONTROL) as session:
        assert await service.effective_setting(session, access.POLICIES_KEY, "us") == {
            "text": STRICT_TEXT
        }
        assert await service.effective_setting(session, access.POLICIES_KEY, "intl") is None
        assert await service.is_deployable(session, "us", "policy_set", STRICT.version)
        assert not await service.is_deployable(session, "intl", "policy_set", STRICT.version)
    counter = await AuditCounter(runtime).start()

    with pytest.raises(access.AccessDenied) as denied:
        await access.read_personal_data(runtime, support, us_owner.id, "account", "support_case")
    assert denied.value.extra["policy_version"] == STRICT.version
    assert (
        denied.value.extra["reasons"] == [] and denied.value.extra["errors"] == []
    )  # default deny
    entry = await counter.one(allowed=False, subject=us_owner.id, actor=support.id)
    assert entry.attributes["policy_version"] == STRICT.version
    assert entry.attributes["purpose"] == "support_case"

    for staff in (support, analyst):
        read = await access.read_personal_data(
            runtime, staff, us_owner.id, "account", "fraud_investigation"
        )
        assert read["decision"]["allowed"] is True
        assert read["decision"]["reasons"] == ["staff-read-for-allowed-purpose"]
        assert read["decision"]["policy_version"] == STRICT.version
        entry = await counter.one(allowed=True, subject=us_owner.id, actor=staff.id)
        assert entry.attributes["policy_version"] == STRICT.version

    # intl keeps the packaged policy set: support_case is still an allowed purpose there.
    intl = await access.read_personal_data(
        runtime, intl_support, intl_owner.id, "account", "support_case"
    )
    assert intl["region"] == "intl"
    assert intl["decision"]["policy_version"] == PACKAGED.version
    entry = await counter.one(allowed=True, subject=intl_owner.id, actor=intl_support.id)
    assert entry.attributes["policy_version"] == PACKAGED.version


async def test_a_batch_spanning_regions_uses_each_regions_policies_in_request_order(
    runtime: Runtime,
) -> None:
    us_owner = await create_user(runtime, country="US")
    intl_owner = await create_user(runtime, country="SG")
    support = await principal_of(runtime, await make_staff(runtime, staff_roles=("support",)))
    await apply_strict_us_policies(runtime, allowlist=True)
    now = datetime.now(UTC)
    items = [
        (Action.READ, PersonalDataResource(us_owner.id, "us", "account"), "support_case"),
        (Action.READ, PersonalDataResource(intl_owner.id, "intl", "account"), "support_case"),
        (Action.READ, PersonalDataResource(us_owner.id, "us", "events"), "fraud_investigation"),
    ]
    counter = await AuditCounter(runtime).start()
    async with runtime.databases.session(CONTROL) as session:
        audited = await access.StaffAccess(runtime).decide_and_audit_many(
            session,
            support,
            [(action, res, AccessContext(purpose=p, now=now)) for action, res, p in items],
        )
        await session.commit()
    got = [
        (a.owner_id, a.decision.allowed, a.decision.reasons, a.decision.policy_version)
        for a in audited
    ]
    assert got == [
        (us_owner.id, False, (), STRICT.version),
        (intl_owner.id, False, ("forbid-staff-cross-region-personal-data",), PACKAGED.version),
        (us_owner.id, True, ("staff-read-for-allowed-purpose",), STRICT.version),
    ]
    entries = await counter.new()
    assert [(e.seq, e.subject_id, e.region) for e in entries] == [
        (a.seq, a.owner_id, region) for a, region in zip(audited, ("us", "intl", "us"), strict=True)
    ]
    assert [e.attributes["policy_version"] for e in entries] == [g[3] for g in got]


# ---- (c) applied but not allowlisted: the deploy gate fails closed -----------------------------


async def test_an_applied_policy_that_is_not_allowlisted_is_blocked(runtime: Runtime) -> None:
    us_owner = await create_user(runtime, country="US")
    support = await principal_of(runtime, await make_staff(runtime, staff_roles=("support",)))
    await apply_strict_us_policies(runtime, allowlist=False)
    async with runtime.databases.session(CONTROL) as session:
        assert not await service.is_deployable(session, "us", "policy_set", STRICT.version)
    counter = await AuditCounter(runtime).start()

    # The strict policy set would allow this read, but "us" has not allowlisted it.
    with pytest.raises(access.AccessDenied) as denied:
        await access.read_personal_data(
            runtime, support, us_owner.id, "account", "fraud_investigation"
        )
    assert denied.value.extra["policy_version"] == STRICT.version
    [error] = denied.value.extra["errors"]
    assert error.startswith("deploy gate:") and STRICT.version[:12] in error
    entry = await counter.one(allowed=False, subject=us_owner.id, actor=support.id)
    assert entry.attributes["policy_version"] == STRICT.version
    assert entry.attributes["errors"] == [error]
    # The policy's own reasons stay on the record: the gate, not the policy, refused.
    assert entry.attributes["reasons"] == ["staff-read-for-allowed-purpose"]

    # Once the US trust officer allowlists it, the same read goes through.
    async with runtime.databases.session(CONTROL) as session:
        artifact = {"sha256": STRICT.version, "version": "no-support"}
        await apply(session, "deploy.policy_set", "us", artifact)
    read = await access.read_personal_data(
        runtime, support, us_owner.id, "account", "fraud_investigation"
    )
    assert read["decision"]["policy_version"] == STRICT.version


async def test_stored_policies_that_no_longer_load_deny_and_are_audited(runtime: Runtime) -> None:
    """Policies are validated when proposed; if a later schema change makes the stored text
    invalid, the region fails closed instead of erroring or falling back."""
    us_owner = await create_user(runtime, country="US")
    support = await principal_of(runtime, await make_staff(runtime, staff_roles=("support",)))
    stale = STRICT_TEXT.replace("context.purpose", "context.reason")  # not in the schema
    async with runtime.databases.transaction(CONTROL) as session:
        session.add(
            SettingVersion(key=access.POLICIES_KEY, scope="us", version=1, value={"text": stale})
        )
    counter = await AuditCounter(runtime).start()
    with pytest.raises(access.AccessDenied) as denied:
        await access.read_personal_data(
            runtime, support, us_owner.id, "account", "fraud_investigation"
        )
    version = service.artifact_sha256(stale)
    assert denied.value.extra["policy_version"] == version
    assert denied.value.extra["reasons"] == []
    [error] = denied.value.extra["errors"]
    assert error.startswith(f"policy set {version[:12]} in force in region 'us' does not load")
    entry = await counter.one(allowed=False, subject=us_owner.id, actor=support.id)
    assert entry.attributes["policy_version"] == version
    assert entry.attributes["errors"] == [error]
