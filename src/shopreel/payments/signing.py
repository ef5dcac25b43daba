"""Webhook signatures: ``Shopreel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The MAC covers ``"<t>." + body`` under the webhook secret, so neither the body nor the
timestamp can be changed; the receiver refuses timestamps outside a tolerance window
(default 5 minutes) so a captured request cannot be replayed later. Several ``v1=`` values
may be sent (secret rotation): one matching is enough.

The sandbox's secrets are derived from ``SHOPREEL_SECRET_KEY`` with a label per purpose,
so every deployment has its own and none needs configuring; changing the secret key
changes them (pending webhooks signed with the old one are then refused and retried).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from shopreel.payments.provider import WebhookSignatureInvalid, WebhookTimestampStale

SIGNATURE_HEADER = "Shopreel-Signature"
TOLERANCE_SECONDS = 300


def derive_secret(secret_key: str, label: str) -> bytes:
    """A per-deployment secret for one purpose (HMAC of the label under the app secret)."""
    return hmac.new(secret_key.encode(), f"shopreel:{label}".encode(), hashlib.sha256).digest()


def webhook_secret(secret_key: str) -> bytes:
    return derive_secret(secret_key, "payments.sandbox.webhook-signing")


def token_secret(secret_key: str) -> bytes:
    return derive_secret(secret_key, "payments.sandbox.card-tokens")


def compute_signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"


def verify_signature(
    secret: bytes,
    header: str | None,
    body: bytes,
    now: datetime,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """The signed timestamp, or :class:`WebhookSignatureInvalid` /
    :class:`WebhookTimestampStale`. The MAC is checked before the time so a forger learns
    nothing from the error."""
    if not header:
        raise WebhookSignatureInvalid(f"The {SIGNATURE_HEADER} header is missing.")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureInvalid(f"The {SIGNATURE_HEADER} header is malformed.")
    expected = compute_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookSignatureInvalid("The webhook signature does not match.")
    if abs(now.timestamp() - timestamp) > tolerance:
        raise WebhookTimestampStale(
            f"The webhook timestamp is outside the {tolerance}-second tolerance window."
        )
    return timestamp
