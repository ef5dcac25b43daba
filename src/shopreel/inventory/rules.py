"""Pure inventory rules: warehouse input, batch plans, lock order, cursors.

Nothing here touches a database, so each rule is unit-tested on its own; the repository
applies the plans with atomic conditional updates (see ``docs/inventory.md``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

from shopreel.inventory.errors import InvalidInventoryInput, InventoryErrorCode
from shopreel.inventory.models import MovementReason, ReservationStatus
from shopreel.kit.countries import is_country

MAX_WAREHOUSES_PER_SHOP: Final = 20
MAX_BATCH_LINES: Final = 500
MAX_ABS_DELTA: Final = 1_000_000
# Far below the 32-bit INTEGER limit, so ``on_hand + delta`` can never overflow in SQL.
MAX_ON_HAND: Final = 1_000_000_000
MAX_HANDLING_DAYS: Final = 30
MAX_NOTE: Final = 255
ADJUSTMENT_REASONS: Final = frozenset(
    {MovementReason.RECEIVED.value, MovementReason.ADJUSTMENT.value, MovementReason.TRANSFER.value}
)
"""Reasons a seller may give for an adjustment. ``count`` comes from the counts endpoint and
``import`` from catalog imports; later issues add their own (sale, return...)."""

_STATES: Final = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
    # territories and military "states" that USPS addresses use
    "AS GU MP PR VI UM AA AE AP"
)
US_STATES: Final = frozenset(_STATES.split(" "))
_US_ZIP: Final = re.compile(r"\d{5}(-\d{4})?")
_POSTAL: Final = re.compile(r"[A-Z0-9][A-Z0-9 \-]{0,14}")
_SUBDIVISION: Final = re.compile(r"[A-Z0-9][A-Z0-9\-]{0,7}")


def _invalid(
    message: str, field: str, code: str = InventoryErrorCode.INVALID_ADDRESS.value
) -> None:
    raise InvalidInventoryInput(message, code=code, extra={"field": field})


def _clean(value: str | None) -> str:
    """Collapse runs of whitespace (pasted addresses carry newlines and tabs)."""
    return " ".join((value or "").split())


# ---- warehouses ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarehouseFields:
    """A warehouse as the seller described it, normalized and checked."""

    name: str
    line1: str
    line2: str
    city: str
    subdivision: str
    postal_code: str
    country: str
    handling_days: int


def normalize_warehouse(
    *,
    name: str,
    line1: str,
    line2: str = "",
    city: str,
    subdivision: str = "",
    postal_code: str,
    country: str,
    handling_days: int,
) -> WarehouseFields:
    """Check and normalize a warehouse. US warehouses need a USPS state code and a ZIP
    (``12345`` or ``12345-6789``), because shipping zones and sales tax key on them; other
    countries get looser checks (postal formats differ too much to validate here)."""
    name = _clean(name)
    if not 1 <= len(name) <= 120:
        _invalid("Enter a name of 1 to 120 characters.", "name", "validation_failed")
    line1, line2, city = _clean(line1), _clean(line2), _clean(city)
    if not 1 <= len(line1) <= 200:
        _invalid("Enter the street address (1 to 200 characters).", "line1")
    if len(line2) > 200:
        _invalid("The second address line is limited to 200 characters.", "line2")
    if not 1 <= len(city) <= 120:
        _invalid("Enter the city.", "city")
    country = _clean(country).upper()
    if not is_country(country):
        _invalid("Choose a country (ISO 3166 two-letter code).", "country")
    subdivision = _clean(subdivision).upper()
    postal_code = _clean(postal_code).upper()
    if country == "US":
        if subdivision not in US_STATES:
            _invalid("Choose the state (two-letter USPS code such as CA).", "state")
        if not _US_ZIP.fullmatch(postal_code):
            _invalid("Enter a ZIP code such as 94607 or 94607-1234.", "postal_code")
    else:
        if subdivision and not _SUBDIVISION.fullmatch(subdivision):
            _invalid("Enter a region code of up to 8 letters or digits.", "state")
        if not _POSTAL.fullmatch(postal_code):
            _invalid("Enter the postal code (letters, digits, spaces, dashes).", "postal_code")
    if isinstance(handling_days, bool) or not 0 <= handling_days <= MAX_HANDLING_DAYS:
        _invalid(
            f"Handling time is 0 to {MAX_HANDLING_DAYS} days.",
            "handling_days",
            "validation_failed",
        )
    return WarehouseFields(
        name=name,
        line1=line1,
        line2=line2,
        city=city,
        subdivision=subdivision,
        postal_code=postal_code,
        country=country,
        handling_days=handling_days,
    )


def same_name(a: str, b: str) -> bool:
    """Warehouse names are unique per shop, ignoring case and spacing."""
    return _clean(a).casefold() == _clean(b).casefold()


# ---- stock changes ---------------------------------------------------------------------------

LevelKey = tuple[str, str]
"""(variant_id, warehouse_id): the primary key of a stock level, and its lock order."""


@dataclass(frozen=True, slots=True)
class StockChange:
    """One line of a batch: add ``delta`` (negative removes) to a level."""

    variant_id: str
    warehouse_id: str
    delta: int
    reason: str
    note: str = ""

    @property
    def key(self) -> LevelKey:
        return (self.variant_id, self.warehouse_id)


@dataclass(frozen=True, slots=True)
class StockCount:
    """One line of a count: the level is now ``on_hand`` (the movement records the delta)."""

    variant_id: str
    warehouse_id: str
    on_hand: int
    note: str = ""

    @property
    def key(self) -> LevelKey:
        return (self.variant_id, self.warehouse_id)


_Line = TypeVar("_Line", StockChange, StockCount)


def _check_batch_size(count: int) -> None:
    if not 1 <= count <= MAX_BATCH_LINES:
        _invalid(
            f"Send 1 to {MAX_BATCH_LINES} lines.",
            "lines",
            InventoryErrorCode.INVALID_BATCH.value,
        )


def _check_note(note: str, index: int) -> str:
    note = _clean(note)
    if len(note) > MAX_NOTE:
        _invalid(f"Line {index + 1}: the note is limited to {MAX_NOTE} characters.", "note")
    return note


def in_lock_order(lines: Iterable[_Line]) -> list[_Line]:
    """Lines sorted by (variant_id, warehouse_id), stable within one level.

    Every writer touches level rows in this one order, so two concurrent batches can wait
    for each other but never deadlock (each holds only rows "before" the one it waits for).
    Stability keeps the seller's order for repeated lines of the same level."""
    return sorted(lines, key=lambda line: line.key)


def plan_adjustments(lines: Sequence[StockChange]) -> list[StockChange]:
    """Validate a batch of adjustments and return it in lock order.

    Refused as a whole (422) when any line is invalid: a zero or oversized delta, an unknown
    reason, or a note that is too long. Whether stock suffices is decided by the database
    (conditional update), never here: only the database sees concurrent changes."""
    _check_batch_size(len(lines))
    checked: list[StockChange] = []
    for index, line in enumerate(lines):
        if line.reason not in ADJUSTMENT_REASONS:
            _invalid(
                f"Line {index + 1}: the reason must be one of {sorted(ADJUSTMENT_REASONS)}.",
                "reason",
                "validation_failed",
            )
        if isinstance(line.delta, bool) or line.delta == 0 or abs(line.delta) > MAX_ABS_DELTA:
            _invalid(
                f"Line {index + 1}: the change must be a non-zero whole number of at most "
                f"{MAX_ABS_DELTA:,} units.",
                "delta",
                "validation_failed",
            )
        checked.append(
            StockChange(
                line.variant_id,
                line.warehouse_id,
                line.delta,
                line.reason,
                _check_note(line.note, index),
            )
        )
    return in_lock_order(checked)


def plan_counts(lines: Sequence[StockCount]) -> list[StockCount]:
    """Validate a stock count and return it in lock order; one value per level (two counts
    of the same level in one batch contradict each other)."""
    _check_batch_size(len(lines))
    seen: set[LevelKey] = set()
    checked: list[StockCount] = []
    for index, line in enumerate(lines):
        if isinstance(line.on_hand, bool) or not 0 <= line.on_hand <= MAX_ON_HAND:
            _invalid(
                f"Line {index + 1}: the counted quantity is 0 to {MAX_ON_HAND:,}.",
                "on_hand",
                "validation_failed",
            )
        if line.key in seen:
            _invalid(
                f"Line {index + 1}: this variant and warehouse are counted twice.",
                "lines",
                InventoryErrorCode.INVALID_BATCH.value,
            )
        seen.add(line.key)
        checked.append(
            StockCount(
                line.variant_id, line.warehouse_id, line.on_hand, _check_note(line.note, index)
            )
        )
    return in_lock_order(checked)


def next_on_hand(on_hand: int, delta: int, *, reserved: int = 0, sold: int = 0) -> int | None:
    """The level after adding ``delta``, or None when the change is refused.

    This is the rule the repository's conditional UPDATE enforces in its WHERE clause
    (``on_hand + delta >= reserved + sold AND on_hand + delta <= MAX_ON_HAND``): a seller's
    adjustment or count may not take stock below what buyers hold (reserved) or bought and
    still await shipment (sold)."""
    after = on_hand + delta
    if after < reserved + sold or after > MAX_ON_HAND:
        return None
    return after


def simulate(levels: dict[LevelKey, int], plan: Sequence[StockChange]) -> dict[LevelKey, int] | int:
    """Apply a planned batch to a copy of ``levels`` (missing levels are 0), all or nothing:
    the new levels, or the index in ``plan`` of the first refused line. A model of what the
    database does, used by tests to check the real thing."""
    result = dict(levels)
    for index, line in enumerate(plan):
        after = next_on_hand(result.get(line.key, 0), line.delta)
        if after is None:
            return index
        result[line.key] = after
    return result


def available(on_hand: int, reserved: int = 0, sold: int = 0) -> int:
    """What can still be reserved: ``on_hand - reserved - sold`` (never below 0 for display;
    the database CHECK keeps the real value non-negative)."""
    return max(0, on_hand - reserved - sold)


def invariant_holds(on_hand: int, reserved: int, sold: int) -> bool:
    """``on_hand = available + reserved + sold`` with every term non-negative."""
    return min(on_hand, reserved, sold) >= 0 and on_hand - reserved - sold >= 0


# ---- reservations ----------------------------------------------------------------------------

MAX_RESERVATION_LINES: Final = 100
MAX_RESERVE_QUANTITY: Final = 10_000
MAX_REFERENCE: Final = 64
MAX_DEAL_ID: Final = 64


@dataclass(frozen=True, slots=True)
class DealCap:
    """A deal's anti-scalping limit: at most ``max_per_buyer`` units of a variant per buyer,
    counting what the buyer holds (active) and bought (claimed) under ``deal_id``."""

    deal_id: str
    max_per_buyer: int


@dataclass(frozen=True, slots=True)
class ReservationLine:
    """One line of a cart to hold: ``quantity`` units of a variant, optionally under a deal."""

    variant_id: str
    quantity: int
    cap: DealCap | None = None


def _invalid_reservation(message: str, field: str) -> None:
    raise InvalidInventoryInput(
        message, code=InventoryErrorCode.INVALID_RESERVATION.value, extra={"field": field}
    )


def check_reference(reference: str, buyer_id: str) -> None:
    if not 1 <= len(reference) <= MAX_REFERENCE:
        _invalid_reservation(f"A reference is 1 to {MAX_REFERENCE} characters.", "reference")
    if not 1 <= len(buyer_id) <= 48:
        _invalid_reservation("A reservation needs the buyer's account id.", "buyer_id")


def plan_reservation(lines: Sequence[ReservationLine]) -> list[ReservationLine]:
    """Validate a cart's lines and return one line per variant in lock order.

    Repeated lines of one variant are merged (their quantities added), so a per-buyer cap
    sees the whole quantity; two different caps for one variant contradict each other (422).
    Sorted by ``variant_id``: every reservation touches levels in ``(variant_id,
    warehouse_id)`` order, the same order as sellers' batches."""
    if not 1 <= len(lines) <= MAX_RESERVATION_LINES:
        _invalid_reservation(f"Reserve 1 to {MAX_RESERVATION_LINES} lines.", "lines")
    merged: dict[str, ReservationLine] = {}
    for index, line in enumerate(lines):
        if not 1 <= len(line.variant_id) <= 48:
            _invalid_reservation(f"Line {index + 1}: unknown variant.", "variant_id")
        if isinstance(line.quantity, bool) or not 1 <= line.quantity <= MAX_RESERVE_QUANTITY:
            _invalid_reservation(
                f"Line {index + 1}: the quantity is 1 to {MAX_RESERVE_QUANTITY:,}.", "quantity"
            )
        cap = line.cap
        if cap is not None and (
            not 1 <= len(cap.deal_id) <= MAX_DEAL_ID
            or isinstance(cap.max_per_buyer, bool)
            or cap.max_per_buyer < 1
        ):
            _invalid_reservation(f"Line {index + 1}: a deal cap is at least 1 unit.", "cap")
        previous = merged.get(line.variant_id)
        if previous is None:
            merged[line.variant_id] = line
            continue
        if previous.cap != cap:
            _invalid_reservation(
                f"Line {index + 1}: the same variant under two different deals.", "cap"
            )
        total = previous.quantity + line.quantity
        if total > MAX_RESERVE_QUANTITY:
            _invalid_reservation(
                f"Line {index + 1}: the quantity is 1 to {MAX_RESERVE_QUANTITY:,}.", "quantity"
            )
        merged[line.variant_id] = ReservationLine(line.variant_id, total, cap)
    return [merged[variant_id] for variant_id in sorted(merged)]


def same_holding(
    held: Iterable[tuple[str, int, str | None]], plan: Sequence[ReservationLine]
) -> bool:
    """Whether active holds ``(variant_id, quantity, deal_id)`` are exactly the plan: then a
    repeated reserve() of the same checkout is a no-op that returns them."""
    totals: dict[str, tuple[int, str | None]] = {}
    for variant_id, quantity, deal_id in held:
        count, _ = totals.get(variant_id, (0, deal_id))
        totals[variant_id] = (count + quantity, deal_id)
    wanted = {
        line.variant_id: (line.quantity, line.cap.deal_id if line.cap else None) for line in plan
    }
    return totals == wanted


def reservation_expiry(now: datetime, ttl_seconds: int) -> datetime:
    if ttl_seconds < 1:
        raise ValueError("a reservation lives at least one second")
    return now + timedelta(seconds=ttl_seconds)


def choose_warehouses(candidates: Iterable[tuple[str, int]], quantity: int) -> list[str]:
    """The warehouses to try for one line, given ``(warehouse_id, available)`` of the
    variant's active warehouses: those with enough available, in warehouse id order (ids
    are time-ordered, so the seller's oldest warehouse first). A line is never split across
    warehouses: one line ships from one place. The availability is a snapshot; the
    conditional update decides."""
    return [w for w, free in sorted(candidates) if free >= quantity]


def cap_allows(held: int, quantity: int, cap: int) -> bool:
    """Whether a buyer holding ``held`` units under a deal may take ``quantity`` more."""
    return held + quantity <= cap


RESERVATION_TRANSITIONS: Final = {
    ReservationStatus.ACTIVE.value: frozenset(
        {
            ReservationStatus.CLAIMED.value,
            ReservationStatus.RELEASED.value,
            ReservationStatus.EXPIRED.value,
        }
    ),
}
"""Only an active reservation changes state, and only once: claimed, released and expired
are final. The repository's ``WHERE status = 'active'`` is this table in SQL."""


def can_transition(current: str, target: str) -> bool:
    return target in RESERVATION_TRANSITIONS.get(current, frozenset())


def plan_claim(holds: Iterable[tuple[str, str, int]]) -> list[tuple[LevelKey, int]]:
    """Units to move from reserved to sold per level, for holds ``(variant_id, warehouse_id,
    quantity)``, in lock order (a claim updates several levels in one transaction)."""
    totals: dict[LevelKey, int] = {}
    for variant_id, warehouse_id, quantity in holds:
        key = (variant_id, warehouse_id)
        totals[key] = totals.get(key, 0) + quantity
    return sorted(totals.items())


# ---- cursors ---------------------------------------------------------------------------------


def encode_cursor(*parts: str) -> str:
    raw = "\x1f".join(parts).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, parts: int) -> tuple[str, ...]:
    """The parts of a cursor made by :func:`encode_cursor`; 422 ``invalid_cursor`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    values = tuple(raw.split("\x1f"))
    if len(cursor) > 400 or len(values) != parts or not all(0 < len(v) <= 64 for v in values):
        raise InvalidInventoryInput(
            "The cursor is not valid; start again without it.",
            code=InventoryErrorCode.INVALID_CURSOR.value,
            extra={"field": "cursor"},
        )
    return values
