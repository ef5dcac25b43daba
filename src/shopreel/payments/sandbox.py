"""The built-in sandbox provider: a pretend card processor that behaves like a real one.

* **Its own state, its own transactions.** The sandbox keeps its books in the ``sandbox_*``
  tables of the buyer's regional database (see :mod:`shopreel.payments.models`) and opens
  and commits its own sessions: like a real provider, what it did stays done when our
  request rolls back or crashes. Its ids embed the region (``sbxauth_us_…``) so any call
  finds its database without a directory.
* **Idempotent at the provider.** Every money-moving call records its idempotency key with
  a fingerprint of the parameters and the first response (or refusal) in the same
  transaction as the effect. A repeat returns that response; different parameters with the
  same key are refused (``idempotency_key_reused``). Two racing calls with one key: the
  key's primary key lets one insert win; the other waits, fails the insert, and replays.
* **Asynchronous webhooks.** Each change enqueues a signed event in ``sandbox_webhook_events``
  in the same transaction (an outbox); :func:`deliver_pending_webhooks` delivers them.
* **Checks before changes.** Every action raises its refusals before it writes anything
  (state changes are conditional ``UPDATE … WHERE status = …`` statements that are the
  check themselves), so a refusal stored for replay never leaves half an effect behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import as_utc, utcnow
from shopreel.payments import cards, signing
from shopreel.payments.cards import Behaviour
from shopreel.payments.models import (
    SandboxAuthorization,
    SandboxCapture,
    SandboxIdempotencyKey,
    SandboxRefund,
    SandboxWebhookEvent,
)
from shopreel.payments.provider import (
    PROVIDER_ERRORS,
    AmountExceedsAuthorized,
    AmountExceedsCaptured,
    Authorization,
    AuthorizationStatus,
    Capture,
    CaptureStatus,
    Card,
    DeclineCode,
    EventType,
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidAuthorizationState,
    ProviderError,
    ProviderObjectNotFound,
    Refund,
    WebhookEvent,
    WebhookPayloadInvalid,
)
from shopreel.planes import regional
from shopreel.runtime import Runtime

log = logging.getLogger("shopreel.payments.sandbox")

PROVIDER_NAME = "sandbox"
MAX_AMOUNT_CENTS = 99_999_999
MAX_KEY_LENGTH = 255
CHALLENGE_TTL = timedelta(minutes=30)
CHALLENGE_PATH = "/payments/sandbox/challenge"
WEBHOOK_PATH = "/api/v1/payments/webhooks/sandbox"

_DECLINES: dict[Behaviour, DeclineCode] = {
    Behaviour.DECLINE: DeclineCode.CARD_DECLINED,
    Behaviour.INSUFFICIENT_FUNDS: DeclineCode.INSUFFICIENT_FUNDS,
    Behaviour.EXPIRED: DeclineCode.EXPIRED_CARD,
    Behaviour.INCORRECT_CVC: DeclineCode.INCORRECT_CVC,
}
_S = AuthorizationStatus


def tokenize(
    runtime: Runtime, number: str, exp_month: int, exp_year: int, cvc: str
) -> tuple[str, Card]:
    """The sandbox's tokenization: validate a test card, return its token and what it says
    of the card (brand, last4, expiry); the number and CVC are forgotten."""
    card = cards.validate_card(number, exp_month, exp_year, cvc, utcnow())
    key = signing.token_secret(runtime.settings.secret_key)
    token = cards.issue_token(key, card, exp_month, exp_year)
    return token, cards.read_token(key, token).card


def _snapshot(row: SandboxAuthorization) -> Authorization:
    return Authorization(
        id=row.id,
        status=AuthorizationStatus(row.status),
        amount_cents=row.amount_cents,
        currency=row.currency,
        card=Card(row.card_brand, row.card_last4, row.card_exp_month, row.card_exp_year),
        created_at=as_utc(row.created_at),
        captured_cents=row.captured_cents,
        refunded_cents=row.refunded_cents,
        capture_id=row.capture_id,
        decline_code=row.decline_code,
        next_action_url=None,
        metadata=dict(row.details or {}),
    )


def _capture(row: SandboxCapture) -> Capture:
    return Capture(
        id=row.id,
        authorization_id=row.authorization_id,
        status=CaptureStatus(row.status),
        amount_cents=row.amount_cents,
        currency=row.currency,
        created_at=as_utc(row.created_at),
        refunded_cents=row.refunded_cents,
        failure_code=row.failure_code,
    )


def _refund(row: SandboxRefund) -> Refund:
    return Refund(
        id=row.id,
        capture_id=row.capture_id,
        authorization_id=row.authorization_id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        created_at=as_utc(row.created_at),
    )


def _check_amount(amount_cents: int) -> None:
    if (
        not isinstance(amount_cents, int)
        or isinstance(amount_cents, bool)
        or not 1 <= amount_cents <= MAX_AMOUNT_CENTS
    ):
        raise InvalidAmount(f"Amounts are whole cents from 1 to {MAX_AMOUNT_CENTS}.")


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidAmount(  # a malformed request, same family as a bad amount
            f"An idempotency key of 1 to {MAX_KEY_LENGTH} characters is required.",
            code="invalid_idempotency_key",
        )


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class SandboxProvider:
    """The sandbox behind the :class:`~shopreel.payments.provider.PaymentProvider`
    interface. ``region`` is where new authorizations are kept (the buyer's home region);
    every other call finds its region from the object's id."""

    name = PROVIDER_NAME

    def __init__(self, runtime: Runtime, region: str | None = None) -> None:
        self.runtime = runtime
        self.region = region

    # ---- plumbing ----------------------------------------------------------------------------

    def _region_of(self, object_id: str) -> str:
        region = region_of(object_id)
        if region is None or region not in self.runtime.settings.region_names:
            raise ProviderObjectNotFound("No such sandbox object.")
        return region

    async def _once(
        self,
        region: str,
        key: str,
        operation: str,
        params: Mapping[str, Any],
        action: Callable[[AsyncSession], Awaitable[dict[str, Any]]],
        *,
        remember: Callable[[dict[str, Any]], bool] = lambda _response: True,
    ) -> dict[str, Any]:
        """Run ``action`` at most once per idempotency key (see the module docstring)."""
        _check_key(key)
        fingerprint = hashlib.sha256(
            json.dumps({"operation": operation, **params}, sort_keys=True, default=str).encode()
        ).hexdigest()
        for attempt in range(3):
            try:
                async with self.runtime.databases.transaction(regional(region)) as session:
                    existing = await session.get(SandboxIdempotencyKey, key)
                    if existing is not None:
                        return _unwrap(_replay(existing, operation, fingerprint))
                    record = SandboxIdempotencyKey(
                        key=key, operation=operation, fingerprint=fingerprint, response={}
                    )
                    session.add(record)
                    await session.flush()  # the race for the key is settled here
                    try:
                        response = await action(session)
                    except ProviderError as error:
                        response = {"error": error.code, "detail": error.detail}
                    if remember(response):
                        record.response = response
                    else:
                        await session.delete(record)
                return _unwrap(response)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _enqueue(
        self,
        session: AsyncSession,
        region: str,
        event_type: EventType,
        authorization: SandboxAuthorization,
        *,
        capture: SandboxCapture | None = None,
        refund: SandboxRefund | None = None,
    ) -> None:
        now = utcnow()
        event = WebhookEvent(
            id=new_id("evt", region),
            type=event_type.value,
            created_at=now,
            authorization=_snapshot(authorization),
            capture=_capture(capture) if capture else None,
            refund=_refund(refund) if refund else None,
        )
        session.add(
            SandboxWebhookEvent(
                id=event.id,
                type=event.type,
                body=json.dumps(event.to_dict(), separators=(",", ":"), sort_keys=True),
                status="pending",
                attempts=0,
                next_attempt_at=now,
            )
        )

    async def _load(self, session: AsyncSession, authorization_id: str) -> SandboxAuthorization:
        row = await session.get(SandboxAuthorization, authorization_id, populate_existing=True)
        if row is None:
            raise ProviderObjectNotFound("No such sandbox authorization.")
        return row

    def _with_action_url(self, row: SandboxAuthorization, secret: str | None) -> dict[str, Any]:
        data = _snapshot(row).to_dict()
        if secret is not None and row.status == _S.REQUIRES_ACTION:
            base = self.runtime.settings.base_url.rstrip("/")
            data["next_action_url"] = f"{base}{CHALLENGE_PATH}/{row.id}?secret={secret}"
        return data

    # ---- the interface -----------------------------------------------------------------------

    async def authorize(
        self,
        token: str,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        *,
        return_url: str | None = None,
    ) -> Authorization:
        if self.region is None:
            raise ProviderObjectNotFound("The sandbox needs the buyer's region to authorize.")
        region = self.region
        token_key = signing.token_secret(self.runtime.settings.secret_key)

        async def action(session: AsyncSession) -> dict[str, Any]:
            _check_amount(amount_cents)
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise InvalidAmount("The currency must be an ISO 4217 code such as USD.")
            if len(metadata) > 20 or any(len(k) > 40 or len(v) > 500 for k, v in metadata.items()):
                raise InvalidAmount("At most 20 metadata entries of at most 500 characters.")
            contents = cards.read_token(token_key, token)
            now = utcnow()
            status, decline, secret = _S.AUTHORIZED, _DECLINES.get(contents.behaviour), None
            if cards.is_expired(contents.card.exp_month, contents.card.exp_year, now):
                decline = DeclineCode.EXPIRED_CARD
            if decline is not None:
                status = _S.DECLINED
            elif contents.behaviour is Behaviour.REQUIRES_ACTION:
                status, secret = _S.REQUIRES_ACTION, secrets.token_urlsafe(24)
            row = SandboxAuthorization(
                id=new_id("sbxauth", region),
                status=status.value,
                behaviour=contents.behaviour.value,
                amount_cents=amount_cents,
                currency=currency,
                captured_cents=0,
                refunded_cents=0,
                decline_code=decline.value if decline else None,
                card_brand=contents.card.brand,
                card_last4=contents.card.last4,
                card_exp_month=contents.card.exp_month,
                card_exp_year=contents.card.exp_year,
                details=dict(metadata),
                return_url=_safe_return_url(self.runtime.settings.base_url, return_url),
                challenge_hash=_hash(secret) if secret else None,
                challenge_expires_at=now + CHALLENGE_TTL if secret else None,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            event = {
                _S.AUTHORIZED: EventType.PAYMENT_AUTHORIZED,
                _S.DECLINED: EventType.PAYMENT_FAILED,
                _S.REQUIRES_ACTION: EventType.PAYMENT_REQUIRES_ACTION,
            }[status]
            self._enqueue(session, region, event, row)
            return {"authorization": self._with_action_url(row, secret)}

        params = {
            "token": token,
            "amount_cents": amount_cents,
            "currency": currency,
            "metadata": dict(metadata),
            "return_url": return_url,
        }
        response = await self._once(region, idempotency_key, "authorize", params, action)
        return Authorization.from_dict(response["authorization"])

    async def confirm_action(self, authorization_id: str, idempotency_key: str) -> Authorization:
        """A confirmation that finds the second step unfinished is not remembered under its
        key: the buyer may come back and confirm again with the same key."""
        region = self._region_of(authorization_id)

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await self._load(session, authorization_id)
            if row.status == _S.REQUIRES_ACTION and _challenge_expired(row, utcnow()):
                await self._finish_challenge(
                    session, region, row, DeclineCode.AUTHENTICATION_EXPIRED
                )
            return {"authorization": _snapshot(row).to_dict()}

        def final(response: dict[str, Any]) -> bool:
            snapshot = response.get("authorization") or {}
            return bool(snapshot.get("status") != _S.REQUIRES_ACTION.value)

        response = await self._once(
            region,
            idempotency_key,
            "confirm_action",
            {"authorization_id": authorization_id},
            action,
            remember=final,
        )
        return Authorization.from_dict(response["authorization"])

    async def retrieve(self, authorization_id: str) -> Authorization:
        region = self._region_of(authorization_id)
        async with self.runtime.databases.transaction(regional(region)) as session:
            return _snapshot(await self._load(session, authorization_id))

    async def find_authorization(self, idempotency_key: str) -> Authorization | None:
        region = self.region or self._region_of(idempotency_key.split(":", 1)[0])
        async with self.runtime.databases.transaction(regional(region)) as session:
            stored = await session.get(SandboxIdempotencyKey, idempotency_key)
            if stored is None or stored.operation != "authorize":
                return None
            snapshot = stored.response.get("authorization")
            if not isinstance(snapshot, dict) or "id" not in snapshot:
                return None  # a stored refusal: no authorization was made
            return _snapshot(await self._load(session, str(snapshot["id"])))

    async def capture(
        self, authorization_id: str, amount_cents: int, idempotency_key: str
    ) -> Capture:
        region = self._region_of(authorization_id)

        async def action(session: AsyncSession) -> dict[str, Any]:
            _check_amount(amount_cents)
            row = await self._load(session, authorization_id)
            if amount_cents > row.amount_cents:
                raise AmountExceedsAuthorized(
                    f"Cannot capture {amount_cents}: {row.amount_cents} is authorized."
                )
            capture_id = new_id("sbxcap", region)
            fails = row.behaviour == Behaviour.CAPTURE_FAILS
            now = utcnow()
            values: dict[str, Any] = (
                {"status": _S.FAILED.value, "decline_code": DeclineCode.PROCESSING_ERROR.value}
                if fails
                else {
                    "status": _S.CAPTURED.value,
                    "captured_cents": amount_cents,
                    "capture_id": capture_id,
                }
            )
            result = await session.execute(
                update(SandboxAuthorization)
                .where(
                    SandboxAuthorization.id == authorization_id,
                    SandboxAuthorization.status == _S.AUTHORIZED.value,
                )
                .values(**values, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                raise InvalidAuthorizationState(
                    f"Only an authorized payment can be captured (this one is {row.status})."
                )
            capture = SandboxCapture(
                id=capture_id,
                authorization_id=authorization_id,
                status=(CaptureStatus.FAILED if fails else CaptureStatus.SUCCEEDED).value,
                amount_cents=amount_cents,
                currency=row.currency,
                refunded_cents=0,
                failure_code=DeclineCode.PROCESSING_ERROR.value if fails else None,
                created_at=now,
            )
            session.add(capture)
            await session.flush()
            row = await self._load(session, authorization_id)
            event = EventType.PAYMENT_FAILED if fails else EventType.PAYMENT_CAPTURED
            self._enqueue(session, region, event, row, capture=capture)
            return {"capture": _capture(capture).to_dict()}

        params = {"authorization_id": authorization_id, "amount_cents": amount_cents}
        response = await self._once(region, idempotency_key, "capture", params, action)
        return Capture.from_dict(response["capture"])

    async def void(self, authorization_id: str, idempotency_key: str) -> Authorization:
        region = self._region_of(authorization_id)

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await self._load(session, authorization_id)
            result = await session.execute(
                update(SandboxAuthorization)
                .where(
                    SandboxAuthorization.id == authorization_id,
                    SandboxAuthorization.status.in_(
                        [_S.AUTHORIZED.value, _S.REQUIRES_ACTION.value]
                    ),
                )
                .values(status=_S.VOIDED.value, challenge_hash=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                hint = " Refund it instead." if row.status == _S.CAPTURED else ""
                raise InvalidAuthorizationState(
                    f"Only an uncaptured authorization can be voided (this one is "
                    f"{row.status}).{hint}"
                )
            row = await self._load(session, authorization_id)
            self._enqueue(session, region, EventType.PAYMENT_VOIDED, row)
            return {"authorization": _snapshot(row).to_dict()}

        response = await self._once(
            region, idempotency_key, "void", {"authorization_id": authorization_id}, action
        )
        return Authorization.from_dict(response["authorization"])

    async def refund(self, capture_id: str, amount_cents: int, idempotency_key: str) -> Refund:
        region = self._region_of(capture_id)

        async def action(session: AsyncSession) -> dict[str, Any]:
            _check_amount(amount_cents)
            capture = await session.get(SandboxCapture, capture_id, populate_existing=True)
            if capture is None:
                raise ProviderObjectNotFound("No such sandbox capture.")
            if capture.status != CaptureStatus.SUCCEEDED:
                raise InvalidAuthorizationState("A failed capture cannot be refunded.")
            # atomic: two racing refunds cannot together exceed the captured amount
            result = await session.execute(
                update(SandboxCapture)
                .where(
                    SandboxCapture.id == capture_id,
                    SandboxCapture.refunded_cents + amount_cents <= SandboxCapture.amount_cents,
                )
                .values(refunded_cents=SandboxCapture.refunded_cents + amount_cents)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                raise AmountExceedsCaptured(
                    f"Cannot refund {amount_cents}: {capture.amount_cents} was captured and "
                    f"{capture.refunded_cents} already refunded."
                )
            await session.execute(
                update(SandboxAuthorization)
                .where(SandboxAuthorization.id == capture.authorization_id)
                .values(
                    refunded_cents=SandboxAuthorization.refunded_cents + amount_cents,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            refund = SandboxRefund(
                id=new_id("sbxref", region),
                capture_id=capture_id,
                authorization_id=capture.authorization_id,
                amount_cents=amount_cents,
                currency=capture.currency,
                created_at=utcnow(),
            )
            session.add(refund)
            await session.flush()
            row = await self._load(session, capture.authorization_id)
            await session.refresh(capture)
            self._enqueue(
                session, region, EventType.REFUND_SUCCEEDED, row, capture=capture, refund=refund
            )
            return {"refund": _refund(refund).to_dict()}

        params = {"capture_id": capture_id, "amount_cents": amount_cents}
        response = await self._once(region, idempotency_key, "refund", params, action)
        return Refund.from_dict(response["refund"])

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        signing.verify_signature(
            signing.webhook_secret(self.runtime.settings.secret_key),
            lowered.get(signing.SIGNATURE_HEADER.lower()),
            body,
            utcnow(),
        )
        try:
            return WebhookEvent.from_dict(json.loads(body))
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookPayloadInvalid("The webhook body is not a sandbox event.") from exc

    # ---- the second step (the "bank's" challenge page) ---------------------------------------

    async def challenge(self, authorization_id: str, secret: str) -> Authorization | None:
        """The authorization behind a challenge link, or None when the link is wrong."""
        try:
            region = self._region_of(authorization_id)
        except ProviderObjectNotFound:
            return None
        async with self.runtime.databases.transaction(regional(region)) as session:
            row = await session.get(SandboxAuthorization, authorization_id)
            if row is None or not _secret_matches(row, secret):
                return None
            return _snapshot(row)

    async def complete_challenge(
        self, authorization_id: str, secret: str, *, approve: bool
    ) -> tuple[Authorization, str | None] | None:
        """The buyer approved or failed the second step. Returns the authorization and the
        return URL, or None for a wrong link. Completing twice changes nothing."""
        try:
            region = self._region_of(authorization_id)
        except ProviderObjectNotFound:
            return None
        async with self.runtime.databases.transaction(regional(region)) as session:
            row = await session.get(SandboxAuthorization, authorization_id)
            if row is None or not _secret_matches(row, secret):
                return None
            if row.status == _S.REQUIRES_ACTION:
                if _challenge_expired(row, utcnow()):
                    decline: DeclineCode | None = DeclineCode.AUTHENTICATION_EXPIRED
                else:
                    decline = None if approve else DeclineCode.AUTHENTICATION_FAILED
                await self._finish_challenge(session, region, row, decline)
            return _snapshot(row), row.return_url

    async def _finish_challenge(
        self,
        session: AsyncSession,
        region: str,
        row: SandboxAuthorization,
        decline: DeclineCode | None,
    ) -> None:
        status = _S.AUTHORIZED if decline is None else _S.DECLINED
        result = await session.execute(
            update(SandboxAuthorization)
            .where(
                SandboxAuthorization.id == row.id,
                SandboxAuthorization.status == _S.REQUIRES_ACTION.value,
            )
            .values(
                status=status.value,
                decline_code=decline.value if decline else None,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        await session.refresh(row)
        if _rowcount(result) == 1:
            event = EventType.PAYMENT_AUTHORIZED if decline is None else EventType.PAYMENT_FAILED
            self._enqueue(session, region, event, row)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _secret_matches(row: SandboxAuthorization, secret: str) -> bool:
    return bool(row.challenge_hash) and secrets.compare_digest(
        row.challenge_hash or "", _hash(secret)
    )


def _challenge_expired(row: SandboxAuthorization, now: datetime) -> bool:
    return row.challenge_expires_at is not None and as_utc(row.challenge_expires_at) < now


def _safe_return_url(base_url: str, url: str | None) -> str | None:
    """Only our own pages: a relative path, or an absolute URL on our base URL (no open
    redirect through the challenge page)."""
    if not url or len(url) > 1000:
        return None
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    base = urlsplit(base_url)
    target = urlsplit(url)
    if (target.scheme, target.netloc) == (base.scheme, base.netloc):
        return url
    return None


def _replay(record: SandboxIdempotencyKey, operation: str, fingerprint: str) -> dict[str, Any]:
    if record.operation != operation or record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This idempotency key was already used with different parameters."
        )
    return record.response


def _unwrap(response: dict[str, Any]) -> dict[str, Any]:
    if "error" in response:
        error_class = PROVIDER_ERRORS.get(str(response["error"]), InvalidAmount)
        raise error_class(str(response.get("detail", "")), code=str(response["error"]))
    return response


# ---- webhook delivery (the sandbox's sender) -------------------------------------------------

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)
LEASE = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones: 30 s, 1 min, 2 min, …
    capped at 6 hours."""
    delay: timedelta = BACKOFF_BASE * (2 ** min(max(0, attempts - 1), 20))
    return min(delay, BACKOFF_CAP)


@dataclass
class DeliveryReport:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    expired: int = 0
    requests: int = 0


async def deliver_pending_webhooks(
    runtime: Runtime,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    duplicate: bool = False,
    limit: int = 100,
) -> DeliveryReport:
    """Deliver every due sandbox event of every region to our webhook endpoint, at least
    once: an event is marked delivered only after a 2xx answer; otherwise it is retried
    with :func:`backoff` until acknowledged, or given up after :data:`GIVE_UP_AFTER`.

    ``now`` is the delivery time (it signs the request and decides what is due): a worker
    passes ``utcnow()``. ``transport`` is the HTTP transport (an ``httpx.ASGITransport``
    around the app in tests; the network when None). ``duplicate=True`` sends every event
    twice on purpose, to prove the receiver idempotent. Several workers may run at once:
    each event is leased (``locked_until``) with a conditional update before it is sent.
    """
    report = DeliveryReport()
    secret = signing.webhook_secret(runtime.settings.secret_key)
    url = runtime.settings.base_url.rstrip("/") + WEBHOOK_PATH
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
        for region in runtime.settings.region_names:
            plane = regional(region)
            async with runtime.databases.transaction(plane) as session:
                due = (
                    await session.scalars(
                        select(SandboxWebhookEvent.id)
                        .where(
                            SandboxWebhookEvent.status == "pending",
                            SandboxWebhookEvent.next_attempt_at <= now,
                            or_(
                                SandboxWebhookEvent.locked_until.is_(None),
                                SandboxWebhookEvent.locked_until < now,
                            ),
                        )
                        .order_by(SandboxWebhookEvent.created_at, SandboxWebhookEvent.id)
                        .limit(limit)
                    )
                ).all()
            for event_id in due:
                # The lease is committed before the request: no transaction (and, on
                # SQLite, no write lock) is held while our endpoint handles the event.
                async with runtime.databases.transaction(plane) as session:
                    leased = await session.execute(
                        update(SandboxWebhookEvent)
                        .where(
                            SandboxWebhookEvent.id == event_id,
                            SandboxWebhookEvent.status == "pending",
                            or_(
                                SandboxWebhookEvent.locked_until.is_(None),
                                SandboxWebhookEvent.locked_until < now,
                            ),
                        )
                        .values(locked_until=now + LEASE)
                        .execution_options(synchronize_session=False)
                    )
                    if _rowcount(leased) != 1:
                        continue
                    event = await session.get(SandboxWebhookEvent, event_id)
                    assert event is not None
                    body, created_at = event.body.encode(), as_utc(event.created_at)
                report.attempted += 1
                error = await _send(client, url, secret, now, body, report)
                if duplicate:
                    await _send(client, url, secret, now, body, report)
                async with runtime.databases.transaction(plane) as session:
                    event = await session.get(SandboxWebhookEvent, event_id)
                    assert event is not None
                    event.attempts += 1
                    event.locked_until = None
                    if error is None:
                        event.status, event.delivered_at, event.last_error = "delivered", now, None
                        report.delivered += 1
                    else:
                        event.last_error = error[:500]
                        if now - created_at >= GIVE_UP_AFTER:
                            event.status = "expired"
                            report.expired += 1
                            log.warning("sandbox webhook %s given up: %s", event_id, error)
                        else:
                            event.next_attempt_at = now + backoff(event.attempts)
                            report.failed += 1
    return report


async def _send(
    client: httpx.AsyncClient,
    url: str,
    secret: bytes,
    now: datetime,
    body: bytes,
    report: DeliveryReport,
) -> str | None:
    """One POST; None when acknowledged (2xx), else what went wrong."""
    report.requests += 1
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        signing.SIGNATURE_HEADER: signing.signature_header(secret, timestamp, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:300]}"
