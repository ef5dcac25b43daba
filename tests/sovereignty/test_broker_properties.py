"""Property tests: the Cedar-backed broker agrees with an independent oracle.

The oracle below is written from the access rules as stated in plain English
(docs/access-policies.md), not from the Cedar text. Hypothesis generates batches of
requests that cover every principal/action/resource combination, with values chosen close
to every boundary (purposes just outside the allowed set, 1 vs 2 approvers, expiry at or
just after ``now``, cells around k), and checks each batch with one ``decide_many`` call.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shopreel.sovereignty.broker import (
    AccessBroker,
    AccessContext,
    Action,
    AggregateResource,
    Decision,
    PersonalDataResource,
    PolicySet,
    Principal,
    Resource,
    StaffPrincipal,
    UserPrincipal,
)

BATCH = 100
EXAMPLES = 100
MIN_TUPLES = 10_000

# ---- the rules, restated independently -----------------------------------------------------

ALLOWED_PURPOSES = {
    "support_case",
    "fraud_investigation",
    "legal_request",
    "safety_review",
    "privacy_request",
}
DATA_ROLES = {"support", "trust_officer", "fraud_analyst", "legal"}
SELLER_OPS = "seller_ops"  # reads seller applications only (rule 5c)
SELLER_APPLICATION = "seller_application"
SELLER_VERIFICATION = "seller_verification"  # a read purpose for seller applications only


def region_for_jurisdiction(jurisdiction: str) -> str:
    return "us" if jurisdiction == "US" else "intl"


def oracle(
    principal: Principal,
    action: Action,
    resource: Resource,
    context: AccessContext,
    k: int,
) -> bool:
    """Expected decision, straight from the rules (1-7)."""
    purpose = context.purpose.strip()
    if isinstance(resource, AggregateResource):
        # Rule 6: staff only, any jurisdiction and region, when every cell has >= k people.
        return (
            action is Action.READ_AGGREGATE
            and isinstance(principal, StaffPrincipal)
            and k >= 10
            and context.cell_size is not None
            and context.cell_size >= k
        )
    if action is Action.READ_AGGREGATE:
        return False  # personal data is never an aggregate
    if isinstance(principal, UserPrincipal):
        # Rule 1: own data, in the user's region, read or export only.
        return (
            action in (Action.READ, Action.EXPORT)
            and resource.owner_id == principal.id
            and resource.region == principal.region
        )
    # Rule 5: staff never cross regions and need a data-handling role, whatever else holds.
    if region_for_jurisdiction(principal.jurisdiction) != resource.region:
        return False
    if not principal.roles & (DATA_ROLES | {SELLER_OPS}):
        return False
    if resource.category != SELLER_APPLICATION and not principal.roles & DATA_ROLES:
        return False  # rule 5c: seller_ops alone sees seller applications only
    if action is Action.READ:  # rule 2
        return purpose in ALLOWED_PURPOSES or (
            purpose == SELLER_VERIFICATION and resource.category == SELLER_APPLICATION
        )
    if action is Action.BULK_READ:  # rule 3
        return purpose in ALLOWED_PURPOSES and context.ticket_approved
    if action is Action.BREAK_GLASS_READ:  # rule 4
        return (
            purpose != ""
            and context.break_glass_approvers >= 2
            and context.break_glass_expires_at is not None
            and context.now < context.break_glass_expires_at
        )
    return False  # rule 7: staff export, and anything else


# ---- strategies ----------------------------------------------------------------------------

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
IDS = ["a", "b", "c"]
REGIONS = ["us", "intl"]
JURISDICTIONS = ["US", "SG", "GB", "DE", "BR"]
ROLES = ["support", "trust_officer", "fraud_analyst", "legal", "seller_ops", "analyst", "engineer"]
PURPOSES = [
    *sorted(ALLOWED_PURPOSES),
    SELLER_VERIFICATION,
    "",
    "   ",
    " support_case ",
    "Support_Case",
    "support",
    "curiosity",
    "marketing",
]
KS = [10, 11, 20]

# Weighted draws keep both sides of every rule well populated: matching regions, data
# roles and allowed purposes come up often enough to reach the permits, and every
# near-miss comes up often enough to reach the denies.
staff = st.builds(
    StaffPrincipal,
    id=st.sampled_from(IDS),
    jurisdiction=st.sampled_from(["US", "US", "US", *JURISDICTIONS]),
    roles=st.frozensets(st.sampled_from(["support", *ROLES]), max_size=3),
)
users = st.builds(UserPrincipal, id=st.sampled_from(IDS), region=st.sampled_from(REGIONS))
personal_data = st.builds(
    PersonalDataResource,
    owner_id=st.sampled_from(IDS),
    region=st.sampled_from(REGIONS),
    category=st.sampled_from(
        ["account", "orders", "payments", "messages", "events", SELLER_APPLICATION]
    ),
)
aggregates = st.builds(
    AggregateResource,
    region=st.sampled_from(REGIONS),
    metric=st.sampled_from(["orders_per_category", "active_sellers"]),
)
moments = st.integers(min_value=-3, max_value=3).map(lambda ms: BASE + timedelta(milliseconds=ms))
contexts = st.builds(
    AccessContext,
    purpose=st.sampled_from([*sorted(ALLOWED_PURPOSES) * 2, *PURPOSES]),
    ticket_approved=st.booleans(),
    break_glass_approvers=st.integers(min_value=0, max_value=4),
    break_glass_expires_at=st.none() | moments,
    cell_size=st.none() | st.integers(min_value=0, max_value=25),
    now=moments,
)
DATA_ACTIONS = [Action.READ, Action.BULK_READ, Action.BREAK_GLASS_READ, Action.EXPORT]
principals = st.one_of(staff, staff, users)  # staff twice as often: most rules are about staff
ks = st.sampled_from(KS)
requests = st.one_of(
    # personal data, mostly with the actions that apply to it
    st.tuples(
        principals,
        st.sampled_from([*DATA_ACTIONS * 3, Action.READ_AGGREGATE]),
        personal_data,
        contexts,
        ks,
    ),
    # aggregates, mostly read_aggregate
    st.tuples(
        principals,
        st.sampled_from([*[Action.READ_AGGREGATE] * 6, *DATA_ACTIONS]),
        aggregates,
        contexts,
        ks,
    ),
)

# ---- the property --------------------------------------------------------------------------

POLICIES = PolicySet.default()


def test_broker_matches_oracle_and_audits_every_decision() -> None:
    audited: dict[int, list[Decision]] = {k: [] for k in KS}
    brokers = {
        k: AccessBroker(
            POLICIES,
            k=k,
            region_for_jurisdiction=region_for_jurisdiction,
            on_decision=audited[k].append,
        )
        for k in KS
    }
    seen: Counter[str] = Counter()

    # No shrinking: a failing batch is 100 requests and shrinking it through Cedar takes
    # minutes; the assertion message already names the exact request that disagreed.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(requests, min_size=BATCH, max_size=BATCH))
    def check(batch: list[tuple[Principal, Action, Resource, AccessContext, int]]) -> None:
        for k, broker in brokers.items():
            group = [(p, a, r, c) for p, a, r, c, kk in batch if kk == k]
            audited[k].clear()
            decisions = broker.decide_many(group)

            # Every decision audited, exactly once, in order.
            assert len(decisions) == len(group)
            assert len(audited[k]) == len(decisions)
            assert all(x is y for x, y in zip(audited[k], decisions, strict=True))

            for (principal, action, resource, context), decision in zip(
                group, decisions, strict=True
            ):
                expected = oracle(principal, action, resource, context, k)
                assert decision.allowed is expected, (principal, action, resource, context, k)
                assert decision.policy_version == POLICIES.version
                if decision.allowed:
                    assert decision.reasons and not decision.errors
                # Sovereignty: never an allow for staff outside the data's region.
                if (
                    isinstance(principal, StaffPrincipal)
                    and isinstance(resource, PersonalDataResource)
                    and region_for_jurisdiction(principal.jurisdiction) != resource.region
                ):
                    assert not decision.allowed
                    seen["cross_region_staff"] += 1
                seen["tuples"] += 1
                seen["allow" if decision.allowed else "deny"] += 1
                if decision.allowed:
                    seen[f"allow:{action.value}:{type(principal).__name__}"] += 1
                    if context.purpose == SELLER_VERIFICATION:
                        seen["allow:seller_verification"] += 1
                if (
                    isinstance(principal, StaffPrincipal)
                    and isinstance(resource, PersonalDataResource)
                    and principal.roles & (DATA_ROLES | {SELLER_OPS}) == {SELLER_OPS}
                ):
                    seen[f"seller_ops_only:{resource.category == SELLER_APPLICATION}"] += 1

    check()

    assert seen["tuples"] >= MIN_TUPLES, seen
    # The generator must actually reach both sides of every rule, not just the denies.
    assert seen["cross_region_staff"] > 1_000, seen
    assert seen["allow"] > 500, seen
    for key in (
        "allow:read:UserPrincipal",
        "allow:export:UserPrincipal",
        "allow:read:StaffPrincipal",
        "allow:bulk_read:StaffPrincipal",
        "allow:break_glass_read:StaffPrincipal",
        "allow:read_aggregate:StaffPrincipal",
        "allow:seller_verification",
        "seller_ops_only:True",
        "seller_ops_only:False",
    ):
        assert seen[key] > 0, (key, seen)


def test_decide_many_agrees_with_decide() -> None:
    """Batching (entities shared per Cedar call, split when ids collide) changes nothing."""
    audit: list[Decision] = []
    broker = AccessBroker(
        POLICIES, region_for_jurisdiction=region_for_jurisdiction, on_decision=audit.append
    )
    checked = 0

    @settings(max_examples=100, deadline=None, database=None)
    @given(st.lists(requests, min_size=1, max_size=20))
    def check(batch: list[tuple[Principal, Action, Resource, AccessContext, int]]) -> None:
        nonlocal checked
        group = [(p, a, r, c) for p, a, r, c, _ in batch]
        batched = broker.decide_many(group)
        single = [broker.decide(*request) for request in group]
        assert batched == single
        checked += len(group)

    check()
    assert checked >= 100
