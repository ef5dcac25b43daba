"""Governance error codes (stable: clients and the trust console match on them)."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class GovernanceErrorCode(StrEnum):
    STAFF_ONLY = "staff_only"
    SESSION_REQUIRED = "session_required"
    OWN_PROPOSAL = "own_proposal"
    NOT_TRUST_OFFICER = "not_trust_officer"
    NOT_POLICY_ADMIN = "not_policy_admin"
    WRONG_JURISDICTION = "wrong_jurisdiction"
    AUTHORITY_NOT_REQUIRED = "authority_not_required"
    AUTHORITY_AMBIGUOUS = "authority_ambiguous"
    PROPOSAL_NOT_FOUND = "proposal_not_found"
    PROPOSAL_NOT_PENDING = "proposal_not_pending"
    ALREADY_DECIDED = "already_decided"
    INVALID_SETTING_KEY = "invalid_setting_key"
    INVALID_SCOPE = "invalid_scope"
    SCOPE_NOT_ALLOWED = "scope_not_allowed"
    INVALID_VALUE = "invalid_value"
    NO_CHANGE = "no_change"
    SETTING_NOT_FOUND = "setting_not_found"
    ALREADY_ALLOWLISTED = "already_allowlisted"
    ALLOWLIST_ENTRY_NOT_FOUND = "allowlist_entry_not_found"
    ALREADY_REVOKED = "already_revoked"
    INVALID_ARTIFACT = "invalid_artifact"
    DEPLOY_BLOCKED = "deploy_blocked"


# ---- who may act (403) -----------------------------------------------------------------------


class StaffOnly(PermissionDenied):
    code = GovernanceErrorCode.STAFF_ONLY.value


class SessionRequired(PermissionDenied):
    code = GovernanceErrorCode.SESSION_REQUIRED.value


class OwnProposal(PermissionDenied):
    """Two-person rule: nobody approves or rejects their own proposal."""

    code = GovernanceErrorCode.OWN_PROPOSAL.value


class NotTrustOfficer(PermissionDenied):
    code = GovernanceErrorCode.NOT_TRUST_OFFICER.value


class NotPolicyAdmin(PermissionDenied):
    code = GovernanceErrorCode.NOT_POLICY_ADMIN.value


class WrongJurisdiction(PermissionDenied):
    """A trust officer acting for a region their jurisdiction does not map to."""

    code = GovernanceErrorCode.WRONG_JURISDICTION.value


class DeployBlocked(PermissionDenied):
    """An artifact is not on the region's deploy allowlist (or was revoked)."""

    code = GovernanceErrorCode.DEPLOY_BLOCKED.value
    title = "Deploy blocked"


# ---- what was asked (422) --------------------------------------------------------------------


class AuthorityNotRequired(ValidationFailed):
    code = GovernanceErrorCode.AUTHORITY_NOT_REQUIRED.value


class AuthorityAmbiguous(ValidationFailed):
    code = GovernanceErrorCode.AUTHORITY_AMBIGUOUS.value


class InvalidSettingKey(ValidationFailed):
    code = GovernanceErrorCode.INVALID_SETTING_KEY.value


class InvalidScope(ValidationFailed):
    code = GovernanceErrorCode.INVALID_SCOPE.value


class ScopeNotAllowed(ValidationFailed):
    code = GovernanceErrorCode.SCOPE_NOT_ALLOWED.value


class InvalidValue(ValidationFailed):
    code = GovernanceErrorCode.INVALID_VALUE.value


class NoChange(ValidationFailed):
    code = GovernanceErrorCode.NO_CHANGE.value


class InvalidArtifact(ValidationFailed):
    code = GovernanceErrorCode.INVALID_ARTIFACT.value


# ---- state (404, 409) ------------------------------------------------------------------------


class ProposalNotFound(NotFound):
    code = GovernanceErrorCode.PROPOSAL_NOT_FOUND.value


class SettingNotFound(NotFound):
    code = GovernanceErrorCode.SETTING_NOT_FOUND.value


class AllowlistEntryNotFound(NotFound):
    code = GovernanceErrorCode.ALLOWLIST_ENTRY_NOT_FOUND.value


class ProposalNotPending(Conflict):
    code = GovernanceErrorCode.PROPOSAL_NOT_PENDING.value


class AlreadyDecided(Conflict):
    """This authority (region or HQ) has already decided this proposal."""

    code = GovernanceErrorCode.ALREADY_DECIDED.value


class AlreadyAllowlisted(Conflict):
    code = GovernanceErrorCode.ALREADY_ALLOWLISTED.value


class AlreadyRevoked(Conflict):
    code = GovernanceErrorCode.ALREADY_REVOKED.value
