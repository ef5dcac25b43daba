"""Genesis allowlists the packaged policy set once; without it the broker denies."""

from __future__ import annotations

from sqlalchemy import func, select

from shopreel.governance.genesis import allowlist_packaged_policies
from shopreel.governance.models import DeployAllowlistEntry
from shopreel.governance.service import revoke_artifact  # noqa: F401 - API exists
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import access
from shopreel.sovereignty.broker import PolicySet
from shopreel.sovereignty.models import AuditEntry
from tests.fixtures.factories import create_user
from tests.fixtures.governance import genesis


async def _count(runtime: Runtime, model) -> int:  # type: ignore[no-untyped-def]
    async with runtime.databases.session(CONTROL) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_genesis_once_per_region_and_audited(runtime: Runtime) -> None:
    assert sorted(await genesis(runtime)) == ["intl", "us"]
    assert await genesis(runtime) == []  # never repeated
    assert await _count(runtime, DeployAllowlistEntry) == 2
    async with runtime.databases.session(CONTROL) as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [e.kind for e in entries] == ["model.deploy", "model.deploy"]
    assert all(e.attributes["action"] == "genesis" for e in entries)


async def test_genesis_cannot_undo_a_revocation(runtime: Runtime) -> None:
    await genesis(runtime)
    async with runtime.databases.transaction(CONTROL) as session:
        entry = await session.scalar(
            select(DeployAllowlistEntry).where(DeployAllowlistEntry.region == "us")
        )
        assert entry is not None
        entry.revoked_at = entry.approved_at
    async with runtime.databases.transaction(CONTROL) as session:
        written = await allowlist_packaged_policies(
            session, runtime.settings.region_names, PolicySet.default().text
        )
    assert written == []


async def test_broker_denies_when_policy_set_not_allowlisted(runtime: Runtime) -> None:
    """Fail closed: without the region's approval of the policy set, even a read the policy
    would allow is denied, and the denial is audited."""
    owner = await create_user(runtime, country="US")
    staff_user = await create_user(
        runtime,
        country="US",
        roles=("shopper", "staff"),
        jurisdiction="US",
        staff_roles=("support",),
    )
    from shopreel.accounts import service as accounts
    from shopreel.uow import UnitOfWork

    async with UnitOfWork(runtime.databases) as uow:
        staff = await accounts.load_principal(uow, runtime, staff_user, auth="session")
    before = await _count(runtime, AuditEntry)
    try:
        await access.read_personal_data(runtime, staff, owner.id, "account", "support_case")
    except access.AccessDenied as denied:
        assert "deploy gate" in str(denied.extra)
    else:
        raise AssertionError("read allowed without an allowlisted policy set")
    assert await _count(runtime, AuditEntry) == before + 1
    await genesis(runtime)
    data = await access.read_personal_data(runtime, staff, owner.id, "account", "support_case")
    assert data
