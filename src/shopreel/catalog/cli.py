"""``shopreel catalog``: import a Shopify product CSV into a shop, export a shop back.

Exit codes of ``import-shopify``: 0 when the import ran (row errors, if any, are printed and
in the report: their products were skipped, the others imported); 1 when it could not start
(unknown seller handle, unreadable file, unknown currency, suspended shop); 2 when the file
itself was refused (wrong encoding, broken CSV, too large): nothing was imported.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from shopreel.catalog.catalog_export import export_shop_csv
from shopreel.catalog.importer import MAX_IMPORT_BYTES, ImportReport, import_shopify
from shopreel.catalog.models import Shop
from shopreel.config import Settings, get_settings
from shopreel.errors import ShopReelError
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime

catalog_app = typer.Typer(
    help="Catalog: Shopify CSV import and export for a seller's shop.", no_args_is_help=True
)

console = Console()
err_console = Console(stderr=True)

EXIT_NOT_STARTED = 1
EXIT_FILE_REFUSED = 2
ERRORS_SHOWN = 50


def _fail(message: str, code: int = EXIT_NOT_STARTED) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: one line, not a trace
        raise _fail(f"invalid configuration: {str(exc).splitlines()[0]}") from None


async def _shop_by_handle(runtime: Runtime, handle: str) -> Shop | None:
    async with runtime.databases.session(GLOBAL) as session:
        shop = await session.scalar(select(Shop).where(Shop.handle == handle))
        if shop is not None:
            session.expunge(shop)
        return shop


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise _fail(
                f"{path} is larger than {MAX_IMPORT_BYTES // 2**20} MiB; split the export",
                EXIT_FILE_REFUSED,
            )
        return path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror or exc}") from None


def _summary(report: ImportReport, handle: str) -> None:
    table = Table(title=f"Shopify import into @{handle}" + (" (dry run)" if report.dry_run else ""))
    table.add_column("")
    table.add_column("count", justify="right")
    counts = report.counts
    for label, value in (
        ("rows", counts.rows),
        ("products in file", counts.products),
        ("variants in file", counts.variants),
        ("images in file", counts.images),
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("skipped", report.skipped),
        ("errors", len(report.errors)),
        ("warnings", len(report.warnings)),
    ):
        table.add_row(label, str(value))
    for status, value in sorted(report.statuses.items()):
        table.add_row(f"status {status}", str(value))
    console.print(table)
    if report.errors:
        errors = Table(title="Errors (their products were not imported)")
        for column in ("row", "line", "column", "code", "reason"):
            errors.add_column(column)
        for error in report.errors[:ERRORS_SHOWN]:
            errors.add_row(
                "" if error.row is None else str(error.row),
                "" if error.line is None else str(error.line),
                error.column or "",
                str(error.code),
                error.reason,
            )
        console.print(errors)
        if len(report.errors) > ERRORS_SHOWN:
            console.print(f"... and {len(report.errors) - ERRORS_SHOWN} more (use --json)")
    if report.warnings:
        codes: dict[str, int] = {}
        for warning in report.warnings:
            codes[str(warning.code)] = codes.get(str(warning.code), 0) + 1
        console.print(
            "warnings: " + ", ".join(f"{code} x{n}" for code, n in sorted(codes.items())),
            highlight=False,
        )
    if report.import_id:
        console.print(f"report stored as {report.import_id}", highlight=False)


@catalog_app.command("import-shopify")
def import_shopify_command(
    file: Annotated[Path, typer.Argument(help="The Shopify product CSV export.")],
    seller: Annotated[str, typer.Option("--seller", help="Handle of the seller's shop.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate everything, write nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    currency: Annotated[
        str, typer.Option(help="Currency of the file's prices (ISO 4217).")
    ] = "USD",
) -> None:
    """Import a Shopify product CSV into a shop (upsert by handle; re-import is a no-op).

    Exit code 0 when the import ran (row errors are reported; their products are skipped),
    1 when it could not start, 2 when the file was refused (nothing imported)."""
    settings = _settings()
    data = _read(file)

    async def run() -> tuple[ImportReport | None, str | None]:
        runtime = Runtime.from_settings(settings)
        try:
            shop = await _shop_by_handle(runtime, seller.strip().lstrip("@"))
            if shop is None:
                return None, f"no shop with the handle {seller!r}"
            if as_json:
                return await _import(runtime, shop, None), None
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} products"),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("importing", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await _import(runtime, shop, progress), None
        finally:
            await runtime.close()

    async def _import(runtime: Runtime, shop: Shop, progress: Any) -> ImportReport:
        return await import_shopify(
            runtime,
            shop_id=shop.id,
            actor_id=shop.owner_id,
            data=data,
            currency=currency,
            dry_run=dry_run,
            filename=file.name,
            progress=progress,
        )

    try:
        report, problem = asyncio.run(run())
    except ShopReelError as exc:
        raise _fail(exc.detail) from None
    if report is None:
        raise _fail(problem or "import failed")
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        _summary(report, seller.strip().lstrip("@"))
    if report.fatal:
        first = report.errors[0]
        raise _fail(f"{first.code}: {first.reason}; nothing imported", EXIT_FILE_REFUSED)


@catalog_app.command("export-shopify")
def export_shopify_command(
    seller: Annotated[str, typer.Option("--seller", help="Handle of the seller's shop.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export a shop's catalog as a Shopify product CSV."""
    settings = _settings()

    async def run() -> bytes | None:
        runtime = Runtime.from_settings(settings)
        try:
            shop = await _shop_by_handle(runtime, seller.strip().lstrip("@"))
            if shop is None:
                return None
            return await export_shop_csv(runtime, shop.id)
        finally:
            await runtime.close()

    data = asyncio.run(run())
    if data is None:
        raise _fail(f"no shop with the handle {seller!r}")
    if output is None:
        typer.echo(data, nl=False)  # bytes: written as they are (CRLF records)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    err_console.print(f"wrote {len(data)} bytes to {output}", highlight=False)
