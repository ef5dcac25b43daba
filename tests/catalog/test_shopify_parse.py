"""Unit tests of the Shopify product CSV parser (tiny inline CSVs) and of money parsing."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import pytest

from shopreel.catalog.money import (
    MoneyError,
    currency_exponent,
    format_minor_units,
    parse_minor_units,
)
from shopreel.catalog.shopify import (
    FIELD_LIMITS,
    ImportParse,
    IssueCode,
    RowError,
    ShopifyOption,
    export_shopify_csv,
    parse_shopify_csv,
)
from shopreel.catalog.taxonomy import Taxonomy

HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "Google Shopping / Google Product Category",
    "Variant Image",
    "Variant Weight Unit",
    "Cost per item",
    "Status",
]


def make_csv(
    rows: list[dict[str, str]],
    header: list[str] | None = None,
    newline: str = "\r\n",
    delimiter: str = ",",
) -> str:
    header = header or HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        unknown = set(row) - set(header)
        assert not unknown, unknown
        writer.writerow([row.get(name, "") for name in header])
    return buffer.getvalue()


def parse(
    rows: list[dict[str, str]], header: list[str] | None = None, **kwargs: Any
) -> ImportParse:
    return parse_shopify_csv(make_csv(rows, header).encode(), **kwargs)


def product_row(handle: str = "tee", **fields: str) -> dict[str, str]:
    """A product's first row; keyword names are headers with "_" for " " (Body_HTML for
    "Body (HTML)")."""
    row = {"Handle": handle, "Title": "Tee", "Variant Price": "10.00", "Status": "active"}
    for key, value in fields.items():
        row["Body (HTML)" if key == "Body_HTML" else key.replace("_", " ")] = value
    return row


def codes(issues: list[RowError]) -> list[str]:
    return [issue.code for issue in issues]


def only_error(result: ImportParse) -> RowError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# -- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("19.99", "USD", 1999),
        ("19.9", "USD", 1990),
        ("19", "USD", 1900),
        ("0", "USD", 0),
        ("0.00", "USD", 0),
        (" 7.50 ", "USD", 750),
        ("1234.00", "USD", 123400),
        ("1,234.00", "USD", 123400),
        ("1,234,567.5", "USD", 123456750),
        ("19.990", "USD", 1999),  # extra zero decimals lose nothing
        ("32000", "CLP", 32000),
        ("32000.00", "CLP", 32000),
        ("32,000", "CLP", 32000),  # no minor units: a comma can only group thousands
        ("1.234", "KWD", 1234),
        ("007.10", "USD", 710),
    ],
)
def test_parse_minor_units_accepts(text: str, currency: str, expected: int) -> None:
    assert parse_minor_units(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("", "USD"),
        ("   ", "USD"),
        ("1,234.5x", "USD"),
        ("-1", "USD"),
        ("+1", "USD"),
        ("-0.01", "USD"),
        ("19.999", "USD"),
        ("1.5", "JPY"),
        ("1,234", "USD"),  # 1.234 in a decimal-comma locale: ambiguous
        ("1,5", "USD"),
        ("1.234,56", "USD"),
        ("12,34.00", "USD"),
        ("$19.99", "USD"),
        ("19.99 USD", "USD"),
        ("1e3", "USD"),
        (".5", "USD"),
        ("5.", "USD"),
        ("1 000", "USD"),
        ("١٢", "USD"),  # non-ASCII digits
        ("nan", "USD"),
        ("9" * 50, "USD"),
    ],
)
def test_parse_minor_units_rejects(text: str, currency: str) -> None:
    with pytest.raises(MoneyError) as info:
        parse_minor_units(text, currency)
    assert info.value.reason


def test_parse_minor_units_limit_and_currency_code() -> None:
    assert parse_minor_units("21474836.47", "USD", max_minor=2**31 - 1) == 2**31 - 1
    with pytest.raises(MoneyError, match="too large"):
        parse_minor_units("21474836.48", "USD", max_minor=2**31 - 1)
    with pytest.raises(ValueError, match="ISO 4217"):
        parse_minor_units("1", "usd")
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("BHD") == 3


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(1999, "USD", "19.99"), (5, "USD", "0.05"), (0, "EUR", "0.00"), (32000, "CLP", "32000")],
)
def test_format_minor_units(amount: int, currency: str, text: str) -> None:
    assert format_minor_units(amount, currency) == text
    assert parse_minor_units(text, currency) == amount


def test_format_minor_units_round_trips() -> None:
    rng = random.Random(7)
    for currency in ("USD", "JPY", "KWD"):
        for _ in range(200):
            amount = rng.randrange(0, 10**9)
            assert parse_minor_units(format_minor_units(amount, currency), currency) == amount
    with pytest.raises(ValueError):
        format_minor_units(-1, "USD")


# -- a basic file -----------------------------------------------------------------------------


def test_minimal_product_with_variants_and_images() -> None:
    result = parse(
        [
            product_row(
                Body_HTML="<p>Soft</p>",
                Vendor="Acme",
                Tags="cotton, Summer ,cotton, ,summer",
                Option1_Name="Size",
                Option1_Value="S",
                Variant_SKU="TEE-S",
                Variant_Grams="145",
                Variant_Inventory_Qty="-2",
                Variant_Requires_Shipping="TRUE",
                Variant_Taxable="false",
                Variant_Barcode="0123456789012",
                Image_Src="https://cdn.example.com/a.jpg",
                Image_Position="2",
                Image_Alt_Text="Front",
                Cost_per_item="4.50",
            ),
            {
                "Handle": "tee",
                "Option1 Value": "M",
                "Variant SKU": "TEE-M",
                "Variant Price": "12.5",
                "Variant Compare At Price": "15",
                "Image Src": "https://cdn.example.com/b.jpg",
                "Image Position": "1",
            },
            {"Handle": "tee", "Image Src": "http://cdn.example.com/c.jpg"},
        ]
    )
    assert result.errors == []
    assert result.warnings == []
    assert result.counts.products == 1
    assert result.counts.variants == 2
    assert result.counts.images == 3
    assert result.counts.rows == 3
    (product,) = result.products
    assert product.handle == "tee"
    assert product.title == "Tee"
    assert product.body_html == "<p>Soft</p>"
    assert product.vendor == "Acme"
    assert product.tags == ["cotton", "Summer"]
    assert product.status == "active"
    assert product.option_names == ("Size",)
    small, medium = product.variants
    assert product.variant_options(small) == {"Size": "S"}
    assert small.option_values == ("S",)
    assert small.sku == "TEE-S"
    assert small.price_minor == 1000
    assert small.currency == "USD"
    assert small.compare_at_minor is None
    assert small.cost_minor == 450
    assert small.grams == 145
    assert small.inventory_qty == -2
    assert small.requires_shipping is True
    assert small.taxable is False
    assert small.barcode == "0123456789012"
    assert (small.row, small.line) == (2, 2)
    assert medium.price_minor == 1250
    assert medium.compare_at_minor == 1500
    # images are ordered by Image Position, unpositioned ones last
    assert [image.src.rsplit("/", 1)[1] for image in product.images] == ["b.jpg", "a.jpg", "c.jpg"]
    assert [image.position for image in product.images] == [1, 2, None]
    assert product.images[1].alt == "Front"


def test_currency_changes_minor_units() -> None:
    result = parse([product_row(Variant_Price="32000")], currency="CLP")
    assert result.products[0].variants[0].price_minor == 32000
    assert result.products[0].variants[0].currency == "CLP"
    with pytest.raises(ValueError):
        parse([product_row()], currency="dollars")


def test_header_matching_is_case_and_space_insensitive() -> None:
    header = ["  HANDLE ", "title", "variant   price", "OPTION1 NAME", "option1 value", "STATUS"]
    text = make_csv([], header) + "tee,Tee,5.00,Size,S,Draft\r\n"
    result = parse_shopify_csv(text.encode())
    assert result.errors == []
    (product,) = result.products
    assert product.status == "draft"
    assert product.variants[0].price_minor == 500
    assert product.option_names == ("Size",)


def test_older_type_and_category_headers() -> None:
    header = ["Handle", "Title", "Standard Product Type", "Custom Product Type", "Variant Price"]
    text = make_csv(
        [
            {
                "Handle": "tee",
                "Title": "Tee",
                "Standard Product Type": "Apparel & Accessories > Clothing",
                "Custom Product Type": "Shirts",
                "Variant Price": "1",
            }
        ],
        header,
    )
    (product,) = parse_shopify_csv(text.encode()).products
    assert product.product_type == "Shirts"
    assert product.original_category == "Apparel & Accessories > Clothing"
    assert product.category_id == 1604
    assert product.category_source == "product_category"


# -- decoding ---------------------------------------------------------------------------------


def test_utf8_bom_and_non_ascii_handle() -> None:
    text = make_csv([product_row("café-crème", Title="Café crème ☕")])
    result = parse_shopify_csv(b"\xef\xbb\xbf" + text.encode())
    assert result.errors == []
    assert result.products[0].handle == "café-crème"
    assert result.products[0].title == "Café crème ☕"
    assert result.columns[0] == "Handle"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_with_bom_is_accepted(encoding: str) -> None:
    text = make_csv([product_row("café", Option1_Name="Size", Option1_Value="Ü")])
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    result = parse_shopify_csv(data)
    assert result.errors == []
    assert result.products[0].handle == "café"
    assert result.products[0].variants[0].option_values == ("Ü",)


def test_excel_unicode_text_is_tab_separated_utf16() -> None:
    text = make_csv([product_row(Vendor="A, B")], delimiter="\t")
    result = parse_shopify_csv(text.encode("utf-16"))
    assert result.errors == []
    assert result.products[0].vendor == "A, B"


def test_semicolon_separated_file() -> None:
    text = make_csv([product_row(Variant_Price="10.00")], delimiter=";")
    result = parse_shopify_csv(text.encode())
    assert result.errors == []
    assert result.products[0].variants[0].price_minor == 1000


def test_invalid_utf8_is_rejected_with_byte_offset() -> None:
    good = make_csv([product_row()]).encode()
    data = good + b"caf\xe9,Latin-1 title,,\r\n"
    result = parse_shopify_csv(data)
    error = only_error(result)
    assert error.code == "wrong_encoding"
    assert result.fatal
    assert result.products == []
    offset = len(good) + 3
    assert f"offset {offset}" in error.reason
    assert error.line == 3
    assert "(line 3" in error.reason


def test_invalid_utf8_offset_counts_the_bom() -> None:
    data = b"\xef\xbb\xbfHandle,Title\r\nab\xff,T\r\n"
    error = only_error(parse_shopify_csv(data))
    assert error.code == "wrong_encoding"
    assert "offset 19" in error.reason  # 3 (BOM) + 14 (header line) + 2


def test_utf16_without_bom_is_not_guessed() -> None:
    data = make_csv([product_row()]).encode("utf-16-le")
    error = only_error(parse_shopify_csv(data))
    assert error.code == "wrong_encoding"
    assert "NUL" in error.reason


def test_odd_utf16_is_rejected() -> None:
    data = make_csv([product_row()]).encode("utf-16") + b"\x00"
    assert only_error(parse_shopify_csv(data)).code == "wrong_encoding"


def test_file_too_large() -> None:
    data = make_csv([product_row()]).encode()
    result = parse_shopify_csv(data, max_bytes=len(data) - 1)
    error = only_error(result)
    assert error.code == "file_too_large"
    assert result.fatal
    assert parse_shopify_csv(data, max_bytes=len(data)).errors == []


def test_too_many_rows() -> None:
    rows = [product_row(f"p{n}") for n in range(5)]
    assert parse(rows, max_rows=5).errors == []
    result = parse(rows, max_rows=4)
    error = only_error(result)
    assert (error.code, error.row) == ("file_too_large", 6)
    assert result.products == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
        (b"%PDF-1.7\n", "PDF"),
        (b"name,price\nTee,10\n", "Handle"),
        (b"Handle,Price\ntee,10\n", "Title"),
        (b"\nHandle,Title\ntee,Tee\n", "header"),
        (b"Handle,Title,Handle\ntee,Tee,tee\n", "twice"),
        (b"Handle,Title,A (product.metafields.x.y),B (product.metafields.x.y)\n", "two columns"),
        (b"<html><body>not a csv</body></html>", "Handle"),
    ],
)
def test_malformed_csv(data: bytes, reason: str) -> None:
    result = parse_shopify_csv(data)
    error = only_error(result)
    assert error.code == "malformed_csv"
    assert reason in error.reason
    assert result.fatal


def test_unterminated_quote_is_malformed_with_its_line() -> None:
    text = 'Handle,Title,Variant Price\r\ntee,Tee,1\r\nmug,"Mug\r\nwith no end,2\r\n'
    error = only_error(parse_shopify_csv(text.encode()))
    assert error.code == "malformed_csv"
    assert error.line == 3
    assert "line 3" in error.reason


def test_stray_quote_after_closing_quote_is_malformed() -> None:
    text = 'Handle,Title,Variant Price\r\ntee,"Tee "x" shirt",1\r\n'
    error = only_error(parse_shopify_csv(text.encode()))
    assert (error.code, error.line) == ("malformed_csv", 2)


def test_header_only_file() -> None:
    result = parse([])
    assert result.errors == []
    assert result.products == []
    assert codes(result.warnings) == ["no_rows"]


# -- CSV structure ----------------------------------------------------------------------------


def test_multiline_html_body_with_script_is_kept_raw_and_rows_are_located() -> None:
    body = (
        '<p class="intro">Line one, with comma</p>\n'
        "<script>alert('x')</script>\r\n"
        '<a href="javascript:void(0)">"quoted"</a>\n'
    )
    rows = [
        product_row("a", Body_HTML=body),
        product_row("b", Variant_Price="oops"),
    ]
    text = make_csv(rows)
    result = parse_shopify_csv(text.encode())
    assert result.products[0].body_html == body
    error = only_error(result)
    # record 3 (header = 1) starts on physical line 6: the three line breaks of the body make
    # record 2 span lines 2-5
    assert (error.code, error.row, error.line, error.handle) == ("invalid_price", 3, 6, "b")
    assert error.column == "Variant Price"
    assert error.value == "oops"
    assert "row 3 (line 6), Variant Price: invalid_price" in str(error)
    # the reported line really is where the record starts
    assert text.splitlines()[error.line - 1].startswith("b,")


def test_crlf_lf_and_trailing_blank_lines_give_the_same_result() -> None:
    rows = [
        product_row("a", Option1_Name="Size", Option1_Value="S"),
        {"Handle": "a", "Option1 Value": "M", "Variant Price": "3"},
        product_row("b", Body_HTML="one\ntwo"),
    ]
    crlf = parse_shopify_csv(make_csv(rows).encode() + b"\r\n")
    lf = parse_shopify_csv(make_csv(rows, newline="\n").encode() + b"\n\n")
    bare = parse_shopify_csv(make_csv(rows, newline="\n").encode().rstrip(b"\n"))
    assert crlf.errors == lf.errors == bare.errors == []
    assert crlf.products == lf.products == bare.products
    assert crlf.counts == lf.counts == bare.counts
    assert len(crlf.products[0].variants) == 2


def test_blank_rows_count_as_records() -> None:
    text = (
        make_csv([product_row("a")])
        + "\r\n,,,\r\n"
        + make_csv([product_row("b", Variant_Price="x")]).split("\r\n", 1)[1]
    )
    error = only_error(parse_shopify_csv(text.encode()))
    assert (error.row, error.line) == (5, 5)


def test_short_rows_are_padded_and_long_rows_rejected() -> None:
    text = (
        "Handle,Title,Variant Price,Vendor\r\n"
        "a,A,1\r\n"  # Excel drops trailing empty cells
        "b,B,2,Acme,,\r\n"  # extra empty cells are harmless
        "c,C,3,Acme,surprise\r\n"
    )
    result = parse_shopify_csv(text.encode())
    assert [p.handle for p in result.products] == ["a", "b"]
    error = only_error(result)
    assert (error.code, error.row) == ("malformed_row", 4)


def test_embedded_quotes_and_commas() -> None:
    rows = [product_row(Title='The "Best", tee', Vendor="Smith, Jones & Co")]
    (product,) = parse(rows).products
    assert product.title == 'The "Best", tee'
    assert product.vendor == "Smith, Jones & Co"


# -- products, options, variants --------------------------------------------------------------


def test_default_title_variant_has_no_options() -> None:
    result = parse([product_row(Option1_Name="Title", Option1_Value="Default Title")])
    (product,) = result.products
    assert product.options == []
    assert product.variants[0].option_values == ()
    assert product.variant_options(product.variants[0]) == {}
    # without any option columns too
    (product,) = parse([product_row()]).products
    assert product.options == []
    assert len(product.variants) == 1


def test_a_real_title_option_is_kept() -> None:
    rows = [
        product_row(Option1_Name="Title", Option1_Value="Small"),
        {"Handle": "tee", "Option1 Value": "Large", "Variant Price": "1"},
    ]
    (product,) = parse(rows).products
    assert product.option_names == ("Title",)
    assert [v.option_values for v in product.variants] == [("Small",), ("Large",)]


def test_three_options() -> None:
    base = {"Option1 Name": "Color", "Option2 Name": "Size", "Option3 Name": "Fit"}
    rows = [
        product_row()
        | base
        | {"Option1 Value": "Red", "Option2 Value": "S", "Option3 Value": "Slim"},
        {
            "Handle": "tee",
            "Option1 Value": "Red",
            "Option2 Value": "S",
            "Option3 Value": "Loose",
            "Variant Price": "1",
        },
    ]
    result = parse(rows)
    assert result.errors == []
    (product,) = result.products
    assert product.option_names == ("Color", "Size", "Fit")
    assert product.variant_options(product.variants[1]) == {
        "Color": "Red",
        "Size": "S",
        "Fit": "Loose",
    }


def test_too_many_options_rejects_the_product() -> None:
    header = [*HEADER, "Option4 Name", "Option4 Value"]
    rows = [
        product_row()
        | {
            "Option1 Name": "A",
            "Option1 Value": "1",
            "Option2 Name": "B",
            "Option2 Value": "2",
            "Option3 Name": "C",
            "Option3 Value": "3",
            "Option4 Name": "D",
            "Option4 Value": "4",
        },
        {"Handle": "tee", "Option1 Value": "1", "Variant Price": "1"},
        product_row("ok"),
    ]
    result = parse(rows, header=header)
    assert [p.handle for p in result.products] == ["ok"]
    error = only_error(result)
    assert (error.code, error.row, error.column) == ("too_many_options", 2, "Option4 Name")
    assert "product skipped" in error.reason


def test_fourth_option_value_alone_rejects_the_variant() -> None:
    header = [*HEADER, "Option4 Value"]
    rows = [
        product_row(Option1_Name="A", Option1_Value="1"),
        {"Handle": "tee", "Option1 Value": "2", "Option4 Value": "x", "Variant Price": "1"},
    ]
    result = parse(rows, header=header)
    assert len(result.products[0].variants) == 1
    assert (only_error(result).code, only_error(result).row) == ("too_many_options", 3)


def test_option_value_missing() -> None:
    rows = [
        product_row(
            Option1_Name="Color", Option1_Value="Red", Option2_Name="Size", Option2_Value="S"
        ),
        {"Handle": "tee", "Option1 Value": "Blue", "Variant Price": "1"},
    ]
    result = parse(rows)
    error = only_error(result)
    assert (error.code, error.row, error.column) == ("option_value_missing", 3, "Option2 Value")
    assert len(result.products[0].variants) == 1


def test_option_value_without_name() -> None:
    rows = [product_row(Option1_Name="Color", Option1_Value="Red", Option2_Value="S")]
    result = parse(rows)
    assert only_error(result).code == "option_name_missing"
    assert codes(result.warnings) == ["no_variants"]
    assert result.products[0].variants == []


def test_option_name_gap_and_duplicate_names_reject_the_product() -> None:
    gap = parse([product_row(Option2_Name="Size", Option2_Value="S")])
    assert codes(gap.errors) == ["option_name_missing"]
    assert gap.products == []
    twice = parse(
        [
            product_row(
                Option1_Name="Size", Option1_Value="S", Option2_Name="size", Option2_Value="M"
            )
        ]
    )
    assert codes(twice.errors) == ["duplicate_option_name"]
    assert twice.products == []


def test_duplicate_variant_options() -> None:
    rows = [
        product_row(Option1_Name="Size", Option1_Value="S", Variant_SKU="A"),
        {"Handle": "tee", "Option1 Value": " s ", "Variant SKU": "B", "Variant Price": "2"},
        {"Handle": "tee", "Option1 Value": "M", "Variant SKU": "B", "Variant Price": "2"},
    ]
    result = parse(rows)
    error = only_error(result)
    assert (error.code, error.row) == ("duplicate_variant_options", 3)
    assert "row 2" in error.reason
    # the rejected row did not claim its SKU, so row 4 may use it
    assert [v.sku for v in result.products[0].variants] == ["A", "B"]


def test_two_default_variants_are_duplicates() -> None:
    rows = [product_row(), {"Handle": "tee", "Variant Price": "3"}]
    result = parse(rows)
    assert only_error(result).code == "duplicate_variant_options"
    assert len(result.products[0].variants) == 1


def test_duplicate_sku_within_the_file_is_a_warning() -> None:
    rows = [
        product_row("a", Variant_SKU="SKU-1"),
        product_row("b", Variant_SKU="SKU-1"),
        product_row("c", Variant_SKU="sku-1"),  # SKUs are case-sensitive
        product_row("d", Variant_SKU="SKU-1"),
    ]
    result = parse(rows)
    assert result.errors == []
    warnings = [w for w in result.warnings if w.code == "duplicate_sku"]
    assert [(w.row, w.column, w.value, w.handle) for w in warnings] == [
        (3, "Variant SKU", "SKU-1", "b"),
        (5, "Variant SKU", "SKU-1", "d"),
    ]
    # both name the first use of the SKU
    assert all("row 2" in w.reason and "'a'" in w.reason for w in warnings)
    # every variant is kept (SKUs are not unique in a shop)
    assert [[v.sku for v in p.variants] for p in result.products] == [
        ["SKU-1"],
        ["SKU-1"],
        ["sku-1"],
        ["SKU-1"],
    ]


def test_sku_limit_is_the_catalog_column() -> None:
    fits = "S" * FIELD_LIMITS["sku"]
    rows = [product_row("a", Variant_SKU=fits), product_row("b", Variant_SKU=fits + "X")]
    result = parse(rows)
    assert FIELD_LIMITS["sku"] == 255
    assert [v.sku for v in result.products[0].variants] == [fits]
    assert [(e.code, e.handle) for e in result.errors] == [("field_too_long", "b")]


def test_empty_skus_are_not_duplicates() -> None:
    rows = [product_row("a"), product_row("b")]
    assert parse(rows).errors == []


def test_bad_variant_row_keeps_the_product_and_other_variants() -> None:
    rows = [
        product_row(Option1_Name="Size", Option1_Value="S"),
        {"Handle": "tee", "Option1 Value": "M", "Variant Price": "1.999"},
        {"Handle": "tee", "Option1 Value": "L", "Variant Price": "3"},
    ]
    result = parse(rows)
    assert (only_error(result).code, only_error(result).row) == ("invalid_price", 3)
    assert [v.option_values for v in result.products[0].variants] == [("S",), ("L",)]


@pytest.mark.parametrize(
    ("fields", "code", "column"),
    [
        ({"Variant Price": "12,50"}, "invalid_price", "Variant Price"),
        ({"Variant Price": "-1"}, "invalid_price", "Variant Price"),
        ({"Variant Price": ""}, "invalid_price", "Variant Price"),
        ({"Variant Price": "99999999999"}, "invalid_price", "Variant Price"),
        (
            {"Variant Compare At Price": "abc"},
            "invalid_compare_at_price",
            "Variant Compare At Price",
        ),
        (
            {"Variant Compare At Price": "-5"},
            "invalid_compare_at_price",
            "Variant Compare At Price",
        ),
        ({"Cost per item": "1.2.3"}, "invalid_cost", "Cost per item"),
        ({"Variant Grams": "-3"}, "invalid_weight", "Variant Grams"),
        ({"Variant Grams": "heavy"}, "invalid_weight", "Variant Grams"),
        ({"Variant Grams": "1e9"}, "invalid_weight", "Variant Grams"),
        ({"Variant Inventory Qty": "lots"}, "invalid_inventory_qty", "Variant Inventory Qty"),
        ({"Variant Inventory Qty": "1.5"}, "invalid_inventory_qty", "Variant Inventory Qty"),
        ({"Variant SKU": "S" * 256}, "field_too_long", "Variant SKU"),
        ({"Variant Barcode": "1" * 33}, "field_too_long", "Variant Barcode"),
    ],
)
def test_variant_errors(fields: dict[str, str], code: str, column: str) -> None:
    rows = [
        product_row(Option1_Name="Size", Option1_Value="S"),
        {"Handle": "tee", "Option1 Value": "M", "Variant Price": "1"} | fields,
    ]
    result = parse(rows)
    error = only_error(result)
    assert (error.code, error.row, error.line, error.column, error.handle) == (
        code,
        3,
        3,
        column,
        "tee",
    )
    assert error.reason
    assert len(result.products[0].variants) == 1


def test_compare_at_price_rules() -> None:
    rows = [
        product_row(Option1_Name="Size", Option1_Value="A", Variant_Compare_At_Price="0.00"),
        {
            "Handle": "tee",
            "Option1 Value": "B",
            "Variant Price": "5",
            "Variant Compare At Price": "5",
        },
        {
            "Handle": "tee",
            "Option1 Value": "C",
            "Variant Price": "5",
            "Variant Compare At Price": "4",
        },
        {
            "Handle": "tee",
            "Option1 Value": "D",
            "Variant Price": "5",
            "Variant Compare At Price": "6",
        },
    ]
    result = parse(rows)
    assert result.errors == []
    assert [v.compare_at_minor for v in result.products[0].variants] == [None, None, None, 600]
    assert [(w.code, w.row) for w in result.warnings] == [
        ("compare_at_not_above_price", 3),
        ("compare_at_not_above_price", 4),
    ]


def test_weights() -> None:
    header = [*HEADER, "Variant Weight"]
    rows = [
        product_row(Option1_Name="W", Option1_Value="a", Variant_Grams="226.796185")
        | {"Variant Weight Unit": "oz"},
        {"Handle": "tee", "Option1 Value": "b", "Variant Price": "1", "Variant Grams": "0.0"},
        {"Handle": "tee", "Option1 Value": "c", "Variant Price": "1", "Variant Weight": "1.5"}
        | {"Variant Weight Unit": "KG"},
        {"Handle": "tee", "Option1 Value": "d", "Variant Price": "1", "Variant Weight": "2"}
        | {"Variant Weight Unit": "lb"},
        {"Handle": "tee", "Option1 Value": "e", "Variant Price": "1", "Variant Weight": "8"}
        | {"Variant Weight Unit": "oz"},
        {"Handle": "tee", "Option1 Value": "f", "Variant Price": "1", "Variant Weight": "250"}
        | {"Variant Weight Unit": "g"},
        {"Handle": "tee", "Option1 Value": "g", "Variant Price": "1", "Variant Grams": "0.5"},
        # Variant Grams wins over Variant Weight; the unit is only the display unit
        {"Handle": "tee", "Option1 Value": "h", "Variant Price": "1", "Variant Grams": "100"}
        | {"Variant Weight": "9", "Variant Weight Unit": "kg"},
        {"Handle": "tee", "Option1 Value": "i", "Variant Price": "1"},
    ]
    result = parse(rows, header=header)
    assert result.errors == []
    variants = result.products[0].variants
    assert [v.grams for v in variants] == [227, 0, 1500, 907, 227, 250, 1, 100, None]
    assert [v.weight_unit for v in variants] == ["oz", "", "kg", "lb", "oz", "g", "", "kg", ""]


def test_weight_unit_problems() -> None:
    header = [*HEADER, "Variant Weight"]
    rows = [
        product_row(Option1_Name="W", Option1_Value="a", Variant_Grams="5")
        | {"Variant Weight Unit": "stone"},
        {"Handle": "tee", "Option1 Value": "b", "Variant Price": "1", "Variant Weight": "2"},
        {"Handle": "tee", "Option1 Value": "c", "Variant Price": "1", "Variant Weight": "2"}
        | {"Variant Weight Unit": "stone"},
    ]
    result = parse(rows, header=header)
    assert [(e.code, e.row) for e in result.errors] == [
        ("invalid_weight", 3),
        ("invalid_weight", 4),
    ]
    assert [(w.code, w.row) for w in result.warnings] == [("invalid_weight_unit", 2)]
    (variant,) = result.products[0].variants
    assert (variant.grams, variant.weight_unit) == (5, "")


def test_booleans() -> None:
    rows = [
        product_row(Variant_Requires_Shipping="yes", Variant_Taxable="maybe", Gift_Card="FALSE"),
    ]
    result = parse(rows)
    assert result.errors == []
    assert [(w.code, w.column) for w in result.warnings] == [("invalid_boolean", "Variant Taxable")]
    product = result.products[0]
    assert product.gift_card is False
    assert product.variants[0].requires_shipping is True
    assert product.variants[0].taxable is None


# -- product-level rules ----------------------------------------------------------------------


def test_missing_title_skips_the_product_only() -> None:
    rows = [
        product_row("a", Title=""),
        {"Handle": "a", "Variant Price": "1", "Title": "Late title"},
        product_row("b"),
    ]
    result = parse(rows)
    error = only_error(result)
    assert (error.code, error.row, error.column) == ("missing_title", 2, "Title")
    assert [p.handle for p in result.products] == ["b"]
    assert result.counts.products == 2


def test_missing_handle() -> None:
    result = parse([product_row(""), product_row("b")])
    error = only_error(result)
    assert (error.code, error.row) == ("missing_handle", 2)
    assert [p.handle for p in result.products] == ["b"]


@pytest.mark.parametrize("handle", ["has space", "a/b", "what?", "x#y", "tab\there"])
def test_invalid_handle(handle: str) -> None:
    result = parse([product_row(handle)])
    assert only_error(result).code == "invalid_handle"
    assert result.products == []


@pytest.mark.parametrize(
    ("fields", "column"),
    [
        ({"Title": "T" * 256}, "Title"),
        ({"Handle": "h" * 256}, "Handle"),
        ({"Vendor": "V" * 256}, "Vendor"),
        ({"Tags": "ok, " + "t" * 256}, "Tags"),
        ({"Option1 Name": "N" * 256, "Option1 Value": "v"}, "Option1 Name"),
        ({"Body (HTML)": "<p>" + "x" * FIELD_LIMITS["body_html"] + "</p>"}, "Body (HTML)"),
    ],
)
def test_field_too_long_on_product_fields(fields: dict[str, str], column: str) -> None:
    result = parse([product_row() | fields, product_row("other")])
    error = only_error(result)
    assert (error.code, error.column) == ("field_too_long", column)
    assert "at most" in error.reason
    assert [p.handle for p in result.products] == ["other"]


def test_field_too_long_on_option_value_rejects_the_variant() -> None:
    rows = [
        product_row(Option1_Name="Size", Option1_Value="S"),
        {"Handle": "tee", "Option1 Value": "x" * 256, "Variant Price": "1"},
    ]
    result = parse(rows)
    assert (only_error(result).code, only_error(result).column) == (
        "field_too_long",
        "Option1 Value",
    )
    assert len(result.products[0].variants) == 1


@pytest.mark.parametrize(
    ("status", "published", "expected"),
    [
        ("active", "", "active"),
        ("Draft", "TRUE", "draft"),
        ("ARCHIVED", "true", "archived"),
        ("", "TRUE", "active"),
        ("", "true", "active"),
        ("", "FALSE", "draft"),
        ("", "", "draft"),
    ],
)
def test_status(status: str, published: str, expected: str) -> None:
    (product,) = parse([product_row(Status=status, Published=published)]).products
    assert product.status == expected


def test_older_exports_without_status_use_published() -> None:
    header = [h for h in HEADER if h != "Status"]
    rows = [
        {"Handle": "a", "Title": "A", "Published": "true", "Variant Price": "1"},
        {"Handle": "b", "Title": "B", "Published": "false", "Variant Price": "1"},
    ]
    result = parse(rows, header=header)
    assert [p.status for p in result.products] == ["active", "draft"]
    assert [p.published for p in result.products] == [True, False]


def test_unknown_status_is_draft_with_a_warning() -> None:
    result = parse([product_row(Status="unlisted", Published="TRUE")])
    assert result.products[0].status == "draft"
    assert codes(result.warnings) == ["invalid_status"]


def test_continuation_rows_do_not_override_product_fields() -> None:
    rows = [
        product_row(Vendor="Acme", Option1_Name="Size", Option1_Value="S"),
        {"Handle": "tee", "Title": "Tee", "Option1 Value": "M", "Variant Price": "1"},
        {"Handle": "tee", "Vendor": "Other", "Option1 Value": "L", "Variant Price": "1"},
    ]
    result = parse(rows)
    assert result.products[0].vendor == "Acme"
    assert [(w.code, w.row) for w in result.warnings] == [("ignored_values", 4)]
    assert "Vendor" in result.warnings[0].reason


def test_non_contiguous_handles_are_merged() -> None:
    rows = [
        product_row("a", Option1_Name="Size", Option1_Value="S"),
        product_row("b"),
        {"Handle": "a", "Option1 Value": "M", "Variant Price": "1"},
    ]
    result = parse(rows)
    assert [len(p.variants) for p in result.products] == [2, 1]
    assert [(w.code, w.row) for w in result.warnings] == [("non_contiguous_handle", 4)]


# -- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:image/png;base64,AAAA",
        "file:///etc/passwd",
        "ftp://example.com/a.jpg",
        "//cdn.example.com/a.jpg",
        "/images/a.jpg",
        "a.jpg",
        "https://",
        "https://exa mple.com/a.jpg",
        "java\tscript:alert(1)",
        "http://[::1/a.jpg",
    ],
)
def test_invalid_image_url(url: str) -> None:
    rows = [product_row(), {"Handle": "tee", "Image Src": url}]
    result = parse(rows)
    error = only_error(result)
    assert (error.code, error.row, error.column) == ("invalid_image_url", 3, "Image Src")
    assert result.products[0].images == []
    assert len(result.products[0].variants) == 1


def test_invalid_image_on_a_variant_row_keeps_the_variant() -> None:
    result = parse([product_row(Image_Src="javascript:x", Variant_Image="data:x")])
    assert codes(result.errors) == ["invalid_image_url", "invalid_image_url"]
    (product,) = result.products
    assert product.images == []
    assert product.variants[0].image_src == ""


def test_variant_image_and_image_limits() -> None:
    rows = [
        product_row(Variant_Image="https://cdn.example.com/v.jpg"),
        {"Handle": "tee", "Image Src": "https://cdn.example.com/" + "a" * 2048},
        {"Handle": "tee", "Image Src": "https://cdn.example.com/b.jpg", "Image Position": "0"},
        {
            "Handle": "tee",
            "Image Src": "https://cdn.example.com/c.jpg",
            "Image Alt Text": "a" * 513,
        },
    ]
    result = parse(rows)
    assert [(e.code, e.row) for e in result.errors] == [
        ("field_too_long", 3),
        ("invalid_image_position", 4),
        ("field_too_long", 5),
    ]
    assert result.products[0].variants[0].image_src == "https://cdn.example.com/v.jpg"
    assert result.products[0].images == []


def test_duplicate_images_are_listed_once() -> None:
    src = "https://cdn.example.com/a.jpg"
    rows = [product_row(Image_Src=src), {"Handle": "tee", "Image Src": src, "Image Position": "2"}]
    result = parse(rows)
    assert len(result.products[0].images) == 1
    assert result.counts.images == 1
    assert codes(result.warnings) == ["duplicate_image"]


def test_alt_text_without_image_and_stray_variant_fields_are_reported() -> None:
    rows = [product_row(), {"Handle": "tee", "Image Alt Text": "lost", "Variant Taxable": "true"}]
    result = parse(rows)
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["ignored_values", "ignored_values"]


# -- columns we keep without interpreting -----------------------------------------------------


def test_metafields_and_unknown_columns_are_kept() -> None:
    header = [
        *HEADER,
        "Color (product.metafields.shopify.color-pattern)",
        "Material de decoración (product.metafields.shopify.decoration-material)",
        "Size chart (variant.metafields.custom.size_chart)",
        "Included / United States",
        "Supplier note",
    ]
    rows = [
        product_row(Option1_Name="Size", Option1_Value="S")
        | {
            "Color (product.metafields.shopify.color-pattern)": "red; blue",
            "Material de decoración (product.metafields.shopify.decoration-material)": "vidrio",
            "Size chart (variant.metafields.custom.size_chart)": "chart-s",
            "Included / United States": "TRUE",
            "Supplier note": "first",
        },
        {
            "Handle": "tee",
            "Option1 Value": "M",
            "Variant Price": "1",
            "Size chart (variant.metafields.custom.size_chart)": "chart-m",
            "Supplier note": "second",
        },
    ]
    result = parse(rows, header=header)
    assert result.errors == []
    assert [(w.code, w.column) for w in result.warnings] == [
        ("unmodeled_column", "Included / United States"),
        ("unknown_column", "Supplier note"),
    ]
    (product,) = result.products
    assert product.metafields == {
        "product.metafields.shopify.color-pattern": "red; blue",
        "product.metafields.shopify.decoration-material": "vidrio",
    }
    assert product.metafield_labels["product.metafields.shopify.decoration-material"] == (
        "Material de decoración"
    )
    assert [v.metafields for v in product.variants] == [
        {"variant.metafields.custom.size_chart": "chart-s"},
        {"variant.metafields.custom.size_chart": "chart-m"},
    ]
    assert product.extra == {"Included / United States": "TRUE", "Supplier note": "first"}
    assert product.variants[1].extra == {"Supplier note": "second"}


def test_option_linked_to_is_kept() -> None:
    header = [*HEADER, "Option1 Linked To"]
    rows = [
        product_row(Option1_Name="Color", Option1_Value="Red")
        | {"Option1 Linked To": "product.metafields.shopify.color-pattern"}
    ]
    (product,) = parse(rows, header=header).products
    assert product.options == [ShopifyOption("Color", "product.metafields.shopify.color-pattern")]


# -- categories -------------------------------------------------------------------------------


SMALL_TAXONOMY = Taxonomy.parse(
    "166 - Apparel & Accessories\n"
    "1604 - Apparel & Accessories > Clothing\n"
    "212 - Apparel & Accessories > Clothing > Shirts & Tops\n"
)


CLOTHING = "Apparel & Accessories > Clothing"
SHIRTS = "Apparel & Accessories > Clothing > Shirts & Tops"
BY_PATH, BY_GOOGLE = "product_category", "google_product_category"


@pytest.mark.parametrize(
    ("category", "google", "expected_id", "source", "warning"),
    [
        (CLOTHING, "", 1604, BY_PATH, None),
        ("apparel & accessories>clothing", "", 1604, BY_PATH, None),
        (f"{CLOTHING} > Clothing Tops > T-Shirts", "212", 212, BY_GOOGLE, None),
        (f"{CLOTHING} > Clothing Tops", SHIRTS, 212, BY_GOOGLE, None),
        ("Uncategorized", "", None, None, None),
        ("Uncategorized", "999999", None, None, "unknown_google_category"),
        (CLOTHING, "212", 1604, BY_PATH, "category_conflict"),
        (CLOTHING, "1604", 1604, BY_PATH, None),
    ],
)
def test_category_mapping(
    category: str, google: str, expected_id: int | None, source: str | None, warning: str | None
) -> None:
    rows = [product_row(Product_Category=category) | {GOOGLE: google}]
    result = parse(rows, taxonomy=SMALL_TAXONOMY)
    (product,) = result.products
    assert product.original_category == category
    assert product.google_product_category == google
    assert (product.category_id, product.category_source) == (expected_id, source)
    assert codes(result.warnings) == ([warning] if warning else [])
    assert result.categories.products_mapped == (1 if expected_id else 0)


GOOGLE = "Google Shopping / Google Product Category"


def test_category_stats_count_distinct_paths() -> None:
    rows = [
        product_row("a", Product_Category="Apparel & Accessories > Clothing"),
        product_row("b", Product_Category="Apparel & Accessories > Clothing"),
        product_row("c", Product_Category="Shopify > Only") | {GOOGLE: "212"},
        product_row("d", Product_Category="Other"),
        product_row("e"),
    ]
    stats = parse(rows, taxonomy=SMALL_TAXONOMY).categories
    assert (stats.distinct, stats.distinct_matching) == (3, 1)
    assert (stats.products_mapped, stats.products_mapped_by_google_column) == (3, 1)


def test_issue_codes_are_stable_strings() -> None:
    assert IssueCode.INVALID_PRICE == "invalid_price"
    assert {code.value for code in IssueCode} >= {
        "file_too_large",
        "wrong_encoding",
        "malformed_csv",
        "invalid_price",
        "invalid_compare_at_price",
        "invalid_weight",
        "duplicate_sku",
        "missing_title",
        "too_many_options",
        "option_value_missing",
        "duplicate_variant_options",
        "invalid_image_url",
        "field_too_long",
    }


# -- volume -----------------------------------------------------------------------------------


def test_parses_two_thousand_generated_products() -> None:
    rows: list[dict[str, str]] = []
    for n in range(2000):
        handle = f"product-{n}"
        for size_index, size in enumerate(("S", "M", "L")):
            row = {
                "Handle": handle,
                "Option1 Value": size,
                "Variant SKU": f"{handle}-{size}",
                "Variant Price": f"{10 + n % 50}.{size_index}9",
                "Variant Grams": "120",
            }
            if size_index == 0:
                row |= {
                    "Title": f"Product {n}",
                    "Body (HTML)": f'<p>Product {n}\nline two, "quoted"</p>',
                    "Option1 Name": "Size",
                    "Image Src": f"https://cdn.example.com/{n}.jpg",
                    "Status": "active",
                }
            rows.append(row)
    result = parse(rows)
    assert result.errors == []
    assert result.counts == type(result.counts)(
        rows=6000, products=2000, variants=6000, images=2000
    )
    assert len(result.products) == 2000
    assert result.variant_count == 6000
    assert parse_shopify_csv(export_shopify_csv(result.products)).products == result.products
