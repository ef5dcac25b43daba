"""The Shopify importer on real databases: create, update, no-op re-import, skipped rows,
dry runs, fatal files, sanitizing, screening, price history and stock."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shopreel.catalog.catalog_export import export_shop_csv
from shopreel.catalog.importer import MAX_IMPORT_BYTES, ImportReport, import_shopify
from shopreel.catalog.models import (
    CatalogImport,
    ListingReview,
    PriceChange,
    Product,
    ProductImage,
    ShopStatus,
    Variant,
)
from shopreel.catalog.shopify import parse_shopify_csv
from shopreel.errors import Conflict, NotFound, ValidationFailed
from shopreel.inventory.models import InventoryLevel, InventoryMovement, Warehouse
from shopreel.kit.ids import new_id
from shopreel.kit.time import set_clock, utcnow
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.sellers import Seller, create_seller

HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Tags", "Option1 Name", "Option1 Value",
    "Variant SKU", "Variant Price", "Variant Compare At Price", "Variant Inventory Qty",
    "Image Src", "Image Position", "Status",
]  # fmt: skip

IMG = "https://cdn.example.com/{}.jpg"


def csv_bytes(rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode()


def tee_rows(
    price: str = "19.99", *, handle: str = "tee", status: str = "active"
) -> list[dict[str, str]]:
    return [
        {
            "Handle": handle,
            "Title": "Classic tee",
            "Body (HTML)": "<p>Soft\ncotton</p>",
            "Vendor": "Acme",
            "Tags": "cotton, summer",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Variant SKU": f"{handle}-S",
            "Variant Price": price,
            "Variant Inventory Qty": "5",
            "Image Src": IMG.format(f"{handle}-1"),
            "Image Position": "1",
            "Status": status,
        },
        {
            "Handle": handle,
            "Option1 Value": "M",
            "Variant SKU": f"{handle}-M",
            "Variant Price": "21.00",
            "Variant Compare At Price": "25.00",
            "Variant Inventory Qty": "3",
            "Image Src": IMG.format(f"{handle}-2"),
            "Image Position": "2",
        },
    ]


async def run(runtime: Runtime, seller: Seller, data: bytes, **kw: Any) -> ImportReport:
    return await import_shopify(
        runtime, shop_id=seller.shop.id, actor_id=seller.user.id, data=data, **kw
    )


async def count(runtime: Runtime, model: Any) -> int:
    async with runtime.databases.session(GLOBAL) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


ALL = (Product, Variant, ProductImage, PriceChange, ListingReview, InventoryLevel)


async def counts(runtime: Runtime) -> dict[str, int]:
    result = {model.__tablename__: await count(runtime, model) for model in ALL}
    result["movements"] = await count(runtime, InventoryMovement)
    result["imports"] = await count(runtime, CatalogImport)
    return result


async def snapshot(runtime: Runtime) -> list[tuple[Any, ...]]:
    async with runtime.databases.session(GLOBAL) as session:
        products = await session.scalars(select(Product).order_by(Product.handle))
        variants = await session.scalars(select(Variant).order_by(Variant.sku))
        return [(p.id, p.updated_at, p.version, p.status) for p in products] + [
            (v.id, v.updated_at, v.price_cents) for v in variants
        ]


async def add_warehouse(runtime: Runtime, seller: Seller, *, name: str = "Main") -> str:
    warehouse_id = new_id("whs")
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(Warehouse(id=warehouse_id, shop_id=seller.shop.id, name=name, country="US"))
    return warehouse_id


@pytest.fixture
async def seller(runtime: Runtime) -> Seller:
    return await create_seller(runtime)


async def test_creates_products_variants_images_history_and_review(
    runtime: Runtime, seller: Seller
) -> None:
    warehouse_id = await add_warehouse(runtime, seller)
    report = await run(runtime, seller, csv_bytes(tee_rows()), filename="tee.csv")
    body = report.as_json()
    assert {"products", "variants", "images", "created", "updated", "unchanged", "errors"} <= set(
        body
    )
    assert (body["products"], body["variants"], body["images"], body["rows"]) == (1, 2, 2, 2)
    assert (body["created"], body["updated"], body["unchanged"], body["skipped"]) == (1, 0, 0, 0)
    assert body["errors"] == [] and body["status"] == "completed"
    assert body["results"] == [
        {
            "handle": "tee",
            "row": 2,
            "outcome": "created",
            "product_id": body["results"][0]["product_id"],
            "status": "live",
        }
    ]
    async with runtime.databases.session(GLOBAL) as session:
        product = (await session.scalars(select(Product))).one()
        variants = list(await session.scalars(select(Variant).order_by(Variant.position)))
        images = list(await session.scalars(select(ProductImage).order_by(ProductImage.position)))
        prices = list(await session.scalars(select(PriceChange).order_by(PriceChange.sku)))
        review = (await session.scalars(select(ListingReview))).one()
        levels = {
            level.variant_id: level.on_hand
            for level in await session.scalars(select(InventoryLevel))
        }
        movements = list(await session.scalars(select(InventoryMovement)))
        stored = (await session.scalars(select(CatalogImport))).one()
    assert (product.shop_id, product.handle, product.status) == (seller.shop.id, "tee", "live")
    assert product.tags == ["cotton", "summer"] and product.vendor == "Acme"
    assert product.import_hash is not None and product.live_at is not None
    assert [(v.sku, v.options, v.price_cents, v.compare_at_cents) for v in variants] == [
        ("tee-S", {"Size": "S"}, 1999, None),
        ("tee-M", {"Size": "M"}, 2100, 2500),
    ]
    assert [(i.source_url, i.position, i.status) for i in images] == [
        (IMG.format("tee-1"), 1, "remote"),
        (IMG.format("tee-2"), 2, "remote"),
    ]
    assert [(p.sku, p.price_cents, p.reason, p.actor_id) for p in prices] == [
        ("tee-M", 2100, "import", seller.user.id),
        ("tee-S", 1999, "import", seller.user.id),
    ]
    assert (review.outcome, review.reviewer_id, review.product_id) == ("passed", None, product.id)
    assert levels == {variants[0].id: 5, variants[1].id: 3}
    assert sorted((m.delta, m.on_hand_after, m.reason, m.warehouse_id) for m in movements) == [
        (3, 3, "import", warehouse_id),
        (5, 5, "import", warehouse_id),
    ]
    assert (stored.status, stored.filename, stored.sha256) == (
        "completed",
        "tee.csv",
        body["sha256"],
    )
    assert stored.id == body["import_id"] and stored.report["created"] == 1


async def test_reimport_is_a_no_op(runtime: Runtime, seller: Seller) -> None:
    await add_warehouse(runtime, seller)
    data = csv_bytes(tee_rows() + tee_rows(handle="polo"))
    first = await run(runtime, seller, data)
    assert first.created == 2
    before, rows = await snapshot(runtime), await counts(runtime)
    later = utcnow() + timedelta(hours=1)
    set_clock(lambda: later)
    try:
        again = await run(runtime, seller, data)
    finally:
        set_clock(None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert [r.outcome for r in again.results] == ["unchanged", "unchanged"]
    assert await snapshot(runtime) == before
    after = await counts(runtime)
    assert after == rows | {"imports": rows["imports"] + 1}


async def test_price_change_updates_and_records_history(runtime: Runtime, seller: Seller) -> None:
    await run(runtime, seller, csv_bytes(tee_rows("19.99") + tee_rows(handle="polo")))
    before = {row[0]: row for row in await snapshot(runtime)}
    report = await run(runtime, seller, csv_bytes(tee_rows("17.50") + tee_rows(handle="polo")))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    async with runtime.databases.session(GLOBAL) as session:
        tee = (await session.scalars(select(Product).where(Product.handle == "tee"))).one()
        small = (await session.scalars(select(Variant).where(Variant.sku == "tee-S"))).one()
        history = list(
            await session.scalars(
                select(PriceChange)
                .where(PriceChange.variant_id == small.id)
                .order_by(PriceChange.changed_at, PriceChange.price_cents.desc())
            )
        )
        medium_history = await session.scalar(
            select(func.count()).select_from(PriceChange).where(PriceChange.sku == "tee-M")
        )
    assert tee.version == 2 and small.price_cents == 1750
    assert [(h.price_cents, h.reason) for h in history] == [(1999, "import"), (1750, "import")]
    assert medium_history == 1  # unchanged price: no new history row
    after = {row[0]: row for row in await snapshot(runtime)}
    polo = [key for key, row in before.items() if key.startswith("prd_") and key != tee.id]
    assert len(polo) == 1 and after[polo[0]] == before[polo[0]]  # the other one: untouched


async def test_update_removes_variants_and_images_the_file_dropped(
    runtime: Runtime, seller: Seller
) -> None:
    await run(runtime, seller, csv_bytes(tee_rows()))
    rows = tee_rows()[:1]  # only the S variant and the first image remain
    report = await run(runtime, seller, csv_bytes(rows))
    assert report.updated == 1
    async with runtime.databases.session(GLOBAL) as session:
        skus = list(await session.scalars(select(Variant.sku)))
        urls = list(await session.scalars(select(ProductImage.source_url)))
    assert skus == ["tee-S"] and urls == [IMG.format("tee-1")]


async def test_invalid_rows_are_reported_and_valid_products_import(
    runtime: Runtime, seller: Seller
) -> None:
    rows = tee_rows() + tee_rows(handle="bad")
    rows[3]["Variant Price"] = "12,5"  # the second variant of "bad"
    rows.append({"Handle": "ghost", "Variant Price": "1"})  # no title
    report = await run(runtime, seller, csv_bytes(rows))
    assert (report.created, report.skipped) == (1, 2)
    assert [(e.row, e.column, e.code, e.handle) for e in report.errors] == [
        (5, "Variant Price", "invalid_price", "bad"),
        (6, "Title", "missing_title", "ghost"),
    ]
    assert [(r.handle, r.outcome) for r in report.results] == [
        ("tee", "created"),
        ("bad", "skipped"),
        ("ghost", "skipped"),
    ]
    async with runtime.databases.session(GLOBAL) as session:
        handles = list(await session.scalars(select(Product.handle)))
        skus = sorted(await session.scalars(select(Variant.sku)))
    assert handles == ["tee"]  # "bad" is not half written
    assert skus == ["tee-M", "tee-S"]


async def test_dry_run_validates_and_writes_nothing(runtime: Runtime, seller: Seller) -> None:
    await add_warehouse(runtime, seller)
    rows = tee_rows() + tee_rows(handle="vape-pen")
    rows[2]["Title"] = "Vape pen"  # prohibited keyword: screening runs in a dry run too
    before = await counts(runtime)
    report = await run(runtime, seller, csv_bytes(rows), dry_run=True)
    assert report.dry_run and report.import_id is None
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.statuses == {"live": 1, "rejected": 1}
    assert any(w.code == "listing_rejected" and w.handle == "vape-pen" for w in report.warnings)
    assert await counts(runtime) == before
    # after a real import the dry run reports what a re-import would do
    await run(runtime, seller, csv_bytes(rows))
    again = await run(runtime, seller, csv_bytes(rows), dry_run=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


async def test_screening_outcomes_and_unapproved_shop(runtime: Runtime) -> None:
    approved = await create_seller(runtime)
    rows = tee_rows() + tee_rows(handle="knife") + tee_rows(handle="old", status="archived")
    rows[2]["Title"] = "Chef knife"  # restricted keyword: waits for staff
    rows += tee_rows(handle="later", status="draft")
    report = await run(runtime, approved, csv_bytes(rows))
    assert {r.handle: r.status for r in report.results} == {
        "tee": "live",
        "knife": "pending_review",
        "old": "archived",
        "later": "draft",
    }
    flagged = [w for w in report.warnings if w.code == "listing_flagged"]
    assert [(w.handle, w.row) for w in flagged] == [("knife", 4)]
    assert "Knives need staff review" in flagged[0].reason
    async with runtime.databases.session(GLOBAL) as session:
        knife = (await session.scalars(select(Product).where(Product.handle == "knife"))).one()
        reviews = list(await session.scalars(select(ListingReview.outcome)))
    assert knife.review_reasons[0]["code"] == "restricted_keyword"
    assert sorted(reviews) == ["flagged", "passed"]  # only active products are screened

    pending = await create_seller(runtime, status=ShopStatus.PENDING)
    report = await run(runtime, pending, csv_bytes(tee_rows()))
    assert [r.status for r in report.results] == ["draft"]
    assert sorted(w.code for w in report.warnings) == ["no_warehouse", "shop_not_approved"]


async def test_suspended_or_unknown_shop_and_bad_currency_import_nothing(
    runtime: Runtime,
) -> None:
    suspended = await create_seller(runtime, status=ShopStatus.SUSPENDED)
    with pytest.raises(Conflict):
        await run(runtime, suspended, csv_bytes(tee_rows()))
    with pytest.raises(NotFound):
        await import_shopify(runtime, shop_id="shop_nope", actor_id="usr_x", data=b"")
    with pytest.raises(ValidationFailed):
        await run(runtime, suspended, csv_bytes(tee_rows()), currency="EURO")
    assert (await counts(runtime))["products"] == 0


async def test_script_and_event_handlers_are_never_stored(runtime: Runtime, seller: Seller) -> None:
    rows = tee_rows()
    rows[0]["Body (HTML)"] = (
        '<p onclick="steal()">Hi<script>alert(1)</script></p>'
        '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'
    )
    await run(runtime, seller, csv_bytes(rows))
    async with runtime.databases.session(GLOBAL) as session:
        html = await session.scalar(select(Product.description_html))
    assert html is not None and "Hi" in html
    for bad in ("<script", "alert", "onclick", "onerror", "javascript:"):
        assert bad not in html


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("Handle,Title\nt\u00e9,x\n".encode("latin-1"), "wrong_encoding"),
        (b'Handle,Title,Variant Price\ntee,"broken,1\n', "malformed_csv"),
        (b"PK\x03\x04 not a csv", "malformed_csv"),
        (b"", "malformed_csv"),
    ],
)
async def test_fatal_files_import_nothing(
    runtime: Runtime, seller: Seller, data: bytes, code: str
) -> None:
    report = await run(runtime, seller, data)
    assert report.fatal and report.status == "failed"
    assert [e.code for e in report.errors] == [code]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert (await counts(runtime))["products"] == 0
    async with runtime.databases.session(GLOBAL) as session:
        stored = (await session.scalars(select(CatalogImport))).one()
    assert stored.status == "failed" and stored.report["errors"][0]["code"] == code


async def test_huge_file_is_rejected_before_parsing(runtime: Runtime, seller: Seller) -> None:
    data = csv_bytes(tee_rows()) + b" " * MAX_IMPORT_BYTES
    report = await run(runtime, seller, data)
    assert [e.code for e in report.errors] == ["file_too_large"]
    assert (await counts(runtime))["products"] == 0


async def test_quantities_need_a_warehouse_and_movements_follow_changes(
    runtime: Runtime, seller: Seller
) -> None:
    report = await run(runtime, seller, csv_bytes(tee_rows()))
    no_warehouse = [w for w in report.warnings if w.code == "no_warehouse"]
    assert len(no_warehouse) == 1 and (await counts(runtime))["inventory_levels"] == 0
    # the oldest active warehouse receives the stock
    await add_warehouse(runtime, seller, name="first")
    await add_warehouse(runtime, seller, name="second")
    report = await run(runtime, seller, csv_bytes(tee_rows()))
    assert report.updated == 1  # the context (warehouse) changed
    rows = tee_rows()
    rows[0]["Variant Inventory Qty"] = "-2"
    rows[1]["Variant Inventory Qty"] = "3"
    report = await run(runtime, seller, csv_bytes(rows))
    assert [(w.code, w.row) for w in report.warnings if w.code == "negative_inventory"] == [
        ("negative_inventory", 2)
    ]
    async with runtime.databases.session(GLOBAL) as session:
        first = await session.scalar(select(Warehouse.id).where(Warehouse.name == "first"))
        levels = list(await session.scalars(select(InventoryLevel)))
        movements = list(
            await session.scalars(select(InventoryMovement).order_by(InventoryMovement.created_at))
        )
    assert {level.warehouse_id for level in levels} == {first}
    assert sorted(level.on_hand for level in levels) == [0, 3]
    # 5 then 3 stocked on the second import, then S went 5 -> 0; M stayed at 3 (no movement)
    assert sorted((m.delta, m.on_hand_after) for m in movements) == [(-5, 0), (3, 3), (5, 5)]


async def test_export_round_trip_from_the_database(runtime: Runtime, seller: Seller) -> None:
    await add_warehouse(runtime, seller)
    data = csv_bytes(tee_rows() + tee_rows(handle="draft-one", status="draft"))
    await run(runtime, seller, data)
    exported = await export_shop_csv(runtime, seller.shop.id)
    original = {p.handle: p for p in parse_shopify_csv(data).products}
    again = {p.handle: p for p in parse_shopify_csv(exported).products}
    assert again.keys() == original.keys()
    for handle, product in original.items():
        assert again[handle] == product
    assert again["draft-one"].status == "draft" and again["tee"].status == "active"
