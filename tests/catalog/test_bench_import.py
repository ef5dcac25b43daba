"""``shopreel bench import`` on a small generated file: the JSON it prints (not the timing)."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from shopreel.bench.importer import generate_shopify_csv
from shopreel.catalog.shopify import parse_shopify_csv
from shopreel.cli import app


def test_generated_file_is_deterministic_and_valid() -> None:
    data = generate_shopify_csv(20, 4)
    assert data == generate_shopify_csv(20, 4)
    parsed = parse_shopify_csv(data)
    assert parsed.errors == []
    assert (parsed.counts.products, parsed.counts.variants) == (20, 80)
    assert parsed.counts.rows > 80  # image-only continuation rows
    assert any("\n" in product.body_html for product in parsed.products)
    assert all(product.option_names == ("Size", "Color") for product in parsed.products)


async def test_bench_import_prints_one_json_object() -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["bench", "import", "--products", "50", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "import"
    assert (report["products"], report["variants"]) == (50, 150)
    assert report["created"] == 50 and report["unchanged_on_reimport"] == 50
    assert report["errors"] == 0
    for key in (
        "parse_rows_per_s",
        "import_rows_per_s",
        "import_products_per_s",
        "reimport_rows_per_s",
        "import_vs_parse",
        "reimport_vs_parse",
    ):
        assert report[key] > 0, key
    assert {"python", "cpus", "sqlite"} <= set(report["machine"])
