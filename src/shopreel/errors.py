"""One error hierarchy. Every expected failure carries a stable ``code`` and an HTTP status,
and is rendered as ``application/problem+json`` (RFC 9457) by the app's handlers."""

from __future__ import annotations

from typing import Any


class ShopReelError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.extra = extra or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://shopreel.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class ValidationFailed(ShopReelError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"


class NotAuthenticated(ShopReelError):
    status = 401
    code = "not_authenticated"
    title = "Not authenticated"


class PermissionDenied(ShopReelError):
    status = 403
    code = "permission_denied"
    title = "Permission denied"


class NotFound(ShopReelError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(ShopReelError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(ShopReelError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class TooManyRequests(ShopReelError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(
            detail,
            code=code,
            headers={"Retry-After": str(max(1, retry_after))},
            extra={"retry_after": max(1, retry_after)},
        )
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(ShopReelError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
