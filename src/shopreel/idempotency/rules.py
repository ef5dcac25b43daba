"""Pure rules of idempotent requests: key syntax, request fingerprints, and what a request
does when its key is already known. No database, no framework: tested on their own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from shopreel.idempotency.errors import KeyInvalid, KeyRequired
from shopreel.idempotency.models import RecordState

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
"""How long a record (and its stored response) is kept after its last attempt started or
completed. The issue asks for at least 24 hours; clients retry within minutes."""
IN_FLIGHT_RETRY_AFTER = 1
"""``Retry-After`` (seconds) of a 409 in-flight answer: most attempts finish within it."""
DEFAULT_LEASE = timedelta(seconds=60)
"""How long an attempt owns its key. A retry arriving after the lease of a crashed attempt
ran out takes the key over. Endpoints that call slow providers pass a longer lease."""
STORED_HEADERS = ("content-type", "location", "link")
"""Response headers replayed with the stored body. Others (cookies, request ids, security
headers) belong to each response, not to the operation's outcome."""
RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""4xx statuses that describe the moment, not the operation: they are not stored, so a
retry with the same key runs again."""


def validate_key(raw: str | None) -> str:
    """The client's key: 1 to 255 visible ASCII characters (``!`` to ``~``), as sent."""
    if raw is None or raw == "":
        raise KeyRequired(
            f"This request moves money: send an '{HEADER}' header (for example a UUID) and "
            "reuse it when you retry, so the operation runs at most once."
        )
    if len(raw) > MAX_KEY_LENGTH or not all("!" <= ch <= "~" for ch in raw):
        raise KeyInvalid(
            f"'{HEADER}' must be 1 to {MAX_KEY_LENGTH} visible ASCII characters "
            "(no spaces or control characters)."
        )
    return raw


def canonical_body(body: bytes) -> bytes:
    """JSON bodies in one canonical form (sorted keys, no insignificant whitespace), so a
    client that re-serializes the same document on retry gets the same fingerprint. Any
    other body counts byte for byte."""
    if not body:
        return b""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return body
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
    ).encode()


def fingerprint(
    *,
    method: str,
    route: str,
    path_params: Mapping[str, object],
    query: Iterable[tuple[str, str]],
    body: bytes,
) -> str:
    """SHA-256 (hex) of what makes two requests "the same request": the method, the route
    template, the values of its path parameters (``/orders/{id}/refund`` for two orders is
    two operations), the query pairs, and the canonical body."""
    head = json.dumps(
        [
            method.upper(),
            route,
            sorted((str(k), str(v)) for k, v in path_params.items()),
            sorted((str(k), str(v)) for k, v in query),
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    digest = hashlib.sha256()
    digest.update(len(head).to_bytes(8, "big"))
    digest.update(head)
    digest.update(canonical_body(body))
    return digest.hexdigest()


class Outcome(StrEnum):
    """What a request does when its key already has a record."""

    RESET = "reset"  # the record expired: the key is free again, start afresh
    REUSED = "reused"  # another request used this key: 422
    REPLAY = "replay"  # same request, completed: replay the stored response
    IN_FLIGHT = "in_flight"  # same request, another attempt holds the lease: 409
    TAKE_OVER = "take_over"  # same request, the previous attempt's lease ran out: run again


def decide(
    *,
    state: str,
    same_fingerprint: bool,
    locked_until: datetime,
    expires_at: datetime,
    now: datetime,
) -> Outcome:
    lease_active = state == RecordState.IN_FLIGHT.value and now < locked_until
    if now >= expires_at and not lease_active:
        return Outcome.RESET
    if not same_fingerprint:
        return Outcome.REUSED
    if state == RecordState.COMPLETED.value:
        return Outcome.REPLAY
    return Outcome.IN_FLIGHT if lease_active else Outcome.TAKE_OVER


def is_final(status: int) -> bool:
    """Is a response with ``status`` the operation's outcome (stored and replayed)? 2xx-4xx
    yes, except the retryable 4xx; 5xx no: the key is released for another attempt."""
    return status < 500 and status not in RETRYABLE_STATUSES
