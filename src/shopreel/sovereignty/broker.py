"""The access broker: every staff access to personal data is decided by policy.

The rules live in Cedar (``policies/access.cedar``, typed by ``policies/schema.cedarschema.json``)
and are described in plain English in ``docs/access-policies.md``. This module turns ShopReel's
principals, resources and request context into a Cedar request, asks Cedar, and reports a
:class:`Decision` for every request to the audit hook.

Guarantees:

* **Default deny, forbid wins** — Cedar semantics; nothing here can allow what Cedar denies.
* **Fail closed** — a request that cannot be built, a Cedar error of any kind (including an
  error inside a single policy, which Cedar would otherwise skip) or an unexpected exception
  yields ``allowed=False`` with the cause in ``Decision.errors``.
* **Every decision is audited** — ``on_decision`` is called exactly once per decision, before
  the decision is returned. If the hook raises, the exception propagates and no decision is
  returned: access never proceeds without its audit record.
* **Policies that do not validate do not load** — :class:`PolicySet` validates the policies
  against the schema and insists on a unique ``@id`` per policy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Any, NamedTuple, TypeAlias

import cedarpy

from shopreel.sovereignty.anonymity import MIN_K

__all__ = [
    "MIN_K",
    "AccessBroker",
    "AccessContext",
    "AccessRequest",
    "Action",
    "AggregateResource",
    "Decision",
    "PersonalDataResource",
    "PolicySet",
    "PolicyValidationError",
    "Principal",
    "Resource",
    "StaffPrincipal",
    "UserPrincipal",
    "packaged_schema_text",
]

NAMESPACE = "ShopReel"

POLICY_FILE = "access.cedar"
SCHEMA_FILE = "schema.cedarschema.json"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


# --------------------------------------------------------------------------------------------
# Principals, resources, actions, context
# --------------------------------------------------------------------------------------------


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")


def _require_aware(value: object, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


def _require_count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int")
    if value < 0:
        raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """A staff member. The home region is derived from ``jurisdiction`` by the broker."""

    id: str
    jurisdiction: str
    roles: frozenset[str]

    def __post_init__(self) -> None:
        _require_text(self.id, "staff id")
        _require_text(self.jurisdiction, "staff jurisdiction")
        if isinstance(self.roles, str):
            raise TypeError("roles must be a collection of role names, not a single string")
        roles = frozenset(self.roles)
        if not all(isinstance(role, str) for role in roles):
            raise TypeError("role names must be strings")
        object.__setattr__(self, "roles", roles)


@dataclass(frozen=True, slots=True)
class UserPrincipal:
    """A shopper or seller acting on their own data; ``region`` is their home region."""

    id: str
    region: str

    def __post_init__(self) -> None:
        _require_text(self.id, "user id")
        _require_text(self.region, "user region")


@dataclass(frozen=True, slots=True)
class PersonalDataResource:
    """One user's personal data of one category, stored in ``region``."""

    owner_id: str
    region: str
    category: str

    def __post_init__(self) -> None:
        _require_text(self.owner_id, "owner id")
        _require_text(self.region, "data region")
        _require_text(self.category, "data category")


@dataclass(frozen=True, slots=True)
class AggregateResource:
    """An aggregate (counts over many users) of one metric, computed in ``region``."""

    region: str
    metric: str

    def __post_init__(self) -> None:
        _require_text(self.region, "aggregate region")
        _require_text(self.metric, "aggregate metric")


class Action(StrEnum):
    READ = "read"
    BULK_READ = "bulk_read"
    BREAK_GLASS_READ = "break_glass_read"
    EXPORT = "export"
    READ_AGGREGATE = "read_aggregate"


@dataclass(frozen=True, slots=True)
class AccessContext:
    """What the caller asserts about the request.

    ``purpose`` is compared after stripping surrounding whitespace (a blank purpose is no
    purpose). ``break_glass_approvers`` counts distinct approvers from the data's region,
    the requester excluded. ``cell_size`` is the smallest count in the aggregate being read.
    ``now`` is required and, like ``break_glass_expires_at``, must be timezone-aware.
    """

    purpose: str = ""
    ticket_approved: bool = False
    break_glass_approvers: int = 0
    break_glass_expires_at: datetime | None = None
    cell_size: int | None = None
    now: datetime = field(kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.purpose, str):
            raise TypeError("purpose must be a string")
        if not isinstance(self.ticket_approved, bool):
            raise TypeError("ticket_approved must be a bool")
        _require_count(self.break_glass_approvers, "break_glass_approvers")
        if self.break_glass_expires_at is not None:
            _require_aware(self.break_glass_expires_at, "break_glass_expires_at")
        if self.cell_size is not None:
            _require_count(self.cell_size, "cell_size")
        _require_aware(self.now, "now")


Principal: TypeAlias = StaffPrincipal | UserPrincipal
Resource: TypeAlias = PersonalDataResource | AggregateResource


class AccessRequest(NamedTuple):
    """One request for :meth:`AccessBroker.decide_many` (a plain 4-tuple works too)."""

    principal: Principal
    action: Action
    resource: Resource
    context: AccessContext


@dataclass(frozen=True)
class Decision:
    """The outcome of one request, as handed to the audit hook.

    ``reasons`` are the ``@id`` s of the policies that determined the decision: the matching
    permits for an allow, the matching forbids for a deny. A deny with no reasons is Cedar's
    default deny (no permit matched). ``errors`` is non-empty whenever anything went wrong,
    and then ``allowed`` is always ``False``. ``request`` is a JSON-safe record of the
    principal, action, resource and context (ids, regions, roles — no other personal data).
    """

    allowed: bool
    reasons: tuple[str, ...]
    errors: tuple[str, ...]
    policy_version: str
    request: dict[str, Any] = field(hash=False)

    def audit_record(self) -> dict[str, Any]:
        """The whole decision as one JSON-safe dict, ready for the audit log."""
        return {
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "errors": list(self.errors),
            "policy_version": self.policy_version,
            "request": self.request,
        }


# --------------------------------------------------------------------------------------------
# Policy set
# --------------------------------------------------------------------------------------------


class PolicyValidationError(ValueError):
    """The policies (or the schema) are invalid; ``messages`` holds every problem found."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: tuple[str, ...] = tuple(messages) or ("invalid policies",)
        super().__init__(
            "access policies refused to load:\n" + "\n".join(f"- {m}" for m in self.messages)
        )


def _parse_schema(schema: str) -> cedarpy.Schema:
    if schema.lstrip().startswith("{"):
        return cedarpy.Schema.from_json_str(schema)
    return cedarpy.Schema.from_str(schema)


def _policy_ids(policies: str) -> tuple[str, ...]:
    """The ``@id`` of every policy, in order; refuses templates and missing/duplicate ids."""
    document = json.loads(cedarpy.policies_to_json_str(policies))
    problems: list[str] = []
    if document.get("templates"):
        problems.append("policy templates are not supported; write static policies")
    ids: list[str] = []
    for cedar_id, policy in document.get("staticPolicies", {}).items():
        annotation = (policy.get("annotations") or {}).get("id")
        if not annotation:
            problems.append(f"{cedar_id}: every policy needs a non-empty @id(...) annotation")
        elif annotation in ids:
            problems.append(f"{cedar_id}: duplicate @id({annotation!r})")
        else:
            ids.append(str(annotation))
    if not ids and not problems:
        problems.append("the policy set is empty")
    if problems:
        raise PolicyValidationError(problems)
    return tuple(ids)


def _validation_message(error: cedarpy.ValidationError, names: dict[str, str]) -> str:
    if not error.policy_id:
        return error.error
    return f"[{names.get(error.policy_id) or error.policy_id}] {error.error}"


def _packaged_file(name: str) -> str:
    return (resources.files("shopreel") / "sovereignty" / "policies" / name).read_text(
        encoding="utf-8"
    )


def packaged_schema_text() -> str:
    """The packaged Cedar schema. Policies stored as data (the ``access.policies`` setting)
    are validated against it: the schema ships with the code that supplies its attributes."""
    return _packaged_file(SCHEMA_FILE)


class PolicySet:
    """Validated Cedar policies with their schema. Invalid policies refuse to load."""

    __slots__ = ("_cedar", "_policy_ids", "_schema", "_schema_text", "_text", "_version")

    def __init__(self, policies: str, schema: str) -> None:
        try:
            parsed_schema = _parse_schema(schema)
        except ValueError as exc:
            raise PolicyValidationError([f"schema: {exc}"]) from exc
        try:
            parsed = cedarpy.PolicySet.from_str(policies)
        except ValueError as exc:
            raise PolicyValidationError([f"policies: {exc}"]) from exc
        try:
            result = cedarpy.validate_policies(policies, parsed_schema)
        except ValueError as exc:
            raise PolicyValidationError([f"validation: {exc}"]) from exc
        if not result.validation_passed:
            names = result.id_annotations_by_policy_id
            raise PolicyValidationError(
                [_validation_message(error, names) for error in result.errors]
            )
        try:
            self._policy_ids = _policy_ids(policies)
        except ValueError as exc:
            if isinstance(exc, PolicyValidationError):
                raise
            raise PolicyValidationError([f"policies: {exc}"]) from exc
        self._text = policies
        self._schema_text = schema
        self._cedar = parsed
        self._schema = parsed_schema
        self._version = hashlib.sha256(policies.encode("utf-8")).hexdigest()

    @classmethod
    def from_text(cls, policies: str, schema: str) -> PolicySet:
        """Parse and validate ``policies`` against ``schema`` (Cedar JSON or Cedar schema text).

        Raises :class:`PolicyValidationError` listing the validator's messages when invalid.
        """
        return cls(policies, schema)

    @classmethod
    def default(cls) -> PolicySet:
        """The policies shipped in ``shopreel/sovereignty/policies``."""
        return cls(_packaged_file(POLICY_FILE), packaged_schema_text())

    @property
    def version(self) -> str:
        """SHA-256 (hex) of the policy text; recorded with every decision."""
        return self._version

    @property
    def text(self) -> str:
        return self._text

    @property
    def schema_text(self) -> str:
        return self._schema_text

    @property
    def policy_ids(self) -> tuple[str, ...]:
        """The ``@id`` of every policy, in file order."""
        return self._policy_ids

    @property
    def cedar_policies(self) -> cedarpy.PolicySet:
        return self._cedar

    @property
    def cedar_schema(self) -> cedarpy.Schema:
        return self._schema


# --------------------------------------------------------------------------------------------
# Broker
# --------------------------------------------------------------------------------------------


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _entity(kind: str, uid: str, attrs: dict[str, Any]) -> dict[str, Any]:
    return {"uid": {"type": f"{NAMESPACE}::{kind}", "id": uid}, "attrs": attrs, "parents": []}


@dataclass(frozen=True, slots=True)
class _Prepared:
    record: dict[str, Any]
    cedar_request: dict[str, Any] | None
    entities: tuple[dict[str, Any], ...]
    error: str | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    allowed: bool
    reasons: tuple[str, ...]
    errors: tuple[str, ...]


def _outcome_error(message: str) -> _Outcome:
    return _Outcome(allowed=False, reasons=(), errors=(message,))


def _describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class AccessBroker:
    """Decides access requests with Cedar and reports every decision to ``on_decision``."""

    def __init__(
        self,
        policies: PolicySet,
        *,
        k: int = MIN_K,
        region_for_jurisdiction: Callable[[str], str],
        on_decision: Callable[[Decision], None] | None = None,
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError("k must be an int")
        if k < MIN_K:
            raise ValueError(f"k must be at least {MIN_K}, got {k}")
        self._policies = policies
        self._k = k
        self._region_for_jurisdiction = region_for_jurisdiction
        self._on_decision = on_decision

    @property
    def k(self) -> int:
        return self._k

    @property
    def policies(self) -> PolicySet:
        return self._policies

    def decide(
        self,
        principal: Principal,
        action: Action,
        resource: Resource,
        context: AccessContext,
    ) -> Decision:
        """Decide one request. Errors deny; the decision is audited before it is returned."""
        return self.decide_many([AccessRequest(principal, action, resource, context)])[0]

    def decide_many(
        self, requests: Iterable[tuple[Principal, Action, Resource, AccessContext]]
    ) -> list[Decision]:
        """Decide many requests in as few Cedar calls as possible; same semantics as
        :meth:`decide`. Decisions come back (and are audited) in request order."""
        prepared = [self._prepare(request) for request in requests]
        try:
            outcomes = self._evaluate(prepared)
        except Exception as exc:  # fail closed, and still audit every request
            failure = _outcome_error(f"evaluation failed: {_describe_error(exc)}")
            outcomes = [failure] * len(prepared)
        version = self._policies.version
        decisions = [
            Decision(
                allowed=outcome.allowed,
                reasons=outcome.reasons,
                errors=outcome.errors,
                policy_version=version,
                request=item.record,
            )
            for item, outcome in zip(prepared, outcomes, strict=True)
        ]
        if self._on_decision is not None:
            for decision in decisions:
                self._on_decision(decision)
        return decisions

    # -- building requests ---------------------------------------------------------------------

    def _prepare(self, request: tuple[Any, ...]) -> _Prepared:
        try:
            principal, action, resource, context = request
        except (TypeError, ValueError) as exc:
            return _Prepared(
                record={"invalid_request": type(request).__name__},
                cedar_request=None,
                entities=(),
                error=f"malformed request: {_describe_error(exc)}",
            )
        errors: list[str] = []
        principal_entity, principal_record = self._principal(principal, errors)
        resource_entity, resource_record = _resource(resource, errors)
        context_cedar, context_record = self._context(context, errors)
        try:
            action_name = Action(action).value
        except ValueError:
            errors.append(f"unknown action {str(action)[:64]!r}")
            action_name = str(action)[:64]
        record = {
            "principal": principal_record,
            "action": action_name,
            "resource": resource_record,
            "context": context_record,
        }
        if errors or principal_entity is None or resource_entity is None or context_cedar is None:
            return _Prepared(record, None, (), "; ".join(errors) or "invalid request")
        cedar_request = {
            "principal": principal_entity["uid"],
            "action": {"type": f"{NAMESPACE}::Action", "id": action_name},
            "resource": resource_entity["uid"],
            "context": context_cedar,
        }
        return _Prepared(record, cedar_request, (principal_entity, resource_entity), None)

    def _principal(
        self, principal: object, errors: list[str]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        if isinstance(principal, StaffPrincipal):
            roles = sorted(principal.roles)
            record: dict[str, Any] = {
                "type": "Staff",
                "id": principal.id,
                "jurisdiction": principal.jurisdiction,
                "home_region": None,
                "roles": roles,
            }
            try:
                home_region = self._region_for_jurisdiction(principal.jurisdiction)
            except Exception as exc:
                errors.append(f"region_for_jurisdiction failed: {_describe_error(exc)}")
                return None, record
            if not isinstance(home_region, str) or not home_region:
                errors.append(f"region_for_jurisdiction returned {home_region!r}")
                return None, record
            record["home_region"] = home_region
            attrs = {
                "id": principal.id,
                "jurisdiction": principal.jurisdiction,
                "home_region": home_region,
                "roles": roles,
            }
            return _entity("Staff", principal.id, attrs), record
        if isinstance(principal, UserPrincipal):
            attrs = {"id": principal.id, "region": principal.region}
            return _entity("User", principal.id, attrs), {"type": "User", **attrs}
        errors.append(f"unsupported principal type {type(principal).__name__}")
        return None, {"type": type(principal).__name__}

    def _context(
        self, context: object, errors: list[str]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        if not isinstance(context, AccessContext):
            errors.append(f"unsupported context type {type(context).__name__}")
            return None, {"type": type(context).__name__}
        purpose = context.purpose.strip()
        cedar: dict[str, Any] = {
            "purpose": purpose,
            "ticket_approved": context.ticket_approved,
            "break_glass_approvers": context.break_glass_approvers,
            "now_ms": _epoch_ms(context.now),
            "k": self._k,
        }
        if context.break_glass_expires_at is not None:
            cedar["break_glass_expires_at_ms"] = _epoch_ms(context.break_glass_expires_at)
        if context.cell_size is not None:
            cedar["cell_size"] = context.cell_size
        record = {
            "purpose": purpose,
            "ticket_approved": context.ticket_approved,
            "break_glass_approvers": context.break_glass_approvers,
            "break_glass_expires_at": _iso(context.break_glass_expires_at),
            "cell_size": context.cell_size,
            "k": self._k,
            "now": _iso(context.now),
        }
        return cedar, record

    # -- evaluating ----------------------------------------------------------------------------

    def _evaluate(self, prepared: list[_Prepared]) -> list[_Outcome]:
        outcomes: list[_Outcome | None] = [None] * len(prepared)
        pending: list[int] = []
        for index, item in enumerate(prepared):
            if item.cedar_request is None:
                outcomes[index] = _outcome_error(item.error or "invalid request")
            else:
                pending.append(index)
        for chunk in _consistent_chunks(pending, prepared):
            for index, outcome in zip(chunk, self._run(chunk, prepared), strict=True):
                outcomes[index] = outcome
        return [
            outcome if outcome is not None else _outcome_error("request was not evaluated")
            for outcome in outcomes
        ]

    def _run(self, chunk: list[int], prepared: list[_Prepared]) -> list[_Outcome]:
        """One Cedar batch call; if the call itself fails, retry one request at a time so a
        single bad request cannot take the others down (each failure denies)."""
        entities: dict[tuple[str, str], dict[str, Any]] = {}
        requests: list[dict[str, Any]] = []
        for index in chunk:
            item = prepared[index]
            assert item.cedar_request is not None
            requests.append(item.cedar_request)
            for entity in item.entities:
                entities[_entity_key(entity)] = entity
        try:
            results = cedarpy.is_authorized_batch(
                requests,
                self._policies.cedar_policies,
                json.dumps(list(entities.values())),
                schema=self._policies.cedar_schema,
            )
            if len(results) != len(requests):
                raise RuntimeError(f"cedar returned {len(results)} results for {len(requests)}")
        except Exception as exc:
            if len(chunk) > 1:
                return [outcome for index in chunk for outcome in self._run([index], prepared)]
            return [_outcome_error(f"cedar evaluation failed: {_describe_error(exc)}")]
        order = {policy_id: i for i, policy_id in enumerate(self._policies.policy_ids)}
        return [_interpret(result, order) for result in results]


def _resource(resource: object, errors: list[str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    if isinstance(resource, PersonalDataResource):
        attrs = {
            "owner_id": resource.owner_id,
            "region": resource.region,
            "category": resource.category,
        }
        uid = f"{resource.region}:{resource.category}:{resource.owner_id}"
        return _entity("PersonalData", uid, attrs), {"type": "PersonalData", **attrs}
    if isinstance(resource, AggregateResource):
        attrs = {"region": resource.region, "metric": resource.metric}
        uid = f"{resource.region}:{resource.metric}"
        return _entity("Aggregate", uid, attrs), {"type": "Aggregate", **attrs}
    errors.append(f"unsupported resource type {type(resource).__name__}")
    return None, {"type": type(resource).__name__}


def _entity_key(entity: dict[str, Any]) -> tuple[str, str]:
    uid = entity["uid"]
    return str(uid["type"]), str(uid["id"])


def _consistent_chunks(pending: list[int], prepared: list[_Prepared]) -> list[list[int]]:
    """Group requests so that, within a group, an entity uid always has the same attributes
    (one Cedar call shares one entity set). The same staff id with other roles, say, goes to
    another group instead of silently taking the first one's attributes."""
    chunks: list[tuple[dict[tuple[str, str], str], list[int]]] = []
    for index in pending:
        signature = {
            _entity_key(entity): json.dumps(entity["attrs"], sort_keys=True)
            for entity in prepared[index].entities
        }
        for seen, members in chunks:
            if all(seen.get(key, attrs) == attrs for key, attrs in signature.items()):
                seen.update(signature)
                members.append(index)
                break
        else:
            chunks.append((dict(signature), [index]))
    return [members for _, members in chunks]


def _interpret(result: cedarpy.AuthzResult, order: dict[str, int]) -> _Outcome:
    """Cedar's answer, fail-closed: any error at all (Cedar skips a policy whose evaluation
    errors, which could drop a forbid) turns the decision into a deny. Reasons are reported
    in policy-file order (Cedar's own order is unspecified)."""
    try:
        diagnostics = result.diagnostics
        errors = tuple(sorted(str(error) for error in diagnostics.errors))
        names = diagnostics.id_annotations_by_reason
        reasons = tuple(
            sorted(
                {str(names.get(reason) or reason) for reason in diagnostics.reasons},
                key=lambda name: (order.get(name, len(order)), name),
            )
        )
        decision = result.decision
    except Exception as exc:
        return _outcome_error(f"unreadable cedar result: {_describe_error(exc)}")
    if errors:
        if decision is cedarpy.Decision.Allow:
            overridden = f"cedar allowed ({', '.join(reasons)}) but reported errors: denied"
            return _Outcome(allowed=False, reasons=(), errors=(*errors, overridden))
        if decision is cedarpy.Decision.Deny:
            return _Outcome(allowed=False, reasons=reasons, errors=errors)
        return _Outcome(allowed=False, reasons=(), errors=errors)
    if decision is cedarpy.Decision.Allow:
        return _Outcome(allowed=True, reasons=reasons, errors=())
    if decision is cedarpy.Decision.Deny:
        return _Outcome(allowed=False, reasons=reasons, errors=())
    return _Outcome(allowed=False, reasons=(), errors=(f"cedar returned {decision.value}",))
