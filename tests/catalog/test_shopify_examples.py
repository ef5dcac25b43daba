"""The parser on the real Shopify exports in ../shared/examples/shopify (see SOURCE.md there).

Every expected number here comes from an independent, deliberately simple reading of the file
with Python's csv module (:func:`scan`), not from the parser:

* products: distinct non-empty ``Handle`` values;
* variant rows: rows where ``Option1 Value``, ``Variant Price`` or ``Variant SKU`` is non-empty
  (SOURCE.md's definition; in these files every variant row has ``Option1 Value`` and
  ``Variant Price``);
* images: distinct non-empty ``Image Src`` values per handle;
* rows: data records after the header (none of these files has blank records, so the CSV
  record index of data record ``i`` (0-based) is ``i + 2``).

None of these files has a row error: SKUs may repeat in a shop (a warning,
:func:`expected_sku_duplicates` recomputes them) and fit the catalog's 255 characters (Life
Made Magic has comma-joined print-on-demand SKUs of up to 219). The test also pins the
resulting numbers, so that a change in either reading shows up.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from shopreel.catalog.shopify import ImportParse, export_shopify_csv, parse_shopify_csv
from shopreel.catalog.taxonomy import default_taxonomy

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "examples" / "shopify"

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"shared Shopify examples not found at {EXAMPLES}"
)


@dataclass(frozen=True)
class Expected:
    currency: str
    products: int
    variant_rows: int
    images: int
    rows: int
    sku_duplicates: int
    products_without_variants: int
    compare_at_not_above_price: int
    distinct_categories: int
    distinct_matching: int
    products_mapped: int
    products_mapped_by_google_column: int
    warnings_other: tuple[tuple[str, int], ...] = ()


# Numbers as SOURCE.md states them (products, variant rows, data rows) and as read from the
# files. The Las Lira prices are whole Chilean pesos, so it is read in CLP.
FILES = {
    "shopify_official_product_template.csv": Expected(
        currency="USD",
        products=3,
        variant_rows=16,
        images=11,
        rows=17,
        sku_duplicates=0,
        products_without_variants=0,
        compare_at_not_above_price=3,  # the jeans: 64.95 < 95
        distinct_categories=3,
        distinct_matching=0,  # Shopify taxonomy paths, none of them a Google path
        products_mapped=3,  # all three through the numeric Google ids 212, 204, 173
        products_mapped_by_google_column=3,
        warnings_other=(("unmodeled_column", 6),),  # the 6 Markets columns
    ),
    "reptilinks_2018_products_export.csv": Expected(
        currency="USD",
        products=72,
        variant_rows=334,
        images=98,
        rows=339,
        sku_duplicates=1,  # PSSP on rows 106 and 228
        products_without_variants=0,
        compare_at_not_above_price=24,  # plus 68 "0.00" = no compare-at price, silently
        distinct_categories=0,
        distinct_matching=0,
        products_mapped=0,
        products_mapped_by_google_column=0,
    ),
    "lifemademagic_2021_products_export_1.csv": Expected(
        currency="USD",
        products=338,
        variant_rows=3675,
        images=1455,
        rows=4088,
        sku_duplicates=449,  # 143 of them after a too-long SKU when the limit was 100
        products_without_variants=0,
        compare_at_not_above_price=0,
        distinct_categories=0,
        distinct_matching=0,
        products_mapped=0,
        products_mapped_by_google_column=0,
    ),
    "laslira_2025_products_export_1.csv": Expected(
        currency="CLP",
        products=143,
        variant_rows=226,
        images=387,
        rows=407,
        sku_duplicates=16,
        products_without_variants=0,
        compare_at_not_above_price=1,
        distinct_categories=8,
        distinct_matching=6,  # all but "Uncategorized" and "... > Wreaths & Garlands > Wreaths"
        products_mapped=82,
        products_mapped_by_google_column=0,  # its Google ids (602, 984) agree with the paths
    ),
}


@dataclass
class Scan:
    rows: list[dict[str, str]]
    lines: list[int]  # physical line where each data record starts
    products: set[str]
    variant_rows: list[int]  # record indexes (header = 1)
    images: set[tuple[str, str]]


def is_variant_row(row: dict[str, str]) -> bool:
    return any(
        row.get(name, "").strip() for name in ("Option1 Value", "Variant Price", "Variant SKU")
    )


def scan(data: bytes) -> Scan:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    previous_end = reader.line_num
    for cells in reader:
        lines.append(previous_end + 1)
        previous_end = reader.line_num
        assert len(cells) == len(header)
        rows.append(dict(zip(header, cells, strict=True)))
    return Scan(
        rows=rows,
        lines=lines,
        products={row["Handle"] for row in rows if row["Handle"]},
        variant_rows=[i + 2 for i, row in enumerate(rows) if is_variant_row(row)],
        images={(row["Handle"], row["Image Src"]) for row in rows if row["Image Src"]},
    )


def expected_sku_duplicates(found: Scan) -> list[int]:
    """Record indexes of the variant rows whose SKU an earlier variant row already used."""
    seen: set[str] = set()
    duplicates: list[int] = []
    for index, row in enumerate(found.rows, start=2):
        sku = row["Variant SKU"].strip()
        if not is_variant_row(row) or not sku:
            continue
        if sku in seen:
            duplicates.append(index)
        seen.add(sku)
    return duplicates


def expected_compare_at_warnings(found: Scan) -> int:
    count = 0
    for row in found.rows:
        compare_at = row["Variant Compare At Price"].strip()
        if not compare_at or Decimal(compare_at) == 0:
            continue
        if Decimal(compare_at) <= Decimal(row["Variant Price"]):
            count += 1
    return count


@pytest.fixture(scope="module", params=sorted(FILES))
def example(request: pytest.FixtureRequest) -> tuple[str, bytes, ImportParse]:
    name: str = request.param
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    data = path.read_bytes()
    return name, data, parse_shopify_csv(data, currency=FILES[name].currency)


def test_counts_match_an_independent_reading(example: tuple[str, bytes, ImportParse]) -> None:
    name, data, result = example
    expected = FILES[name]
    found = scan(data)
    assert len(found.products) == expected.products
    assert len(found.variant_rows) == expected.variant_rows
    assert len(found.images) == expected.images
    assert len(found.rows) == expected.rows

    assert result.counts.products == len(found.products)
    assert result.counts.variants == len(found.variant_rows)
    assert result.counts.images == len(found.images)
    assert result.counts.rows == len(found.rows)

    # every handle is a product
    assert [p.handle for p in result.products] == list(
        dict.fromkeys(r["Handle"] for r in found.rows)
    )
    assert result.variant_count == len(found.variant_rows)  # no variant is rejected
    assert result.image_count == len(found.images)  # every image URL is a valid https URL
    kept_rows = [v.row for p in result.products for v in p.variants]
    assert sorted(kept_rows) == found.variant_rows


def test_no_errors_and_duplicate_skus_are_warnings(
    example: tuple[str, bytes, ImportParse],
) -> None:
    name, data, result = example
    expected = FILES[name]
    found = scan(data)
    assert result.errors == []
    duplicates = expected_sku_duplicates(found)
    assert len(duplicates) == expected.sku_duplicates
    warnings = [w for w in result.warnings if w.code == "duplicate_sku"]
    assert [w.row for w in warnings] == duplicates
    for warning in warnings:
        assert warning.column == "Variant SKU"
        assert warning.row is not None and warning.line is not None
        assert warning.line == found.lines[warning.row - 2]
        assert warning.handle == found.rows[warning.row - 2]["Handle"]
    assert not result.fatal


def test_warnings(example: tuple[str, bytes, ImportParse]) -> None:
    name, data, result = example
    expected = FILES[name]
    found = scan(data)
    assert expected_compare_at_warnings(found) == expected.compare_at_not_above_price
    by_code = Counter(w.code for w in result.warnings)
    wanted = Counter(dict(expected.warnings_other))
    wanted["compare_at_not_above_price"] = expected.compare_at_not_above_price
    wanted["no_variants"] = expected.products_without_variants
    wanted["duplicate_sku"] = expected.sku_duplicates
    assert by_code == +wanted
    assert sum(1 for p in result.products if not p.variants) == expected.products_without_variants


def test_category_mapping(example: tuple[str, bytes, ImportParse]) -> None:
    name, data, result = example
    expected = FILES[name]
    found = scan(data)
    taxonomy = default_taxonomy()
    categories = {r.get("Product Category", "") for r in found.rows if r["Title"]} - {""}
    assert len(categories) == expected.distinct_categories
    assert sum(1 for c in categories if taxonomy.by_path(c)) == expected.distinct_matching
    stats = result.categories
    assert (stats.distinct, stats.distinct_matching) == (
        expected.distinct_categories,
        expected.distinct_matching,
    )
    assert stats.products_mapped == expected.products_mapped
    assert stats.products_mapped_by_google_column == expected.products_mapped_by_google_column
    for product in result.products:
        if product.category_id is not None:
            assert product.category_id in taxonomy


def test_round_trip(example: tuple[str, bytes, ImportParse]) -> None:
    name, _, result = example
    exported = export_shopify_csv(result.products)
    again = parse_shopify_csv(exported, currency=FILES[name].currency)
    assert again.errors == []
    assert again.products == result.products
    assert export_shopify_csv(again.products) == exported


def test_template_details() -> None:
    data = (EXAMPLES / "shopify_official_product_template.csv").read_bytes()
    result = parse_shopify_csv(data)
    shirt, pants, hat = result.products
    assert [p.status for p in result.products] == ["active", "draft", "archived"]
    assert shirt.option_names == ("Color", "Size")
    assert len(shirt.variants) == 12
    assert shirt.variant_options(shirt.variants[4]) == {"Color": "Blue", "Size": "M"}
    assert (
        shirt.variants[6].image_src
        == "https://burst.shopifycdn.com/photos/grey-t-shirt.jpg?width=1500"
    )
    assert shirt.tags == ["Made to Order", "Shirt Tag"]
    assert shirt.original_category == "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"
    assert (shirt.category_id, shirt.category_source) == (212, "google_product_category")
    assert shirt.google == {"gender": "male", "age_group": "adult", "mpn": "365275101829"} | {
        "condition": "new",
        "custom_product": "TRUE",
    }
    assert len(pants.images) == 4
    assert pants.images[3].position == 4
    assert [v.grams for v in pants.variants] == [227, 283, 397]
    assert pants.variants[0].weight_unit == "oz"
    assert pants.variants[0].compare_at_minor is None  # 64.95 is below the price of 95
    assert pants.variants[0].inventory_qty == 20
    assert pants.variants[0].cost_minor == 5000
    assert hat.options == [] and len(hat.variants) == 1
    assert hat.variants[0].price_minor == 1799
    assert hat.variants[0].compare_at_minor == 2299
    assert hat.variants[0].barcode == "122327648356"
    assert shirt.extra == {"Included / United States": "TRUE", "Included / International": "TRUE"}


def test_reptilinks_details() -> None:
    data = (EXAMPLES / "reptilinks_2018_products_export.csv").read_bytes()
    result = parse_shopify_csv(data)
    found = scan(data)
    # no Status column: Published decides
    published = Counter(r["Published"] for r in found.rows if r["Title"])
    assert Counter(p.status for p in result.products) == Counter(
        {"active": published["true"], "draft": published["false"]}
    )
    assert sum(1 for p in result.products if p.gift_card) == 2
    # multi-line bodies are kept byte for byte
    bodies = {r["Handle"]: r["Body (HTML)"] for r in found.rows if r["Title"]}
    multiline = [p for p in result.products if "\n" in p.body_html]
    assert len(multiline) == 27
    assert all(p.body_html == bodies[p.handle] for p in result.products)
    # option values with commas and "<", apostrophe-prefixed SKUs kept as written
    values = {v for p in result.products for variant in p.variants for v in variant.option_values}
    assert any("," in v and "<" in v for v in values)
    assert sum(1 for p in result.products for v in p.variants if v.sku.startswith("'")) == 94
    assert max(len(p.variants) for p in result.products) == 42


def test_laslira_details() -> None:
    data = (EXAMPLES / "laslira_2025_products_export_1.csv").read_bytes()
    result = parse_shopify_csv(data, currency="CLP")
    by_handle = {p.handle: p for p in result.products}
    assert sum(1 for h in by_handle if "º" in h) == 3
    assert "canasto-360º-serena" in by_handle
    assert Counter(p.status for p in result.products) == Counter({"active": 95, "draft": 48})
    found = scan(data)
    kept = [r for r in found.rows if is_variant_row(r)]
    # whole pesos: minor units of CLP are pesos
    prices = [v.price_minor for p in result.products for v in p.variants]
    assert prices == [int(r["Variant Price"]) for r in kept]
    assert max(prices) == 320000
    metafields = Counter(key for p in result.products for key in p.metafields)
    assert metafields["product.metafields.shopify.vase-shape"] == 8
    assert metafields["product.metafields.shopify.decoration-material"] == 8
    linked = [o for p in result.products for o in p.options if o.linked_to]
    assert [o.linked_to for o in linked] == ["product.metafields.shopify.color-pattern"]
    assert [(v.grams, v.weight_unit) for p in result.products for v in p.variants] == [
        (round(float(r["Variant Grams"])), r["Variant Weight Unit"]) for r in kept
    ]


def test_mutated_examples_never_crash_and_still_round_trip() -> None:
    """Seeded cell-level mutations of the real files (odd values, extra columns, shuffled rows):
    the parser reports instead of raising, and whatever it keeps survives the round trip."""
    tables = []
    for name in ("shopify_official_product_template.csv", "laslira_2025_products_export_1.csv"):
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        tables.append(list(csv.reader(io.StringIO(text, newline=""))))
    pool = ["", "x", "Title", "Default Title", "0", "-1", "1.5", "1,234.00", "TRUE", "no"]
    pool += ["javascript:1", "https://a.example/c.jpg", " spaced ", "a,b", '"q"', "line\nbreak"]
    pool += ["999999999999", "kg", "stone", "Active", "unlisted", "602", "0.00", "é", "S"]
    extra_columns = ["Option4 Name", "Option4 Value", "Variant Weight", "Supplier"]
    extra_columns += ["Color (product.metafields.a.b)", "Fit (variant.metafields.c.d)"]
    rng = random.Random(20251125)
    for _ in range(300):
        table = [row[:] for row in rng.choice(tables)]
        table = table[:1] + table[1:][: rng.randint(1, 40)]
        if rng.random() < 0.3:
            table[0].append(rng.choice(extra_columns))
            for row in table[1:]:
                row.append("")
        for _ in range(rng.randint(1, 25)):
            row = rng.choice(table[1:])
            row[rng.randrange(len(row))] = rng.choice(pool)
        if rng.random() < 0.2:
            body = table[1:]
            rng.shuffle(body)
            table = table[:1] + body
        buffer = io.StringIO()
        csv.writer(buffer).writerows(table)
        result = parse_shopify_csv(buffer.getvalue().encode())
        assert not result.fatal
        again = parse_shopify_csv(export_shopify_csv(result.products))
        assert again.errors == []
        assert again.products == result.products
