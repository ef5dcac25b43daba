"""Account error codes (stable: clients match on them)."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotAuthenticated, PermissionDenied, ValidationFailed


class AccountErrorCode(StrEnum):
    EMAIL_TAKEN = "email_taken"
    INVALID_CREDENTIALS = "invalid_credentials"
    LOGIN_THROTTLED = "login_throttled"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 - an error code
    INVALID_COUNTRY = "invalid_country"
    INVALID_ROLE = "invalid_role"
    INVALID_RESET_TOKEN = "invalid_reset_token"  # noqa: S105 - an error code
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code
    INSUFFICIENT_SCOPE = "insufficient_scope"
    ACCOUNT_DISABLED = "account_disabled"


class EmailTaken(Conflict):
    code = AccountErrorCode.EMAIL_TAKEN.value


class InvalidCredentials(NotAuthenticated):
    code = AccountErrorCode.INVALID_CREDENTIALS.value


class WeakPassword(ValidationFailed):
    code = AccountErrorCode.WEAK_PASSWORD.value


class InvalidResetToken(ValidationFailed):
    code = AccountErrorCode.INVALID_RESET_TOKEN.value


class InsufficientScope(PermissionDenied):
    code = AccountErrorCode.INSUFFICIENT_SCOPE.value
