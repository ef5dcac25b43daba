"""``shopreel bench import``: Shopify CSV import throughput against parsing alone.

A deterministic synthetic export (multi-line HTML bodies, Size x Color options, images on
variant rows and on image-only continuation rows, tags, compare-at prices, quantities) is
generated in memory; a fresh temporary data directory gets migrated SQLite planes, an approved
seller and a warehouse. Measured in the same run: parsing only (the baseline), the first import
(everything created), and a re-import of the same file (every product unchanged: a no-op).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import platform
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from shopreel.accounts import service
from shopreel.catalog.importer import import_shopify
from shopreel.catalog.models import Shop, ShopStatus
from shopreel.catalog.shopify import parse_shopify_csv
from shopreel.config import Settings
from shopreel.inventory.models import Warehouse
from shopreel.kit.ids import new_id
from shopreel.migrate import upgrade_all
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Variant SKU",
    "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty",
    "Variant Inventory Policy", "Variant Fulfillment Service", "Variant Price",
    "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable",
    "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card",
    "SEO Title", "SEO Description", "Variant Weight Unit", "Cost per item", "Status",
]  # fmt: skip

SIZES = ("XS", "S", "M", "L", "XL", "XXL")
COLORS = ("Black", "White", "Navy", "Olive", "Sand", "Rust", "Teal", "Plum")
WORDS = tuple(
    [
        "soft",
        "organic",
        "cotton",
        "linen",
        "recycled",
        "everyday",
        "classic",
        "relaxed",
        "fit",
        "garment",
        "dyed",
        "durable",
        "breathable",
        "lightweight",
        "heavyweight",
        "tailored",
        "handmade",
        "small",
        "batch",
        "ethically",
        "made",
    ]
)
CATEGORIES = (
    "Apparel & Accessories > Clothing > Shirts & Tops",
    "Home & Garden > Decor > Vases",
    "Apparel & Accessories > Handbags, Wallets & Cases",
)


def _body(rng: random.Random, number: int) -> str:
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))
        paragraphs.append(f"<p>{sentence.capitalize()}.</p>")
    bullets = "\n".join(
        f'  <li data-n="{i}">{rng.choice(WORDS)}, "{rng.choice(WORDS)}"</li>' for i in range(3)
    )
    return "\n".join(paragraphs) + f"\n<ul>\n{bullets}\n</ul>\n<p>Item #{number}</p>"


def generate_shopify_csv(products: int, variants_per_product: int = 3, seed: int = 7) -> bytes:
    """A Shopify product export with ``products`` products of ``variants_per_product``
    variants (at most 48: 6 sizes x 8 colours) each; the same arguments give the same bytes."""
    if not 1 <= variants_per_product <= len(SIZES) * len(COLORS):
        raise ValueError(f"variants per product must be 1..{len(SIZES) * len(COLORS)}")
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    column = {name: index for index, name in enumerate(HEADER)}
    combos = [(size, color) for color in COLORS for size in SIZES]
    for number in range(products):
        handle = f"bench-product-{number:06d}"
        title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} tee {number}"
        images = rng.randint(1, variants_per_product + 2)
        base_price = rng.randint(500, 20_000)
        rows = max(variants_per_product, images)
        for index in range(rows):
            row = [""] * len(HEADER)
            row[column["Handle"]] = handle
            if index == 0:
                values = {
                    "Title": title,
                    "Body (HTML)": _body(rng, number),
                    "Vendor": f"Vendor {number % 97}",
                    "Product Category": rng.choice(CATEGORIES),
                    "Type": "Shirts",
                    "Tags": ", ".join(sorted({rng.choice(WORDS) for _ in range(4)})),
                    "Published": "true",
                    "Option1 Name": "Size",
                    "Option2 Name": "Color",
                    "Gift Card": "false",
                    "SEO Title": title,
                    "SEO Description": f"Buy {title} online.",
                    "Status": "active" if number % 10 else "draft",
                }
                for name, value in values.items():
                    row[column[name]] = value
            if index < variants_per_product:
                size, color = combos[index]
                price = base_price + 100 * index
                values = {
                    "Option1 Value": size,
                    "Option2 Value": color,
                    "Variant SKU": f"B{number:06d}-{size}-{color[:3].upper()}",
                    "Variant Grams": str(rng.randint(100, 900)),
                    "Variant Inventory Tracker": "shopify",
                    "Variant Inventory Qty": str(rng.randint(0, 200)),
                    "Variant Inventory Policy": "deny",
                    "Variant Fulfillment Service": "manual",
                    "Variant Price": f"{price // 100}.{price % 100:02d}",
                    "Variant Compare At Price": (
                        f"{(price + 500) // 100}.{(price + 500) % 100:02d}" if index % 2 else ""
                    ),
                    "Variant Requires Shipping": "true",
                    "Variant Taxable": "true",
                    "Variant Barcode": f"{rng.randint(10**11, 10**12 - 1)}",
                    "Variant Weight Unit": "g",
                    "Cost per item": f"{price // 300}.00",
                }
                for name, value in values.items():
                    row[column[name]] = value
            if index < images:
                row[column["Image Src"]] = (
                    f"https://cdn.example.com/bench/{number:06d}/{index + 1}.jpg?v={seed}"
                )
                row[column["Image Position"]] = str(index + 1)
                row[column["Image Alt Text"]] = f"{title}, view {index + 1}"
            writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


async def _prepare(settings: Settings) -> tuple[str, str]:
    """An approved seller (a real account) with a shop and a warehouse."""
    runtime = Runtime.from_settings(settings)
    try:
        async with UnitOfWork(runtime.databases) as uow:
            user = await service.sign_up(
                uow,
                runtime,
                service.NewUser(
                    email="bench-seller@example.com",
                    password="benchmark passphrase",  # noqa: S106 - throwaway bench account
                    display_name="Bench seller",
                    country="US",
                    roles=("shopper", "seller"),
                ),
            )
        shop_id = new_id("shop")
        async with runtime.databases.transaction(GLOBAL) as session:
            session.add(
                Shop(
                    id=shop_id,
                    handle="bench-shop",
                    name="Bench shop",
                    owner_id=user.id,
                    country="US",
                    status=ShopStatus.APPROVED.value,
                    home_region=user.region,
                )
            )
            await session.flush()
            session.add(Warehouse(id=new_id("whs"), shop_id=shop_id, name="Main", country="US"))
        return shop_id, user.id
    finally:
        await runtime.close()


async def _timed_import(
    settings: Settings, shop_id: str, actor_id: str, data: bytes
) -> tuple[float, dict[str, Any]]:
    runtime = Runtime.from_settings(settings)
    try:
        started = time.perf_counter()
        report = await import_shopify(runtime, shop_id=shop_id, actor_id=actor_id, data=data)
        return time.perf_counter() - started, report.as_json()
    finally:
        await runtime.close()


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
    }


def run_import_bench(
    products: int, variants_per_product: int = 3, data_dir: Path | None = None
) -> dict[str, Any]:
    data = generate_shopify_csv(products, variants_per_product)
    parse_shopify_csv(generate_shopify_csv(2, 1))  # warm-up: loads the taxonomy once
    started = time.perf_counter()
    parsed = parse_shopify_csv(data)
    parse_seconds = time.perf_counter() - started
    rows = parsed.counts.rows
    with tempfile.TemporaryDirectory(prefix="shopreel-bench-import-") as tmp:
        directory = data_dir or Path(tmp)
        settings = Settings(env="dev", data_dir=directory, log_level="WARNING")
        upgrade_all(settings)
        shop_id, actor_id = asyncio.run(_prepare(settings))
        first_seconds, first = asyncio.run(_timed_import(settings, shop_id, actor_id, data))
        again_seconds, again = asyncio.run(_timed_import(settings, shop_id, actor_id, data))
    parse_rate = _rate(rows, parse_seconds)
    first_rate = _rate(rows, first_seconds)
    again_rate = _rate(rows, again_seconds)
    return {
        "benchmark": "import",
        "database": "sqlite",
        "products": parsed.counts.products,
        "variants_per_product": variants_per_product,
        "rows": rows,
        "variants": parsed.counts.variants,
        "images": parsed.counts.images,
        "bytes": len(data),
        "parse_seconds": round(parse_seconds, 3),
        "parse_rows_per_s": parse_rate,
        "import_seconds": round(first_seconds, 3),
        "import_rows_per_s": first_rate,
        "import_products_per_s": _rate(parsed.counts.products, first_seconds),
        "reimport_seconds": round(again_seconds, 3),
        "reimport_rows_per_s": again_rate,
        "import_vs_parse": round(first_rate / parse_rate, 3) if parse_rate else None,
        "reimport_vs_parse": round(again_rate / parse_rate, 3) if parse_rate else None,
        "created": first["created"],
        "unchanged_on_reimport": again["unchanged"],
        "errors": len(first["errors"]) + len(again["errors"]),
        "statuses": first["statuses"],
        "machine": machine_info(),
    }
