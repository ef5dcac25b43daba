"""Pure catalog rules: handles, tags, option axes, the variant grid, barcodes, the listing
status machine and price history. No I/O: the service feeds them plain values and turns
their :class:`RuleViolation` into problem responses.

Every violation carries a stable ``code`` (see :class:`~shopreel.catalog.errors.CatalogErrorCode`)
and, where one field is at fault, the ``field`` path (``variants[2].barcode``) so that forms
can put the message next to the input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from shopreel.catalog.models import ProductStatus, ReviewOutcome
from shopreel.catalog.options import normalize_option_value, options_key
from shopreel.kit.time import as_utc

MAX_TITLE: Final = 255
MAX_HANDLE: Final = 255
MAX_TAGS: Final = 50
MAX_TAG_LENGTH: Final = 255
MAX_AXES: Final = 3
MAX_AXIS_NAME: Final = 255
MAX_OPTION_VALUE: Final = 255
MAX_VARIANTS: Final = 100
MAX_SKU: Final = 255
MAX_CENTS: Final = 2**31 - 1
MAX_WEIGHT_GRAMS: Final = 10_000_000  # ten tonnes: anything above is a unit mistake
MAX_DESCRIPTION: Final = 100_000
GTIN_LENGTHS: Final = frozenset({8, 12, 13, 14})

_HANDLE_RE = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
_NOT_HANDLE_CHARS = re.compile(r"[^\w]+|_+")


class RuleViolation(ValueError):
    """One broken rule: ``code`` is stable, ``field`` points at the input at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# ---- handles, titles, tags -------------------------------------------------------------------


def slugify(text: str) -> str:
    """A handle from a title: NFKC, case-folded, runs of anything but letters and digits
    become one hyphen. Non-ASCII letters stay ("crème-brûlée"), as Shopify handles do.
    Empty input gives ``"product"``."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    slug = _NOT_HANDLE_CHARS.sub("-", normal).strip("-")
    slug = slug[:MAX_HANDLE].strip("-")
    return slug or "product"


def check_handle(handle: str) -> str:
    """A seller-given handle, lower-cased; letters, digits and inner hyphens only."""
    value = unicodedata.normalize("NFKC", handle.strip()).casefold()
    if not value or len(value) > MAX_HANDLE or not _HANDLE_RE.match(value):
        raise RuleViolation(
            "invalid_handle",
            "A handle has letters, digits and hyphens only (at most 255), e.g. 'blue-mug'.",
            "handle",
        )
    return value


def unique_handle(base: str, taken: Iterable[str]) -> str:
    """``base`` if free in the shop, else ``base-2``, ``base-3`` … (shortened to fit)."""
    used = set(taken)
    if base not in used:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: MAX_HANDLE - len(suffix)].rstrip("-") + suffix
        if candidate not in used:
            return candidate
        number += 1


def check_title(title: str) -> str:
    value = " ".join(title.split())
    if not value:
        raise RuleViolation("invalid_title", "A product needs a title.", "title")
    if len(value) > MAX_TITLE:
        raise RuleViolation(
            "invalid_title", f"A title has at most {MAX_TITLE} characters.", "title"
        )
    return value


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Whitespace collapsed, empties dropped, duplicates (case-insensitive) removed keeping
    the first spelling; at most 50 tags of at most 255 characters."""
    result: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(tags):
        tag = " ".join(str(raw).split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise RuleViolation(
                "invalid_tags", f"A tag has at most {MAX_TAG_LENGTH} characters.", f"tags[{index}]"
            )
        key = tag.casefold()
        if key in seen:
            continue
        seen.add(key)
        result.append(tag)
    if len(result) > MAX_TAGS:
        raise RuleViolation("invalid_tags", f"A product has at most {MAX_TAGS} tags.", "tags")
    return result


def split_tags(text: str) -> list[str]:
    """Tags typed in one box, separated by commas (forms and CSV use this form)."""
    return [part for part in text.split(",") if part.strip()]


# ---- options and variants --------------------------------------------------------------------


def check_option_names(names: Sequence[str]) -> list[str]:
    """At most three axes, each named, no two alike (case-insensitively)."""
    if len(names) > MAX_AXES:
        raise RuleViolation(
            "invalid_options", f"A product has at most {MAX_AXES} option axes.", "option_names"
        )
    result: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(names):
        name = " ".join(raw.split())
        where = f"option_names[{index}]"
        if not name:
            raise RuleViolation("invalid_options", "An option axis needs a name.", where)
        if len(name) > MAX_AXIS_NAME:
            raise RuleViolation("invalid_options", "An axis name is too long.", where)
        if name.casefold() in seen:
            raise RuleViolation("invalid_options", f"The axis {name!r} is listed twice.", where)
        seen.add(name.casefold())
        result.append(name)
    return result


def gtin_is_valid(code: str) -> bool:
    """GS1 check digit of a GTIN-8/12/13/14: weights 3,1,3,… from the right, excluding the
    check digit itself; the sum plus the check digit is a multiple of ten."""
    if not code.isascii() or not code.isdigit() or len(code) not in GTIN_LENGTHS:
        return False
    digits = [int(c) for c in code]
    body = digits[:-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == digits[-1]


def check_barcode(value: str | None, where: str) -> str | None:
    """Empty means none; otherwise a GTIN with a correct check digit."""
    if value is None:
        return None
    code = value.strip()
    if not code:
        return None
    if not code.isascii() or not code.isdigit():
        raise RuleViolation("invalid_barcode", "A barcode has digits only.", where)
    if len(code) not in GTIN_LENGTHS:
        raise RuleViolation(
            "invalid_barcode", "A barcode is a GTIN of 8, 12, 13 or 14 digits.", where
        )
    if not gtin_is_valid(code):
        raise RuleViolation("invalid_barcode", "The barcode's check digit is wrong.", where)
    return code


@dataclass(frozen=True, slots=True)
class VariantSpec:
    """A variant as the seller gives it (API body or editor row)."""

    options: Mapping[str, str] = field(default_factory=dict)
    sku: str = ""
    price_cents: int = 0
    compare_at_cents: int | None = None
    weight_grams: int | None = None
    barcode: str | None = None
    cost_cents: int | None = None


@dataclass(frozen=True, slots=True)
class CleanVariant:
    """A checked variant: options in axis order, its identity key and its position."""

    options: dict[str, str]
    options_key: str
    position: int
    sku: str
    price_cents: int
    compare_at_cents: int | None
    weight_grams: int | None
    barcode: str | None
    cost_cents: int | None


def _cents(value: int | None, where: str, *, optional: bool) -> int | None:
    if value is None:
        if optional:
            return None
        raise RuleViolation("invalid_price", "A price is required.", where)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CENTS:
        raise RuleViolation("invalid_price", "Amounts are whole cents, 0 or more.", where)
    return value


def check_variants(
    option_names: Sequence[str], variants: Sequence[VariantSpec]
) -> list[CleanVariant]:
    """The variant grid: every variant gives exactly one value per axis, no two variants
    share their option values (``options_key``), at most 100 variants; prices in cents with
    a compare-at price above the price; GTIN barcodes."""
    if len(variants) > MAX_VARIANTS:
        raise RuleViolation(
            "too_many_variants", f"A product has at most {MAX_VARIANTS} variants.", "variants"
        )
    axes = list(option_names)
    by_fold = {name.casefold(): name for name in axes}
    clean: list[CleanVariant] = []
    keys: dict[str, int] = {}
    for index, spec in enumerate(variants):
        where = f"variants[{index}]"
        given: dict[str, str] = {}
        for raw_axis, raw_value in spec.options.items():
            axis = by_fold.get(" ".join(str(raw_axis).split()).casefold())
            if axis is None:
                raise RuleViolation(
                    "invalid_options",
                    f"{raw_axis!r} is not one of the product's option axes.",
                    f"{where}.options",
                )
            given[axis] = " ".join(str(raw_value).split())
        values: list[str] = []
        for axis in axes:
            value = given.get(axis, "")
            if not value:
                raise RuleViolation(
                    "missing_option_value",
                    f"Variant {index + 1} needs a value for {axis!r}.",
                    f"{where}.options.{axis}",
                )
            if len(value) > MAX_OPTION_VALUE:
                raise RuleViolation(
                    "invalid_options", "An option value is too long.", f"{where}.options.{axis}"
                )
            values.append(value)
        key = options_key(values)
        if key in keys:
            shown = " / ".join(values) or "the default variant"
            raise RuleViolation(
                "duplicate_options",
                f"Variants {keys[key] + 1} and {index + 1} have the same options ({shown}).",
                f"{where}.options",
            )
        keys[key] = index
        sku = spec.sku.strip()
        if len(sku) > MAX_SKU:
            raise RuleViolation("invalid_sku", "A SKU has at most 255 characters.", f"{where}.sku")
        price = _cents(spec.price_cents, f"{where}.price_cents", optional=False)
        assert price is not None
        compare_at = _cents(spec.compare_at_cents, f"{where}.compare_at_cents", optional=True)
        if compare_at is not None and compare_at <= price:
            raise RuleViolation(
                "invalid_compare_at",
                "A compare-at price must be above the price (or left empty).",
                f"{where}.compare_at_cents",
            )
        weight = spec.weight_grams
        if weight is not None and (isinstance(weight, bool) or not 0 <= weight <= MAX_WEIGHT_GRAMS):
            raise RuleViolation(
                "invalid_weight", "A weight is whole grams, 0 or more.", f"{where}.weight_grams"
            )
        clean.append(
            CleanVariant(
                options=dict(zip(axes, values, strict=True)),
                options_key=key,
                position=index,
                sku=sku,
                price_cents=price,
                compare_at_cents=compare_at,
                weight_grams=weight,
                barcode=check_barcode(spec.barcode, f"{where}.barcode"),
                cost_cents=_cents(spec.cost_cents, f"{where}.cost_cents", optional=True),
            )
        )
    return clean


def same_option_value(left: str, right: str) -> bool:
    return normalize_option_value(left) == normalize_option_value(right)


def combinations(values_per_axis: Sequence[Sequence[str]]) -> list[list[str]]:
    """Every combination of the axes' values, first axis slowest (the editor's
    "generate combinations")."""
    rows: list[list[str]] = [[]]
    for values in values_per_axis:
        rows = [[*row, value] for row in rows for value in values]
    return rows if values_per_axis else []


# ---- the listing status machine --------------------------------------------------------------


class Action(StrEnum):
    SUBMIT = "submit"  # the seller asks for review
    APPROVE = "approve"  # staff approve a flagged listing
    REJECT = "reject"  # staff reject a flagged listing
    TAKEDOWN = "takedown"  # staff remove a live listing
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"


_TRANSITIONS: Final[dict[Action, tuple[frozenset[ProductStatus], ProductStatus]]] = {
    Action.SUBMIT: (
        frozenset({ProductStatus.DRAFT, ProductStatus.REJECTED}),
        ProductStatus.PENDING_REVIEW,
    ),
    Action.APPROVE: (frozenset({ProductStatus.PENDING_REVIEW}), ProductStatus.LIVE),
    Action.REJECT: (frozenset({ProductStatus.PENDING_REVIEW}), ProductStatus.REJECTED),
    Action.TAKEDOWN: (frozenset({ProductStatus.LIVE}), ProductStatus.REJECTED),
    Action.ARCHIVE: (
        frozenset(
            {
                ProductStatus.DRAFT,
                ProductStatus.PENDING_REVIEW,
                ProductStatus.LIVE,
                ProductStatus.REJECTED,
            }
        ),
        ProductStatus.ARCHIVED,
    ),
    Action.UNARCHIVE: (frozenset({ProductStatus.ARCHIVED}), ProductStatus.DRAFT),
}


class InvalidTransition(RuleViolation):
    def __init__(self, current: ProductStatus, action: Action) -> None:
        allowed = sorted(s.value for s in _TRANSITIONS[action][0])
        super().__init__(
            "invalid_transition",
            f"Cannot {action.value} a {current.value} listing (only from {', '.join(allowed)}).",
            "status",
        )
        self.current = current
        self.action = action


def transition(current: ProductStatus | str, action: Action) -> ProductStatus:
    """The status after ``action``; :class:`InvalidTransition` if it is not allowed from
    ``current``. Screening's outcome is applied separately (:func:`after_screening`)."""
    status = ProductStatus(current)
    sources, target = _TRANSITIONS[action]
    if status not in sources:
        raise InvalidTransition(status, action)
    return target


def after_screening(outcome: ReviewOutcome) -> ProductStatus:
    """Where a submitted listing goes after automated screening."""
    if outcome is ReviewOutcome.PASSED:
        return ProductStatus.LIVE
    if outcome is ReviewOutcome.FLAGGED:
        return ProductStatus.PENDING_REVIEW
    return ProductStatus.REJECTED


def after_live_edit(outcome: ReviewOutcome) -> ProductStatus:
    """A live listing whose material fields changed was screened again: a passing re-screen
    stays live, a flagged one waits for staff, a prohibited one is rejected."""
    return after_screening(outcome)


MATERIAL_FIELDS: Final = ("title", "description_html", "category_id", "tags", "prices")


@dataclass(frozen=True, slots=True)
class ListingSnapshot:
    """The fields whose change sends a live listing back through screening."""

    title: str
    description_html: str
    category_id: int | None
    tags: tuple[str, ...]
    prices: tuple[tuple[int, int | None], ...]  # (price, compare-at) per variant, in order


def material_changes(before: ListingSnapshot, after: ListingSnapshot) -> list[str]:
    """Names of the material fields that differ (empty: no re-screening needed)."""
    return [name for name in MATERIAL_FIELDS if getattr(before, name) != getattr(after, name)]


def editable(status: ProductStatus | str) -> bool:
    """Archived listings are frozen until unarchived; everything else may be edited."""
    return ProductStatus(status) is not ProductStatus.ARCHIVED


# ---- price history ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricePoint:
    """One price-history row: the price in force from ``changed_at`` on."""

    changed_at: datetime
    price_cents: int
    compare_at_cents: int | None = None


def price_changed(old: tuple[int, int | None] | None, new: tuple[int, int | None]) -> bool:
    """A history row is due when a variant is new or its price or compare-at changed."""
    return old is None or old != new


def lowest_price_since(history: Iterable[PricePoint], since: datetime) -> int | None:
    """The lowest price in force at any moment from ``since`` until now: the price that was
    in force at ``since`` (the last change at or before it) and every later price. None if
    the variant had no price before now. Flash-deal rules use it ("a deal must be below the
    lowest price of the last 30 days"). Naive datetimes (SQLite) are read as UTC."""
    since = as_utc(since)
    points = sorted(history, key=lambda point: as_utc(point.changed_at))
    in_force: int | None = None
    later: list[int] = []
    for point in points:
        if as_utc(point.changed_at) <= since:
            in_force = point.price_cents
        else:
            later.append(point.price_cents)
    candidates = later + ([in_force] if in_force is not None else [])
    return min(candidates) if candidates else None
