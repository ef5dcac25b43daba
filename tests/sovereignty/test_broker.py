"""Unit tests of the access broker: each rule from both sides, fail-closed errors, audit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import cedarpy
import pytest

from shopreel.sovereignty.broker import (
    AccessBroker,
    AccessContext,
    AccessRequest,
    Action,
    AggregateResource,
    Decision,
    PersonalDataResource,
    PolicySet,
    PolicyValidationError,
    StaffPrincipal,
    UserPrincipal,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)

CROSS_REGION = "forbid-staff-cross-region-personal-data"
NO_DATA_ROLE = "forbid-staff-without-data-role"
SMALL_CELLS = "forbid-aggregate-with-small-cells"


def region_for_jurisdiction(jurisdiction: str) -> str:
    return "us" if jurisdiction == "US" else "intl"


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return PolicySet.default()


@pytest.fixture
def audit() -> list[Decision]:
    return []


@pytest.fixture
def broker(policies: PolicySet, audit: list[Decision]) -> AccessBroker:
    return AccessBroker(
        policies, region_for_jurisdiction=region_for_jurisdiction, on_decision=audit.append
    )


def staff(jurisdiction: str = "US", *roles: str, id: str = "staff-1") -> StaffPrincipal:
    return StaffPrincipal(id=id, jurisdiction=jurisdiction, roles=frozenset(roles or {"support"}))


def data(
    region: str = "us", owner: str = "user-1", category: str = "orders"
) -> PersonalDataResource:
    return PersonalDataResource(owner_id=owner, region=region, category=category)


def ctx(**kwargs: object) -> AccessContext:
    return AccessContext(now=NOW, **kwargs)  # type: ignore[arg-type]


def break_glass(**kwargs: object) -> AccessContext:
    values: dict[str, object] = {
        "purpose": "safety_review",
        "break_glass_approvers": 2,
        "break_glass_expires_at": LATER,
    }
    values.update(kwargs)
    return ctx(**values)


# ---- policy set ------------------------------------------------------------------------------


def test_default_policies_load_with_an_id_on_every_policy(policies: PolicySet) -> None:
    assert policies.policy_ids == (
        "user-reads-own-data",
        "staff-read-for-allowed-purpose",
        "staff-bulk-read-with-approved-ticket",
        "staff-break-glass-read",
        CROSS_REGION,
        NO_DATA_ROLE,
        "forbid-seller-ops-outside-applications",
        "staff-read-k-anonymous-aggregate",
        SMALL_CELLS,
    )
    assert policies.version == hashlib.sha256(policies.text.encode()).hexdigest()


def test_packaged_policies_validate_with_cedar_directly() -> None:
    folder = resources.files("shopreel") / "sovereignty" / "policies"
    text = (folder / "access.cedar").read_text(encoding="utf-8")
    schema = (folder / "schema.cedarschema.json").read_text(encoding="utf-8")
    assert cedarpy.validate_policies(text, schema).validation_passed
    assert PolicySet.from_text(text, schema).version == PolicySet.default().version


def test_invalid_policy_text_refuses_to_load(policies: PolicySet) -> None:
    with pytest.raises(PolicyValidationError) as raised:
        PolicySet.from_text(
            '@id("broken") permit (principal, action, resource', policies.schema_text
        )
    assert raised.value.messages


def test_policy_that_does_not_typecheck_refuses_to_load_and_lists_messages(
    policies: PolicySet,
) -> None:
    text = (
        policies.text
        + '\n@id("typo") permit (principal, action, resource) when { context.purpos == "x" };\n'
    )
    with pytest.raises(PolicyValidationError) as raised:
        PolicySet.from_text(text, policies.schema_text)
    assert raised.value.messages
    assert all("[typo]" in message for message in raised.value.messages)
    assert "purpos" in str(raised.value)


def test_policy_using_an_undeclared_entity_type_refuses_to_load(policies: PolicySet) -> None:
    text = '@id("x") permit (principal is ShopReel::Robot, action, resource);'
    with pytest.raises(PolicyValidationError):
        PolicySet.from_text(text, policies.schema_text)


def test_policy_without_id_refuses_to_load(policies: PolicySet) -> None:
    text = policies.text + "\nforbid (principal, action, resource) when { context.k < 0 };\n"
    with pytest.raises(PolicyValidationError, match="@id"):
        PolicySet.from_text(text, policies.schema_text)


def test_duplicate_policy_ids_refuse_to_load(policies: PolicySet) -> None:
    text = (
        '@id("same") forbid (principal, action, resource) when { context.k < 0 };\n'
        '@id("same") forbid (principal, action, resource) when { context.k < 1 };\n'
    )
    with pytest.raises(PolicyValidationError, match="duplicate"):
        PolicySet.from_text(text, policies.schema_text)


def test_templates_and_empty_policy_sets_refuse_to_load(policies: PolicySet) -> None:
    template = '@id("t") permit (principal == ?principal, action, resource);'
    with pytest.raises(PolicyValidationError, match="template"):
        PolicySet.from_text(template, policies.schema_text)
    with pytest.raises(PolicyValidationError, match="empty"):
        PolicySet.from_text("// nothing here\n", policies.schema_text)


def test_invalid_schema_refuses_to_load(policies: PolicySet) -> None:
    with pytest.raises(PolicyValidationError, match="schema"):
        PolicySet.from_text(policies.text, '{"ShopReel": {"entityTypes": 42}}')


def test_cedar_syntax_schema_is_accepted() -> None:
    schema = """
    namespace ShopReel {
      entity Staff = { id: String };
      entity Doc;
      action view appliesTo { principal: [Staff], resource: [Doc] };
    }
    """
    text = '@id("v") permit (principal, action == ShopReel::Action::"view", resource);'
    assert PolicySet.from_text(text, schema).policy_ids == ("v",)


# ---- rule 1: users and their own data -----------------------------------------------------------


@pytest.mark.parametrize("action", [Action.READ, Action.EXPORT])
def test_user_may_read_and_export_own_data(broker: AccessBroker, action: Action) -> None:
    user = UserPrincipal(id="user-1", region="intl")
    decision = broker.decide(user, action, data("intl", owner="user-1"), ctx())
    assert decision.allowed
    assert decision.reasons == ("user-reads-own-data",)


@pytest.mark.parametrize("action", [Action.READ, Action.EXPORT])
def test_user_may_not_read_someone_elses_data(broker: AccessBroker, action: Action) -> None:
    user = UserPrincipal(id="user-1", region="us")
    decision = broker.decide(user, action, data("us", owner="user-2"), ctx())
    assert not decision.allowed
    assert decision.reasons == ()


def test_user_may_not_read_own_data_recorded_in_another_region(broker: AccessBroker) -> None:
    user = UserPrincipal(id="user-1", region="us")
    assert not broker.decide(user, Action.READ, data("intl", owner="user-1"), ctx()).allowed


@pytest.mark.parametrize("action", [Action.BULK_READ, Action.BREAK_GLASS_READ])
def test_user_has_no_staff_actions_even_on_own_data(broker: AccessBroker, action: Action) -> None:
    user = UserPrincipal(id="user-1", region="us")
    context = break_glass(ticket_approved=True)
    assert not broker.decide(user, action, data("us", owner="user-1"), context).allowed


def test_user_may_not_read_aggregates(broker: AccessBroker) -> None:
    user = UserPrincipal(id="user-1", region="us")
    decision = broker.decide(
        user, Action.READ_AGGREGATE, AggregateResource("us", "gmv"), ctx(cell_size=500)
    )
    assert not decision.allowed


# ---- rule 2: staff reads -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "purpose",
    ["support_case", "fraud_investigation", "legal_request", "safety_review", "privacy_request"],
)
def test_staff_read_in_home_region_for_allowed_purpose(broker: AccessBroker, purpose: str) -> None:
    decision = broker.decide(staff("US"), Action.READ, data("us"), ctx(purpose=purpose))
    assert decision.allowed
    assert decision.reasons == ("staff-read-for-allowed-purpose",)
    assert decision.errors == ()


@pytest.mark.parametrize("jurisdiction", ["SG", "GB", "DE"])
def test_non_us_staff_are_home_in_intl(broker: AccessBroker, jurisdiction: str) -> None:
    assert broker.decide(
        staff(jurisdiction), Action.READ, data("intl"), ctx(purpose="support_case")
    ).allowed
    denied = broker.decide(
        staff(jurisdiction), Action.READ, data("us"), ctx(purpose="support_case")
    )
    assert not denied.allowed
    assert denied.reasons == (CROSS_REGION,)


@pytest.mark.parametrize("purpose", ["", "curiosity", "marketing", "Support_Case", "support"])
def test_staff_read_with_bad_purpose_is_denied(broker: AccessBroker, purpose: str) -> None:
    decision = broker.decide(staff("US"), Action.READ, data("us"), ctx(purpose=purpose))
    assert not decision.allowed
    assert decision.reasons == ()  # no permit matched: default deny


def test_purpose_is_compared_without_surrounding_whitespace(broker: AccessBroker) -> None:
    decision = broker.decide(staff(), Action.READ, data(), ctx(purpose="  support_case\n"))
    assert decision.allowed
    assert decision.request["context"]["purpose"] == "support_case"


def test_us_staff_read_of_intl_data_is_forbidden(broker: AccessBroker) -> None:
    decision = broker.decide(staff("US"), Action.READ, data("intl"), ctx(purpose="support_case"))
    assert not decision.allowed
    assert decision.reasons == (CROSS_REGION,)


# ---- rule 3: bulk reads ------------------------------------------------------------------------


def test_bulk_read_with_approved_ticket(broker: AccessBroker) -> None:
    context = ctx(purpose="fraud_investigation", ticket_approved=True)
    decision = broker.decide(staff("US", "fraud_analyst"), Action.BULK_READ, data(), context)
    assert decision.allowed
    assert decision.reasons == ("staff-bulk-read-with-approved-ticket",)


def test_bulk_read_without_ticket_is_denied(broker: AccessBroker) -> None:
    context = ctx(purpose="fraud_investigation", ticket_approved=False)
    assert not broker.decide(
        staff("US", "fraud_analyst"), Action.BULK_READ, data(), context
    ).allowed


def test_bulk_read_with_ticket_but_bad_purpose_is_denied(broker: AccessBroker) -> None:
    context = ctx(purpose="growth_experiment", ticket_approved=True)
    assert not broker.decide(staff(), Action.BULK_READ, data(), context).allowed


def test_bulk_read_across_regions_is_forbidden(broker: AccessBroker) -> None:
    context = ctx(purpose="legal_request", ticket_approved=True)
    decision = broker.decide(staff("SG", "legal"), Action.BULK_READ, data("us"), context)
    assert not decision.allowed
    assert decision.reasons == (CROSS_REGION,)


# ---- rule 4: break-glass -----------------------------------------------------------------------


def test_break_glass_with_two_approvers_before_expiry(broker: AccessBroker) -> None:
    decision = broker.decide(
        staff("GB", "trust_officer"), Action.BREAK_GLASS_READ, data("intl"), break_glass()
    )
    assert decision.allowed
    assert decision.reasons == ("staff-break-glass-read",)


def test_break_glass_purpose_need_not_be_in_the_read_set(broker: AccessBroker) -> None:
    context = break_glass(purpose="account takeover in progress, incident 4711")
    assert broker.decide(staff(), Action.BREAK_GLASS_READ, data(), context).allowed


def test_break_glass_with_one_approver_is_denied(broker: AccessBroker) -> None:
    context = break_glass(break_glass_approvers=1)
    assert not broker.decide(staff(), Action.BREAK_GLASS_READ, data(), context).allowed


@pytest.mark.parametrize(
    "expires_at", [NOW, NOW - timedelta(milliseconds=1), NOW - timedelta(days=1), None]
)
def test_expired_or_missing_break_glass_is_denied(
    broker: AccessBroker, expires_at: datetime | None
) -> None:
    context = break_glass(break_glass_expires_at=expires_at)
    assert not broker.decide(staff(), Action.BREAK_GLASS_READ, data(), context).allowed


def test_break_glass_expiry_one_millisecond_ahead_is_allowed(broker: AccessBroker) -> None:
    context = break_glass(break_glass_expires_at=NOW + timedelta(milliseconds=1))
    assert broker.decide(staff(), Action.BREAK_GLASS_READ, data(), context).allowed


def test_break_glass_expiry_in_another_timezone_is_the_same_instant(broker: AccessBroker) -> None:
    tz = datetime.now(UTC).astimezone().tzinfo
    context = break_glass(break_glass_expires_at=(NOW + timedelta(seconds=1)).astimezone(tz))
    assert broker.decide(staff(), Action.BREAK_GLASS_READ, data(), context).allowed


@pytest.mark.parametrize("purpose", ["", "   "])
def test_break_glass_without_purpose_is_denied(broker: AccessBroker, purpose: str) -> None:
    context = break_glass(purpose=purpose)
    assert not broker.decide(staff(), Action.BREAK_GLASS_READ, data(), context).allowed


def test_cross_region_break_glass_is_forbidden_even_when_fully_approved(
    broker: AccessBroker,
) -> None:
    context = break_glass(break_glass_approvers=5)
    decision = broker.decide(
        staff("US", "trust_officer"), Action.BREAK_GLASS_READ, data("intl"), context
    )
    assert not decision.allowed
    assert decision.reasons == (CROSS_REGION,)


# ---- rule 5: forbids -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["support", "trust_officer", "fraud_analyst", "legal"])
def test_each_data_role_may_read(broker: AccessBroker, role: str) -> None:
    assert broker.decide(
        staff("US", role), Action.READ, data(), ctx(purpose="legal_request")
    ).allowed


@pytest.mark.parametrize("roles", [{"analyst"}, {"engineer"}, {"analyst", "engineer"}, set()])
def test_staff_without_data_role_is_forbidden(broker: AccessBroker, roles: set[str]) -> None:
    principal = StaffPrincipal(id="s", jurisdiction="US", roles=frozenset(roles))
    for action, context in [
        (Action.READ, ctx(purpose="support_case")),
        (Action.BULK_READ, ctx(purpose="support_case", ticket_approved=True)),
        (Action.BREAK_GLASS_READ, break_glass()),
    ]:
        decision = broker.decide(principal, action, data(), context)
        assert not decision.allowed
        assert decision.reasons == (NO_DATA_ROLE,)


def test_both_forbids_are_reported_when_both_match(broker: AccessBroker) -> None:
    decision = broker.decide(
        staff("US", "engineer"), Action.READ, data("intl"), ctx(purpose="support_case")
    )
    assert decision.reasons == (CROSS_REGION, NO_DATA_ROLE)


@pytest.fixture
def permit_everything(policies: PolicySet) -> AccessBroker:
    """The default policies plus a permit for everything: only the forbids still deny."""
    text = policies.text + '\n@id("test-permit-all")\npermit (principal, action, resource);\n'
    return AccessBroker(
        PolicySet.from_text(text, policies.schema_text),
        region_for_jurisdiction=region_for_jurisdiction,
    )


def test_forbids_override_any_permit(permit_everything: AccessBroker) -> None:
    # The permit works (someone else's data is now readable by a user) ...
    user = UserPrincipal(id="user-1", region="us")
    assert permit_everything.decide(user, Action.READ, data(owner="user-2"), ctx()).allowed
    # ... but cannot beat the forbids.
    cross = permit_everything.decide(
        staff("US"), Action.BREAK_GLASS_READ, data("intl"), break_glass()
    )
    assert not cross.allowed
    assert cross.reasons == (CROSS_REGION,)
    roleless = permit_everything.decide(staff("US", "analyst"), Action.EXPORT, data("us"), ctx())
    assert not roleless.allowed
    assert roleless.reasons == (NO_DATA_ROLE,)
    aggregate = permit_everything.decide(
        staff("SG", "analyst"),
        Action.READ_AGGREGATE,
        AggregateResource("us", "gmv"),
        ctx(cell_size=9),
    )
    assert not aggregate.allowed
    assert aggregate.reasons == (SMALL_CELLS,)


# ---- rule 6: aggregates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell_size", "allowed"), [(0, False), (9, False), (10, True), (11, True), (10_000, True)]
)
def test_aggregate_needs_every_cell_at_least_k(
    broker: AccessBroker, cell_size: int, allowed: bool
) -> None:
    decision = broker.decide(
        staff("BR", "analyst"),
        Action.READ_AGGREGATE,
        AggregateResource("us", "orders_per_category"),
        ctx(cell_size=cell_size),
    )
    assert decision.allowed is allowed
    expected = "staff-read-k-anonymous-aggregate" if allowed else SMALL_CELLS
    assert decision.reasons == (expected,)


@pytest.mark.parametrize(("jurisdiction", "region"), [("US", "intl"), ("SG", "us"), ("GB", "intl")])
def test_aggregates_are_readable_across_regions(
    broker: AccessBroker, jurisdiction: str, region: str
) -> None:
    principal = staff(jurisdiction, "engineer")
    resource = AggregateResource(region, "active_sellers")
    assert broker.decide(principal, Action.READ_AGGREGATE, resource, ctx(cell_size=42)).allowed


def test_aggregate_without_cell_size_is_denied(broker: AccessBroker) -> None:
    decision = broker.decide(staff(), Action.READ_AGGREGATE, AggregateResource("us", "gmv"), ctx())
    assert not decision.allowed
    assert decision.reasons == (SMALL_CELLS,)


def test_configured_k_is_enforced(policies: PolicySet) -> None:
    broker = AccessBroker(policies, k=25, region_for_jurisdiction=region_for_jurisdiction)
    resource = AggregateResource("intl", "gmv")
    assert not broker.decide(staff(), Action.READ_AGGREGATE, resource, ctx(cell_size=24)).allowed
    assert broker.decide(staff(), Action.READ_AGGREGATE, resource, ctx(cell_size=25)).allowed


@pytest.mark.parametrize("k", [9, 0, -1])
def test_k_below_ten_is_refused_at_construction(policies: PolicySet, k: int) -> None:
    with pytest.raises(ValueError, match="at least 10"):
        AccessBroker(policies, k=k, region_for_jurisdiction=region_for_jurisdiction)


def test_k_must_be_an_int(policies: PolicySet) -> None:
    with pytest.raises(TypeError):
        AccessBroker(policies, k=10.5, region_for_jurisdiction=region_for_jurisdiction)  # type: ignore[arg-type]


def test_policies_refuse_k_below_ten_even_if_the_broker_were_bypassed(policies: PolicySet) -> None:
    request = {
        "principal": {"type": "ShopReel::Staff", "id": "s"},
        "action": {"type": "ShopReel::Action", "id": "read_aggregate"},
        "resource": {"type": "ShopReel::Aggregate", "id": "a"},
        "context": {
            "purpose": "",
            "ticket_approved": False,
            "break_glass_approvers": 0,
            "now_ms": 0,
            "cell_size": 9,
            "k": 9,
        },
    }
    entities: list[dict[str, Any]] = [
        {
            "uid": {"type": "ShopReel::Staff", "id": "s"},
            "attrs": {"id": "s", "jurisdiction": "US", "home_region": "us", "roles": []},
            "parents": [],
        },
        {
            "uid": {"type": "ShopReel::Aggregate", "id": "a"},
            "attrs": {"region": "us", "metric": "m"},
            "parents": [],
        },
    ]
    result = cedarpy.is_authorized(
        request, policies.cedar_policies, entities, schema=policies.cedar_schema
    )
    assert not result.allowed
    assert result.diagnostics.errors == []


# ---- rule 7: default deny --------------------------------------------------------------------


def test_staff_export_is_denied_by_default(broker: AccessBroker) -> None:
    decision = broker.decide(staff(), Action.EXPORT, data(), ctx(purpose="privacy_request"))
    assert not decision.allowed
    assert decision.reasons == ()
    assert decision.errors == ()


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        (Action.READ, AggregateResource("us", "gmv")),
        (Action.READ_AGGREGATE, PersonalDataResource("user-1", "us", "orders")),
    ],
)
def test_action_on_wrong_resource_type_is_denied_with_error(
    broker: AccessBroker, action: Action, resource: AggregateResource | PersonalDataResource
) -> None:
    decision = broker.decide(staff(), action, resource, ctx(purpose="support_case", cell_size=99))
    assert not decision.allowed
    assert decision.errors


# ---- fail closed -----------------------------------------------------------------------------


def test_policy_evaluation_error_denies_even_when_cedar_would_allow(policies: PolicySet) -> None:
    # A forbid that overflows is skipped by Cedar, which then allows; the broker must not.
    text = (
        policies.text
        + '\n@id("overflowing-forbid")\n'
        + "forbid (principal, action, resource)\n"
        + "when { context.now_ms * 9223372036854775807 > 0 };\n"
    )
    audit: list[Decision] = []
    broker = AccessBroker(
        PolicySet.from_text(text, policies.schema_text),
        region_for_jurisdiction=region_for_jurisdiction,
        on_decision=audit.append,
    )
    decision = broker.decide(staff(), Action.READ, data(), ctx(purpose="support_case"))
    assert not decision.allowed
    assert decision.reasons == ()
    assert any("overflow" in error for error in decision.errors)
    assert audit == [decision]


def test_out_of_range_number_denies_without_affecting_the_rest_of_a_batch(
    broker: AccessBroker, audit: list[Decision]
) -> None:
    resource = AggregateResource("us", "gmv")
    fine = AccessRequest(staff(), Action.READ_AGGREGATE, resource, ctx(cell_size=50))
    huge = AccessRequest(staff(), Action.READ_AGGREGATE, resource, ctx(cell_size=2**70))
    decisions = broker.decide_many([fine, huge, fine])
    assert [d.allowed for d in decisions] == [True, False, True]
    assert decisions[1].errors
    assert audit == decisions


def test_cedar_crash_denies_every_request_and_audits_it(
    broker: AccessBroker, audit: list[Decision], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> object:
        raise RuntimeError("engine down")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", crash)
    requests = [
        AccessRequest(staff(), Action.READ, data(), ctx(purpose="support_case")),
        AccessRequest(UserPrincipal("user-1", "us"), Action.READ, data(), ctx()),
    ]
    decisions = broker.decide_many(requests)
    assert [d.allowed for d in decisions] == [False, False]
    assert all("engine down" in d.errors[0] for d in decisions)
    assert audit == decisions


def test_region_lookup_failure_denies_and_is_audited(policies: PolicySet) -> None:
    def unknown(jurisdiction: str) -> str:
        raise KeyError(jurisdiction)

    audit: list[Decision] = []
    broker = AccessBroker(policies, region_for_jurisdiction=unknown, on_decision=audit.append)
    decision = broker.decide(staff("ZZ"), Action.READ, data(), ctx(purpose="support_case"))
    assert not decision.allowed
    assert "region_for_jurisdiction" in decision.errors[0]
    assert audit == [decision]


@pytest.mark.parametrize("bad_region", ["", None, 7])
def test_region_lookup_returning_garbage_denies(policies: PolicySet, bad_region: object) -> None:
    def lookup(jurisdiction: str) -> str:
        return bad_region  # type: ignore[return-value]

    broker = AccessBroker(policies, region_for_jurisdiction=lookup)
    decision = broker.decide(staff(), Action.READ, data(), ctx(purpose="support_case"))
    assert not decision.allowed
    assert decision.errors


def test_unknown_action_and_foreign_objects_deny(
    broker: AccessBroker, audit: list[Decision]
) -> None:
    bad_action = broker.decide(staff(), "delete_everything", data(), ctx())  # type: ignore[arg-type]
    assert not bad_action.allowed
    assert "unknown action" in bad_action.errors[0]
    bad_principal = broker.decide(object(), Action.READ, data(), ctx())  # type: ignore[arg-type]
    assert not bad_principal.allowed
    bad_context = broker.decide(staff(), Action.READ, data(), {"purpose": "support_case"})  # type: ignore[arg-type]
    assert not bad_context.allowed
    assert len(audit) == 3
    for decision in audit:
        json.dumps(decision.audit_record())


def test_string_action_names_are_accepted(broker: AccessBroker) -> None:
    decision = broker.decide(staff(), "read", data(), ctx(purpose="support_case"))  # type: ignore[arg-type]
    assert decision.allowed


# ---- audit -----------------------------------------------------------------------------------


def test_every_decision_is_audited_once(broker: AccessBroker, audit: list[Decision]) -> None:
    first = broker.decide(staff(), Action.READ, data(), ctx(purpose="support_case"))
    second = broker.decide(staff(), Action.READ, data("intl"), ctx(purpose="support_case"))
    assert audit == [first, second]
    assert audit[0] is first
    assert audit[1] is second


def test_audit_record_is_json_safe_and_carries_ids_only(broker: AccessBroker) -> None:
    decision = broker.decide(
        staff("SG", "trust_officer", id="staff-9"),
        Action.BREAK_GLASS_READ,
        data("intl", owner="user-7", category="messages"),
        break_glass(),
    )
    record = json.loads(json.dumps(decision.audit_record()))
    assert record == {
        "allowed": True,
        "reasons": ["staff-break-glass-read"],
        "errors": [],
        "policy_version": decision.policy_version,
        "request": {
            "principal": {
                "type": "Staff",
                "id": "staff-9",
                "jurisdiction": "SG",
                "home_region": "intl",
                "roles": ["trust_officer"],
            },
            "action": "break_glass_read",
            "resource": {
                "type": "PersonalData",
                "owner_id": "user-7",
                "region": "intl",
                "category": "messages",
            },
            "context": {
                "purpose": "safety_review",
                "ticket_approved": False,
                "break_glass_approvers": 2,
                "break_glass_expires_at": "2025-03-01T12:30:00+00:00",
                "cell_size": None,
                "k": 10,
                "now": "2025-03-01T12:00:00+00:00",
            },
        },
    }


def test_failing_audit_hook_means_no_decision(policies: PolicySet) -> None:
    def broken_sink(decision: Decision) -> None:
        raise RuntimeError("audit log unavailable")

    broker = AccessBroker(
        policies, region_for_jurisdiction=region_for_jurisdiction, on_decision=broken_sink
    )
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        broker.decide(staff(), Action.READ, data(), ctx(purpose="support_case"))


def test_decide_many_keeps_order_and_audits_each(
    broker: AccessBroker, audit: list[Decision]
) -> None:
    # Same staff id with different roles and jurisdictions in one batch: no attribute bleed.
    requests = [
        AccessRequest(
            staff("US", "support", id="x"), Action.READ, data("us"), ctx(purpose="support_case")
        ),
        AccessRequest(
            staff("US", "engineer", id="x"), Action.READ, data("us"), ctx(purpose="support_case")
        ),
        AccessRequest(
            staff("SG", "support", id="x"), Action.READ, data("us"), ctx(purpose="support_case")
        ),
        AccessRequest(
            staff("SG", "support", id="x"), Action.READ, data("intl"), ctx(purpose="support_case")
        ),
        AccessRequest(UserPrincipal("x", "us"), Action.EXPORT, data("us", owner="x"), ctx()),
    ]
    decisions = broker.decide_many(requests)
    assert [d.allowed for d in decisions] == [True, False, False, True, True]
    assert audit == decisions
    assert [broker.decide(*r).allowed for r in requests] == [d.allowed for d in decisions]


def test_decide_many_of_nothing(broker: AccessBroker, audit: list[Decision]) -> None:
    assert broker.decide_many([]) == []
    assert audit == []


# ---- input validation --------------------------------------------------------------------------


def test_context_requires_timezone_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AccessContext(now=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        AccessContext(break_glass_expires_at=datetime(2025, 1, 1), now=NOW)


@pytest.mark.parametrize(
    "make",
    [
        lambda: AccessContext(break_glass_approvers=-1, now=NOW),
        lambda: AccessContext(cell_size=-5, now=NOW),
        lambda: StaffPrincipal(id="", jurisdiction="US", roles=frozenset()),
        lambda: UserPrincipal(id="u", region=""),
        lambda: PersonalDataResource(owner_id="u", region="us", category=""),
        lambda: AggregateResource(region="", metric="m"),
    ],
)
def test_invalid_values_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: AccessContext(ticket_approved="yes", now=NOW),  # type: ignore[arg-type]
        lambda: AccessContext(break_glass_approvers=True, now=NOW),
        lambda: StaffPrincipal(id="s", jurisdiction="US", roles="support"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(TypeError):
        make()


def test_roles_are_normalised_to_a_frozenset() -> None:
    principal = StaffPrincipal(id="s", jurisdiction="US", roles={"support"})  # type: ignore[arg-type]
    assert principal.roles == frozenset({"support"})
    assert isinstance(principal.roles, frozenset)
