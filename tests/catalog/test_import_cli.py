"""``shopreel catalog import-shopify`` / ``export-shopify``: JSON report, dry run, exit codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from shopreel.catalog.models import Product
from shopreel.catalog.shopify import parse_shopify_csv
from shopreel.cli import app
from shopreel.config import Settings, reset_settings_cache
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.catalog.test_importer import csv_bytes, tee_rows
from tests.fixtures.cli_env import use_settings
from tests.fixtures.sellers import create_seller

runner = CliRunner()


async def invoke(args: list[str]) -> Result:
    """Run the CLI in a thread: it calls asyncio.run, which needs a thread without a loop."""
    return await asyncio.to_thread(runner.invoke, app, args)


@pytest.fixture(autouse=True)
def _cli_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    use_settings(monkeypatch, settings)
    yield
    reset_settings_cache()


async def products(runtime: Runtime) -> int:
    async with runtime.databases.session(GLOBAL) as session:
        return int(await session.scalar(select(func.count()).select_from(Product)) or 0)


def test_help() -> None:
    for args in (["catalog"], ["catalog", "import-shopify"], ["catalog", "export-shopify"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


async def test_json_report_dry_run_then_import(runtime: Runtime, tmp_path: Path) -> None:
    seller = await create_seller(runtime, handle="demo-shop")
    path = tmp_path / "products.csv"
    path.write_bytes(csv_bytes(tee_rows() + tee_rows(handle="polo")))

    dry = await invoke(
        ["catalog", "import-shopify", str(path), "--seller", "demo-shop", "--dry-run", "--json"]
    )
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert {"products", "variants", "images", "created", "updated", "unchanged", "errors"} <= set(
        report
    )
    assert (report["dry_run"], report["created"], report["import_id"]) == (True, 2, None)
    assert await products(runtime) == 0

    real = await invoke(["catalog", "import-shopify", str(path), "--seller", "demo-shop", "--json"])
    assert real.exit_code == 0, real.output
    report = json.loads(real.stdout)
    assert (report["products"], report["variants"], report["images"]) == (2, 4, 4)
    assert (report["created"], report["filename"]) == (2, "products.csv")
    assert await products(runtime) == 2

    table = await invoke(["catalog", "import-shopify", str(path), "--seller", "@demo-shop"])
    assert table.exit_code == 0, table.output
    assert "unchanged" in table.stdout and "@demo-shop" in table.stdout

    out = tmp_path / "export.csv"
    exported = await invoke(["catalog", "export-shopify", "--seller", "demo-shop", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.handle for p in parse_shopify_csv(out.read_bytes()).products) == [
        "polo",
        "tee",
    ]
    del seller


async def test_row_errors_are_printed_and_exit_zero(runtime: Runtime, tmp_path: Path) -> None:
    await create_seller(runtime, handle="demo-shop")
    rows = tee_rows() + tee_rows(handle="bad")
    rows[2]["Variant Price"] = "abc"
    path = tmp_path / "products.csv"
    path.write_bytes(csv_bytes(rows))
    result = await invoke(["catalog", "import-shopify", str(path), "--seller", "demo-shop"])
    assert result.exit_code == 0, result.output
    assert "invalid_price" in result.stdout and "Variant Price" in result.stdout
    assert await products(runtime) == 1


@pytest.mark.parametrize(
    ("content", "seller", "code", "message"),
    [
        (b"Handle,Title\ntee,Tee\n", "nobody", 1, "no shop with the handle"),
        (None, "demo-shop", 1, "cannot read"),
        ("Handle,Title\ncaf\u00e9,x\n".encode("latin-1"), "demo-shop", 2, "wrong_encoding"),
        (b'Handle,Title\ntee,"broken\n', "demo-shop", 2, "malformed_csv"),
    ],
)
async def test_failures_exit_non_zero_with_one_line(
    runtime: Runtime,
    tmp_path: Path,
    content: bytes | None,
    seller: str,
    code: int,
    message: str,
) -> None:
    await create_seller(runtime, handle="demo-shop")
    path = tmp_path / "products.csv"
    if content is not None:
        path.write_bytes(content)
    result = await invoke(["catalog", "import-shopify", str(path), "--seller", seller, "--json"])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert await products(runtime) == 0


async def test_unknown_currency_is_one_line(runtime: Runtime, tmp_path: Path) -> None:
    await create_seller(runtime, handle="demo-shop")
    path = tmp_path / "products.csv"
    path.write_bytes(csv_bytes(tee_rows()))
    result = await invoke(
        ["catalog", "import-shopify", str(path), "--seller", "demo-shop", "--currency", "XYZ1"]
    )
    assert result.exit_code == 1 and "Unknown currency" in result.stderr
