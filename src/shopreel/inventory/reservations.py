"""Stock reservations for checkout: reserve, claim (paid), release (cancel), expire (job).

The flash-sale design: every change of a level is ONE conditional UPDATE in a short
transaction of its own, committed at once, with that UPDATE as the transaction's last
statement. The level row of a hot SKU is therefore locked only from its UPDATE to the COMMIT;
the rest of checkout (pricing, payment, orders) runs outside any stock lock. That is why
these functions take the runtime and open their own transactions on the global plane
instead of joining the request's unit of work: a request-long transaction would hold the
hot row for the whole request and serialize the sale behind it.

Lock order, everywhere: the reservation row, then the buyer's cap counter, then the level.
A reservation transaction touches one level; a claim touches the reference's levels in
``(variant_id, warehouse_id)`` order. No transaction waits for a row "before" one it holds,
so no two of them can deadlock (and a cart's lines never hold two levels at once while
reserving).

Invariant (checked by the database CHECK and the tests): ``on_hand = available + reserved +
sold`` with every term non-negative. See ``docs/inventory.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shopreel.inventory import repository, rules
from shopreel.inventory.errors import (
    InvalidInventoryInput,
    InventoryErrorCode,
    OutOfStock,
    PurchaseCapExceeded,
    ReservationConflict,
    ReservationExpired,
    ReservationNotFound,
)
from shopreel.inventory.models import ReservationStatus
from shopreel.inventory.rules import DealCap, ReservationLine
from shopreel.kit.ids import new_id
from shopreel.kit.time import as_utc, utcnow
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime

EXPIRY_BATCH: Final = 500

__all__ = [
    "DealCap",
    "Hold",
    "ReservationLine",
    "cap_usage",
    "claim",
    "expire_reservations",
    "holds_of",
    "release",
    "reserve",
    "unclaim",
]


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation as checkout and orders see it (which warehouse ships the line)."""

    id: str
    reference: str
    buyer_id: str
    shop_id: str
    variant_id: str
    warehouse_id: str
    quantity: int
    status: str
    deal_id: str | None
    expires_at: datetime

    @classmethod
    def of(cls, row: Any) -> Hold:
        """From a :class:`StockReservation` or a row with the same column names."""
        return cls(
            id=row.id,
            reference=row.reference,
            buyer_id=row.buyer_id,
            shop_id=row.shop_id,
            variant_id=row.variant_id,
            warehouse_id=row.warehouse_id,
            quantity=row.quantity,
            status=row.status,
            deal_id=row.deal_id,
            expires_at=as_utc(row.expires_at),  # SQLite hands back naive UTC
        )


class _Refused(Exception):
    """Roll the short transaction back (the level had too little available)."""


class _CapRefused(Exception):
    def __init__(self, used: int) -> None:
        super().__init__(used)
        self.used = used


@asynccontextmanager
async def _connection(runtime: Runtime) -> AsyncIterator[AsyncConnection]:
    """A global-plane connection in autocommit: reads without BEGIN/ROLLBACK round trips,
    and PostgreSQL's one-statement claims committed as they run."""
    async with runtime.databases.engine(GLOBAL).connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


async def _holds(connection: AsyncConnection, reference: str) -> list[Hold]:
    return [Hold.of(r) for r in await repository.reservations_of(connection, reference)]


async def holds_of(runtime: Runtime, reference: str) -> list[Hold]:
    """Every reservation of a checkout, whatever its status, oldest first."""
    async with _connection(runtime) as connection:
        return await _holds(connection, reference)


async def cap_usage(runtime: Runtime, deal_id: str, buyer_id: str, variant_id: str) -> int:
    """Units of a variant the buyer holds or bought under a deal (what the cap counts)."""
    async with runtime.databases.session(GLOBAL) as session:
        return await repository.cap_usage(session, deal_id, buyer_id, variant_id)


# ---- reserve ---------------------------------------------------------------------------------


async def reserve(
    runtime: Runtime,
    lines: Sequence[ReservationLine],
    *,
    reference: str,
    buyer_id: str,
    now: datetime | None = None,
    ttl_seconds: int | None = None,
) -> list[Hold]:
    """Hold stock for a checkout (``reference``) until ``now + TTL``
    (``Settings.reservation_ttl_seconds``, default 10 minutes); returns the holds in lock
    order.

    * Each line is one short transaction: insert the reservation row, count the units
      against the buyer's deal cap if the line has one, then ``UPDATE inventory_levels SET
      reserved = reserved + :q WHERE … AND on_hand - reserved - sold >= :q`` and COMMIT.
    * Warehouse: the first active warehouse (id order) with enough available; a line is not
      split across warehouses. If that warehouse lost the race, the next one is tried.
    * All or nothing: if a line cannot be held, the lines this call already held are
      released (compensation) and 409 ``out_of_stock`` lists every short variant
      (``short: [{variant_id, requested, available}]``); 409 ``purchase_cap_exceeded``
      when a deal's per-buyer cap would be passed.
    * Repeating the call for a checkout that already holds exactly these lines returns the
      holds (no double reservation); a checkout holding something else (the cart changed)
      has its old holds released first. A paid checkout cannot reserve again (409
      ``reservation_claimed``); two concurrent calls for one checkout cannot both hold a
      variant (a unique index; the loser gets 409 ``reservation_in_progress``).
    """
    rules.check_reference(reference, buyer_id)
    plan = rules.plan_reservation(lines)
    now = as_utc(now) if now else utcnow()
    ttl = ttl_seconds if ttl_seconds is not None else runtime.settings.reservation_ttl_seconds
    expires_at = rules.reservation_expiry(now, ttl)

    # At most one pooled connection at a time per call (reads are closed before any write
    # transaction opens), so a burst of buyers larger than the pool queues instead of
    # every call holding one connection while waiting for a second.
    async with _connection(runtime) as connection:
        existing = await _holds(connection, reference)
    if any(h.buyer_id != buyer_id for h in existing):
        raise InvalidInventoryInput(
            "This checkout reference belongs to another buyer.",
            code=InventoryErrorCode.INVALID_RESERVATION.value,
            extra={"field": "reference"},
        )
    if any(h.status == ReservationStatus.CLAIMED.value for h in existing):
        raise ReservationConflict(
            "This checkout is already paid.",
            code=InventoryErrorCode.RESERVATION_CLAIMED.value,
            extra={"reference": reference},
        )
    active = [h for h in existing if h.status == ReservationStatus.ACTIVE.value]
    if active:
        still_valid = all(h.expires_at > now for h in active)
        if still_valid and rules.same_holding(
            ((h.variant_id, h.quantity, h.deal_id) for h in active), plan
        ):
            return active
        for old in active:  # the cart changed (or the holds ran out): start again
            await _end(runtime, old.id, ReservationStatus.RELEASED, now)

    held: list[Hold] = []
    for index, line in enumerate(plan):
        try:
            hold = await _reserve_line(runtime, line, reference, buyer_id, now, expires_at)
        except _CapRefused as refused:
            await _compensate(runtime, held, now)
            assert line.cap is not None
            raise PurchaseCapExceeded(
                f"This deal allows {line.cap.max_per_buyer} per buyer; you already have "
                f"{refused.used}.",
                extra={
                    "variant_id": line.variant_id,
                    "deal_id": line.cap.deal_id,
                    "max_per_buyer": line.cap.max_per_buyer,
                    "already": refused.used,
                    "requested": line.quantity,
                },
            ) from None
        except IntegrityError:
            await _compensate(runtime, held, now)
            raise ReservationConflict(
                "This checkout is being reserved by another request; try again.",
                code=InventoryErrorCode.RESERVATION_IN_PROGRESS.value,
                extra={"reference": reference},
            ) from None
        if hold is None:
            await _compensate(runtime, held, now)
            async with _connection(runtime) as connection:
                short = [await _shortage(connection, line)]
                for rest in plan[index + 1 :]:
                    missing = await _shortage(connection, rest)
                    if missing["available"] < rest.quantity:
                        short.append(missing)
            names = ", ".join(s["variant_id"] for s in short)
            raise OutOfStock(
                f"Not enough stock for: {names}. Nothing was reserved.",
                extra={"short": short, "reference": reference},
            )
        held.append(hold)
    return held


async def _reserve_line(
    runtime: Runtime,
    line: ReservationLine,
    reference: str,
    buyer_id: str,
    now: datetime,
    expires_at: datetime,
) -> Hold | None:
    """Hold one line in the first warehouse that has it; None when none had enough."""
    cap = line.cap
    deal_id = cap.deal_id if cap else None

    def values_for(warehouse_id: str, shop_id: str) -> dict[str, Any]:
        return {
            "id": new_id("rsv"),
            "reference": reference,
            "buyer_id": buyer_id,
            "shop_id": shop_id,
            "variant_id": line.variant_id,
            "warehouse_id": warehouse_id,
            "quantity": line.quantity,
            "status": ReservationStatus.ACTIVE.value,
            "deal_id": deal_id,
            "expires_at": expires_at,
            "created_at": now,
            "updated_at": now,
        }

    if cap is not None:
        await _take_under_cap(runtime, cap, buyer_id, line)
    held: dict[str, Any] | None = None
    try:
        async with _connection(runtime) as connection:
            candidates = await repository.reservation_candidates(connection, line.variant_id)
            shop_of = {warehouse_id: shop_id for warehouse_id, shop_id, _ in candidates}
            choices = [
                values_for(w, shop_of[w])
                for w in rules.choose_warehouses(
                    ((w, free) for w, _, free in candidates), line.quantity
                )
            ]
            if connection.dialect.name == "postgresql":
                # One autocommit statement per try: the level row is locked only inside
                # the server while it runs and commits.
                for values in choices:
                    if await repository.hold_in_one_statement(connection, values):
                        held = values
                        break
                choices = []
        for values in choices:  # SQLite: a short transaction, the level UPDATE last
            if await _hold_in_transaction(runtime, values):
                held = values
                break
    except Exception:
        if cap is not None:
            await _give_back_cap(runtime, cap, buyer_id, line)
        raise
    if held is None:
        if cap is not None:
            await _give_back_cap(runtime, cap, buyer_id, line)
        return None
    return Hold(
        id=held["id"],
        reference=reference,
        buyer_id=buyer_id,
        shop_id=held["shop_id"],
        variant_id=line.variant_id,
        warehouse_id=held["warehouse_id"],
        quantity=line.quantity,
        status=ReservationStatus.ACTIVE.value,
        deal_id=deal_id,
        expires_at=expires_at,
    )


async def _hold_in_transaction(runtime: Runtime, values: dict[str, Any]) -> bool:
    """Insert the reservation and reserve the units in one short transaction (SQLite, which
    locks the whole database for a writer anyway); False, rolled back, when the level had
    too little available."""
    try:
        async with runtime.databases.transaction(GLOBAL) as session:
            await repository.insert_reservation(session, values)
            key = (values["variant_id"], values["warehouse_id"])
            if not await repository.reserve_units(session, key, values["quantity"]):
                raise _Refused
    except _Refused:
        return False
    return True


async def _take_under_cap(
    runtime: Runtime, cap: DealCap, buyer_id: str, line: ReservationLine
) -> None:
    """Count the line against the buyer's deal cap in a short transaction of its own (the
    counter row is per buyer, so this never waits behind other buyers); 409
    ``purchase_cap_exceeded`` is raised by the caller from :class:`_CapRefused`.

    Taken before the stock and given back if the stock is short, so the counter can only
    over-count in between: a crash at that moment makes the cap stricter for that buyer,
    never looser (the true value is the sum of the buyer's active and claimed reservations
    under the deal)."""
    async with runtime.databases.transaction(GLOBAL) as session:
        if await repository.take_under_cap(
            session, cap.deal_id, buyer_id, line.variant_id, line.quantity, cap.max_per_buyer
        ):
            return
        used = await repository.cap_usage(session, cap.deal_id, buyer_id, line.variant_id)
    raise _CapRefused(used)


async def _give_back_cap(
    runtime: Runtime, cap: DealCap, buyer_id: str, line: ReservationLine
) -> None:
    async with runtime.databases.transaction(GLOBAL) as session:
        await repository.give_back_under_cap(
            session, cap.deal_id, buyer_id, line.variant_id, line.quantity
        )


async def _shortage(connection: AsyncConnection, line: ReservationLine) -> dict[str, Any]:
    """What one line asked for and the most a single warehouse can give right now."""
    candidates = await repository.reservation_candidates(connection, line.variant_id)
    best = max((max(free, 0) for _, _, free in candidates), default=0)
    return {"variant_id": line.variant_id, "requested": line.quantity, "available": best}


async def _compensate(runtime: Runtime, held: Sequence[Hold], now: datetime) -> None:
    for hold in held:
        await _end(runtime, hold.id, ReservationStatus.RELEASED, now)


# ---- ending holds: release, expire -----------------------------------------------------------


async def _end(
    runtime: Runtime,
    reservation_id: str,
    status: ReservationStatus,
    now: datetime,
    *,
    due_by: datetime | None = None,
) -> bool:
    """Move one active reservation to released/expired and give its units back, in one
    short transaction: status first (the conditional transition decides who wins against
    a concurrent claim or another expiry), then the cap counter, then the level."""
    async with runtime.databases.transaction(GLOBAL) as session:
        ended = await repository.end_active(session, reservation_id, status, now, due_by=due_by)
        if ended is None:
            return False  # already claimed, released or expired: nothing to give back
        if ended.deal_id is not None:
            await repository.give_back_under_cap(
                session, ended.deal_id, ended.buyer_id, ended.variant_id, ended.quantity
            )
        key = (ended.variant_id, ended.warehouse_id)
        if not await repository.unreserve_units(session, key, ended.quantity):
            raise RuntimeError(f"level {key} holds less than reservation {reservation_id}")
    return True


async def release(runtime: Runtime, reference: str, *, now: datetime | None = None) -> int:
    """Cancel a checkout's active holds (units available again); how many were released.
    Idempotent: released, expired and claimed holds are left as they are (a paid line is
    returned through a refund, not here). 404 ``reservation_not_found`` for an unknown
    reference."""
    now = as_utc(now) if now else utcnow()
    holds = await holds_of(runtime, reference)
    if not holds:
        raise ReservationNotFound(
            "No reservation for this checkout.", extra={"reference": reference[:64]}
        )
    released = 0
    for hold in holds:
        if hold.status == ReservationStatus.ACTIVE.value:
            released += await _end(runtime, hold.id, ReservationStatus.RELEASED, now)
    return released


async def expire_reservations(
    runtime: Runtime, now: datetime | None = None, *, batch: int = EXPIRY_BATCH
) -> int:
    """The expiry job: every active reservation whose ``expires_at <= now`` becomes
    ``expired`` and its units available again; returns how many this call expired.

    Idempotent and safe to run concurrently with claims and with other copies of itself:
    each reservation is ended by a conditional status transition (``WHERE id = … AND status
    = 'active' AND expires_at <= :now``) and only the transaction that made the transition
    moves units. Pass ``now`` to run on a fake clock. Meant for the worker (a periodic task,
    e.g. every 30 seconds); checkout also refuses to claim a hold past its expiry, so a late
    job never lets an expired hold be paid."""
    now = as_utc(now) if now else utcnow()
    expired = 0
    while True:
        async with runtime.databases.session(GLOBAL) as session:
            due = await repository.due_reservations(session, now, batch)
        for reservation_id in due:
            expired += await _end(
                runtime, reservation_id, ReservationStatus.EXPIRED, now, due_by=now
            )
        if len(due) < batch:
            return expired


# ---- claim -----------------------------------------------------------------------------------


async def claim(runtime: Runtime, reference: str, *, now: datetime | None = None) -> list[Hold]:
    """Payment succeeded: the checkout's active holds become ``claimed`` and their units move
    from ``reserved`` to ``sold``, all lines in one short transaction (so a paid cart is
    never half sold). Returns the claimed holds.

    * Idempotent: claiming a claimed checkout returns the same holds and changes nothing.
    * 409 ``reservation_expired`` when the holds were released or expired, or have passed
      ``expires_at`` (then they are expired on the spot, the units going back), or when an
      expiry won the race for one of the lines; 404 ``reservation_not_found`` for an
      unknown reference.
    * Each line's status changes with ``WHERE id = … AND status = 'active' AND expires_at >
      :now``; the levels are then updated in ``(variant_id, warehouse_id)`` order, last,
      just before COMMIT."""
    now = as_utc(now) if now else utcnow()
    async with _connection(runtime) as connection:
        holds = await _holds(connection, reference)
        if not holds:
            raise ReservationNotFound(
                "No reservation for this checkout.", extra={"reference": reference[:64]}
            )
        active = [h for h in holds if h.status == ReservationStatus.ACTIVE.value]
        if not active:
            return _claimed_or_expired(holds, reference)
        late = [h for h in active if h.expires_at <= now]
        if not late and len(active) == 1 and connection.dialect.name == "postgresql":
            # The flash-sale case: one statement, the level row locked only in the server.
            if await repository.claim_in_one_statement(connection, active[0].id, now):
                return [replace(active[0], status=ReservationStatus.CLAIMED.value)]
            return _claimed_or_expired(await _holds(connection, reference), reference)
    if late:
        for hold in late:
            await _end(runtime, hold.id, ReservationStatus.EXPIRED, now, due_by=now)
        raise _expired(reference)
    try:
        async with runtime.databases.transaction(GLOBAL) as session:
            for hold in active:  # id order: two claims of one checkout queue, not deadlock
                ended = await repository.end_active(
                    session, hold.id, ReservationStatus.CLAIMED, now, valid_at=now
                )
                if ended is None:
                    raise _Refused
            for key, quantity in rules.plan_claim(
                (h.variant_id, h.warehouse_id, h.quantity) for h in active
            ):
                if not await repository.sell_units(session, key, quantity):
                    raise RuntimeError(f"level {key} holds less than checkout {reference}")
    except _Refused:
        # A concurrent claim (fine: it is paid) or an expiry/release (too late) won a line.
        return _claimed_or_expired(await holds_of(runtime, reference), reference)
    return [replace(h, status=ReservationStatus.CLAIMED.value) for h in active]


async def unclaim(runtime: Runtime, reference: str, *, now: datetime | None = None) -> int:
    """The payment failed after the claim (the provider refused the capture): the
    checkout's claimed holds become ``released`` and their units go from ``sold`` back to
    available, in one transaction, levels in lock order. Returns how many holds were
    given back; idempotent (a second call finds nothing claimed). Deal caps are given back
    too: the buyer did not get the units."""
    now = as_utc(now) if now else utcnow()
    holds = sorted(
        (h for h in await holds_of(runtime, reference) if h.status == "claimed"),
        key=lambda h: h.id,
    )
    if not holds:
        return 0
    ended: list[Hold] = []
    async with runtime.databases.transaction(GLOBAL) as session:
        for hold in holds:
            if await repository.end_claimed(session, hold.id, now):
                ended.append(hold)
                if hold.deal_id is not None:
                    await repository.give_back_under_cap(
                        session, hold.deal_id, hold.buyer_id, hold.variant_id, hold.quantity
                    )
        for key, quantity in rules.plan_claim(
            (h.variant_id, h.warehouse_id, h.quantity) for h in ended
        ):
            if not await repository.unsell_units(session, key, quantity):
                raise RuntimeError(f"level {key} sold less than checkout {reference}")
    return len(ended)


def _claimed_or_expired(holds: Sequence[Hold], reference: str) -> list[Hold]:
    """After the fact: the checkout counts as paid when its latest holds are all claimed."""
    claimed = [h for h in holds if h.status == ReservationStatus.CLAIMED.value]
    if claimed and not any(h.status == ReservationStatus.ACTIVE.value for h in holds):
        return claimed
    raise _expired(reference)


def _expired(reference: str) -> ReservationExpired:
    return ReservationExpired(
        "The reservation for this checkout has ended; reserve the items again.",
        extra={"reference": reference[:64]},
    )
