"""The payment state machine (our side), as pure functions.

::

    pending ──► requires_action ──► authorized ──► captured ──► partially_refunded ──► refunded
       │               │                │   │          └───────────────────────────────►┘
       └──► declined ◄─┘                │   └──► failed   (the capture failed)
                                        └──► voided

``declined``, ``voided``, ``failed`` and ``refunded`` are terminal. A payment is one
attempt: after a decline, checkout starts a new payment.

News of a payment arrives twice and in any order: as the result of our own call and as
webhooks (delivered at least once, possibly late). So the machine is applied as
"move forward to the provider's state if it is reachable": a state reachable from the
current one is applied even if it skips steps (``captured`` before ``authorized`` arrived:
the capture implies the authorization), the current state or an earlier one is *stale*
and ignored, and anything else (e.g. ``captured`` after ``voided``) is a *conflict* that is
recorded and ignored, never applied.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from shopreel.payments.provider import Authorization, AuthorizationStatus


class PaymentStatus(StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DECLINED = "declined"
    VOIDED = "voided"
    FAILED = "failed"


S = PaymentStatus
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.PENDING: frozenset({S.REQUIRES_ACTION, S.AUTHORIZED, S.DECLINED}),
    S.REQUIRES_ACTION: frozenset({S.AUTHORIZED, S.DECLINED}),
    S.AUTHORIZED: frozenset({S.CAPTURED, S.VOIDED, S.FAILED}),
    S.CAPTURED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
    S.DECLINED: frozenset(),
    S.VOIDED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


class Decision(StrEnum):
    APPLY = "apply"  # move forward (possibly skipping states)
    SAME = "same"  # already there
    STALE = "stale"  # the news is older than what we know
    CONFLICT = "conflict"  # cannot follow from our state: record, do not apply


@cache
def reachable(source: PaymentStatus, target: PaymentStatus) -> bool:
    """``target`` can follow ``source`` through one or more transitions."""
    seen: set[PaymentStatus] = set()
    frontier = [source]
    while frontier:
        current = frontier.pop()
        for nxt in TRANSITIONS[current]:
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def decide(current: PaymentStatus, target: PaymentStatus) -> Decision:
    if current == target:
        return Decision.SAME
    if reachable(current, target):
        return Decision.APPLY
    if reachable(target, current):
        return Decision.STALE
    return Decision.CONFLICT


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    """One direct step (what our own calls may do)."""
    return target in TRANSITIONS[current]


def status_after_refunds(captured_cents: int, refunded_cents: int) -> PaymentStatus:
    if refunded_cents <= 0:
        return S.CAPTURED
    if refunded_cents >= captured_cents:
        return S.REFUNDED
    return S.PARTIALLY_REFUNDED


def status_from_provider(authorization: Authorization) -> PaymentStatus:
    """Our status for the provider's view of an authorization."""
    status = authorization.status
    if status is AuthorizationStatus.CAPTURED:
        return status_after_refunds(authorization.captured_cents, authorization.refunded_cents)
    return {
        AuthorizationStatus.REQUIRES_ACTION: S.REQUIRES_ACTION,
        AuthorizationStatus.AUTHORIZED: S.AUTHORIZED,
        AuthorizationStatus.DECLINED: S.DECLINED,
        AuthorizationStatus.VOIDED: S.VOIDED,
        AuthorizationStatus.FAILED: S.FAILED,
    }[status]


def refundable_cents(captured_cents: int, refunded_cents: int) -> int:
    return max(0, captured_cents - refunded_cents)
