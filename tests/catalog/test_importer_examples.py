"""The importer on the real Shopify exports in ../shared/examples/shopify (see SOURCE.md there):
every file imports without an error, with the file's counts of products, variants and images in
the database; a re-import changes nothing; the database exports back to the same products."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopreel.catalog.catalog_export import export_shop_csv
from shopreel.catalog.importer import import_shopify, normalize_product
from shopreel.catalog.models import PriceChange, Product, ProductImage, Variant
from shopreel.catalog.shopify import parse_shopify_csv
from shopreel.inventory.models import InventoryLevel, Warehouse
from shopreel.kit.ids import new_id
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.sellers import create_seller

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "examples" / "shopify"
FILES = {
    "shopify_official_product_template.csv": "USD",
    "reptilinks_2018_products_export.csv": "USD",
    "lifemademagic_2021_products_export_1.csv": "USD",
    "laslira_2025_products_export_1.csv": "CLP",
}

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"shared Shopify examples not found at {EXAMPLES}"
)


async def table_counts(runtime: Runtime) -> dict[str, int]:
    async with runtime.databases.session(GLOBAL) as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Product, Variant, ProductImage, PriceChange, InventoryLevel)
        }


@pytest.mark.parametrize("name", sorted(FILES))
async def test_example_imports_reimports_and_exports(runtime: Runtime, name: str) -> None:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    data, currency = path.read_bytes(), FILES[name]
    parsed = parse_shopify_csv(data, currency=currency)
    seller = await create_seller(runtime)
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(Warehouse(id=new_id("whs"), shop_id=seller.shop.id, name="Main", country="US"))

    report = await import_shopify(
        runtime,
        shop_id=seller.shop.id,
        actor_id=seller.user.id,
        data=data,
        currency=currency,
        filename=name,
    )
    body = report.as_json()
    assert body["errors"] == []
    counts = parsed.counts
    assert (body["rows"], body["products"], body["variants"], body["images"]) == (
        counts.rows,
        counts.products,
        counts.variants,
        counts.images,
    )
    assert (body["created"], body["updated"], body["unchanged"], body["skipped"]) == (
        counts.products,
        0,
        0,
        0,
    )
    stored = await table_counts(runtime)
    assert stored["products"] == counts.products
    assert stored["variants"] == counts.variants
    assert stored["product_images"] == counts.images
    assert stored["price_history"] == counts.variants
    with_qty = sum(1 for p in parsed.products for v in p.variants if v.inventory_qty is not None)
    assert stored["inventory_levels"] == with_qty

    again = await import_shopify(
        runtime, shop_id=seller.shop.id, actor_id=seller.user.id, data=data, currency=currency
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, counts.products)
    assert await table_counts(runtime) == stored

    exported = await export_shop_csv(runtime, seller.shop.id)
    back = parse_shopify_csv(exported, currency=currency)
    assert back.errors == []
    expected = {p.handle: normalize_product(p, keep_inventory=True)[0] for p in parsed.products}
    rebuilt = {p.handle: p for p in back.products}
    assert rebuilt.keys() == expected.keys()
    for handle, product in expected.items():
        assert rebuilt[handle] == product, handle
