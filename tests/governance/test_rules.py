"""Pure governance rules: the protected-keys table, approval authorities, eligibility,
value validation and the JSON diff."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopreel.governance import rules
from shopreel.governance.errors import (
    AuthorityAmbiguous,
    AuthorityNotRequired,
    InvalidArtifact,
    InvalidScope,
    InvalidSettingKey,
    InvalidValue,
    NotPolicyAdmin,
    NotTrustOfficer,
    OwnProposal,
    ScopeNotAllowed,
    StaffOnly,
    WrongJurisdiction,
)
from shopreel.governance.rules import HQ, Actor, GlobalApproval, ScopeMode

REGIONS = ("us", "intl")
SHA = "ab" * 32
PROTECTED = (
    "access.policies",
    "catalog.restricted_categories",
    "enforcement.thresholds",
    "discovery.ranking_blend",
)


def officer(region: str = "us", id: str = "usr_us_officer") -> Actor:
    return Actor(id=id, is_staff=True, staff_roles=frozenset({"trust_officer"}), region=region)


def admin(id: str = "usr_us_admin") -> Actor:
    return Actor(id=id, is_staff=True, staff_roles=frozenset({"policy_admin"}), region="us")


# ---- the table -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", PROTECTED)
def test_regionally_protected_keys(key: str) -> None:
    rule = rules.rule_for(key)
    assert rule.pattern == key
    assert rule.scopes is ScopeMode.GLOBAL_OR_REGION
    assert rule.regionally_protected
    assert rule.audit_kind == "policy.change"
    assert rules.required_authorities(rule, "global", REGIONS) == REGIONS
    assert rules.required_authorities(rule, "intl", REGIONS) == ("intl",)


def test_fees_are_global_only_with_hq_approval() -> None:
    rule = rules.rule_for("fees.referral_rate_bps")
    assert rule.scopes is ScopeMode.GLOBAL_ONLY
    assert rule.global_approval is GlobalApproval.HQ
    assert rules.required_authorities(rule, "global", REGIONS) == (HQ,)
    with pytest.raises(ScopeNotAllowed):
        rules.required_authorities(rule, "us", REGIONS)
    other = rules.rule_for("fees.listing_flat_minor")
    assert other.pattern == "fees.*"
    assert rules.required_authorities(other, "global", REGIONS) == (HQ,)


@pytest.mark.parametrize("kind", ["discovery_model", "policy_set"])
def test_deploy_keys_are_per_region_and_audited_as_deploys(kind: str) -> None:
    rule = rules.rule_for(f"deploy.{kind}")
    assert rule.artifact_kind == kind
    assert rule.additive
    assert rule.audit_kind == "model.deploy"
    assert rules.required_authorities(rule, "us", REGIONS) == ("us",)
    with pytest.raises(ScopeNotAllowed):
        rules.required_authorities(rule, "global", REGIONS)
    assert rules.deploy_key(kind) == f"deploy.{kind}"


def test_unknown_keys_fail_safe_as_regionally_protected() -> None:
    rule = rules.rule_for("checkout.max_cart_items")
    assert rule is rules.DEFAULT_RULE
    assert rules.required_authorities(rule, "global", REGIONS) == REGIONS


@pytest.mark.parametrize(
    "key", ["deploy.ranker", "nodots", "Fees.rate", "a..b", "a.b-c", ".a.b", "a." + "b" * 70]
)
def test_invalid_or_reserved_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidSettingKey):
        rules.rule_for(key)


def test_scope_must_be_global_or_a_configured_region() -> None:
    rule = rules.rule_for("access.policies")
    with pytest.raises(InvalidScope):
        rules.required_authorities(rule, "eu", REGIONS)
    with pytest.raises(ValueError, match="hq"):
        rules.check_regions(("us", "hq"))
    with pytest.raises(ValueError, match="global"):
        rules.check_regions(("global",))


def test_describe_table_lists_every_rule() -> None:
    rows = rules.describe_table(REGIONS)
    assert [r["key"] for r in rows] == [r.pattern for r in rules.KEY_RULES] + ["*"]
    fees = next(r for r in rows if r["key"] == "fees.referral_rate_bps")
    assert fees["regional_change_needs"] == "-"
    assert "policy_admin" in fees["global_change_needs"]


# ---- who may decide --------------------------------------------------------------------------


def test_trust_officer_of_the_region_may_decide() -> None:
    assert rules.authority_denial(officer("us"), "us", "usr_us_someone") is None
    assert rules.authority_denial(officer("intl"), "intl", "usr_us_someone") is None


def test_two_person_rule_beats_every_role() -> None:
    me = Actor(
        id="usr_us_me",
        is_staff=True,
        staff_roles=frozenset({"trust_officer", "policy_admin"}),
        region="us",
    )
    assert isinstance(rules.authority_denial(me, "us", "usr_us_me"), OwnProposal)
    assert isinstance(rules.authority_denial(me, HQ, "usr_us_me"), OwnProposal)
    with pytest.raises(OwnProposal):
        rules.choose_authority(me, "usr_us_me", {"us": "pending", "intl": "pending"})


def test_denials() -> None:
    shopper = Actor(id="usr_us_x", is_staff=False, staff_roles=frozenset(), region=None)
    analyst = Actor(id="usr_us_y", is_staff=True, staff_roles=frozenset({"analyst"}), region="us")
    assert isinstance(rules.authority_denial(shopper, "us", "p"), StaffOnly)
    assert isinstance(rules.authority_denial(analyst, "us", "p"), NotTrustOfficer)
    assert isinstance(rules.authority_denial(officer("intl"), "us", "p"), WrongJurisdiction)
    assert isinstance(rules.authority_denial(officer("us"), HQ, "p"), NotPolicyAdmin)
    assert rules.authority_denial(admin(), HQ, "p") is None
    assert isinstance(rules.authority_denial(admin(), "us", "p"), NotTrustOfficer)
    # Outside a proposal (revocation) there is no proposer to exclude.
    assert rules.authority_denial(officer("us"), "us", None) is None


def test_choose_authority_infers_the_actors_region() -> None:
    decisions = {"us": "pending", "intl": "pending"}
    assert rules.choose_authority(officer("intl"), "p", decisions) == "intl"
    assert rules.choose_authority(officer("us"), "p", decisions, "us") == "us"
    with pytest.raises(WrongJurisdiction):
        rules.choose_authority(officer("us"), "p", decisions, "intl")
    with pytest.raises(WrongJurisdiction):
        rules.choose_authority(officer("us"), "p", {"intl": "pending"})
    with pytest.raises(AuthorityNotRequired):
        rules.choose_authority(officer("us"), "p", {"intl": "pending"}, "us")
    with pytest.raises(NotPolicyAdmin):
        rules.choose_authority(officer("us"), "p", {HQ: "pending"})


def test_choose_authority_prefers_the_pending_slot_and_refuses_to_guess() -> None:
    both = Actor(
        id="usr_us_both",
        is_staff=True,
        staff_roles=frozenset({"trust_officer", "policy_admin"}),
        region="us",
    )
    assert rules.choose_authority(both, "p", {"us": "approved", HQ: "pending"}) == HQ
    with pytest.raises(AuthorityAmbiguous):
        rules.choose_authority(both, "p", {"us": "pending", HQ: "pending"})


# ---- values ----------------------------------------------------------------------------------


def test_values_are_json_and_not_null() -> None:
    rule = rules.rule_for("discovery.ranking_blend")
    assert rules.validate_value(rule, {"recency": 0.3}) == {"recency": 0.3}
    for bad in (None, {"x": float("nan")}, {"x": float("inf")}, {1: 2}, {"x": {1, 2}}):
        with pytest.raises(InvalidValue):
            rules.validate_value(rule, bad)
    deep: Any = 1
    for _ in range(rules.MAX_VALUE_DEPTH + 2):
        deep = [deep]
    with pytest.raises(InvalidValue, match="nested"):
        rules.validate_value(rule, deep)
    with pytest.raises(InvalidValue, match="bytes"):
        rules.validate_value(rule, "x" * rules.MAX_VALUE_BYTES)


def test_referral_rate_is_basis_points() -> None:
    rule = rules.rule_for("fees.referral_rate_bps")
    assert rules.validate_value(rule, 250) == 250
    for bad in (-1, 10_001, 2.5, True, "250"):
        with pytest.raises(InvalidValue):
            rules.validate_value(rule, bad)


def test_deploy_values_are_normalised_artifacts() -> None:
    rule = rules.rule_for("deploy.discovery_model")
    value = rules.validate_value(rule, {"sha256": SHA.upper(), "version": "2026.11.3"})
    assert value == {"sha256": SHA, "version": "2026.11.3"}
    for bad in (
        {"sha256": SHA},
        {"sha256": SHA, "version": "1", "extra": 1},
        {"sha256": "ab" * 31, "version": "1"},
        {"sha256": "zz" * 32, "version": "1"},
        {"sha256": SHA, "version": ""},
        {"sha256": SHA, "version": "has space"},
        [SHA, "1"],
    ):
        with pytest.raises(InvalidArtifact):
            rules.validate_value(rule, bad)


# ---- diffs -----------------------------------------------------------------------------------


def test_first_value_is_one_addition_at_the_root() -> None:
    diff = rules.diff_setting(None, {"a": 1})
    assert diff.added == [{"path": "", "value": {"a": 1}}]
    assert diff.removed == diff.changed == []
    assert diff.lines() == ['+ /: {"a":1}']


def test_nested_object_changes_are_paths() -> None:
    old = {"weights": {"recency": 0.2, "follows": 0.5}, "cap": 10, "gone": True}
    new = {"weights": {"recency": 0.3, "follows": 0.5, "locality": 0.2}, "cap": 10}
    diff = rules.diff_setting(old, new)
    assert diff.added == [{"path": "/weights/locality", "value": 0.2}]
    assert diff.removed == [{"path": "/gone", "value": True}]
    assert diff.changed == [{"path": "/weights/recency", "old": 0.2, "new": 0.3}]
    assert diff.counts() == {"added": 1, "removed": 1, "changed": 1}
    assert "~ /weights/recency: 0.2 -> 0.3" in diff.lines()


def test_list_edits_read_like_a_diff() -> None:
    old = ["weapons", "tobacco", "alcohol"]
    diff = rules.diff_setting(old, ["tobacco", "alcohol", "fireworks"])
    assert diff.removed == [{"path": "/0", "value": "weapons"}]
    assert diff.added == [{"path": "/2", "value": "fireworks"}]
    assert diff.changed == []
    replaced = rules.diff_setting([{"n": 1}, {"n": 2}], [{"n": 1}, {"n": 3}])
    assert replaced.changed == [{"path": "/1/n", "old": 2, "new": 3}]


def test_type_changes_and_escaping() -> None:
    diff = rules.diff_setting({"a/b": 1, "t~": 1, "flag": 1}, {"a/b": "1", "t~": 1, "flag": True})
    assert diff.changed == [
        {"path": "/a~1b", "old": 1, "new": "1"},
        {"path": "/flag", "old": 1, "new": True},
    ]
    assert rules.diff_setting({"x": [1]}, {"x": {"0": 1}}).changed == [
        {"path": "/x", "old": [1], "new": {"0": 1}}
    ]
    assert rules.diff_setting({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}).empty


def test_diff_round_trips_through_json() -> None:
    diff = rules.diff_setting({"a": 1}, {"a": 2, "b": 3})
    assert rules.JsonDiff.from_json(diff.to_json()) == diff


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["a", "b", "c"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["x", "y", "z/"]), children, max_size=3)
    ),
    max_leaves=12,
)


@given(json_values, json_values)
def test_diff_is_empty_exactly_when_values_are_equal(old: Any, new: Any) -> None:
    diff = rules.diff_setting({"v": old}, {"v": new})
    assert diff.empty == (rules.canonical_json(old) == rules.canonical_json(new))


@given(json_values)
def test_value_digest_is_canonical(value: Any) -> None:
    assert rules.value_sha256({"a": value, "b": 1}) == rules.value_sha256({"b": 1, "a": value})
