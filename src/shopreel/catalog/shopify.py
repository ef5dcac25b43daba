"""Shopify product CSV: parse, normalise and export (pure functions, no database).

:func:`parse_shopify_csv` turns the bytes of a Shopify product export (or Shopify's import
template) into :class:`ShopifyProduct` objects plus per-row :class:`RowError` reports;
:func:`export_shopify_csv` writes products back in the current Shopify format, so that
``parse(export(parse(file))).products == parse(file).products``.

The rules (columns, grouping, errors, limits) are documented in ``docs/shopify-import.md``.
Row numbers in reports: ``row`` is the 1-based CSV record index with the header as row 1 (what a
spreadsheet shows), ``line`` the 1-based physical line where that record starts (what a text
editor shows); they differ once a quoted cell spans several lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

from shopreel.catalog.money import (
    MoneyError,
    currency_exponent,
    format_minor_units,
    parse_minor_units,
)
from shopreel.catalog.taxonomy import Taxonomy, default_taxonomy

__all__ = [
    "FATAL_CODES",
    "FIELD_LIMITS",
    "CategoryStats",
    "ImportCounts",
    "ImportParse",
    "IssueCode",
    "RowError",
    "ShopifyImage",
    "ShopifyOption",
    "ShopifyProduct",
    "ShopifyVariant",
    "export_shopify_csv",
    "parse_shopify_csv",
    "resolve_category",
]

DEFAULT_MAX_BYTES = 50 * 2**20
DEFAULT_MAX_ROWS = 200_000
MAX_OPTIONS = 3
MAX_MINOR_UNITS = 2**31 - 1  # prices and costs must fit the catalog's INTEGER columns
MAX_GRAMS = 2**31 - 1
MAX_INVENTORY = 10**9

STATUSES = ("active", "draft", "archived")
WEIGHT_UNITS = ("g", "kg", "lb", "oz")
_GRAMS_PER_UNIT = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}
_UNIT_ALIASES = {"lbs": "lb", "gram": "g", "grams": "g", "kilograms": "kg", "pounds": "lb"}
_DEFAULT_OPTION_NAME = "title"
_DEFAULT_OPTION_VALUE = "default title"


class IssueCode(StrEnum):
    """Stable codes of :class:`RowError` (errors and warnings)."""

    # fatal: nothing is imported
    FILE_TOO_LARGE = "file_too_large"
    WRONG_ENCODING = "wrong_encoding"
    MALFORMED_CSV = "malformed_csv"
    # errors: the row's product, variant or image is rejected
    MALFORMED_ROW = "malformed_row"
    MISSING_HANDLE = "missing_handle"
    INVALID_HANDLE = "invalid_handle"
    MISSING_TITLE = "missing_title"
    FIELD_TOO_LONG = "field_too_long"
    TOO_MANY_OPTIONS = "too_many_options"
    OPTION_NAME_MISSING = "option_name_missing"
    DUPLICATE_OPTION_NAME = "duplicate_option_name"
    OPTION_VALUE_MISSING = "option_value_missing"
    DUPLICATE_VARIANT_OPTIONS = "duplicate_variant_options"
    INVALID_PRICE = "invalid_price"
    INVALID_COMPARE_AT_PRICE = "invalid_compare_at_price"
    INVALID_COST = "invalid_cost"
    INVALID_WEIGHT = "invalid_weight"
    INVALID_INVENTORY_QTY = "invalid_inventory_qty"
    INVALID_IMAGE_URL = "invalid_image_url"
    INVALID_IMAGE_POSITION = "invalid_image_position"
    # warnings: imported, with something dropped or defaulted
    UNKNOWN_COLUMN = "unknown_column"
    UNMODELED_COLUMN = "unmodeled_column"
    UNNAMED_COLUMN = "unnamed_column"
    NO_ROWS = "no_rows"
    NON_CONTIGUOUS_HANDLE = "non_contiguous_handle"
    IGNORED_VALUES = "ignored_values"
    INVALID_BOOLEAN = "invalid_boolean"
    INVALID_STATUS = "invalid_status"
    INVALID_WEIGHT_UNIT = "invalid_weight_unit"
    COMPARE_AT_NOT_ABOVE_PRICE = "compare_at_not_above_price"
    DUPLICATE_IMAGE = "duplicate_image"
    DUPLICATE_SKU = "duplicate_sku"
    NO_VARIANTS = "no_variants"
    UNKNOWN_GOOGLE_CATEGORY = "unknown_google_category"
    CATEGORY_CONFLICT = "category_conflict"


FATAL_CODES = frozenset(
    {IssueCode.FILE_TOO_LARGE, IssueCode.WRONG_ENCODING, IssueCode.MALFORMED_CSV}
)

# Longest accepted value (characters, after trimming) per field; longer -> field_too_long.
# handle/title/sku/barcode follow the catalog's database columns, the rest Shopify's limits
# or a generous bound against abuse.
FIELD_LIMITS: dict[str, int] = {
    "handle": 255,
    "title": 255,
    "body_html": 512 * 1024,
    "vendor": 255,
    "product_category": 1024,
    "type": 255,
    "tag": 255,
    "option_name": 255,
    "option_value": 255,
    "option_linked_to": 255,
    "seo_title": 255,
    "seo_description": 1024,
    "google": 1024,
    "sku": 255,
    "barcode": 32,
    "text": 255,  # inventory tracker/policy, fulfillment service, tax code
    "image_src": 2048,
    "image_alt": 512,
    "metafield": 65_535,
    "extra": 65_535,
}

# Google Shopping sub-columns: model key -> header suffix after "Google Shopping / ".
GOOGLE_FIELDS: dict[str, str] = {
    "gender": "Gender",
    "age_group": "Age Group",
    "mpn": "MPN",
    "adwords_grouping": "AdWords Grouping",
    "adwords_labels": "AdWords Labels",
    "condition": "Condition",
    "custom_product": "Custom Product",
    **{f"custom_label_{n}": f"Custom Label {n}" for n in range(5)},
}
_GOOGLE_ALWAYS = ("gender", "age_group", "mpn")
_GOOGLE_ADWORDS = ("adwords_grouping", "adwords_labels")
_GOOGLE_TAIL = ("condition", "custom_product")
_GOOGLE_LABELS = tuple(f"custom_label_{n}" for n in range(5))
GOOGLE_CATEGORY_HEADER = "Google Shopping / Google Product Category"


# -- model ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem found in the file (used for errors and for warnings).

    ``row``: 1-based CSV record index, the header being row 1 (the spreadsheet row number).
    ``line``: 1-based physical line where that record starts. Both are None for problems that
    concern the whole file. ``column`` is the header as written in the file.
    """

    code: str
    reason: str
    row: int | None = None
    line: int | None = None
    column: str | None = None
    handle: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row} (line {self.line})")
        if self.column:
            where.append(self.column)
        prefix = ", ".join(where)
        return f"{prefix + ': ' if prefix else ''}{self.code}: {self.reason}"


@dataclass(slots=True)
class ShopifyImage:
    src: str
    position: int | None = None
    alt: str = ""
    row: int | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(slots=True)
class ShopifyOption:
    name: str
    linked_to: str = ""  # "Option1 Linked To" (e.g. product.metafields.shopify.color-pattern)


@dataclass(slots=True)
class ShopifyVariant:
    """One variant. ``option_values`` line up with the product's ``options``."""

    price_minor: int
    currency: str = "USD"
    option_values: tuple[str, ...] = ()
    sku: str = ""
    compare_at_minor: int | None = None
    cost_minor: int | None = None
    grams: int | None = None
    weight_unit: str = ""  # g|kg|lb|oz: the unit Shopify displays; grams is authoritative
    barcode: str = ""
    inventory_qty: int | None = None
    inventory_tracker: str = ""
    inventory_policy: str = ""
    fulfillment_service: str = ""
    requires_shipping: bool | None = None
    taxable: bool | None = None
    tax_code: str = ""
    image_src: str = ""  # "Variant Image"
    metafields: dict[str, str] = field(default_factory=dict)  # "variant.metafields.ns.key"
    extra: dict[str, str] = field(default_factory=dict)  # uninterpreted columns, by header
    row: int | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)


@dataclass(slots=True)
class ShopifyProduct:
    """One product (all rows sharing a Handle).

    ``original_category`` is ``Product Category`` (or the older ``Standard Product Type``) as
    written; ``category_id`` is the Google taxonomy id it resolved to, if any, and
    ``category_source`` says from which column (``"product_category"`` or
    ``"google_product_category"``). ``status`` is ``active``, ``draft`` or ``archived``.
    """

    handle: str
    title: str
    body_html: str = ""
    vendor: str = ""
    original_category: str = ""
    category_id: int | None = None
    category_source: str | None = None
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    published: bool | None = None
    status: str = "draft"
    gift_card: bool | None = None
    seo_title: str = ""
    seo_description: str = ""
    google_product_category: str = ""
    google: dict[str, str] = field(default_factory=dict)  # keys of GOOGLE_FIELDS
    options: list[ShopifyOption] = field(default_factory=list)
    variants: list[ShopifyVariant] = field(default_factory=list)
    images: list[ShopifyImage] = field(default_factory=list)
    metafields: dict[str, str] = field(default_factory=dict)  # "product.metafields.ns.key"
    extra: dict[str, str] = field(default_factory=dict)  # uninterpreted columns, by header
    # column labels of metafields ("Color" for product.metafields.shopify.color-pattern);
    # presentation only, so not part of equality
    metafield_labels: dict[str, str] = field(default_factory=dict, compare=False)
    row: int | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(option.name for option in self.options)

    def variant_options(self, variant: ShopifyVariant) -> dict[str, str]:
        """The variant's options as ``{name: value}`` (empty for a single default variant)."""
        return dict(zip(self.option_names, variant.option_values, strict=True))


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What the file contains, valid or not: non-blank data rows, distinct handles, variant rows
    and distinct (handle, Image Src) pairs."""

    rows: int = 0
    products: int = 0
    variants: int = 0
    images: int = 0


@dataclass(frozen=True, slots=True)
class CategoryStats:
    """Category mapping over the parsed products.

    ``distinct``: distinct non-empty ``original_category`` values; ``distinct_matching``: how
    many of them are exactly a Google taxonomy path; ``products_mapped``: products with a
    ``category_id``, of which ``products_mapped_by_google_column`` came from the
    ``Google Shopping / Google Product Category`` column.
    """

    distinct: int = 0
    distinct_matching: int = 0
    products_mapped: int = 0
    products_mapped_by_google_column: int = 0


@dataclass(slots=True)
class ImportParse:
    products: list[ShopifyProduct] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    counts: ImportCounts = field(default_factory=ImportCounts)
    categories: CategoryStats = field(default_factory=CategoryStats)
    currency: str = "USD"
    columns: list[str] = field(default_factory=list)  # header cells as written

    @property
    def fatal(self) -> bool:
        """True when the file could not be read at all (no products)."""
        return any(error.code in FATAL_CODES for error in self.errors)

    @property
    def variant_count(self) -> int:
        return sum(len(product.variants) for product in self.products)

    @property
    def image_count(self) -> int:
        return sum(len(product.images) for product in self.products)


# -- decoding ---------------------------------------------------------------------------------


class _FatalError(Exception):
    def __init__(self, issue: RowError) -> None:
        super().__init__(issue.reason)
        self.issue = issue


def _decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (BOM optional) or UTF-16/32 with a BOM; nothing is guessed."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding, skip = "utf-32", 0
    elif data.startswith(codecs.BOM_UTF8):
        encoding, skip = "utf-8", len(codecs.BOM_UTF8)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, skip = "utf-16", 0
    else:
        encoding, skip = "utf-8", 0
        for magic, kind in (
            (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
            (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
            (b"%PDF", "a PDF document"),
        ):
            if data.startswith(magic):
                raise _FatalError(
                    RowError(
                        IssueCode.MALFORMED_CSV,
                        f"this is {kind}, not a CSV file; export the products as CSV",
                    )
                )
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        bad = data[offset : offset + 4].hex(" ")
        if encoding == "utf-8":
            line = data.count(b"\n", 0, offset) + 1
            reason = (
                f"the file is not valid UTF-8: invalid byte at offset {offset} (line {line}; "
                f"bytes {bad}). Save it as 'CSV UTF-8' and upload it again"
            )
            raise _FatalError(RowError(IssueCode.WRONG_ENCODING, reason, line=line)) from None
        reason = f"the file is not valid {encoding.upper()}: invalid data at byte offset {offset}"
        raise _FatalError(RowError(IssueCode.WRONG_ENCODING, reason)) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise _FatalError(
            RowError(
                IssueCode.WRONG_ENCODING,
                f"the file contains NUL characters (first on line {line}); it looks like "
                "UTF-16 without a byte-order mark. Save it as 'CSV UTF-8'",
                line=line,
            )
        )
    return text


_FIELD_LIMIT_LOCK = threading.Lock()


def _ensure_field_size_limit(size: int) -> None:
    # csv's per-field limit is process-wide; it is only ever raised, under a lock.
    with _FIELD_LIMIT_LOCK:
        if csv.field_size_limit() < size:
            csv.field_size_limit(size)


# -- header -----------------------------------------------------------------------------------

_HEADER_KEYS = {
    "handle": "handle",
    "title": "title",
    "body (html)": "body_html",
    "vendor": "vendor",
    "product category": "product_category",
    "standard product type": "standard_product_type",
    "type": "type",
    "custom product type": "custom_product_type",
    "tags": "tags",
    "published": "published",
    "variant sku": "sku",
    "variant grams": "grams",
    "variant weight": "weight",
    "variant weight unit": "weight_unit",
    "variant inventory tracker": "inventory_tracker",
    "variant inventory qty": "inventory_qty",
    "variant inventory policy": "inventory_policy",
    "variant fulfillment service": "fulfillment_service",
    "variant price": "price",
    "variant compare at price": "compare_at_price",
    "variant requires shipping": "requires_shipping",
    "variant taxable": "taxable",
    "variant barcode": "barcode",
    "variant image": "variant_image",
    "variant tax code": "tax_code",
    "cost per item": "cost_per_item",
    "image src": "image_src",
    "image position": "image_position",
    "image alt text": "image_alt",
    "gift card": "gift_card",
    "seo title": "seo_title",
    "seo description": "seo_description",
    "status": "status",
    "google shopping / google product category": "google_product_category",
}
_GOOGLE_BY_SUFFIX = {suffix.casefold(): key for key, suffix in GOOGLE_FIELDS.items()}
_OPTION_RE = re.compile(r"option\s*(\d+)\s+(name|value|linked to)")
_METAFIELD_RE = re.compile(r"^(.*?)\s*\(\s*((product|variant)\.metafields\.[^()\s]+)\s*\)$", re.I)
_MARKET_RE = re.compile(r"(included|price|compare at price) / \S.*")
_PRODUCT_TEXT_KEYS = (
    "title",
    "body_html",
    "vendor",
    "product_category",
    "standard_product_type",
    "type",
    "custom_product_type",
    "tags",
    "published",
    "gift_card",
    "seo_title",
    "seo_description",
    "status",
    "google_product_category",
)
_VARIANT_DEFINING_KEYS = (
    "sku",
    "price",
    "compare_at_price",
    "grams",
    "weight",
    "barcode",
    "inventory_qty",
)
_VARIANT_ONLY_KEYS = (
    "weight_unit",
    "inventory_tracker",
    "inventory_policy",
    "fulfillment_service",
    "requires_shipping",
    "taxable",
    "variant_image",
    "tax_code",
    "cost_per_item",
)


def _norm_header(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


@dataclass(slots=True)
class _Columns:
    count: int
    headers: list[str]
    key: dict[str, int] = field(default_factory=dict)  # field key -> column index
    option_name: dict[int, int] = field(default_factory=dict)  # option number -> index
    option_value: dict[int, int] = field(default_factory=dict)
    option_linked: dict[int, int] = field(default_factory=dict)
    google: list[tuple[str, int]] = field(default_factory=list)
    product_metafields: list[tuple[str, str, int]] = field(default_factory=list)  # key,label,i
    variant_metafields: list[tuple[str, str, int]] = field(default_factory=list)
    extra: list[tuple[str, int]] = field(default_factory=list)  # header, index
    unnamed: list[int] = field(default_factory=list)

    def header(self, key: str) -> str:
        return self.headers[self.key[key]]


def _resolve_columns(headers: list[str]) -> tuple[_Columns, list[RowError]]:
    cols = _Columns(count=len(headers), headers=list(headers))
    warnings: list[RowError] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(headers):
        written = cols.headers[index] = " ".join(raw.replace("\ufeff", "").split())
        norm = written.casefold()
        if not norm:
            cols.unnamed.append(index)
            continue
        if norm in seen:
            raise _FatalError(
                RowError(
                    IssueCode.MALFORMED_CSV,
                    f"column {written!r} appears twice (columns {seen[norm] + 1} and {index + 1})",
                    row=1,
                    line=1,
                    column=written,
                )
            )
        seen[norm] = index
        if norm in _HEADER_KEYS:
            cols.key[_HEADER_KEYS[norm]] = index
            continue
        option = _OPTION_RE.fullmatch(norm)
        if option:
            number, kind = int(option.group(1)), option.group(2)
            if number >= 1:
                target = {
                    "name": cols.option_name,
                    "value": cols.option_value,
                    "linked to": cols.option_linked,
                }[kind]
                target[number] = index
                continue
        if norm.startswith("google shopping / "):
            google_key = _GOOGLE_BY_SUFFIX.get(norm.removeprefix("google shopping / "))
            if google_key:
                cols.google.append((google_key, index))
                continue
        metafield = _METAFIELD_RE.match(written)
        if metafield:
            label, key, scope = metafield.group(1), metafield.group(2), metafield.group(3)
            if f"({key.casefold()})" in seen:
                raise _FatalError(
                    RowError(
                        IssueCode.MALFORMED_CSV,
                        f"metafield {key!r} has two columns",
                        row=1,
                        line=1,
                        column=written,
                    )
                )
            seen[f"({key.casefold()})"] = index
            entry = (key, label, index)
            if scope.casefold() == "product":
                cols.product_metafields.append(entry)
            else:
                cols.variant_metafields.append(entry)
            continue
        cols.extra.append((written, index))
        if _MARKET_RE.fullmatch(norm):
            warnings.append(
                RowError(
                    IssueCode.UNMODELED_COLUMN,
                    "Shopify Markets column: kept as-is for export, not interpreted",
                    row=1,
                    line=1,
                    column=written,
                )
            )
        else:
            warnings.append(
                RowError(
                    IssueCode.UNKNOWN_COLUMN,
                    "unknown column: kept as-is for export, not interpreted",
                    row=1,
                    line=1,
                    column=written,
                )
            )
    for required in ("handle", "title"):
        if required not in cols.key:
            raise _FatalError(
                RowError(
                    IssueCode.MALFORMED_CSV,
                    f"the header has no {required.capitalize()!r} column; is this a Shopify "
                    "product CSV?",
                    row=1,
                    line=1,
                )
            )
    return cols, warnings


def _detect_delimiter(text: str) -> str:
    """Comma, tab (Excel 'Unicode text') or semicolon: whichever yields a Handle column."""
    first = ""
    for line in io.StringIO(text, newline=""):
        if line.strip():
            first = line
            break
    if not first:
        raise _FatalError(RowError(IssueCode.MALFORMED_CSV, "the file is empty"))
    for delimiter in (",", "\t", ";"):
        cells = next(csv.reader([first], delimiter=delimiter), [])
        if "handle" in {_norm_header(cell) for cell in cells}:
            return delimiter
    preview = first.strip()[:80]
    raise _FatalError(
        RowError(
            IssueCode.MALFORMED_CSV,
            f"no 'Handle' column in the header line ({preview!r}); is this a Shopify product CSV?",
            row=1,
            line=1,
        )
    )


# -- value parsing ----------------------------------------------------------------------------

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_INT_RE = re.compile(r"[+-]?[0-9]+(?:\.0+)?")
_HANDLE_BAD_RE = re.compile(r"[\s/?#\\\x00-\x1f\x7f]")
_URL_BAD_RE = re.compile(r"[\s\x00-\x1f\x7f]")


class _ValueProblem(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parse_bool(text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _ValueProblem(f"expected TRUE or FALSE, got {text!r}; left empty")


def _parse_decimal(text: str, what: str) -> Decimal:
    value = text.strip()
    if len(value) > 30 or not _DECIMAL_RE.fullmatch(value):
        raise _ValueProblem(f"{what} must be a plain non-negative number such as 250 or 0.5")
    return Decimal(value)


def _to_grams(amount: Decimal) -> int:
    grams = int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if grams > MAX_GRAMS:
        raise _ValueProblem("the weight is too large")
    return grams


def _parse_int(text: str, what: str) -> int:
    value = text.strip()
    if len(value) > 20 or not _INT_RE.fullmatch(value):
        raise _ValueProblem(f"{what} must be a whole number")
    return int(Decimal(value))


def _normalize_unit(text: str) -> str | None:
    unit = text.strip().casefold()
    unit = _UNIT_ALIASES.get(unit, unit)
    return unit if unit in WEIGHT_UNITS else None


def _check_url(url: str) -> str | None:
    """None when ``url`` is an acceptable absolute http(s) URL, else the reason."""
    if _URL_BAD_RE.search(url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    scheme = parts.scheme.casefold()
    if scheme not in ("http", "https"):
        if not scheme:
            return "not an absolute http(s) URL"
        return f"only http and https URLs are accepted, not {scheme}:"
    if not host:
        return "the URL has no host"
    return None


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def resolve_category(
    original_category: str, google_category: str, taxonomy: Taxonomy
) -> tuple[int | None, str | None, list[tuple[str, str]]]:
    """Map a product's category to a Google taxonomy id.

    ``Product Category`` (Shopify's taxonomy) maps when it is exactly a Google path
    (:meth:`Taxonomy.by_path`); otherwise ``Google Shopping / Google Product Category`` maps when
    it is a known Google id or an exact Google path. Returns ``(id, source, notes)`` where
    ``source`` is ``"product_category"``, ``"google_product_category"`` or None and ``notes``
    are ``(code, reason)`` pairs for warnings (unknown Google category, conflicting columns).
    """
    notes: list[tuple[str, str]] = []
    from_product = taxonomy.by_path(original_category) if original_category else None
    from_google = None
    google = google_category.strip()
    if google:
        if google.isdigit() and google.isascii():
            google_id = int(google)
            from_google = taxonomy.get(google_id) if google_id in taxonomy else None
        else:
            from_google = taxonomy.by_path(google)
        if from_google is None:
            notes.append(
                (
                    IssueCode.UNKNOWN_GOOGLE_CATEGORY,
                    f"{google!r} is not a Google taxonomy id or path",
                )
            )
    if from_product is not None:
        if from_google is not None and from_google.id != from_product.id:
            notes.append(
                (
                    IssueCode.CATEGORY_CONFLICT,
                    f"Product Category is Google {from_product.id} but the Google Shopping "
                    f"column says {from_google.id}; using {from_product.id}",
                )
            )
        return from_product.id, "product_category", notes
    if from_google is not None:
        return from_google.id, "google_product_category", notes
    return None, None, notes


# -- the parser -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Loc:
    row: int
    line: int
    handle: str


@dataclass(slots=True)
class _Builder:
    product: ShopifyProduct | None  # None: the product was rejected on its first row
    first_row: int
    first_cells: dict[int, str] = field(default_factory=dict)  # product-level cells
    names: tuple[str, ...] = ()  # option names
    option_keys: dict[tuple[str, ...], int] = field(default_factory=dict)  # -> row
    image_srcs: set[str] = field(default_factory=set)


class _Parser:
    def __init__(self, cols: _Columns, currency: str, taxonomy: Taxonomy) -> None:
        self.cols = cols
        self.currency = currency
        self.taxonomy = taxonomy
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.builders: dict[str, _Builder] = {}
        self.skus: dict[str, tuple[int, str]] = {}  # sku -> (row, handle)
        self.handles: set[str] = set()
        self.variant_rows = 0
        self.images: set[tuple[str, str]] = set()
        self.rows = 0
        self.values: dict[str, str] = {}  # trimmed known cells of the row being read
        self.key_items = list(cols.key.items())
        key = cols.key
        self.defining = [key[k] for k in _VARIANT_DEFINING_KEYS if k in key]
        self.defining += list(cols.option_value.values())
        self.variant_only = [key[k] for k in _VARIANT_ONLY_KEYS if k in key]
        self.variant_only += [index for _, _, index in cols.variant_metafields]
        product_keys = [k for k in _PRODUCT_TEXT_KEYS if k in key]
        self.product_cells = [key[k] for k in product_keys]
        self.product_cells += list(cols.option_name.values()) + list(cols.option_linked.values())
        self.product_cells += [index for _, index in cols.google]
        self.product_cells += [index for _, _, index in cols.product_metafields]

    # helpers -----------------------------------------------------------------------------

    def value(self, key: str) -> str:
        """The trimmed cell of field ``key`` in the current row ("" when there is no column)."""
        return self.values.get(key, "")

    def issue(
        self,
        target: list[RowError],
        code: str,
        reason: str,
        loc: _Loc,
        column: str | None = None,
        value: str | None = None,
    ) -> RowError:
        issue = RowError(
            code,
            reason,
            row=loc.row,
            line=loc.line,
            column=column,
            handle=loc.handle or None,
            value=_short(value) if value is not None else None,
        )
        target.append(issue)
        return issue

    def too_long(
        self, out: list[RowError], loc: _Loc, value: str, limit_key: str, column: str
    ) -> bool:
        limit = FIELD_LIMITS[limit_key]
        if len(value) <= limit:
            return False
        self.issue(
            out,
            IssueCode.FIELD_TOO_LONG,
            f"{len(value)} characters; at most {limit} are allowed",
            loc,
            column,
            value,
        )
        return True

    # rows --------------------------------------------------------------------------------

    def run(self, reader: Iterator[list[str]], line_of: _LineCounter, max_rows: int) -> None:
        last_handle: str | None = None
        warned_gap: set[str] = set()
        for row_number, cells in enumerate(reader, start=2):
            start_line = line_of.start()
            if not any(cell.strip() for cell in cells):
                continue
            self.rows += 1
            if self.rows > max_rows:
                raise _FatalError(
                    RowError(
                        IssueCode.FILE_TOO_LARGE,
                        f"the file has more than {max_rows} rows",
                        row=row_number,
                        line=start_line,
                    )
                )
            if len(cells) > self.cols.count:
                if any(cell.strip() for cell in cells[self.cols.count :]):
                    self.issue(
                        self.errors,
                        IssueCode.MALFORMED_ROW,
                        f"{len(cells)} cells but the header has {self.cols.count} columns; "
                        "row skipped",
                        _Loc(row_number, start_line, ""),
                    )
                    continue
                cells = cells[: self.cols.count]
            elif len(cells) < self.cols.count:
                cells = cells + [""] * (self.cols.count - len(cells))
            self.values = values = {key: cells[index].strip() for key, index in self.key_items}
            handle = values["handle"]
            loc = _Loc(row_number, start_line, handle)
            if not handle:
                self.issue(
                    self.errors,
                    IssueCode.MISSING_HANDLE,
                    "the Handle is empty; row skipped",
                    loc,
                    self.cols.header("handle"),
                )
                continue
            self.count_row(handle, cells)
            builder = self.builders.get(handle)
            if builder is None:
                builder = self.start_product(cells, loc)
                self.builders[handle] = builder
                first = True
            else:
                first = False
                if last_handle != handle and handle not in warned_gap:
                    warned_gap.add(handle)
                    self.issue(
                        self.warnings,
                        IssueCode.NON_CONTIGUOUS_HANDLE,
                        f"rows of this handle are not contiguous (it started on row "
                        f"{builder.first_row}); they are merged",
                        loc,
                        self.cols.header("handle"),
                    )
            last_handle = handle
            if builder.product is None:
                continue
            if not first:
                self.check_continuation(builder, cells, loc)
            self.row_body(builder, builder.product, cells, loc, first)

    def count_row(self, handle: str, cells: Sequence[str]) -> None:
        self.handles.add(handle)
        if any(cells[index].strip() for index in self.defining):
            self.variant_rows += 1
        image_index = self.cols.key.get("image_src")
        if image_index is not None and cells[image_index].strip():
            self.images.add((handle, cells[image_index].strip()))

    def start_product(self, cells: Sequence[str], loc: _Loc) -> _Builder:
        cols = self.cols
        errors: list[RowError] = []
        warnings: list[RowError] = []
        handle = loc.handle
        self.too_long(errors, loc, handle, "handle", cols.header("handle"))
        if _HANDLE_BAD_RE.search(handle):
            self.issue(
                errors,
                IssueCode.INVALID_HANDLE,
                "a handle cannot contain spaces, control characters, '/', '\\', '?' or '#'",
                loc,
                cols.header("handle"),
                handle,
            )
        title = self.value("title")
        if not title:
            self.issue(
                errors,
                IssueCode.MISSING_TITLE,
                "the first row of a product must have a Title",
                loc,
                cols.header("title"),
            )
        body_index = cols.key.get("body_html")
        body = cells[body_index] if body_index is not None else ""
        # limit key -> (value, column key); the first non-empty of aliased columns wins
        texts: dict[str, tuple[str, str]] = {}
        for limit_key, keys in (
            ("title", ("title",)),
            ("vendor", ("vendor",)),
            ("type", ("type", "custom_product_type")),
            ("product_category", ("product_category", "standard_product_type")),
            ("seo_title", ("seo_title",)),
            ("seo_description", ("seo_description",)),
            ("google", ("google_product_category",)),
        ):
            texts[limit_key] = ("", keys[0])
            for key in keys:
                value = self.value(key)
                if value:
                    texts[limit_key] = (value, key)
                    self.too_long(errors, loc, value, limit_key, cols.header(key))
                    break
        if body:
            self.too_long(errors, loc, body, "body_html", cols.header("body_html"))
        tags: list[str] = []
        seen_tags: set[str] = set()
        for raw_tag in self.value("tags").split(","):
            tag = " ".join(raw_tag.split())
            if tag and tag.casefold() not in seen_tags:
                seen_tags.add(tag.casefold())
                tags.append(tag)
                self.too_long(errors, loc, tag, "tag", cols.header("tags"))
        options = self.product_options(cells, loc, errors)
        published = self.bool_cell(cells, "published", loc, warnings)
        gift_card = self.bool_cell(cells, "gift_card", loc, warnings)
        raw_status = self.value("status")
        status = raw_status.casefold()
        if status not in STATUSES:
            if status:
                self.issue(
                    warnings,
                    IssueCode.INVALID_STATUS,
                    "Status must be active, draft or archived; imported as draft",
                    loc,
                    cols.header("status"),
                    raw_status,
                )
                status = "draft"
            else:
                status = "active" if published else "draft"
        google = {}
        for google_key, index in cols.google:
            value = cells[index].strip()
            if value:
                google[google_key] = value
                self.too_long(errors, loc, value, "google", cols.headers[index])
        metafields, labels = self.metafields(cells, cols.product_metafields, loc, errors)
        extra = self.extras(cells, loc, errors)
        first_cells = {index: cells[index].strip() for index in self.product_cells}
        builder = _Builder(product=None, first_row=loc.row, first_cells=first_cells)
        if errors:
            self.errors.extend(
                replace(error, reason=error.reason + "; product skipped (all rows of this handle)")
                for error in errors
            )
            return builder
        self.warnings.extend(warnings)
        builder.names = tuple(option.name for option in options)
        builder.product = ShopifyProduct(
            handle=handle,
            title=title,
            body_html=body,
            vendor=texts["vendor"][0],
            original_category=texts["product_category"][0],
            product_type=texts["type"][0],
            tags=tags,
            published=published,
            status=status,
            gift_card=gift_card,
            seo_title=texts["seo_title"][0],
            seo_description=texts["seo_description"][0],
            google_product_category=texts["google"][0],
            google=google,
            options=options,
            metafields=metafields,
            metafield_labels=labels,
            extra=extra,
            row=loc.row,
            line=loc.line,
        )
        return builder

    def product_options(
        self, cells: Sequence[str], loc: _Loc, errors: list[RowError]
    ) -> list[ShopifyOption]:
        cols = self.cols
        names: dict[int, str] = {}
        for number, index in cols.option_name.items():
            name = cells[index].strip()
            if not name:
                continue
            if number > MAX_OPTIONS:
                self.issue(
                    errors,
                    IssueCode.TOO_MANY_OPTIONS,
                    f"a product can have at most {MAX_OPTIONS} options",
                    loc,
                    cols.headers[index],
                    name,
                )
                continue
            names[number] = name
            self.too_long(errors, loc, name, "option_name", cols.headers[index])
        options: list[ShopifyOption] = []
        if names:
            last = max(names)
            missing = [n for n in range(1, last + 1) if n not in names]
            if missing:
                self.issue(
                    errors,
                    IssueCode.OPTION_NAME_MISSING,
                    f"Option{missing[0]} Name is empty but Option{last} Name is set",
                    loc,
                )
                return []
            seen: set[str] = set()
            for number in range(1, last + 1):
                name = names[number]
                if name.casefold() in seen:
                    self.issue(
                        errors,
                        IssueCode.DUPLICATE_OPTION_NAME,
                        f"option name {name!r} is used twice",
                        loc,
                        cols.headers[cols.option_name[number]],
                        name,
                    )
                seen.add(name.casefold())
                linked = ""
                linked_index = cols.option_linked.get(number)
                if linked_index is not None:
                    linked = cells[linked_index].strip()
                    self.too_long(
                        errors, loc, linked, "option_linked_to", cols.headers[linked_index]
                    )
                options.append(ShopifyOption(name, linked))
        return options

    def bool_cell(
        self, cells: Sequence[str], key: str, loc: _Loc, warnings: list[RowError]
    ) -> bool | None:
        raw = self.value(key)
        if not raw:
            return None
        try:
            return _parse_bool(raw)
        except _ValueProblem as problem:
            self.issue(
                warnings, IssueCode.INVALID_BOOLEAN, problem.reason, loc, self.cols.header(key), raw
            )
            return None

    def metafields(
        self,
        cells: Sequence[str],
        columns: list[tuple[str, str, int]],
        loc: _Loc,
        errors: list[RowError],
    ) -> tuple[dict[str, str], dict[str, str]]:
        values: dict[str, str] = {}
        labels: dict[str, str] = {}
        for key, label, index in columns:
            value = cells[index].strip()
            if value:
                values[key] = value
                labels[key] = label
                self.too_long(errors, loc, value, "metafield", self.cols.headers[index])
        return values, labels

    def extras(self, cells: Sequence[str], loc: _Loc, errors: list[RowError]) -> dict[str, str]:
        values: dict[str, str] = {}
        for header, index in self.cols.extra:
            value = cells[index].strip()
            if value:
                values[header] = value
                self.too_long(errors, loc, value, "extra", header)
        return values

    def check_continuation(self, builder: _Builder, cells: Sequence[str], loc: _Loc) -> None:
        differing = [
            self.cols.headers[index]
            for index, first in builder.first_cells.items()
            if (value := cells[index].strip()) and value != first
        ]
        if differing:
            self.issue(
                self.warnings,
                IssueCode.IGNORED_VALUES,
                "product fields are read from the first row of a handle; ignored here: "
                + ", ".join(differing),
                loc,
            )

    def row_body(
        self,
        builder: _Builder,
        product: ShopifyProduct,
        cells: Sequence[str],
        loc: _Loc,
        first: bool,
    ) -> None:
        is_variant = any(cells[index].strip() for index in self.defining)
        if is_variant:
            self.variant(builder, product, cells, loc, first)
        else:
            stray = [self.cols.headers[i] for i in self.variant_only if cells[i].strip()]
            if not first:
                stray += [header for header, index in self.cols.extra if cells[index].strip()]
            if stray:
                self.issue(
                    self.warnings,
                    IssueCode.IGNORED_VALUES,
                    "this row has no variant (no option value, SKU or price); ignored: "
                    + ", ".join(stray),
                    loc,
                )
        src = self.value("image_src")
        if src:
            self.image(builder, product, cells, loc, src)
        elif self.value("image_alt"):
            self.issue(
                self.warnings,
                IssueCode.IGNORED_VALUES,
                "Image Alt Text without Image Src is ignored",
                loc,
                self.cols.header("image_alt"),
            )

    def money(
        self,
        key: str,
        code: str,
        loc: _Loc,
        errors: list[RowError],
        required: bool = False,
    ) -> int | None:
        raw = self.value(key)
        if not raw:
            if required:
                column = self.cols.header(key) if key in self.cols.key else "Variant Price"
                self.issue(errors, code, "the price is empty", loc, column)
            return None
        try:
            return parse_minor_units(raw, self.currency, max_minor=MAX_MINOR_UNITS)
        except MoneyError as exc:
            self.issue(errors, code, exc.reason, loc, self.cols.header(key), raw)
            return None

    def variant(
        self,
        builder: _Builder,
        product: ShopifyProduct,
        cells: Sequence[str],
        loc: _Loc,
        first: bool,
    ) -> None:
        cols = self.cols
        errors: list[RowError] = []
        warnings: list[RowError] = []
        raw_values = {n: cells[i].strip() for n, i in cols.option_value.items()}
        for number, value in sorted(raw_values.items()):
            if number > MAX_OPTIONS and value:
                self.issue(
                    errors,
                    IssueCode.TOO_MANY_OPTIONS,
                    f"a product can have at most {MAX_OPTIONS} options",
                    loc,
                    cols.headers[cols.option_value[number]],
                    value,
                )
        names = builder.names
        values = [raw_values.get(n, "") for n in range(1, MAX_OPTIONS + 1)]
        if not names and values[0].casefold() == _DEFAULT_OPTION_VALUE and not any(values[1:]):
            values = ["", "", ""]
        for position in range(MAX_OPTIONS):
            value = values[position]
            number = position + 1
            column = (
                cols.headers[cols.option_value[number]] if number in cols.option_value else None
            )
            if position < len(names):
                if not value:
                    self.issue(
                        errors,
                        IssueCode.OPTION_VALUE_MISSING,
                        f"the product has option {names[position]!r} but this variant has no "
                        "value for it",
                        loc,
                        column or f"Option{number} Value",
                    )
                else:
                    self.too_long(errors, loc, value, "option_value", column or "")
            elif value:
                self.issue(
                    errors,
                    IssueCode.OPTION_NAME_MISSING,
                    f"Option{number} Value is set but the product has no Option{number} Name",
                    loc,
                    column,
                    value,
                )
        option_values = tuple(values[: len(names)])

        sku = self.value("sku")
        if sku:
            self.too_long(errors, loc, sku, "sku", cols.header("sku"))
        barcode = self.value("barcode")
        if barcode:
            self.too_long(errors, loc, barcode, "barcode", cols.header("barcode"))
        text_values = {}
        for key in ("inventory_tracker", "inventory_policy", "fulfillment_service", "tax_code"):
            text_values[key] = value = self.value(key)
            if value:
                self.too_long(errors, loc, value, "text", cols.header(key))

        price = self.money("price", IssueCode.INVALID_PRICE, loc, errors, required=True)
        compare_at = self.money("compare_at_price", IssueCode.INVALID_COMPARE_AT_PRICE, loc, errors)
        cost = self.money("cost_per_item", IssueCode.INVALID_COST, loc, errors)
        if compare_at == 0:
            compare_at = None  # Shopify writes 0.00 for "no compare-at price"
        if compare_at is not None and price is not None and compare_at <= price:
            self.issue(
                warnings,
                IssueCode.COMPARE_AT_NOT_ABOVE_PRICE,
                "the compare-at price must be higher than the price; dropped",
                loc,
                cols.header("compare_at_price"),
                self.value("compare_at_price"),
            )
            compare_at = None

        grams, unit = self.weight(cells, loc, errors, warnings)

        inventory_qty = None
        raw_qty = self.value("inventory_qty")
        if raw_qty:
            try:
                inventory_qty = _parse_int(raw_qty, "Variant Inventory Qty")
                if abs(inventory_qty) > MAX_INVENTORY:
                    raise _ValueProblem("the inventory quantity is out of range")
            except _ValueProblem as problem:
                self.issue(
                    errors,
                    IssueCode.INVALID_INVENTORY_QTY,
                    problem.reason,
                    loc,
                    cols.header("inventory_qty"),
                    raw_qty,
                )
        requires_shipping = self.bool_cell(cells, "requires_shipping", loc, warnings)
        taxable = self.bool_cell(cells, "taxable", loc, warnings)

        image_src = self.value("variant_image")
        if image_src:
            reason = _check_url(image_src)
            if reason is None and len(image_src) > FIELD_LIMITS["image_src"]:
                reason = f"the URL is longer than {FIELD_LIMITS['image_src']} characters"
            if reason is not None:
                # the variant stays; only its image is rejected
                self.issue(
                    self.errors,
                    IssueCode.INVALID_IMAGE_URL,
                    reason + "; variant image dropped",
                    loc,
                    cols.header("variant_image"),
                    image_src,
                )
                image_src = ""
        metafields, labels = self.metafields(cells, cols.variant_metafields, loc, errors)
        extra = {} if first else self.extras(cells, loc, errors)

        if sku and sku in self.skus:
            # Real exports reuse SKUs (print-on-demand codes, bundles): the catalog allows it,
            # so this is only a heads-up; the variant is kept.
            other_row, other_handle = self.skus[sku]
            where = "" if other_handle == loc.handle else f" (product {other_handle!r})"
            self.issue(
                warnings,
                IssueCode.DUPLICATE_SKU,
                f"SKU already used on row {other_row}{where}; the variant is kept, but stock "
                "and orders are easier to follow with distinct SKUs",
                loc,
                cols.header("sku"),
                sku,
            )
        option_key = tuple(" ".join(v.split()).casefold() for v in option_values)
        if option_key in builder.option_keys:
            described = " / ".join(option_values) if option_values else "the default variant"
            self.issue(
                errors,
                IssueCode.DUPLICATE_VARIANT_OPTIONS,
                f"{described!s} is already a variant of this product (row "
                f"{builder.option_keys[option_key]})",
                loc,
                None,
                " / ".join(option_values),
            )
        if errors or price is None:
            self.errors.extend(errors)
            return
        self.warnings.extend(warnings)
        if sku and sku not in self.skus:
            self.skus[sku] = (loc.row, loc.handle)
        builder.option_keys[option_key] = loc.row
        product.metafield_labels.update(labels)
        product.variants.append(
            ShopifyVariant(
                price_minor=price,
                currency=self.currency,
                option_values=option_values,
                sku=sku,
                compare_at_minor=compare_at,
                cost_minor=cost,
                grams=grams,
                weight_unit=unit,
                barcode=barcode,
                inventory_qty=inventory_qty,
                inventory_tracker=text_values["inventory_tracker"],
                inventory_policy=text_values["inventory_policy"],
                fulfillment_service=text_values["fulfillment_service"],
                requires_shipping=requires_shipping,
                taxable=taxable,
                tax_code=text_values["tax_code"],
                image_src=image_src,
                metafields=metafields,
                extra=extra,
                row=loc.row,
                line=loc.line,
            )
        )

    def weight(
        self,
        cells: Sequence[str],
        loc: _Loc,
        errors: list[RowError],
        warnings: list[RowError],
    ) -> tuple[int | None, str]:
        cols = self.cols
        raw_unit = self.value("weight_unit")
        unit = _normalize_unit(raw_unit) if raw_unit else ""
        raw_grams = self.value("grams")
        raw_weight = self.value("weight")
        grams: int | None = None
        try:
            if raw_grams:
                grams = _to_grams(_parse_decimal(raw_grams, "Variant Grams"))
            elif raw_weight:
                amount = _parse_decimal(raw_weight, "Variant Weight")
                if not unit:
                    raise _ValueProblem(
                        "Variant Weight needs a Variant Weight Unit (g, kg, lb or oz)"
                    )
                grams = _to_grams(amount * _GRAMS_PER_UNIT[unit])
        except _ValueProblem as problem:
            column = cols.header("grams") if raw_grams else cols.header("weight")
            self.issue(
                errors,
                IssueCode.INVALID_WEIGHT,
                problem.reason,
                loc,
                column,
                raw_grams or raw_weight,
            )
        if unit is None:
            self.issue(
                warnings,
                IssueCode.INVALID_WEIGHT_UNIT,
                "Variant Weight Unit must be g, kg, lb or oz; left empty",
                loc,
                cols.header("weight_unit"),
                raw_unit,
            )
            unit = ""
        return grams, unit

    def image(
        self,
        builder: _Builder,
        product: ShopifyProduct,
        cells: Sequence[str],
        loc: _Loc,
        src: str,
    ) -> None:
        cols = self.cols
        errors: list[RowError] = []
        column = cols.header("image_src")
        reason = _check_url(src)
        if reason is not None:
            self.issue(errors, IssueCode.INVALID_IMAGE_URL, reason, loc, column, src)
        else:
            self.too_long(errors, loc, src, "image_src", column)
        position: int | None = None
        raw_position = self.value("image_position")
        if raw_position:
            try:
                position = _parse_int(raw_position, "Image Position")
                if not 1 <= position <= 1_000_000:
                    raise _ValueProblem("Image Position must be 1 or more")
            except _ValueProblem as problem:
                self.issue(
                    errors,
                    IssueCode.INVALID_IMAGE_POSITION,
                    problem.reason,
                    loc,
                    cols.header("image_position"),
                    raw_position,
                )
        alt = self.value("image_alt")
        if alt:
            self.too_long(errors, loc, alt, "image_alt", cols.header("image_alt"))
        if errors:
            self.errors.extend(errors)
            return
        if src in builder.image_srcs:
            self.issue(
                self.warnings,
                IssueCode.DUPLICATE_IMAGE,
                "this image is already listed for the product; ignored",
                loc,
                column,
                src,
            )
            return
        builder.image_srcs.add(src)
        product.images.append(
            ShopifyImage(src=src, position=position, alt=alt, row=loc.row, line=loc.line)
        )

    # finishing ---------------------------------------------------------------------------

    def finish(self) -> list[ShopifyProduct]:
        products: list[ShopifyProduct] = []
        for builder in self.builders.values():
            product = builder.product
            if product is None:
                continue
            loc = _Loc(builder.first_row, product.line or 0, product.handle)
            names = product.option_names
            if (
                len(names) == 1
                and names[0].casefold() == _DEFAULT_OPTION_NAME
                and all(
                    v.option_values[0].casefold() == _DEFAULT_OPTION_VALUE for v in product.variants
                )
            ):
                product.options = []
                for variant in product.variants:
                    variant.option_values = ()
            if product.variants and product.variants[0].extra:
                # The first export row carries the product and its first variant, so the
                # uninterpreted columns of both are kept together on the product.
                first_variant = product.variants[0]
                for header, value in first_variant.extra.items():
                    current = product.extra.setdefault(header, value)
                    if current != value:
                        self.issue(
                            self.warnings,
                            IssueCode.IGNORED_VALUES,
                            f"value of the first variant (row {first_variant.row}) ignored: "
                            "the product's first row already has one",
                            loc,
                            header,
                            value,
                        )
                first_variant.extra = {}
            product.images.sort(key=lambda image: (image.position is None, image.position or 0))
            category_id, source, notes = resolve_category(
                product.original_category, product.google_product_category, self.taxonomy
            )
            product.category_id, product.category_source = category_id, source
            for code, reason in notes:
                self.issue(self.warnings, code, reason, loc)
            if not product.variants:
                self.issue(
                    self.warnings,
                    IssueCode.NO_VARIANTS,
                    "the product has no valid variant; it is kept without variants",
                    loc,
                )
            products.append(product)
        return products


class _LineSource(Protocol):
    @property
    def line_num(self) -> int: ...


class _LineCounter:
    """Tracks the physical line on which each record starts (csv.reader's line_num is the line
    on which the record ended)."""

    def __init__(self, reader: _LineSource, first_line: int) -> None:
        self.reader = reader
        self.previous_end = first_line - 1

    def start(self) -> int:
        start = self.previous_end + 1
        self.previous_end = self.reader.line_num
        return start


def _fatal_result(issue: RowError, currency: str) -> ImportParse:
    return ImportParse(errors=[issue], currency=currency)


def parse_shopify_csv(
    data: bytes,
    *,
    currency: str = "USD",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    taxonomy: Taxonomy | None = None,
) -> ImportParse:
    """Parse a Shopify product CSV export.

    Prices are read in ``currency`` (ISO 4217; ValueError for a malformed code). Never raises
    for bad input: file-level problems come back as a single fatal error (``result.fatal``),
    row-level ones as errors/warnings next to the products that were valid.
    """
    currency_exponent(currency)
    if len(data) > max_bytes:
        return _fatal_result(
            RowError(
                IssueCode.FILE_TOO_LARGE,
                f"the file has {len(data)} bytes; at most {max_bytes} are accepted",
            ),
            currency,
        )
    taxonomy = taxonomy or default_taxonomy()
    try:
        text = _decode(data)
        delimiter = _detect_delimiter(text)
        _ensure_field_size_limit(len(text) + 1)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        counter = _LineCounter(reader, 1)
        try:
            header = next(reader, [])
            counter.start()
            if not any(cell.strip() for cell in header):
                raise _FatalError(
                    RowError(
                        IssueCode.MALFORMED_CSV,
                        "the first line must be the header row (Handle, Title, ...)",
                        row=1,
                        line=1,
                    )
                )
            cols, column_warnings = _resolve_columns(header)
            parser = _Parser(cols, currency, taxonomy)
            parser.warnings.extend(column_warnings)
            for index in cols.unnamed:
                parser.warnings.append(
                    RowError(
                        IssueCode.UNNAMED_COLUMN,
                        f"column {index + 1} has no header; its values are ignored",
                        row=1,
                        line=1,
                    )
                )
            parser.run(reader, counter, max_rows)
        except csv.Error as exc:
            line = counter.previous_end + 1
            raise _FatalError(
                RowError(
                    IssueCode.MALFORMED_CSV,
                    f"broken CSV in the record starting on line {line}: {exc} (a quote that "
                    "is not closed or not doubled?)",
                    line=line,
                )
            ) from None
    except _FatalError as fatal:
        return _fatal_result(fatal.issue, currency)
    products = parser.finish()
    if parser.rows == 0:
        parser.warnings.append(RowError(IssueCode.NO_ROWS, "the file has no product rows"))
    distinct = {p.original_category for p in products if p.original_category}
    matching = {c for c in distinct if taxonomy.by_path(c) is not None}
    return ImportParse(
        products=products,
        errors=parser.errors,
        warnings=parser.warnings,
        counts=ImportCounts(
            rows=parser.rows,
            products=len(parser.handles),
            variants=parser.variant_rows,
            images=len(parser.images),
        ),
        categories=CategoryStats(
            distinct=len(distinct),
            distinct_matching=len(matching),
            products_mapped=sum(1 for p in products if p.category_id is not None),
            products_mapped_by_google_column=sum(
                1 for p in products if p.category_source == "google_product_category"
            ),
        ),
        currency=currency,
        columns=cols.headers,
    )


# -- export -----------------------------------------------------------------------------------


def _bool_text(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _check_exportable(product: ShopifyProduct) -> None:
    if len(product.options) > MAX_OPTIONS:
        raise ValueError(f"{product.handle}: more than {MAX_OPTIONS} options")
    if not product.options and len(product.variants) > 1:
        raise ValueError(f"{product.handle}: several variants but no options")
    for variant in product.variants:
        if len(variant.option_values) != len(product.options):
            raise ValueError(
                f"{product.handle}: a variant has {len(variant.option_values)} option values "
                f"for {len(product.options)} options"
            )
    for tag in product.tags:
        if "," in tag:
            raise ValueError(f"{product.handle}: tag {tag!r} contains a comma")


def export_shopify_csv(products: Iterable[ShopifyProduct]) -> bytes:
    """Write products as a Shopify product CSV (current format, UTF-8 without BOM, CRLF).

    One row per variant (the first also carries the product fields), then one row per image
    beyond the number of variants. Optional column groups (``Option* Linked To``, AdWords and
    custom-label Google columns, metafields, uninterpreted columns) appear only when used.
    Raises ValueError for a product that cannot be written (more than 3 options, option values
    not matching the options, several variants without options, a tag containing a comma).
    """
    items = list(products)
    for product in items:
        _check_exportable(product)
    linked = any(option.linked_to for p in items for option in p.options)
    google_used = {key for p in items for key in p.google}
    product_meta: dict[str, str] = {}
    variant_meta: dict[str, str] = {}
    extras: dict[str, None] = {}
    for product in items:
        for key in product.metafields:
            product_meta.setdefault(key, product.metafield_labels.get(key, ""))
        for column in product.extra:
            extras.setdefault(column, None)
        for variant in product.variants:
            for key in variant.metafields:
                variant_meta.setdefault(key, product.metafield_labels.get(key, ""))
            for column in variant.extra:
                extras.setdefault(column, None)

    header: list[str] = ["Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type"]
    header += ["Tags", "Published"]
    for number in range(1, MAX_OPTIONS + 1):
        header += [f"Option{number} Name", f"Option{number} Value"]
        if linked:
            header.append(f"Option{number} Linked To")
    header += [
        "Variant SKU",
        "Variant Grams",
        "Variant Inventory Tracker",
        "Variant Inventory Qty",
        "Variant Inventory Policy",
        "Variant Fulfillment Service",
        "Variant Price",
        "Variant Compare At Price",
        "Variant Requires Shipping",
        "Variant Taxable",
        "Variant Barcode",
        "Image Src",
        "Image Position",
        "Image Alt Text",
        "Gift Card",
        "SEO Title",
        "SEO Description",
        GOOGLE_CATEGORY_HEADER,
    ]
    google_keys = list(_GOOGLE_ALWAYS)
    google_keys += [k for k in _GOOGLE_ADWORDS if k in google_used]
    google_keys += list(_GOOGLE_TAIL)
    google_keys += [k for k in _GOOGLE_LABELS if k in google_used]
    header += [f"Google Shopping / {GOOGLE_FIELDS[k]}" for k in google_keys]
    meta_columns = [(key, label) for key, label in product_meta.items()]
    meta_columns += [(key, label) for key, label in variant_meta.items()]
    for key, label in meta_columns:
        header.append(f"{label or key.rsplit('.', 1)[-1]} ({key})")
    header += ["Variant Image", "Variant Weight Unit", "Variant Tax Code", "Cost per item"]
    header += list(extras)
    header.append("Status")
    position = {name: index for index, name in enumerate(header)}
    meta_position = {
        key: position[f"{label or key.rsplit('.', 1)[-1]} ({key})"] for key, label in meta_columns
    }

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for product in items:
        for index in range(max(len(product.variants), len(product.images), 1)):
            row = [""] * len(header)
            row[position["Handle"]] = product.handle
            if index == 0:
                _write_product(row, position, meta_position, product, google_keys, linked)
            if index < len(product.variants):
                _write_variant(row, position, meta_position, product, product.variants[index])
            if index < len(product.images):
                image = product.images[index]
                row[position["Image Src"]] = image.src
                if image.position is not None:
                    row[position["Image Position"]] = str(image.position)
                row[position["Image Alt Text"]] = image.alt
            writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def _write_product(
    row: list[str],
    position: dict[str, int],
    meta_position: dict[str, int],
    product: ShopifyProduct,
    google_keys: list[str],
    linked: bool,
) -> None:
    values = {
        "Title": product.title,
        "Body (HTML)": product.body_html,
        "Vendor": product.vendor,
        "Product Category": product.original_category,
        "Type": product.product_type,
        "Tags": ", ".join(product.tags),
        "Published": _bool_text(product.published),
        "Gift Card": _bool_text(product.gift_card),
        "SEO Title": product.seo_title,
        "SEO Description": product.seo_description,
        GOOGLE_CATEGORY_HEADER: product.google_product_category,
        "Status": product.status,
    }
    for key in google_keys:
        values[f"Google Shopping / {GOOGLE_FIELDS[key]}"] = product.google.get(key, "")
    for name, value in values.items():
        row[position[name]] = value
    if product.options:
        for number, option in enumerate(product.options, start=1):
            row[position[f"Option{number} Name"]] = option.name
            if linked:
                row[position[f"Option{number} Linked To"]] = option.linked_to
    elif product.variants:
        row[position["Option1 Name"]] = "Title"
    for key, value in product.metafields.items():
        row[meta_position[key]] = value
    for header, value in product.extra.items():
        row[position[header]] = value


def _write_variant(
    row: list[str],
    position: dict[str, int],
    meta_position: dict[str, int],
    product: ShopifyProduct,
    variant: ShopifyVariant,
) -> None:
    if product.options:
        for number, value in enumerate(variant.option_values, start=1):
            row[position[f"Option{number} Value"]] = value
    else:
        row[position["Option1 Value"]] = "Default Title"
    currency = variant.currency

    def money(amount: int | None) -> str:
        return "" if amount is None else format_minor_units(amount, currency)

    values = {
        "Variant SKU": variant.sku,
        "Variant Grams": "" if variant.grams is None else str(variant.grams),
        "Variant Inventory Tracker": variant.inventory_tracker,
        "Variant Inventory Qty": ""
        if variant.inventory_qty is None
        else str(variant.inventory_qty),
        "Variant Inventory Policy": variant.inventory_policy,
        "Variant Fulfillment Service": variant.fulfillment_service,
        "Variant Price": money(variant.price_minor),
        "Variant Compare At Price": money(variant.compare_at_minor),
        "Variant Requires Shipping": _bool_text(variant.requires_shipping),
        "Variant Taxable": _bool_text(variant.taxable),
        "Variant Barcode": variant.barcode,
        "Variant Image": variant.image_src,
        "Variant Weight Unit": variant.weight_unit,
        "Variant Tax Code": variant.tax_code,
        "Cost per item": money(variant.cost_minor),
    }
    for name, value in values.items():
        row[position[name]] = value
    for key, value in variant.metafields.items():
        row[meta_position[key]] = value
    for header, value in variant.extra.items():
        if not row[position[header]]:
            row[position[header]] = value
