"""Genesis: the one moment a region's allowlist is written without a trust officer.

A fresh installation has empty allowlists, and the deploy gate would then refuse every access
decision. ``allowlist_packaged_policies`` records the packaged policy set for each region that
has *never* had a policy set allowlisted (revoked entries count: genesis cannot be repeated to
undo a revocation). It is an operator action at installation time, recorded like any change:
an applied proposal, a setting version, an allowlist entry and an audit entry with
``"action": "genesis"``, so the log shows exactly what was trusted from the start. Every later
change goes through a proposal and the region's trust officer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.governance import rules
from shopreel.governance.models import DeployAllowlistEntry, Proposal, SettingVersion
from shopreel.governance.rules import ProposalStatus
from shopreel.governance.service import artifact_sha256
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.sovereignty import audit

GENESIS_ACTOR = "operator:genesis"
KEY = "deploy.policy_set"


async def allowlist_packaged_policies(
    session: AsyncSession, regions: tuple[str, ...], policy_text: str
) -> list[str]:
    """Allowlist ``policy_text`` in every region that never had a policy set; returns the
    regions written. ``session`` is a control-plane session; the caller commits."""
    digest = artifact_sha256(policy_text)
    written: list[str] = []
    for region in regions:
        seen = await session.scalar(
            select(DeployAllowlistEntry.id)
            .where(
                DeployAllowlistEntry.region == region,
                DeployAllowlistEntry.artifact_kind == "policy_set",
            )
            .limit(1)
        )
        if seen is not None:
            continue
        now = utcnow()
        value = {"sha256": digest, "version": "genesis"}
        proposal = Proposal(
            id=new_id("prp"),
            key=KEY,
            scope=region,
            value=value,
            rationale="Genesis: the policy set packaged with this installation.",
            status=ProposalStatus.APPLIED.value,
            diff={},
            proposed_by=GENESIS_ACTOR,
            created_at=now,
            decided_at=now,
        )
        session.add(proposal)
        await session.flush()  # the version and allowlist rows reference it
        session.add(
            SettingVersion(
                key=KEY,
                scope=region,
                version=1,
                value=value,
                created_at=now,
                proposal_id=proposal.id,
            )
        )
        entry = DeployAllowlistEntry(
            id=new_id("dpl"),
            region=region,
            artifact_kind="policy_set",
            artifact_sha256=digest,
            version="genesis",
            approved_by=GENESIS_ACTOR,
            approved_at=now,
            proposal_id=proposal.id,
        )
        session.add(entry)
        await session.flush()
        await audit.append(
            session,
            kind=rules.AUDIT_MODEL_DEPLOY,
            actor_id=GENESIS_ACTOR,
            subject_id=proposal.id,
            region=region,
            attributes={
                "action": "genesis",
                "proposal": proposal.id,
                "key": KEY,
                "scope": region,
                "artifact": {"entry": entry.id, "kind": "policy_set", "sha256": digest},
            },
        )
        written.append(region)
    return written
