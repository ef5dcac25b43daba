"""Pure-ASGI middleware: request ids, body size limits, security headers, metrics, logs."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopreel.errors import PayloadTooLarge, ShopReelError
from shopreel.observability import Metrics, request_id_var

log = logging.getLogger("shopreel.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def problem_bytes(error: ShopReelError, instance: str) -> bytes:
    return json.dumps(error.problem(instance)).encode()


class RequestMiddleware:
    """Every HTTP request gets: an id (``X-Request-ID``, echoed or generated), a CSP nonce,
    a body-size limit, security headers, a metrics sample and one JSON access-log line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body: int,
        upload_max_body: int,
        upload_prefixes: tuple[str, ...] = ("/api/v1/uploads",),
        hsts: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.upload_max_body = upload_max_body
        self.upload_prefixes = upload_prefixes
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        token = request_id_var.set(request_id)
        nonce = secrets.token_urlsafe(16)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["csp_nonce"] = nonce
        path: str = scope["path"]
        limit = self.upload_max_body if path.startswith(self.upload_prefixes) else self.max_body
        started = time.perf_counter()
        status_holder = [500]

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject_too_large(send, path, limit, request_id, status_holder)
            self._finish(scope, status_holder[0], started)
            request_id_var.reset(token)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # HTTPException passes through FastAPI's body parsing untouched (other
                    # errors become a generic 400) and is rendered as problem+json.
                    raise HTTPException(413, f"request body exceeds the limit of {limit} bytes")
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                raw = list(message.get("headers", []))
                raw.extend(self._security_headers(nonce, request_id, raw))
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        finally:
            self._finish(scope, status_holder[0], started)
            request_id_var.reset(token)

    async def _reject_too_large(
        self, send: Send, path: str, limit: int, request_id: str, status_holder: list[int]
    ) -> None:
        error = PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        body = problem_bytes(error, path)
        status_holder[0] = 413
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _security_headers(
        self, nonce: str, request_id: str, existing: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        present = {k.lower() for k, _ in existing}
        csp = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'"
        )
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if b"content-security-policy" not in present:
            headers.append((b"content-security-policy", csp.encode()))
        if self.hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        return [h for h in headers if h[0] not in present]

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "GET")
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(template).observe(elapsed)
        log.info(
            "request",
            extra={
                "fields": {
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                }
            },
        )
