"""Hashes of secrets that are stored: tokens are high-entropy, so SHA-256 suffices."""

from __future__ import annotations

import hashlib
import hmac


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
