"""export_shopify_csv: the current Shopify format, and parse(export(x)) == x."""

from __future__ import annotations

import csv
import io
import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from shopreel.catalog.shopify import (
    ShopifyImage,
    ShopifyOption,
    ShopifyProduct,
    ShopifyVariant,
    export_shopify_csv,
    parse_shopify_csv,
)

TEMPLATE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "examples"
    / "shopify"
    / "shopify_official_product_template.csv"
)

# Shopify's sample template header (2025), without its six Markets columns.
TEMPLATE_HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name",
    "Option3 Value", "Variant SKU", "Variant Grams", "Variant Inventory Tracker",
    "Variant Inventory Qty", "Variant Inventory Policy", "Variant Fulfillment Service",
    "Variant Price", "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable",
    "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card", "SEO Title",
    "SEO Description", "Google Shopping / Google Product Category", "Google Shopping / Gender",
    "Google Shopping / Age Group", "Google Shopping / MPN", "Google Shopping / Condition",
    "Google Shopping / Custom Product", "Variant Image", "Variant Weight Unit", "Variant Tax Code",
    "Cost per item", "Status",
]  # fmt: skip


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def tee() -> ShopifyProduct:
    return ShopifyProduct(
        handle="tee",
        title='Tee "classic", cotton',
        body_html="<p>Line one</p>\n<p>Line two, with a comma</p>",
        vendor="Acme",
        original_category="Apparel & Accessories > Clothing",
        category_id=1604,
        category_source="product_category",
        product_type="Shirts",
        tags=["cotton", "summer sale"],
        published=True,
        status="active",
        options=[ShopifyOption("Size")],
        variants=[
            ShopifyVariant(price_minor=1999, option_values=("S",), sku="TEE-S", grams=145),
            ShopifyVariant(price_minor=2099, option_values=("M",), compare_at_minor=2500),
        ],
        images=[
            ShopifyImage("https://cdn.example.com/1.jpg", 1, "front"),
            ShopifyImage("https://cdn.example.com/2.jpg", 2),
            ShopifyImage("https://cdn.example.com/3.jpg", 3),
        ],
    )


def test_header_follows_shopify_template_order() -> None:
    rows = read(export_shopify_csv([tee()]))
    assert rows[0] == TEMPLATE_HEADER


@pytest.mark.skipif(not TEMPLATE.is_file(), reason=f"{TEMPLATE} not found")
def test_header_matches_the_real_template() -> None:
    template_header = read(TEMPLATE.read_bytes())[0]
    exported = read(export_shopify_csv(parse_shopify_csv(TEMPLATE.read_bytes()).products))[0]
    without_markets = [h for h in template_header if " / United States" not in h]
    without_markets = [h for h in without_markets if " / International" not in h]
    assert without_markets == TEMPLATE_HEADER
    # the Markets columns that carry values are kept, in the template's place (before Status)
    assert exported == [
        *TEMPLATE_HEADER[:-1],
        "Included / United States",
        "Included / International",
        "Status",
    ]


def test_bytes_are_utf8_crlf_without_bom_and_quoted() -> None:
    product = tee()
    product.title = 'Café "crème", ☕'
    data = export_shopify_csv([product])
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == 4  # header + 3 rows; the body's own newline stays "\n"
    assert '"Café ""crème"", ☕"'.encode() in data
    assert b'"<p>Line one</p>\n<p>Line two, with a comma</p>"' in data
    rows = read(data)
    header = rows[0]
    assert [len(row) for row in rows] == [len(header)] * 4


def test_rows_per_variant_and_extra_images() -> None:
    rows = read(export_shopify_csv([tee()]))
    header, first, second, third = rows
    col = {name: index for index, name in enumerate(header)}
    assert [r[col["Handle"]] for r in rows[1:]] == ["tee"] * 3
    assert first[col["Title"]] == 'Tee "classic", cotton'
    assert second[col["Title"]] == third[col["Title"]] == ""
    assert first[col["Tags"]] == "cotton, summer sale"
    assert first[col["Published"]] == "true"
    assert first[col["Status"]] == "active"
    assert first[col["Option1 Name"]] == "Size"
    assert (first[col["Option1 Value"]], second[col["Option1 Value"]]) == ("S", "M")
    assert (first[col["Variant Price"]], second[col["Variant Price"]]) == ("19.99", "20.99")
    assert second[col["Variant Compare At Price"]] == "25.00"
    assert first[col["Variant Grams"]] == "145"
    # the third row is image-only
    assert third[col["Image Src"]] == "https://cdn.example.com/3.jpg"
    assert third[col["Image Position"]] == "3"
    assert {name for name, i in col.items() if third[i]} == {
        "Handle",
        "Image Src",
        "Image Position",
    }


def test_single_variant_without_options_is_written_as_default_title() -> None:
    product = ShopifyProduct(
        handle="mug", title="Mug", variants=[ShopifyVariant(price_minor=500, currency="JPY")]
    )
    rows = read(export_shopify_csv([product]))
    col = {name: index for index, name in enumerate(rows[0])}
    assert rows[1][col["Option1 Name"]] == "Title"
    assert rows[1][col["Option1 Value"]] == "Default Title"
    assert rows[1][col["Variant Price"]] == "500"
    assert rows[1][col["Status"]] == "draft"
    assert parse_shopify_csv(export_shopify_csv([product]), currency="JPY").products == [product]


def test_product_without_variants_round_trips() -> None:
    product = ShopifyProduct(
        handle="soon",
        title="Coming soon",
        images=[ShopifyImage("https://cdn.example.com/soon.jpg", 1)],
        extra={"Supplier": "x"},
    )
    data = export_shopify_csv([product])
    result = parse_shopify_csv(data)
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["unknown_column", "no_variants"]
    assert result.products == [product]


def test_optional_column_groups_appear_only_when_used() -> None:
    plain = read(export_shopify_csv([tee()]))[0]
    product = tee()
    product.options[0].linked_to = "product.metafields.shopify.size"
    product.google = {"adwords_grouping": "tees", "custom_label_2": "sale", "gender": "unisex"}
    product.metafields = {"product.metafields.shopify.color-pattern": "red"}
    product.metafield_labels = {"product.metafields.shopify.color-pattern": "Color"}
    product.variants[1].metafields = {"variant.metafields.custom.fit": "slim"}
    product.extra = {"Included / United States": "TRUE"}
    product.variants[1].extra = {"Price / United States": "21.00"}
    header = read(export_shopify_csv([product]))[0]
    added = [h for h in header if h not in plain]
    assert added == [
        "Option1 Linked To",
        "Option2 Linked To",
        "Option3 Linked To",
        "Google Shopping / AdWords Grouping",
        "Google Shopping / Custom Label 2",
        "Color (product.metafields.shopify.color-pattern)",
        "fit (variant.metafields.custom.fit)",
        "Included / United States",
        "Price / United States",
    ]
    assert header.index("Option1 Linked To") == header.index("Option1 Value") + 1
    assert header[-1] == "Status"
    again = parse_shopify_csv(export_shopify_csv([product]))
    assert again.errors == []
    assert again.products == [product]


def _clear_options(product: ShopifyProduct) -> None:
    product.options.clear()
    for variant in product.variants:
        variant.option_values = ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.options.extend(ShopifyOption(n) for n in "ABC"), "options"),
        (lambda p: setattr(p.variants[0], "option_values", ()), "option values"),
        (_clear_options, "no options"),
        (lambda p: p.tags.append("a,b"), "comma"),
    ],
)
def test_products_that_cannot_be_written(
    change: Callable[[ShopifyProduct], object], message: str
) -> None:
    product = tee()
    change(product)
    with pytest.raises(ValueError, match=message):
        export_shopify_csv([product])


# -- generated data ---------------------------------------------------------------------------

TEXT = string.ascii_letters + string.digits + " ,;\"'<>&/\\-_#?é€☕"


def words(rng: random.Random, low: int = 1, high: int = 20) -> str:
    text = "".join(rng.choice(TEXT) for _ in range(rng.randint(low, high)))
    return " ".join(text.split()) or "x"


def maybe(rng: random.Random, value: str) -> str:
    return value if rng.random() < 0.5 else ""


def generated_products(seed: int, count: int, currency: str) -> list[ShopifyProduct]:
    """Random products in the normal form the parser produces: trimmed single-spaced text,
    tags without commas, distinct option combinations and SKUs, images ordered by position."""
    rng = random.Random(seed)
    products: list[ShopifyProduct] = []
    sku_number = 0
    for n in range(count):
        option_count = rng.randint(0, 3)
        names = rng.sample(["Size", "Color", "Material", "Fit", "Tamaño"], option_count)
        combos: list[tuple[str, ...]] = [()]
        for _ in names:
            combos = [(*c, words(rng, 1, 8) + str(i)) for c in combos for i in range(2)]
        if not names:
            combos = [()] if rng.random() < 0.9 else []
        variants = []
        for combo in combos[: rng.randint(0, 8)] if names else combos:
            sku_number += 1
            price = rng.randrange(0, 10**7)
            variants.append(
                ShopifyVariant(
                    price_minor=price,
                    currency=currency,
                    option_values=combo,
                    sku=maybe(rng, f"SKU-{sku_number}"),
                    compare_at_minor=price + rng.randrange(1, 1000) if rng.random() < 0.3 else None,
                    cost_minor=rng.randrange(0, 10**6) if rng.random() < 0.3 else None,
                    grams=rng.randrange(0, 10**5) if rng.random() < 0.7 else None,
                    weight_unit=rng.choice(["", "g", "kg", "lb", "oz"]),
                    barcode=maybe(rng, str(rng.randrange(10**11, 10**12))),
                    inventory_qty=rng.randrange(-5, 1000) if rng.random() < 0.5 else None,
                    inventory_tracker=maybe(rng, "shopify"),
                    inventory_policy=maybe(rng, rng.choice(["deny", "continue"])),
                    fulfillment_service=maybe(rng, "manual"),
                    requires_shipping=rng.choice([None, True, False]),
                    taxable=rng.choice([None, True, False]),
                    tax_code=maybe(rng, "P0000000"),
                    image_src=maybe(rng, f"https://cdn.example.com/v/{sku_number}.jpg"),
                    metafields=(
                        {"variant.metafields.custom.note": words(rng)} if rng.random() < 0.2 else {}
                    ),
                    extra={},
                )
            )
        for variant in variants[1:]:
            if rng.random() < 0.2:
                variant.extra = {"Price / United States": "9.99"}
        image_count = rng.randint(0, 4)
        images = [
            ShopifyImage(
                f"https://cdn.example.com/p/{n}/{i}.jpg?width={rng.randint(1, 2000)}",
                i + 1 if rng.random() < 0.8 else None,
                maybe(rng, words(rng)),
            )
            for i in range(image_count)
        ]
        images.sort(key=lambda image: (image.position is None, image.position or 0))
        tags: list[str] = []
        for _ in range(rng.randint(0, 4)):
            tag = " ".join(words(rng).replace(",", " ").split())
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
        body = rng.choice(["", "<p>x</p>", "<p>a\nb</p>\r\n<script>alert('x')</script>", " lead"])
        status = rng.choice(["active", "draft", "archived"])
        products.append(
            ShopifyProduct(
                handle=f"p-{n}-{rng.choice(['a', 'café', 'x_y', '360º'])}",
                title=words(rng),
                body_html=body,
                vendor=maybe(rng, words(rng)),
                original_category=maybe(rng, "Home & Garden > Decor"),
                product_type=maybe(rng, words(rng)),
                tags=tags,
                published=rng.choice([None, True, False]),
                status=status,
                gift_card=rng.choice([None, False, True]),
                seo_title=maybe(rng, words(rng)),
                seo_description=maybe(rng, words(rng, 1, 200)),
                google_product_category=maybe(rng, rng.choice(["602", "Home & Garden > Decor"])),
                google={"mpn": words(rng)} if rng.random() < 0.3 else {},
                options=[ShopifyOption(name) for name in names],
                variants=variants,
                images=images,
                metafields=(
                    {"product.metafields.shopify.color-pattern": words(rng)}
                    if rng.random() < 0.3
                    else {}
                ),
                metafield_labels={"product.metafields.shopify.color-pattern": "Color"},
                extra={"Included / United States": "TRUE"} if rng.random() < 0.3 else {},
            )
        )
    return products


@pytest.mark.parametrize(("seed", "currency"), [(1, "USD"), (2, "JPY"), (3, "KWD"), (4, "CLP")])
def test_generated_products_round_trip(seed: int, currency: str) -> None:
    products = generated_products(seed, 150, currency)
    data = export_shopify_csv(products)
    result = parse_shopify_csv(data, currency=currency)
    assert result.errors == []
    # category ids are derived on parse; everything else must come back unchanged
    for product in result.products:
        product.category_id, product.category_source = None, None
    assert result.products == products
    # and the export of the parse is byte-identical
    assert export_shopify_csv(result.products) == data
