"""Claiming, completing, releasing and purging idempotency records.

The claim runs in its own short transaction, committed before the handler starts, so a
concurrent duplicate sees the ``in_flight`` record at once (the unique index on
``(user_id, idempotency_key)`` decides who wins). Completion, on the other hand, is written
through the request's own regional session, so the stored response commits in the same
transaction as the handler's regional effects: either both are there, or neither is and a
retry runs the handler again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.service import user_data_key
from shopreel.errors import NotAuthenticated
from shopreel.idempotency.errors import KeyReused, RequestInFlight
from shopreel.idempotency.models import IdempotencyRecord, RecordState
from shopreel.idempotency.rules import (
    IN_FLIGHT_RETRY_AFTER,
    RETENTION,
    Outcome,
    decide,
)
from shopreel.kit.ids import new_id, new_token
from shopreel.kit.time import as_utc, utcnow
from shopreel.planes import regional
from shopreel.runtime import Runtime


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """The right to run one attempt of an operation. ``record_id`` is stable across the
    attempts of one key (retries after a crash take the same record over), so it is the key
    to give downstream systems that deduplicate themselves, e.g. a payment provider."""

    record_id: str
    region: str
    user_id: str
    key: str
    lease_token: str
    attempt: int

    @property
    def retried(self) -> bool:
        """An earlier attempt started and did not complete: it may have done external side
        effects (a provider charge) before it died. Reconcile before doing them again."""
        return self.attempt > 1


@dataclass(frozen=True)
class Replay:
    response: StoredResponse


def body_context(record_id: str) -> str:
    return f"idempotency_records.response_body:{record_id}"


async def _data_key(runtime: Runtime, session: AsyncSession, user_id: str) -> bytes:
    key = await user_data_key(runtime, session, user_id)
    if key is None:
        raise NotAuthenticated("This account no longer exists.")
    return key


async def _insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> bool:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(IdempotencyRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"])
        .returning(IdempotencyRecord.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def claim(
    runtime: Runtime,
    *,
    region: str,
    user_id: str,
    key: str,
    fingerprint: str,
    method: str,
    route: str,
    lease: timedelta,
) -> Claim | Replay:
    """Claim ``key`` for ``user_id`` in its own committed transaction, or return the stored
    response to replay. Raises :class:`KeyReused` (422) or :class:`RequestInFlight` (409)."""
    async with runtime.databases.transaction(regional(region)) as session:
        # Two rounds at most: an expired record is deleted in the first, inserted afresh in
        # the second (a record purged between our insert and select also needs a second).
        for _ in range(2):
            now = utcnow()
            lease_token = new_token(16)
            values: dict[str, Any] = {
                "id": new_id("idem", region),
                "region": region,
                "user_id": user_id,
                "idempotency_key": key,
                "fingerprint": fingerprint,
                "method": method,
                "route": route[:255],
                "state": RecordState.IN_FLIGHT.value,
                "lease_token": lease_token,
                "attempts": 1,
                "locked_until": now + lease,
                "created_at": now,
                "expires_at": now + RETENTION,
            }
            if await _insert_if_absent(session, values):
                return Claim(values["id"], region, user_id, key, lease_token, 1)
            record = await session.scalar(
                select(IdempotencyRecord)
                .where(
                    IdempotencyRecord.user_id == user_id,
                    IdempotencyRecord.idempotency_key == key,
                )
                .with_for_update()
            )
            if record is None:
                continue
            outcome = decide(
                state=record.state,
                same_fingerprint=record.fingerprint == fingerprint,
                locked_until=as_utc(record.locked_until),
                expires_at=as_utc(record.expires_at),
                now=now,
            )
            if outcome is Outcome.RESET:
                await session.delete(record)
                await session.flush()
                continue
            if outcome is Outcome.REUSED:
                raise KeyReused(
                    "This Idempotency-Key was already used for a different request "
                    f"({record.method} {record.route} with another body). Use a new key "
                    "for a new operation.",
                    extra={"field": "Idempotency-Key"},
                )
            if outcome is Outcome.IN_FLIGHT:
                raise RequestInFlight(
                    "A request with this Idempotency-Key is still being processed. Retry "
                    "shortly: you will get its response.",
                    retry_after=IN_FLIGHT_RETRY_AFTER,
                )
            if outcome is Outcome.REPLAY:
                return Replay(await _stored(runtime, session, record))
            # TAKE_OVER: the previous attempt crashed or was released; this one runs.
            record.lease_token = lease_token
            record.attempts += 1
            record.locked_until = now + lease
            record.expires_at = max(as_utc(record.expires_at), now + RETENTION)
            await session.flush()
            return Claim(record.id, region, user_id, key, lease_token, record.attempts)
    raise RuntimeError("idempotency claim did not settle")  # pragma: no cover


async def _stored(
    runtime: Runtime, session: AsyncSession, record: IdempotencyRecord
) -> StoredResponse:
    assert record.response_status is not None
    body = b""
    if record.response_body_ct:
        data_key = await _data_key(runtime, session, record.user_id)
        body = runtime.cipher(record.region).decrypt(
            data_key, record.response_body_ct, body_context(record.id)
        )
    headers = tuple((str(k), str(v)) for k, v in (record.response_headers or []))
    return StoredResponse(record.response_status, headers, body)


async def complete(
    runtime: Runtime, session: AsyncSession, claim: Claim, response: StoredResponse
) -> bool:
    """Store ``response`` as the outcome of ``claim``'s attempt through ``session`` (not
    committed here). False when the attempt no longer holds the key: its lease ran out and
    another attempt took over, so this one must roll back its effects."""
    now = utcnow()
    body_ct = b""
    if response.body:
        data_key = await _data_key(runtime, session, claim.user_id)
        body_ct = runtime.cipher(claim.region).encrypt(
            data_key, response.body, body_context(claim.record_id)
        )
    result = await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == claim.record_id,
            IdempotencyRecord.lease_token == claim.lease_token,
            IdempotencyRecord.state == RecordState.IN_FLIGHT.value,
        )
        .values(
            state=RecordState.COMPLETED.value,
            response_status=response.status,
            response_headers=[list(h) for h in response.headers],
            response_body_ct=body_ct,
            completed_at=now,
            locked_until=now,
            expires_at=now + RETENTION,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def complete_apart(runtime: Runtime, claim: Claim, response: StoredResponse) -> bool:
    """:func:`complete` in its own transaction: for outcomes (a 4xx problem) whose request
    transaction was rolled back, so there is nothing to be atomic with."""
    async with runtime.databases.transaction(regional(claim.region)) as session:
        return await complete(runtime, session, claim, response)


async def release(runtime: Runtime, claim: Claim) -> bool:
    """End ``claim``'s lease now, keeping the record (and its fingerprint): a retry of the
    same request takes it over at once as attempt n + 1; another request with this key is
    still refused (422). Used when the attempt failed unexpectedly."""
    async with runtime.databases.transaction(regional(claim.region)) as session:
        result = await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.id == claim.record_id,
                IdempotencyRecord.lease_token == claim.lease_token,
                IdempotencyRecord.state == RecordState.IN_FLIGHT.value,
            )
            .values(locked_until=utcnow())
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1


async def purge_expired(runtime: Runtime, region: str, now: datetime | None = None) -> int:
    """Delete the records of ``region`` past retention (never one whose attempt still holds
    its lease). Returns how many were deleted."""
    now = now or utcnow()
    async with runtime.databases.transaction(regional(region)) as session:
        result = await session.execute(
            delete(IdempotencyRecord)
            .where(
                and_(
                    IdempotencyRecord.expires_at <= now,
                    or_(
                        IdempotencyRecord.state == RecordState.COMPLETED.value,
                        IdempotencyRecord.locked_until <= now,
                    ),
                )
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)


async def purge_all(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    """:func:`purge_expired` in every region of the deployment."""
    return {
        region: await purge_expired(runtime, region, now) for region in runtime.databases.regions
    }


def _rowcount(result: object) -> int:
    count = getattr(result, "rowcount", 0)
    return count if isinstance(count, int) and count > 0 else 0
