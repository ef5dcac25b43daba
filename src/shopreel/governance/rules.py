"""Governance rules: pure functions and data, no I/O.

* :data:`KEY_RULES` — which setting keys exist, in which scopes they may be changed, who must
  approve a change, and which audit kind records it (the "protected keys" table, also in
  ``docs/governance.md``);
* :func:`required_authorities` — the approval slots a proposal needs: a region name (that
  region's trust officer) or :data:`HQ` (a ``policy_admin``);
* :func:`authority_denial` / :func:`choose_authority` — may this actor decide for that slot;
* :func:`diff_setting` — a readable JSON diff (added / removed / changed JSON-Pointer paths);
* :func:`validate_value` — per-key value checks (fees, deploy artifacts, access policies) and
  size limits.

Everything raises the domain errors of :mod:`shopreel.governance.errors`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from shopreel.errors import PermissionDenied
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
from shopreel.sovereignty.broker import PolicySet, PolicyValidationError, packaged_schema_text

GLOBAL_SCOPE: Final = "global"
HQ: Final = "hq"
"""The approval authority of headquarters (any staff member with :data:`POLICY_ADMIN`)."""

TRUST_OFFICER: Final = "trust_officer"
POLICY_ADMIN: Final = "policy_admin"

AUDIT_POLICY_CHANGE: Final = "policy.change"
AUDIT_MODEL_DEPLOY: Final = "model.deploy"

ArtifactKind = Literal["discovery_model", "policy_set"]
ARTIFACT_KINDS: Final[tuple[str, ...]] = ("discovery_model", "policy_set")
DEPLOY_PREFIX: Final = "deploy."

MAX_KEY_LENGTH: Final = 64
MAX_VALUE_BYTES: Final = 32 * 1024
MAX_VALUE_DEPTH: Final = 16
MAX_VERSION_LABEL: Final = 64

_KEY_RE: Final = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_LABEL_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,63}$")


class ScopeMode(StrEnum):
    """Where a key may be set."""

    GLOBAL_OR_REGION = "global_or_region"
    GLOBAL_ONLY = "global_only"
    REGION_ONLY = "region_only"


class GlobalApproval(StrEnum):
    """Who approves a change of the ``global`` scope. (A region scope is always approved by
    that region's trust officer.)"""

    EVERY_REGION = "every_region"
    """Protected in every region: each region's trust officer approves separately."""
    HQ = "hq"
    """One approval by headquarters: a staff member with the ``policy_admin`` staff role."""


class ProposalStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    """The setting changed after the proposal was made, so its diff no longer describes
    what applying it would do; re-propose against the current value."""


class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


Validator = Callable[[Any], Any]
"""Checks a proposed value; returns it (possibly normalised) or raises InvalidValue."""


@dataclass(frozen=True)
class KeyRule:
    """One row of the protected-keys table."""

    pattern: str
    """An exact key, or a prefix ending in ``.*`` (``fees.*``)."""
    scopes: ScopeMode
    global_approval: GlobalApproval
    description: str
    audit_kind: str = AUDIT_POLICY_CHANGE
    artifact_kind: str | None = None
    """Deploy-gate keys: applying the proposal adds the artifact to the region's allowlist."""
    validator: Validator | None = field(default=None, compare=False)

    def matches(self, key: str) -> bool:
        if self.pattern.endswith(".*"):
            return key.startswith(self.pattern[:-1])
        return key == self.pattern

    @property
    def additive(self) -> bool:
        """Allowlist keys add to a set rather than replace a value, so a newer addition does
        not make a pending one stale."""
        return self.artifact_kind is not None

    @property
    def regionally_protected(self) -> bool:
        return self.global_approval is GlobalApproval.EVERY_REGION


# ---- value validators ------------------------------------------------------------------------


def _basis_points(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise InvalidValue("A rate in basis points is an integer from 0 to 10000.")
    return value


def normalize_sha256(raw: object) -> str | None:
    """Lower-case hex SHA-256, or None if ``raw`` is not one."""
    if not isinstance(raw, str):
        return None
    value = raw.strip().lower()
    return value if _SHA256_RE.match(value) else None


def _artifact(value: Any) -> Any:
    if not isinstance(value, Mapping) or set(value) != {"sha256", "version"}:
        raise InvalidArtifact(
            'A deploy proposal value is exactly {"sha256": "<64 hex>", "version": "<label>"}.'
        )
    sha256 = normalize_sha256(value["sha256"])
    if sha256 is None:
        raise InvalidArtifact("sha256 must be 64 hexadecimal characters (the artifact's SHA-256).")
    label = value["version"]
    if not isinstance(label, str) or not _LABEL_RE.match(label):
        raise InvalidArtifact(
            "version is a label of 1 to 64 letters, digits and . _ + - (e.g. 2026.11.3)."
        )
    return {"sha256": sha256, "version": label}


def _access_policies(value: Any) -> Any:
    if (
        not isinstance(value, Mapping)
        or set(value) != {"text"}
        or not isinstance(value["text"], str)
    ):
        raise InvalidValue(
            'An access.policies value is exactly {"text": "<Cedar policies>"}.',
            extra={"field": "value"},
        )
    try:
        PolicySet.from_text(value["text"], packaged_schema_text())
    except PolicyValidationError as exc:
        raise InvalidValue(
            "The access policies do not validate against the packaged schema: "
            + exc.messages[0]
            + (f" (and {len(exc.messages) - 1} more)" if len(exc.messages) > 1 else ""),
            extra={"field": "value", "messages": list(exc.messages)},
        ) from None
    return {"text": value["text"]}


def _listing_rules(value: Any) -> Any:
    from shopreel.catalog.review import RulesInvalid, parse_rules

    try:
        parse_rules(value)
    except RulesInvalid as exc:
        raise InvalidValue(f"Invalid listing rules: {exc}", extra={"field": "value"}) from None
    return value


# ---- the protected-keys table ----------------------------------------------------------------

_REGIONAL = "Regionally protected: a region scope needs that region's trust officer; a global "
_REGIONAL += "change needs every region's trust officer."

KEY_RULES: Final[tuple[KeyRule, ...]] = (
    KeyRule(
        "access.policies",
        ScopeMode.GLOBAL_OR_REGION,
        GlobalApproval.EVERY_REGION,
        'Staff access policies (who may see personal data), {"text": "<Cedar>"} valid '
        "against the packaged schema. " + _REGIONAL,
        validator=_access_policies,
    ),
    KeyRule(
        "catalog.restricted_categories",
        ScopeMode.GLOBAL_OR_REGION,
        GlobalApproval.EVERY_REGION,
        "Product categories that may not be sold. " + _REGIONAL,
    ),
    KeyRule(
        "catalog.listing_rules",
        ScopeMode.GLOBAL_ONLY,
        GlobalApproval.EVERY_REGION,
        "Listing review rules: prohibited and restricted categories and keywords, price "
        "sanity, image requirement (docs/listing-review.md). Global only; every region's "
        "trust officer approves.",
        validator=_listing_rules,
    ),
    KeyRule(
        "enforcement.thresholds",
        ScopeMode.GLOBAL_OR_REGION,
        GlobalApproval.EVERY_REGION,
        "Trust & safety enforcement thresholds. " + _REGIONAL,
    ),
    KeyRule(
        "discovery.ranking_blend",
        ScopeMode.GLOBAL_OR_REGION,
        GlobalApproval.EVERY_REGION,
        "Weights of the discovery feed ranking. " + _REGIONAL,
    ),
    KeyRule(
        "fees.referral_rate_bps",
        ScopeMode.GLOBAL_ONLY,
        GlobalApproval.HQ,
        "Creator referral fee in basis points (0..10000). Global only; one policy_admin.",
        validator=_basis_points,
    ),
    KeyRule(
        "fees.*",
        ScopeMode.GLOBAL_ONLY,
        GlobalApproval.HQ,
        "Other platform fees. Global only; one policy_admin approves.",
    ),
    KeyRule(
        "deploy.discovery_model",
        ScopeMode.REGION_ONLY,
        GlobalApproval.EVERY_REGION,
        "Add a discovery model (sha256, version) to a region's deploy allowlist; that "
        "region's trust officer approves.",
        audit_kind=AUDIT_MODEL_DEPLOY,
        artifact_kind="discovery_model",
        validator=_artifact,
    ),
    KeyRule(
        "deploy.policy_set",
        ScopeMode.REGION_ONLY,
        GlobalApproval.EVERY_REGION,
        "Add a policy set (sha256, version) to a region's deploy allowlist; that region's "
        "trust officer approves.",
        audit_kind=AUDIT_MODEL_DEPLOY,
        artifact_kind="policy_set",
        validator=_artifact,
    ),
)

DEFAULT_RULE: Final = KeyRule(
    "*",
    ScopeMode.GLOBAL_OR_REGION,
    GlobalApproval.EVERY_REGION,
    "Any other key: treated as regionally protected (fail safe).",
)


def rule_for(key: str) -> KeyRule:
    """The rule of ``key``: an exact entry first, then the longest matching prefix, then
    :data:`DEFAULT_RULE` (regionally protected). ``deploy.*`` keys must be listed."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY_RE.match(key):
        raise InvalidSettingKey(
            "A setting key is dotted lower-case words, e.g. fees.referral_rate_bps "
            f"(at most {MAX_KEY_LENGTH} characters).",
            extra={"field": "key"},
        )
    for rule in KEY_RULES:
        if rule.pattern == key:
            return rule
    prefixed = [r for r in KEY_RULES if r.pattern.endswith(".*") and r.matches(key)]
    if prefixed:
        return max(prefixed, key=lambda r: len(r.pattern))
    if key.startswith(DEPLOY_PREFIX):
        kinds = ", ".join(DEPLOY_PREFIX + kind for kind in ARTIFACT_KINDS)
        raise InvalidSettingKey(f"Unknown deploy key; use one of {kinds}.", extra={"field": "key"})
    return DEFAULT_RULE


def deploy_key(kind: str) -> str:
    """The proposal key that adds an artifact of ``kind`` to an allowlist."""
    if kind not in ARTIFACT_KINDS:
        raise InvalidArtifact(f"Unknown artifact kind {kind!r}; use one of {ARTIFACT_KINDS}.")
    return DEPLOY_PREFIX + kind


# ---- scopes and authorities ------------------------------------------------------------------


def check_regions(regions: Sequence[str]) -> None:
    if not regions:
        raise ValueError("governance needs at least one region")
    for name in (GLOBAL_SCOPE, HQ):
        if name in regions:
            raise ValueError(f"a region may not be called {name!r}: it names a governance scope")


def check_scope(rule: KeyRule, scope: str, regions: Sequence[str]) -> None:
    """Raise unless ``scope`` is ``global`` or a configured region allowed by ``rule``."""
    check_regions(regions)
    if scope != GLOBAL_SCOPE and scope not in regions:
        raise InvalidScope(
            f"The scope is 'global' or a region ({', '.join(regions)}).", extra={"field": "scope"}
        )
    if scope == GLOBAL_SCOPE and rule.scopes is ScopeMode.REGION_ONLY:
        raise ScopeNotAllowed(
            "This key is set per region only; propose it for a region.", extra={"field": "scope"}
        )
    if scope != GLOBAL_SCOPE and rule.scopes is ScopeMode.GLOBAL_ONLY:
        raise ScopeNotAllowed(
            "This key is global only; regions cannot override it.", extra={"field": "scope"}
        )


def required_authorities(rule: KeyRule, scope: str, regions: Sequence[str]) -> tuple[str, ...]:
    """The approval slots a change of ``rule``'s key in ``scope`` needs, in a stable order.

    A region scope needs that region's trust officer. A global change of a regionally
    protected key needs every region's trust officer; a global change of an HQ key needs one
    ``policy_admin`` (authority :data:`HQ`)."""
    check_scope(rule, scope, regions)
    if scope != GLOBAL_SCOPE:
        return (scope,)
    if rule.global_approval is GlobalApproval.HQ:
        return (HQ,)
    return tuple(regions)


@dataclass(frozen=True)
class Actor:
    """Who acts, as far as governance is concerned."""

    id: str
    is_staff: bool
    staff_roles: frozenset[str]
    region: str | None
    """The region the staff member's jurisdiction maps to (``region_for_country``)."""


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise StaffOnly("Governance is for staff only.")


def authority_denial(
    actor: Actor, authority: str, proposer_id: str | None
) -> PermissionDenied | None:
    """Why ``actor`` may not decide for ``authority`` on a proposal by ``proposer_id``
    (None: an act outside any proposal, e.g. a revocation), or None if they may. The
    two-person rule holds whatever roles the actor has."""
    if not actor.is_staff:
        return StaffOnly("Governance is for staff only.")
    if actor.id == proposer_id:
        return OwnProposal("You cannot decide your own proposal: a second person must approve.")
    if authority == HQ:
        if POLICY_ADMIN not in actor.staff_roles:
            return NotPolicyAdmin("Headquarters approval needs the policy_admin staff role.")
        return None
    if TRUST_OFFICER not in actor.staff_roles:
        return NotTrustOfficer(f"Only a trust officer of {authority!r} can decide for it.")
    if actor.region != authority:
        return WrongJurisdiction(
            f"Your jurisdiction maps to region {actor.region!r}; only a trust officer of "
            f"{authority!r} can decide for it."
        )
    return None


_DENIAL_RANK: Final[dict[type[PermissionDenied], int]] = {
    StaffOnly: 0,
    OwnProposal: 1,
    WrongJurisdiction: 2,
    NotTrustOfficer: 3,
    NotPolicyAdmin: 4,
}


def choose_authority(
    actor: Actor,
    proposer_id: str,
    decisions: Mapping[str, str],
    requested: str | None = None,
) -> str:
    """Which of the proposal's authorities ``actor`` decides for.

    ``decisions`` maps each required authority to its current decision. With ``requested``
    the actor must be eligible for exactly that authority; without it, the one authority the
    actor is eligible for (preferring a still-pending one). Raises the most telling
    PermissionDenied when the actor is eligible for none."""
    if requested is not None:
        if requested not in decisions:
            raise AuthorityNotRequired(
                f"This proposal needs no decision from {requested!r}; it needs "
                f"{', '.join(decisions)}.",
                extra={"field": "authority"},
            )
        denial = authority_denial(actor, requested, proposer_id)
        if denial is not None:
            raise denial
        return requested
    eligible: list[str] = []
    denials: list[PermissionDenied] = []
    for authority in decisions:
        denial = authority_denial(actor, authority, proposer_id)
        if denial is None:
            eligible.append(authority)
        else:
            denials.append(denial)
    if not eligible:
        raise min(denials, key=lambda d: _DENIAL_RANK.get(type(d), 99))
    if len(eligible) == 1:
        return eligible[0]
    pending = [a for a in eligible if decisions[a] == Decision.PENDING.value]
    if len(pending) == 1:
        return pending[0]
    raise AuthorityAmbiguous(
        f"You may decide for {', '.join(eligible)}; name one in 'authority'.",
        extra={"field": "authority"},
    )


def remaining(decisions: Mapping[str, str]) -> list[str]:
    return [a for a, d in decisions.items() if d != Decision.APPROVED.value]


# ---- values ----------------------------------------------------------------------------------


def canonical_json(value: object) -> bytes:
    """Sorted keys, no whitespace, UTF-8, no NaN: the bytes a value's digest is taken over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def value_sha256(value: object) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def _check_shape(value: object, path: str, depth: int) -> None:
    if depth > MAX_VALUE_DEPTH:
        raise InvalidValue(f"The value is nested more than {MAX_VALUE_DEPTH} levels deep.")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(f"{path or '/'} is not a finite number.")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_shape(item, f"{path}/{index}", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidValue("JSON object keys are strings.")
            _check_shape(item, f"{path}/{_escape(key)}", depth + 1)
        return
    raise InvalidValue(f"{path or '/'} is a {type(value).__name__}, which is not JSON.")


def validate_value(rule: KeyRule, value: object) -> Any:
    """Check a proposed value; returns it normalised (deploy sha256 lower-cased).

    A value is JSON, not null (null would read as "unset"), at most
    :data:`MAX_VALUE_BYTES` as canonical JSON and :data:`MAX_VALUE_DEPTH` deep, and passes
    the key's own validator."""
    if value is None:
        raise InvalidValue("A setting value cannot be null.", extra={"field": "value"})
    _check_shape(value, "", 0)
    try:
        size = len(canonical_json(value))
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"The value is not JSON: {exc}", extra={"field": "value"}) from None
    if size > MAX_VALUE_BYTES:
        raise InvalidValue(
            f"The value is {size} bytes as JSON; the limit is {MAX_VALUE_BYTES}.",
            extra={"field": "value"},
        )
    if rule.validator is not None:
        return rule.validator(value)
    return value


# ---- diffs -----------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass
class JsonDiff:
    """Changes from one JSON value to another, by RFC 6901 JSON Pointer path.

    ``added`` and ``removed`` entries carry the ``value``; ``changed`` ones ``old`` and
    ``new``. The root is the path ``""``: a setting set for the first time is one addition
    at ``""``. List elements are matched as a sequence (like ``diff``), so removing the first
    of three categories reads as one removal, not three changes."""

    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.to_json().items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JsonDiff:
        return cls(
            added=list(data.get("added", [])),
            removed=list(data.get("removed", [])),
            changed=list(data.get("changed", [])),
        )

    def lines(self) -> list[str]:
        """One human-readable line per change, e.g. ``~ /weights/recency: 0.2 -> 0.3``."""

        def show(value: Any) -> str:
            return canonical_json(value).decode("utf-8")

        out = [f"+ {c['path'] or '/'}: {show(c['value'])}" for c in self.added]
        out += [f"- {c['path'] or '/'}: {show(c['value'])}" for c in self.removed]
        out += [f"~ {c['path'] or '/'}: {show(c['old'])} -> {show(c['new'])}" for c in self.changed]
        return out


def _same(a: object, b: object) -> bool:
    return canonical_json(a) == canonical_json(b)


def _walk(old: Any, new: Any, path: str, out: JsonDiff) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            child = f"{path}/{_escape(key)}"
            if key not in new:
                out.removed.append({"path": child, "value": old[key]})
            elif key not in old:
                out.added.append({"path": child, "value": new[key]})
            else:
                _walk(old[key], new[key], child, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        _walk_list(old, new, path, out)
        return
    if not _same(old, new):
        out.changed.append({"path": path, "old": old, "new": new})


def _walk_list(old: list[Any], new: list[Any], path: str, out: JsonDiff) -> None:
    a = [canonical_json(x) for x in old]
    b = [canonical_json(x) for x in new]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                _walk(old[i1 + offset], new[j1 + offset], f"{path}/{j1 + offset}", out)
            continue
        for i in range(i1, i2):
            out.removed.append({"path": f"{path}/{i}", "value": old[i]})
        for j in range(j1, j2):
            out.added.append({"path": f"{path}/{j}", "value": new[j]})


def diff_setting(old: Any, new: Any) -> JsonDiff:
    """Diff from the current value ``old`` (None: never set) to ``new``. Removed list items
    carry their index in the old list, added ones their index in the new list."""
    out = JsonDiff()
    if old is None:
        out.added.append({"path": "", "value": new})
        return out
    _walk(old, new, "", out)
    return out


def describe_table(regions: Collection[str]) -> list[dict[str, str]]:
    """The protected-keys table as rows (for docs and the trust console)."""
    names = ", ".join(regions)
    rows = []
    for rule in (*KEY_RULES, DEFAULT_RULE):
        if rule.global_approval is GlobalApproval.HQ:
            global_needs = "one policy_admin (HQ)"
        else:
            global_needs = f"a trust officer of each region ({names})"
        rows.append(
            {
                "key": rule.pattern,
                "scopes": rule.scopes.value,
                "global_change_needs": (
                    "-" if rule.scopes is ScopeMode.REGION_ONLY else global_needs
                ),
                "regional_change_needs": (
                    "-" if rule.scopes is ScopeMode.GLOBAL_ONLY else "that region's trust officer"
                ),
                "audit_kind": rule.audit_kind,
            }
        )
    return rows
